"""Extracellular potential (LFP) recorder, with forward models from LFPykit."""

from __future__ import annotations

import warnings

import numpy as np

from signals.electrodes import Electrodes, points
from signals.media import Slice
from signals.recorder import Context, LinearRecorder, cell_gids
from signals.schema import contact_attrs, electrode_coords
from signals.validation import check_option, check_positive

__all__ = ["LFP", "METHODS", "inside_segments", "medium_matrix", "transfer_matrix"]


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


def _square_points(center: np.ndarray, edge: np.ndarray, normal: np.ndarray, half: float, n: int,
                   rng: np.random.Generator) -> np.ndarray:
    """``n`` points uniformly distributed on a square of side ``2 half`` (µm), shape (n, 3),
    sides along ``edge`` and ``normal × edge``."""
    a = half * (2 * rng.random(n) - 1)
    b = half * (2 * rng.random(n) - 1)
    return center + a[:, None] * edge + b[:, None] * np.cross(normal, edge)


#: Matrix entries per block of the transfer-matrix kernel: each temporary (contacts x block
#: segments, 256 KiB) stays in L2 cache; measured ~20 ns per entry at 384 contacts, 4-5x slower
#: with blocks 16 times larger.
_BLOCK_ENTRIES = 32768


def _source_kernel(segments, pos: np.ndarray, *, method: str, sigma: float,
                   inside: bool = False, threads: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
    """LFPykit's line- and point-source potentials, block-wise over segments, in one pass.

    The same floating-point operations as ``lfpykit.lfpcalc`` (``calc_lfp_linesource``,
    ``calc_lfp_pointsource``, ``calc_lfp_root_as_point``, Holt 1998 eq. C.13 with its three
    cases folded into one), so the matrix equals LFPykit's bit for bit, in less time
    (``benchmarks/setup_cost.py``, 384 contacts x 100k segments: line source 16.5 vs 24.2 ns
    per entry, point source 5.9 vs 50, root as point 15 vs 33): LFPykit loops over contacts
    in Python, this loops over cache-sized blocks of segments for all contacts at once.
    ``inside`` also returns, per contact, how many segments (column 0) and root segments
    (column 1) contain it (distance to the segment below its radius). ``threads`` fills
    blocks in parallel (the result does not depend on it).
    """
    x0, x1 = segments.x.T
    y0, y1 = segments.y.T
    z0, z1 = segments.z.T
    ux, uy, uz = x1 - x0, y1 - y0, z1 - z0
    length = np.sqrt((x0 - x1) ** 2 + (y0 - y1) ** 2 + (z0 - z1) ** 2)
    r_limit = segments.diam / 2
    rlim2 = r_limit * r_limit
    point = np.zeros(len(segments), dtype=bool) if method == "linesource" else (
        np.ones(len(segments), dtype=bool) if method == "pointsource" else segments.root)
    line_scale = 1 / (4 * np.pi * sigma * length)
    root_scale = 1 / (4 * np.pi * sigma * 1.0)  # LFPykit's root: deltaS = 1, mapping 1/r
    mid = np.column_stack([x0 + x1, y0 + y1, z0 + z1]) / 2  # = CellGeometry (n, 2).mean(-1)
    ex, ey, ez = (pos[:, k:k + 1] for k in range(3))
    M = np.empty((len(pos), len(segments)))
    line = method != "pointsource"
    block = int(np.clip(_BLOCK_ENTRIES // max(len(pos), 1), 16, 4096))

    def fill(start: int) -> np.ndarray | None:
        """Columns ``start : start + block`` of M; inside counts of that block."""
        counts = None
        sl = slice(start, start + block)
        if line or inside:
            dx, dy, dz = ex - x1[sl], ey - y1[sl], ez - z1[sl]
            h = dx * ux[sl]
            h += dy * uy[sl]
            h += dz * uz[sl]
            with np.errstate(divide="ignore", invalid="ignore"):  # zero length, as LFPykit
                h /= length[sl]
            r2 = dx * dx
            r2 += dy * dy
            r2 += dz * dz
            r2 -= h * h
            np.abs(r2, out=r2)
            lh = h + length[sl]  # LFPykit's l: signed distance along the segment from its start
        if inside:
            beyond = np.where(h > 0, h * h, np.where(lh < 0, lh * lh, 0.0))
            beyond += r2  # squared distance to the segment (not to its infinite axis)
            within = beyond < rlim2[sl]
            counts = np.column_stack([np.count_nonzero(within, axis=1),
                                      np.count_nonzero(within & segments.root[sl], axis=1)])
        if line:
            M[:, sl] = _line_block(h, r2, lh, rlim2[sl], line_scale[sl])
        pts = np.flatnonzero(point[sl])
        if pts.size:
            cols = pts + start
            d2 = (mid[cols, 0] - ex) ** 2 + (mid[cols, 1] - ey) ** 2 + (mid[cols, 2] - ez) ** 2
            if method == "pointsource":
                M[:, cols] = 1.0 / (4.0 * np.pi * sigma * np.sqrt(np.maximum(d2, rlim2[cols])))
            else:
                M[:, cols] = root_scale * (1 / np.maximum(np.sqrt(d2), r_limit[cols]))
        return counts

    starts = range(0, len(segments), block)
    if threads > 1 and len(starts) > 1:
        # numpy's ufuncs release the GIL: blocks fill disjoint columns of M side by side
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(fill, starts))
    else:
        parts = [fill(start) for start in starts]
    counts = sum(parts) if inside else None
    return M, counts


def _line_block(h: np.ndarray, r2: np.ndarray, lh: np.ndarray, rlim2: np.ndarray,
                scale: np.ndarray) -> np.ndarray:
    """LFPykit's line source for one block (``r2`` is floored in place)."""
    np.maximum(r2, rlim2, out=r2)
    # Cases i (h < 0, l < 0), ii (h < 0 <= l), iii (h >= 0): case i is case iii mirrored
    case1 = lh < 0
    case2 = h < 0
    case2 &= ~case1
    a = np.where(case1, -lh, np.abs(h))
    b = np.where(case1, -h, lh)
    A = a * a
    A += r2
    np.sqrt(A, out=A)
    A += a
    B = b * b
    B += r2
    np.sqrt(B, out=B)
    B += b
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(case2, A * (B / r2), B / A)
        np.log(out, out=out)
        out *= scale
    return out


def _contact_points(electrodes: Electrodes, seed: int) -> np.ndarray:
    """Point contacts (µm): the positions, or ``n_points`` random points on each disc or square."""
    if electrodes.radius is None:
        return electrodes.positions
    rng = np.random.default_rng(seed)
    if electrodes.shape == "square":
        return np.concatenate([
            _square_points(c, e, nrm, electrodes.radius, electrodes.n_points, rng)
            for c, e, nrm in zip(electrodes.positions, electrodes.edge, electrodes.normal, strict=True)
        ])
    return np.concatenate([
        _disc_points(c, nrm, electrodes.radius, electrodes.n_points, rng)
        for c, nrm in zip(electrodes.positions, electrodes.normal, strict=True)
    ])


def transfer_matrix(segments, electrodes: Electrodes, *, method: str = "linesource",
                    sigma: float = 0.3, seed: int = 0, threads: int = 1) -> np.ndarray:
    r"""Linear map from membrane currents (nA) to potentials (mV), shape (n_electrode, n_seg).

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
    threads : int >= 1
        Threads filling the matrix (set-up only; the result does not depend on it).

    Notes
    -----
    LFPykit's formulas (:math:`\phi(\mathbf r) = \sum_j M_{ij} I_j`, e.g. for a point
    source :math:`M = 1 / (4 \pi \sigma |\mathbf r - \mathbf r_j|)`, the line source of
    Holt 1998), with distances floored at the segment radius; evaluated block-wise with the
    same floating-point operations, so the matrix equals ``lfpykit.RecExtElectrode``'s.

    The floor applies to the distance from a segment's infinite axis, also beyond its ends
    (NetPyNE's formula has none). Against the membrane current spread over the cylinder surface
    that is the better rule: on the axis 2-15 µm beyond a 20 µm soma it is exact to 1e-8,
    where the unfloored line integral is 10-80 % too large (``benchmarks/line_source_floor.py``).
    """
    if len(segments) == 0:
        return np.zeros((len(electrodes), 0))
    M, _ = _source_kernel(segments, _contact_points(electrodes, seed), method=method, sigma=sigma,
                          threads=threads)
    if electrodes.radius is not None:
        M = M.reshape(len(electrodes), electrodes.n_points, -1).mean(axis=1)
    return M


def _conductivity(sigma, slice: Slice | None):  # noqa: A002
    """``sigma`` checked: None, a float > 0 or three (anisotropic); None with a slice."""
    if slice is not None:
        if not isinstance(slice, Slice):
            raise TypeError(f"slice must be a signals.media.Slice, got {slice!r}")
        if sigma is not None:
            raise ValueError("give the conductivities of a slice in the Slice (sigma_tissue, "
                             "sigma_saline, sigma_glass), not as sigma")
        return None
    if sigma is None:
        return None
    if np.ndim(sigma) == 0:
        return check_positive(sigma, "sigma (extracellular conductivity, S/m)")
    values = tuple(check_positive(v, "sigma (extracellular conductivities σx, σy, σz, S/m)")
                   for v in np.asarray(sigma, dtype=object).ravel())
    if len(values) != 3 or np.shape(sigma) != (3,):
        raise ValueError(f"sigma must be one conductivity or three (σx, σy, σz) in S/m, got "
                         f"{sigma!r}")
    return values


def _check_slice(sl: Slice, electrodes: Electrodes, method: str) -> None:
    """LFPykit's MEA line source needs the contacts on the MEA plane and an insulating plate."""
    if method == "pointsource":
        return
    off = np.abs(electrodes.z - sl.bottom).max()
    if off > 1e-9:
        raise ValueError(f"LFP(method={method!r}) in a slice needs every contact on the MEA "
                         f"plane z = {sl.bottom:g} µm (one is {off:g} µm off); use "
                         "method='pointsource' for contacts elsewhere")
    if sl.sigma_glass != 0:
        raise ValueError(f"LFP(method={method!r}) in a slice needs sigma_glass = 0 (an "
                         "insulating MEA plate); use method='pointsource' otherwise")


def _squeezed_z(segments, sl: Slice) -> tuple[np.ndarray, int, int]:
    """Segment z (µm) with cells that leave the slice compressed about their root segment."""
    z = np.array(segments.z, dtype=float)
    top = sl.bottom + sl.thickness
    moved_cells = moved_segments = 0
    for rows in segments.cell_slices():
        cz = z[rows].copy()
        if cz.min() >= sl.bottom and cz.max() <= top:
            continue
        roots = np.flatnonzero(segments.root[rows])
        z_root = cz[roots[0] if roots.size else 0].mean()
        if not sl.bottom < z_root < top:
            raise ValueError(f"a cell's soma (z = {z_root:g} µm) is outside the slice "
                             f"({sl.bottom:g} < z < {top:g} µm): move the cell or the slice")
        z[rows] = z_root + (cz - z_root) * (1.0 - sl.squeeze)
        moved_cells += 1
        moved_segments += int(np.count_nonzero(np.any(z[rows] != cz, axis=1)))
    return z, moved_cells, moved_segments


def medium_matrix(segments, electrodes: Electrodes, *, method: str = "linesource",
                  sigma: tuple[float, float, float] | float | None = None,
                  slice: Slice | None = None, seed: int = 0) -> np.ndarray:  # noqa: A002
    """Transfer matrix (mV per nA, (n_electrode, n_seg)) in an anisotropic medium or a slice.

    LFPykit's own ``RecExtElectrode`` (``sigma`` of three values) or ``RecMEAElectrode``
    (``slice``) on the whole network's geometry. ``root_as_point``: line sources with the
    columns of root (soma) segments replaced by point sources, which is what LFPykit's method
    does for the one root of a single cell. Contact discs are averaged as in
    :func:`transfer_matrix`.

    Parameters
    ----------
    segments : SegmentTable
        Segment geometry (µm).
    electrodes : Electrodes
        Contacts (µm).
    method : {"linesource", "pointsource", "root_as_point"}
        Source model.
    sigma : 3 floats > 0, or float > 0
        Conductivities (σx, σy, σz) of an infinite medium (S/m); not with ``slice``.
    slice : signals.media.Slice
        The slice on an MEA (its conductivities in S/m, thickness in µm).
    seed : int
        Seed of the contact-surface sampling.
    """
    import lfpykit

    check_option(method, "LFP method", METHODS)
    if not isinstance(electrodes, Electrodes):
        raise TypeError(f"electrodes must be signals.electrodes.Electrodes, got {electrodes!r}")
    sigma = _conductivity(sigma, slice)
    if sigma is None and slice is None:
        raise ValueError("give sigma (S/m, one value or three) or a slice")
    if slice is not None:
        _check_slice(slice, electrodes, method)
    if len(segments) == 0:
        return np.zeros((len(electrodes), 0))
    pts = _contact_points(electrodes, seed)
    z = segments.z
    if slice is not None:
        top = slice.bottom + slice.thickness
        if slice.squeeze is not None:
            z, n_cells, n_moved = _squeezed_z(segments, slice)
            if n_moved:
                warnings.warn(f"slice: {n_moved} segment(s) of {n_cells} cell(s) that cross the "
                              f"slice were squeezed along z by {slice.squeeze:g} about their "
                              "soma for the potentials (the simulation is unchanged)",
                              stacklevel=4)
        outside = (z.min(axis=1) < slice.bottom) | (z.max(axis=1) > top)
        if outside.any():
            raise ValueError(
                f"{int(outside.sum())} segment(s) lie outside the slice ({slice.bottom:g} < z < "
                f"{top:g} µm): move the network into it, or give Slice(squeeze=...) to compress "
                "the cells that cross it")

    def matrix(rows, kind: str) -> np.ndarray:
        geometry = lfpykit.CellGeometry(x=segments.x[rows], y=segments.y[rows], z=z[rows],
                                        d=segments.diam[rows])
        where = {"x": pts[:, 0].copy(), "y": pts[:, 1].copy(), "z": pts[:, 2].copy()}
        if slice is not None:
            model = lfpykit.RecMEAElectrode(
                geometry, sigma_T=slice.sigma_tissue, sigma_S=slice.sigma_saline,
                sigma_G=slice.sigma_glass, h=slice.thickness, z_shift=slice.bottom,
                steps=slice.steps, method=kind, **where)
        else:
            sig = np.broadcast_to(np.asarray(sigma, dtype=float), (3,)).copy()
            model = lfpykit.RecExtElectrode(geometry, sigma=sig, method=kind, **where)
        return model.get_transformation_matrix()

    with np.errstate(divide="ignore", invalid="ignore"):
        M = matrix(np.arange(len(segments)),
                   "pointsource" if method == "pointsource" else "linesource")
    if method == "root_as_point":
        roots = np.flatnonzero(segments.root)
        if roots.size:
            M[:, roots] = matrix(roots, "pointsource")
    bad = ~np.isfinite(M)
    if bad.any():
        # LFPykit's slice line source is 0/0 for a contact on a segment's own axis (measured:
        # vertical segments straight above an MEA contact); its point source is finite there
        cols = np.flatnonzero(bad.any(axis=0))
        P = matrix(cols, "pointsource")
        M[:, cols] = np.where(bad[:, cols], P, M[:, cols])
        warnings.warn(f"LFPykit's line source is undefined for {int(bad.sum())} (contact, "
                      f"segment) pair(s) with the contact on the segment's axis, in "
                      f"{cols.size} segment(s); the point source is used there", stacklevel=4)
    if electrodes.radius is not None:
        M = M.reshape(len(electrodes), electrodes.n_points, -1).mean(axis=1)
    return M


def inside_segments(segments, electrodes: Electrodes, threads: int = 1) -> dict[str, str]:
    """Electrodes closer to a segment than its radius (µm).

    Returns
    -------
    dict
        Electrode name → how many segments it is inside, and how many of them are somata.
    """
    if len(segments) == 0:
        return {}
    _, counts = _source_kernel(segments, electrodes.positions, method="pointsource", sigma=1.0,
                               inside=True, threads=threads)
    return {name: f"{n} segment(s)" + (f", {soma} of them in a soma" if soma else "")
            for name, (n, soma) in zip(electrodes.names, counts.tolist(), strict=True) if n}


def _setup_threads(ctx: Context) -> int:
    """Threads for set-up work: the cores this process may use, one per rank under MPI."""
    import os

    if ctx.nhost > 1:
        return 1  # every rank already runs on its own core
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


class LFP(LinearRecorder):
    """Extracellular potential at electrode contacts (mV).

    Parameters
    ----------
    electrodes : Electrodes or array-like, shape (n, 3)
        Contacts (µm), e.g. :func:`signals.electrodes.laminar`.
    method : {"linesource", "pointsource", "root_as_point"}
        Forward model of LFPykit's ``RecExtElectrode``.
    sigma : float > 0 or 3 floats > 0, optional
        Extracellular conductivity (S/m) of the infinite medium (default 0.3); three values
        ``(σx, σy, σz)`` make it anisotropic (LFPykit's anisotropic point and line sources).
    slice : signals.media.Slice, optional
        An in vitro slice on an MEA instead of the infinite medium (method of images, LFPykit's
        ``RecMEAElectrode``); its conductivities replace ``sigma``.
    per_population : bool
        Also store each population's contribution as ``<name>_population``
        (time, population, electrode); they sum to the total.
    cells : iterable of int, optional
        gids whose own contributions are stored as ``<name>_per_cell`` (time, ``<name>_cell``,
        electrode), as NetPyNE's ``saveLFPCells``. Each cell costs 8 bytes per contact and
        sample: 100 cells on 32 contacts sampled every 0.025 ms for 1 s of model time take
        1 GB, so choose the cells you need.
    name : str
        Variable name in the run file.

    Notes
    -----
    Each chunk is one matrix product ``M @ I`` with ``M`` from :func:`transfer_matrix`,
    computed once in ``setup``. An electrode inside a segment (closer than its radius) gets a
    warning; the potential there is computed at the segment surface, as LFPykit does.
    """

    units = "mV"
    long_name = "extracellular potential"

    def __init__(self, electrodes: Electrodes | np.ndarray, *, method: str = "linesource",
                 sigma: float | tuple[float, float, float] | None = None,
                 slice: Slice | None = None, per_population: bool = False, cells=None,  # noqa: A002
                 name: str = "lfp") -> None:
        self.electrodes = electrodes if isinstance(electrodes, Electrodes) else points(electrodes)
        self.method = check_option(method, "LFP method", METHODS)
        self.sigma = _conductivity(sigma, slice)
        self.slice = slice
        if slice is not None:
            _check_slice(slice, self.electrodes, self.method)
        self.per_population = bool(per_population)
        self.cells = cell_gids(cells)
        self.name = str(name)

    def channel_dims(self) -> tuple[str, ...]:
        return ("electrode",)

    def attrs(self) -> dict:
        e = self.electrodes  # the contact surfaces averaged over (signals.electrodes.from_run)
        surface = {} if e.radius is None else contact_attrs(e.shape, e.radius, e.n_points)
        if self.slice is not None:
            sl = self.slice
            return {**surface, "sigma": sl.sigma_tissue, "sigma_units": "S/m",
                    "sigma_saline": sl.sigma_saline, "sigma_saline_units": "S/m",
                    "sigma_glass": sl.sigma_glass, "sigma_glass_units": "S/m",
                    "slice_thickness": sl.thickness, "slice_thickness_units": "um",
                    "slice_bottom": sl.bottom, "slice_bottom_units": "um",
                    "slice_squeeze": "none" if sl.squeeze is None else sl.squeeze,
                    "forward_model": f"lfpykit.RecMEAElectrode(method={self.method!r}, "
                                     f"steps={sl.steps})"}
        return {**surface, "sigma": self.sigma if self.sigma is not None else 0.3, "sigma_units": "S/m",
                "forward_model": f"lfpykit.RecExtElectrode(method={self.method!r})"}

    def channel_coords(self, ctx: Context) -> dict:
        e = self.electrodes
        return electrode_coords(e.positions, e.names, normal=e.normal, edge=e.edge)

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        seg = ctx.segments
        threads = _setup_threads(ctx)
        inside = inside_segments(seg, self.electrodes, threads=threads)
        if inside:
            warnings.warn(
                f"electrode(s) inside segments (closer than the segment radius): {inside}; "
                "the potential there is computed at the segment surface", stacklevel=3)
        if self.slice is not None or self.sigma is not None and np.ndim(self.sigma):
            return (medium_matrix(seg, self.electrodes, method=self.method,
                                  sigma=self.sigma, slice=self.slice),)
        return (transfer_matrix(seg, self.electrodes, method=self.method,
                                sigma=0.3 if self.sigma is None else self.sigma,
                                threads=threads),)
