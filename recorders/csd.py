"""The model's true current source density: what CSD estimators try to recover from the LFP.

Both recorders are LFPykit's ground-truth CSD models (Pettersen et al. 2008; Hagen et al. 2017,
eq. 11): the membrane current of each segment, spread along it, summed per volume and divided by
the volume. In µA/mm³ with sources positive (current leaving the membranes), the convention of
:func:`signals.analysis.csd.csd`, so estimates and truth compare directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.electrodes import Electrodes, points, probe_axis
from signals.recorder import Context, LinearRecorder, cell_gids
from signals.validation import check_positive

__all__ = ["LaminarCSD", "VolumetricCSD"]

#: LFPykit's CSD is in nA/µm³; 1 nA/µm³ = 1e6 µA/mm³.
_UA_PER_MM3 = 1e6


def _rotation_to_z(u: np.ndarray) -> np.ndarray:
    """A rotation matrix taking the unit vector ``u`` to +z (Rodrigues)."""
    z = np.array([0.0, 0.0, 1.0])
    v, c = np.cross(u, z), float(u @ z)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + k + k @ k / (1 + c)


class LaminarCSD(LinearRecorder):
    """True CSD in cylinders stacked along a laminar probe (µA/mm³, sources positive).

    One cylinder per contact, centred on it, along the probe's axis (any direction: the
    geometry is rotated so that the axis is LFPykit's z), as long as the contact spacing and
    of radius ``radius``: the volumes a laminar CSD estimate at those contacts stands for.

    Parameters
    ----------
    electrodes : Electrodes or array-like (n, 3)
        Contacts of a straight probe (µm), e.g. :func:`signals.electrodes.laminar`, evenly
        spaced or not (each cylinder reaches half-way to the neighbouring contacts).
    radius : float > 0
        Cylinder radius (µm), e.g. the radius of the column the estimate assumes.
    per_population, cells
        Each population's / chosen cell's own CSD, as for :class:`~signals.recorders.LFP`.
    name : str
        Variable name; its depth dimension is ``<name>_depth`` (µm along the probe axis).
    """

    units = "uA/mm3"
    long_name = "true current source density (sources positive)"

    def __init__(self, electrodes: Electrodes | np.ndarray, *, radius: float = 500.0,
                 per_population: bool = False, cells=None, name: str = "csd_true") -> None:
        self.electrodes = electrodes if isinstance(electrodes, Electrodes) else points(electrodes)
        self.radius = check_positive(radius, "radius (µm)")
        self.per_population = bool(per_population)
        self.cells = cell_gids(cells)
        self.name = str(name)
        self.dim = f"{self.name}_depth"
        self.axis_ = probe_axis(self.electrodes.positions)
        order = np.argsort(self.axis_.position, kind="stable")
        if np.any(np.diff(self.axis_.position[order]) <= 0):
            raise ValueError("LaminarCSD needs contacts at distinct positions along the probe")

    def channel_dims(self) -> tuple[str, ...]:
        return (self.dim,)

    def attrs(self) -> dict:
        return {"radius": self.radius, "radius_units": "um", "probe_axis": self.axis_.name,
                "forward_model": "lfpykit.LaminarCurrentSourceDensity"}

    def channel_coords(self, ctx: Context) -> dict:
        return {self.dim: ((self.dim,), self.axis_.position.astype(float),
                           {"units": "um", "long_name": f"position along the probe "
                                                         f"({self.axis_.label})"})}

    def edges(self) -> np.ndarray:
        """(n, 2) lower and upper ends of each contact's cylinder along the axis (µm)."""
        s = self.axis_.position
        order = np.argsort(s, kind="stable")
        sorted_s = s[order]
        mids = (sorted_s[1:] + sorted_s[:-1]) / 2
        lower = np.concatenate([[sorted_s[0] - (mids[0] - sorted_s[0])], mids])
        upper = np.concatenate([mids, [sorted_s[-1] + (sorted_s[-1] - mids[-1])]])
        out = np.empty((s.size, 2))
        out[order] = np.column_stack([lower, upper])
        return out

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        from lfpykit import CellGeometry, LaminarCurrentSourceDensity

        seg = ctx.segments
        if len(seg) == 0:
            return (np.zeros((len(self.electrodes), 0)),)
        R = _rotation_to_z(self.axis_.direction)
        origin = self.electrodes.positions.mean(axis=0)
        ends = []
        for k in range(2):
            p = np.column_stack([seg.x[:, k], seg.y[:, k], seg.z[:, k]]) - origin
            ends.append(p @ R.T)  # probe frame: the axis through the contacts is z
        shift = float(origin @ self.axis_.direction)  # z in the probe frame = position - shift
        geometry = CellGeometry(x=np.column_stack([ends[0][:, 0], ends[1][:, 0]]),
                                y=np.column_stack([ends[0][:, 1], ends[1][:, 1]]),
                                z=np.column_stack([ends[0][:, 2], ends[1][:, 2]]),
                                d=seg.diam)
        model = LaminarCurrentSourceDensity(geometry, z=self.edges() - shift,
                                            r=np.full(len(self.electrodes), self.radius))
        return (model.get_transformation_matrix() * _UA_PER_MM3,)


class VolumetricCSD(LinearRecorder):
    """True CSD in the boxes of a 3-D grid (µA/mm³, sources positive).

    Parameters
    ----------
    x, y, z : sequence of float
        Bin edges along each axis (µm), increasing; ``n + 1`` edges make ``n`` bins.
    dl : float > 0
        Each segment is cut into pieces of at most ``dl`` µm before binning (LFPykit).
    per_population, cells
        As for :class:`~signals.recorders.LFP`.
    name : str
        Variable name; dims (time, ``<name>_x``, ``<name>_y``, ``<name>_z``) with the bin
        centres (µm) as coordinates.
    """

    units = "uA/mm3"
    long_name = "true current source density (sources positive)"

    def __init__(self, x: Sequence[float], y: Sequence[float], z: Sequence[float], *,
                 dl: float = 1.0, per_population: bool = False, cells=None,
                 name: str = "csd_volume") -> None:
        self.x, self.y, self.z = (self._edges(v, axis) for v, axis in ((x, "x"), (y, "y"), (z, "z")))
        self.dl = check_positive(dl, "dl (µm)")
        self.per_population = bool(per_population)
        self.cells = cell_gids(cells)
        self.name = str(name)

    @staticmethod
    def _edges(values, axis: str) -> np.ndarray:
        out = np.asarray(values, dtype=float)
        if out.ndim != 1 or out.size < 2 or not np.all(np.isfinite(out)) \
                or np.any(np.diff(out) <= 0):
            raise ValueError(f"{axis}: give at least two increasing, finite bin edges (µm)")
        return out

    def channel_dims(self) -> tuple[str, ...]:
        return tuple(f"{self.name}_{a}" for a in "xyz")

    def attrs(self) -> dict:
        return {"dl": self.dl, "dl_units": "um",
                "forward_model": "lfpykit.VolumetricCurrentSourceDensity"}

    def channel_coords(self, ctx: Context) -> dict:
        out = {}
        for axis, edges in (("x", self.x), ("y", self.y), ("z", self.z)):
            dim = f"{self.name}_{axis}"
            out[dim] = ((dim,), (edges[1:] + edges[:-1]) / 2,
                        {"units": "um", "long_name": f"bin centre {axis}"})
        return out

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        from lfpykit import VolumetricCurrentSourceDensity

        seg = ctx.segments
        n = (self.x.size - 1) * (self.y.size - 1) * (self.z.size - 1)
        if len(seg) == 0:
            return (np.zeros((n, 0)),)
        model = VolumetricCurrentSourceDensity(seg.cell_geometry(), x=self.x, y=self.y, z=self.z,
                                               dl=self.dl)
        M = model.get_transformation_matrix()  # (nx, ny, nz, n_seg) counts per segment
        volume = np.multiply.outer(np.multiply.outer(np.diff(self.x), np.diff(self.y)),
                                   np.diff(self.z))  # µm³
        return ((M / volume[..., None]).reshape(n, len(seg)) * _UA_PER_MM3,)
