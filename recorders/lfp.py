"""Extracellular potential (LFP) recorder, with forward models from LFPykit."""

from __future__ import annotations

import logging
import warnings

import numpy as np

from signals._validation import check_option, check_positive
from signals.electrodes import Electrodes, points
from signals.recorder import Chunk, Context, Recorder, VariableSpec

__all__ = ["LFP", "METHODS"]

logger = logging.getLogger("signals")

#: Forward models: LFPykit ``RecExtElectrode`` methods.
METHODS = ("linesource", "pointsource", "root_as_point")


def _disc_points(center: np.ndarray, normal: np.ndarray, radius: float, n: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniformly distributed on a disc (µm), shape (n, 3)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(normal, helper)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    r = radius * np.sqrt(rng.random(n))
    phi = 2 * np.pi * rng.random(n)
    return center + (r * np.cos(phi))[:, None] * u + (r * np.sin(phi))[:, None] * v


def transfer_matrix(segments, electrodes: Electrodes, *, method: str = "linesource",
                    sigma: float = 0.3, seed: int = 0) -> np.ndarray:
    """Linear map from membrane currents (nA) to potentials (mV), shape (n_electrode, n_seg).

    Parameters
    ----------
    segments : SegmentTable
        Segment geometry (µm).
    electrodes : Electrodes
        Contacts (µm). With a contact radius, each row averages ``electrodes.n_points`` point
        contacts drawn uniformly on the disc with ``numpy.random.default_rng(seed)`` (the same
        on every MPI rank).
    method : {"linesource", "pointsource", "root_as_point"}
        LFPykit ``RecExtElectrode`` method; ``root_as_point`` treats the segments of each cell's
        root (soma) section as point sources and the rest as line sources.
    sigma : float > 0
        Extracellular conductivity (S/m).
    seed : int
        Seed of the disc sampling.

    Notes
    -----
    LFPykit: :math:`\\phi(\\mathbf r) = \\sum_j M_{ij} I_j`, with e.g. for a point source
    :math:`M = 1 / (4 \\pi \\sigma |\\mathbf r - \\mathbf r_j|)`; distances are floored at the
    segment radius.
    """
    from lfpykit import RecExtElectrode

    kwargs = {}
    if method == "root_as_point":
        kwargs["rootinds"] = np.flatnonzero(segments.root)
    if len(segments) == 0:
        return np.zeros((len(electrodes), 0))
    cell = segments.cell_geometry()
    if electrodes.radius is None:
        pos = electrodes.positions
        weights = None
    else:
        rng = np.random.default_rng(seed)
        pos = np.concatenate([
            _disc_points(c, nrm, electrodes.radius, electrodes.n_points, rng)
            for c, nrm in zip(electrodes.positions, electrodes.normal, strict=True)
        ])
        weights = electrodes.n_points
    model = RecExtElectrode(cell, x=pos[:, 0], y=pos[:, 1], z=pos[:, 2], sigma=sigma,
                            method=method, **kwargs)
    M = model.get_transformation_matrix()
    if weights is not None:
        M = M.reshape(len(electrodes), weights, -1).mean(axis=1)
    return M


def _inside_segments(segments, electrodes: Electrodes) -> dict[str, str]:
    """Electrodes closer to a segment's axis than its radius: name → how many, and where."""
    from lfpykit.lfpcalc import return_dist_from_segments

    out = {}
    x0, x1 = segments.x.T
    y0, y1 = segments.y.T
    z0, z1 = segments.z.T
    for name, pos in zip(electrodes.names, electrodes.positions, strict=True):
        dist, _ = return_dist_from_segments(x0, y0, z0, x1, y1, z1, pos)
        inside = dist < segments.diam / 2
        n = int(np.count_nonzero(inside))
        if n:
            in_soma = int(np.count_nonzero(inside & segments.root))
            out[name] = f"{n} segment(s)" + (f", {in_soma} of them in a soma" if in_soma else "")
    return out


class LFP(Recorder):
    """Extracellular potential at electrode contacts (mV).

    Parameters
    ----------
    electrodes : Electrodes or array-like, shape (n, 3)
        Contacts (µm), e.g. :func:`signals.electrodes.laminar`.
    method : {"linesource", "pointsource", "root_as_point"}
        Forward model of LFPykit's ``RecExtElectrode``.
    sigma : float > 0
        Extracellular conductivity (S/m) of the infinite homogeneous medium.
    per_population : bool
        Also store each population's contribution as ``<name>_population``
        (time, population, electrode); they sum to the total.
    name : str
        Variable name in the run file.

    Notes
    -----
    Each chunk is one matrix product ``M @ I`` with ``M`` from :func:`transfer_matrix`,
    computed once in ``setup``. An electrode inside a segment (closer than its radius) gets a
    warning; the potential there is computed at the segment surface, as LFPykit does.
    """

    name = "lfp"
    description = "extracellular potential (LFPykit forward models)"

    def __init__(self, electrodes: Electrodes | np.ndarray, *, method: str = "linesource",
                 sigma: float = 0.3, per_population: bool = False, name: str = "lfp") -> None:
        self.electrodes = electrodes if isinstance(electrodes, Electrodes) else points(electrodes)
        self.method = check_option(method, "LFP method", METHODS)
        self.sigma = check_positive(sigma, "sigma (extracellular conductivity, S/m)")
        self.per_population = bool(per_population)
        self.name = str(name)

    def __repr__(self) -> str:
        return (f"LFP(n_electrodes={len(self.electrodes)}, method={self.method!r}, "
                f"sigma={self.sigma} S/m, per_population={self.per_population})")

    def variables(self) -> dict[str, VariableSpec]:
        attrs = {"sigma": self.sigma, "sigma_units": "S/m",
                 "forward_model": f"lfpykit.RecExtElectrode(method={self.method!r})"}
        out = {self.name: VariableSpec(("time", "electrode"), "mV",
                                       "extracellular potential", attrs=attrs)}
        if self.per_population:
            out[f"{self.name}_population"] = VariableSpec(
                ("time", "population", "electrode"), "mV",
                "extracellular potential per population", attrs=attrs)
        return out

    def coords(self, ctx: Context) -> dict:
        el = self.electrodes
        out = {"electrode": (("electrode",), np.array(el.names, dtype=object),
                             {"long_name": "electrode contact"})}
        for k, axis in enumerate("xyz"):
            out[f"electrode_{axis}"] = (("electrode",), el.positions[:, k],
                                        {"units": "um", "long_name": f"electrode {axis} position"})
        if self.per_population:
            out["population"] = (("population",), np.array(ctx.populations, dtype=object),
                                 {"long_name": "cell population"})
        return out

    def setup(self, ctx: Context) -> None:
        seg = ctx.segments
        inside = _inside_segments(seg, self.electrodes)
        if inside:
            warnings.warn(
                f"electrode(s) inside segments (closer than the segment radius): {inside}; "
                "the potential there is computed at the segment surface", stacklevel=2)
        self.M_ = transfer_matrix(seg, self.electrodes, method=self.method, sigma=self.sigma)
        self.pop_rows_ = seg.population_rows(ctx.populations) if self.per_population else []

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        if not self.per_population:
            return {self.name: (self.M_ @ chunk.imem).T}
        # every segment belongs to one population: their sum is the total, in one pass
        per_pop = np.empty((chunk.t.size, len(self.pop_rows_), len(self.electrodes)))
        for k, rows in enumerate(self.pop_rows_):
            per_pop[:, k] = (self.M_[:, rows] @ chunk.imem[rows]).T
        return {self.name: per_pop.sum(axis=1), f"{self.name}_population": per_pop}
