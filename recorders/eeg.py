"""EEG and MEG recorders: the network's current dipole moment through a head model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.head import CLASSIC_1020, FourSphere, InfiniteHead, NYHead, placement, sensors_1020
from signals.recorder import Context, LinearRecorder
from signals.schema import component_coord, sensor_coords
from signals.validation import as_positions, check_option

__all__ = ["EEG", "MEG"]

#: µ0 × (1 nA/µm) in fT: LFPykit's H field is in nA/µm = 1e-3 A/m, B = µ0 H.
_FT_PER_H = 4e-7 * np.pi * 1e-3 * 1e15


def _centered(ctx: Context) -> np.ndarray:
    """Segment midpoints relative to the network centre, shape (3, n_seg) in µm."""
    return (ctx.segments.midpoints - ctx.network_center).T


class EEG(LinearRecorder):
    """Scalp potential (mV) of the network's current dipole moment.

    The network's dipole moment (about its centre, in nA µm) is rotated and placed into the head
    by :func:`signals.head.placement` and mapped to the sensors by the head model; each chunk is
    one matrix product with the precomputed (sensors × segments) matrix.

    Parameters
    ----------
    head : FourSphere, InfiniteHead or NYHead
        Head model; default :class:`signals.head.FourSphere` with literature values.
    sensors : sequence of str or array-like (n, 3), optional
        10-20 electrode names (positions from MNE's ``standard_1020``, on the scalp sphere) or
        positions in head coordinates (µm). Default: the 21 classic 10-20 electrodes. Ignored
        for the NY Head, which has its own 231 electrodes.
    under : str
        10-20 electrode under which the network sits (spherical heads).
    depth : float > 0
        Depth of the network centre below the brain surface (µm).
    per_population : bool
        Also store ``eeg_population`` (time, population, eeg_sensor).
    dipoles : {"network", "cell"}
        ``"network"``: one current dipole, the network's, at the network centre (two thin
        products per chunk). ``"cell"``: each cell's own dipole (about its soma) at its own
        place in the head, for networks too large for a single dipole (one sensors × segments
        product per chunk; set-up calls the head model once per cell). Not with the NY Head,
        whose dipole location is the model's.
    name : str
        Variable name; the sensor dimension is ``<name>_sensor``.

    Notes
    -----
    With ``dipoles="network"`` all cells are taken to sit at the network centre: at EEG
    distances (cm) the extent of a cortical column (≈1 mm) changes the potential by well under
    1 %. Measured against ``dipoles="cell"`` (``benchmarks/eeg_dipoles.py``, 100 cells 1 mm
    under Cz, RMS over 21 sensors): 0.07 % for a 1 mm wide patch, 0.28 % at 2 mm, 1.7 % at
    5 mm (7.8 % on the worst sensor), 6.4 % at 10 mm (29 %).
    """

    units = "mV"
    long_name = "EEG potential"

    def __init__(self, head: FourSphere | InfiniteHead | NYHead | None = None, *,
                 sensors: Sequence[str] | np.ndarray | None = None, under: str = "Cz",
                 depth: float = 1000.0, per_population: bool = False, dipoles: str = "network",
                 name: str = "eeg") -> None:
        self.head = FourSphere() if head is None else head
        if not isinstance(self.head, FourSphere | InfiniteHead | NYHead):
            raise TypeError(f"head must be FourSphere, InfiniteHead or NYHead, got {head!r}")
        self.name = str(name)
        self.dim = f"{self.name}_sensor"
        self.per_population = bool(per_population)
        self.under, self.depth = str(under), float(depth)
        self.sensors = sensors
        self.dipoles = check_option(dipoles, "EEG dipoles", ("network", "cell"))
        if isinstance(self.head, NYHead):
            if self.dipoles != "network":
                raise ValueError("EEG(dipoles='cell') needs a spherical head: the NY Head places "
                                 "one dipole at the model's own location")
            self.placement = None
            self.sensor_names, self.sensor_positions = None, None
            return
        self.placement = placement(self.head, under=self.under, depth=self.depth)
        if sensors is None:
            sensors = CLASSIC_1020
        arr = np.asarray(sensors)
        if arr.dtype.kind in "US" or arr.dtype == object:
            self.sensor_names, self.sensor_positions = sensors_1020(
                [str(s) for s in sensors], radius=self.head.scalp_radius)
        else:
            self.sensor_positions = as_positions(sensors, "sensor positions (µm)")
            self.sensor_names = tuple(f"s{i:03d}" for i in range(len(self.sensor_positions)))
        self.head.check_sensors(self.sensor_positions)

    def _head_matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sensors × 3) head transfer in the network frame, sensor positions, location."""
        if isinstance(self.head, NYHead):
            model = self.head.load()
            # NYHeadModel rotates a z-oriented moment onto the cortical normal; it is linear
            rotation = np.asarray(model.rotate_dipole_to_surface_normal(np.eye(3)))
            positions = np.asarray(model.elecs[:3], dtype=float).T * 1000.0  # mm -> µm, native order
            self.sensor_positions = positions
            self.sensor_names = tuple(f"ny{i:03d}" for i in range(len(positions)))
            location = np.asarray(model.dipole_pos, dtype=float) * 1000.0
            return model.get_transformation_matrix() @ rotation, positions, location
        loc = self.placement.location
        T = self.head.transfer(self.sensor_positions, loc)
        return T @ self.placement.rotation, self.sensor_positions, loc

    def channel_dims(self) -> tuple[str, ...]:
        return (self.dim,)

    def attrs(self) -> dict:
        attrs = {**self.head.describe(), "under": self.under, "depth": self.depth,
                 "depth_units": "um"}
        if self.placement is not None:
            attrs.update(dipole_location=self.placement.location, dipole_location_units="um")
        return attrs

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        if self.dipoles == "cell":
            return (self._per_cell_matrix(ctx),)
        # The (sensors × segments) map has rank 3: dipole first (3 × segments), then the head
        # (sensors × 3); two thin products cost half of one with the full matrix.
        T, _, _ = self._head_matrix()  # mV per nA µm, network frame
        return T, _centered(ctx)  # µm

    def _per_cell_matrix(self, ctx: Context) -> np.ndarray:
        """(sensors × segments): each cell's dipole about its soma, at its place in the head."""
        seg, pl = ctx.segments, self.placement
        A = np.zeros((len(self.sensor_positions), len(seg)))
        mid = seg.midpoints
        brain = getattr(self.head, "brain_radius", np.inf)
        for gid, rows, centre in zip(seg.cell_gid, seg.cell_slices(), seg.cell_position,
                                     strict=True):
            loc = pl.location + pl.rotation @ (centre - ctx.network_center)
            if np.linalg.norm(loc) >= brain:
                raise ValueError(f"EEG(dipoles='cell'): cell {gid} lands outside the brain sphere "
                                 f"({np.linalg.norm(loc):.0f} µm from the head centre, brain "
                                 f"radius {brain:g} µm); the network is placed flat, so a patch "
                                 "that wide leaves the brain: place it deeper or use a smaller "
                                 "patch")
            T = self.head.transfer(self.sensor_positions, loc) @ pl.rotation
            A[:, rows] = T @ (mid[rows] - centre).T
        return A

    def channel_coords(self, ctx: Context) -> dict:
        return sensor_coords(self.dim, self.sensor_names, self.sensor_positions, "head frame")


class MEG(LinearRecorder):
    """Magnetic field (fT) of the network's current dipole moment at magnetometers.

    Parameters
    ----------
    sensors : array-like, shape (n, 3)
        Sensor positions in head coordinates (µm), outside the brain sphere.
    head : FourSphere or InfiniteHead, optional
        Places the network (brain radius); default :class:`signals.head.FourSphere`.
    model : {"sphere", "infinite"}
        ``sphere``: spherically symmetric conductor (Sarvas 1987; LFPykit
        ``SphericallySymmetricVolCondMEG``), where only the tangential part of the dipole is
        seen; ``infinite``: infinite homogeneous conductor (LFPykit
        ``InfiniteHomogeneousVolCondMEG``), :math:`\\mathbf B = \\frac{\\mu_0}{4\\pi}
        \\frac{\\mathbf p \\times \\mathbf R}{R^3}`.
    under, depth : str, float
        Placement of the network (see :func:`signals.head.placement`); depth in µm.
    names : sequence of str, optional
        Sensor names.
    per_population : bool
        Also store ``<name>_population`` (time, population, ``<name>_sensor``, component).
    name : str
        Variable name; dims (time, ``<name>_sensor``, component).
    """

    units = "fT"
    long_name = "magnetic flux density"

    def __init__(self, sensors, *, head: FourSphere | InfiniteHead | None = None,
                 model: str = "sphere", under: str = "Cz", depth: float = 1000.0,
                 names: Sequence[str] | None = None, per_population: bool = False,
                 name: str = "meg") -> None:
        self.head = FourSphere() if head is None else head
        if not isinstance(self.head, FourSphere | InfiniteHead):
            raise TypeError(f"head must be FourSphere or InfiniteHead, got {head!r}")
        self.model = check_option(model, "MEG model", ("sphere", "infinite"))
        self.sensors = sensors
        self.names = names
        self.per_population = bool(per_population)
        self.sensor_positions = as_positions(sensors, "MEG sensor positions (µm)")
        radius = np.linalg.norm(self.sensor_positions, axis=1)
        if np.any(radius <= self.head.brain_radius):
            raise ValueError(f"MEG sensor(s) inside the brain sphere "
                             f"(radius {self.head.brain_radius:g} µm)")
        n = len(self.sensor_positions)
        self.sensor_names = tuple(names) if names is not None else tuple(f"m{i:03d}" for i in range(n))
        if len(self.sensor_names) != n:
            raise ValueError(f"{len(self.sensor_names)} names for {n} sensors")
        self.under, self.depth = str(under), float(depth)
        self.placement = placement(self.head, under=self.under, depth=self.depth)
        self.name = str(name)
        self.dim = f"{self.name}_sensor"

    def channel_dims(self) -> tuple[str, ...]:
        return (self.dim, "component")

    def attrs(self) -> dict:
        return {"meg_model": self.model, "dipole_location": self.placement.location,
                "dipole_location_units": "um", "under": self.under, "depth": self.depth,
                "depth_units": "um"}

    def channel_coords(self, ctx: Context) -> dict:
        return {**sensor_coords(self.dim, self.sensor_names, self.sensor_positions, "head frame"),
                **component_coord()}

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        from lfpykit.eegmegcalc import InfiniteHomogeneousVolCondMEG, SphericallySymmetricVolCondMEG

        cls = SphericallySymmetricVolCondMEG if self.model == "sphere" else InfiniteHomogeneousVolCondMEG
        H = cls(self.sensor_positions).get_transformation_matrix(self.placement.location)
        n = len(self.sensor_positions)
        # (sensor·component, 3) in fT per nA µm, in the network frame; applied to the dipole
        return H.reshape(n * 3, 3) * _FT_PER_H @ self.placement.rotation, _centered(ctx)
