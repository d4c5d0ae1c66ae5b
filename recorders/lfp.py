"""Extracellular potential (LFP) recorder, with forward models from LFPykit."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from signals.electrodes import Electrodes, points
from signals.media import Slice
from signals.recorder import Context, LinearRecorder, cell_gids
from signals.schema import contact_attrs, electrode_coords
from signals.validation import check_option, check_positive, ensure_int

__all__ = ["LFP", "METHODS", "BlockLowRank", "Compression", "compress_matrix", "inside_segments",
           "medium_matrix", "transfer_matrix"]


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
#: Largest (points x segments) matrix LFPykit computes at once in :func:`medium_matrix` (bytes).
_GROUP_BYTES = 2**28


def _source_kernel(segments, pos: np.ndarray, *, method: str, sigma: float,
                   inside: bool = False, threads: int = 1, average: int = 1,
                   dtype: str = "f8") -> tuple[np.ndarray, np.ndarray | None]:
    """LFPykit's line- and point-source potentials, block-wise over segments, in one pass.

    The same floating-point operations as ``lfpykit.lfpcalc`` (``calc_lfp_linesource``,
    ``calc_lfp_pointsource``, ``calc_lfp_root_as_point``, Holt 1998 eq. C.13 with its three
    cases folded into one), so the matrix equals LFPykit's bit for bit, in less time
    (``benchmarks/setup_cost.py``, 384 contacts x 100k segments: line source 16.5 vs 24.2 ns
    per entry, point source 5.9 vs 50, root as point 15 vs 33): LFPykit loops over contacts
    in Python, this loops over cache-sized blocks of segments for all contacts at once.
    ``inside`` also returns, per contact, how many segments (column 0) and root segments
    (column 1) contain it (distance to the segment below its radius). ``threads`` fills
    blocks in parallel (the result does not depend on it). ``average``: each row of the
    result is the mean of that many consecutive rows of ``pos`` (the points of one contact's
    surface), taken block by block, so that the (points × segments) matrix never exists
    (384 contacts × 50 points × 100k segments would be 16 GB). ``dtype``: of the result (each
    block is computed in double and then stored).
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
    M = np.empty((len(pos) // average, len(segments)), dtype=dtype)
    direct = average == 1 and M.dtype == np.float64  # blocks computed in M itself
    line = method != "pointsource"
    block = int(np.clip(_BLOCK_ENTRIES // max(len(pos), 1), 16, 4096))

    def fill(start: int) -> np.ndarray | None:
        """Columns ``start : start + block`` of M; inside counts of that block."""
        counts = None
        sl = slice(start, start + block)
        out = M[:, sl] if direct else np.empty((len(pos), len(segments.x[sl])))
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
            out[:] = _line_block(h, r2, lh, rlim2[sl], line_scale[sl])
        pts = np.flatnonzero(point[sl])
        if pts.size:
            cols = pts + start
            d2 = (mid[cols, 0] - ex) ** 2 + (mid[cols, 1] - ey) ** 2 + (mid[cols, 2] - ez) ** 2
            if method == "pointsource":
                out[:, pts] = 1.0 / (4.0 * np.pi * sigma * np.sqrt(np.maximum(d2, rlim2[cols])))
            else:
                out[:, pts] = root_scale * (1 / np.maximum(np.sqrt(d2), r_limit[cols]))
        if not direct:
            M[:, sl] = out.reshape(M.shape[0], average, -1).mean(axis=1) if average > 1 else out
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
                    sigma: float = 0.3, seed: int = 0, threads: int = 1,
                    dtype: str = "f8") -> np.ndarray:
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
    dtype : {"f8", "f4"}
        Type of the matrix (computed in double block by block either way).

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
    check_option(dtype, "transfer matrix dtype", ("f8", "f4"))
    if len(segments) == 0:
        return np.zeros((len(electrodes), 0), dtype=dtype)
    M, _ = _source_kernel(segments, _contact_points(electrodes, seed), method=method, sigma=sigma,
                          threads=threads, dtype=dtype,
                          average=1 if electrodes.radius is None else electrodes.n_points)
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

    def matrix(rows, kind: str, where_pts: np.ndarray) -> np.ndarray:
        geometry = lfpykit.CellGeometry(x=segments.x[rows], y=segments.y[rows], z=z[rows],
                                        d=segments.diam[rows])
        where = {"x": where_pts[:, 0].copy(), "y": where_pts[:, 1].copy(),
                 "z": where_pts[:, 2].copy()}
        if slice is not None:
            model = lfpykit.RecMEAElectrode(
                geometry, sigma_T=slice.sigma_tissue, sigma_S=slice.sigma_saline,
                sigma_G=slice.sigma_glass, h=slice.thickness, z_shift=slice.bottom,
                steps=slice.steps, method=kind, **where)
        else:
            sig = np.broadcast_to(np.asarray(sigma, dtype=float), (3,)).copy()
            model = lfpykit.RecExtElectrode(geometry, sigma=sig, method=kind, **where)
        return model.get_transformation_matrix()

    def contacts(where_pts: np.ndarray) -> tuple[np.ndarray, int, int]:
        """The matrix at ``where_pts``; (contact, segment) pairs and segments patched."""
        with np.errstate(divide="ignore", invalid="ignore"):
            M = matrix(np.arange(len(segments)),
                       "pointsource" if method == "pointsource" else "linesource", where_pts)
        if method == "root_as_point":
            roots = np.flatnonzero(segments.root)
            if roots.size:
                M[:, roots] = matrix(roots, "pointsource", where_pts)
        bad = ~np.isfinite(M)
        n_bad, n_cols = 0, 0
        if bad.any():
            # LFPykit's slice line source is 0/0 for a contact on a segment's own axis
            # (measured: vertical segments straight above an MEA contact); its point source
            # is finite there
            cols = np.flatnonzero(bad.any(axis=0))
            P = matrix(cols, "pointsource", where_pts)
            M[:, cols] = np.where(bad[:, cols], P, M[:, cols])
            n_bad, n_cols = int(bad.sum()), cols.size
        return M, n_bad, n_cols

    # the contacts in groups: with surface points, the whole (points x segments) matrix would
    # be n_points times the result (384 x 50 x 100k: 16 GB); each group's is at most 256 MiB
    per = 1 if electrodes.radius is None else electrodes.n_points
    group = max(1, _GROUP_BYTES // (8 * per * len(segments)))
    out = np.empty((len(electrodes), len(segments)))
    n_bad, cols_bad = 0, 0
    for c0 in range(0, len(electrodes), group):
        c1 = min(c0 + group, len(electrodes))
        M, nb, nc = contacts(pts[c0 * per:c1 * per])
        out[c0:c1] = M.reshape(c1 - c0, per, -1).mean(axis=1) if per > 1 else M
        n_bad, cols_bad = n_bad + nb, cols_bad + nc
    if n_bad:
        warnings.warn(f"LFPykit's line source is undefined for {n_bad} (contact, segment) "
                      f"pair(s) with the contact on the segment's axis, in {cols_bad} "
                      "segment(s) (counted per group of contacts); the point source is used "
                      "there", stacklevel=4)
    return out


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


#: Segments per compressed block (``LFP(compress=...)``): groups of neighbouring cells are
#: split until they hold at most this many. On 384 contacts x 103k segments at tolerance 1e-4
#: (``benchmarks/lowrank.py --blocks``) 512-2048 were equally fast (0.16-0.17 of the plain
#: product), 256 and 4096 slower (0.18-0.19).
COMPRESS_BLOCK_SEGMENTS = 1024
#: A block is factored only if its factors cost at most this fraction of its dense columns: two
#: products and a gather of its currents cost more per multiply-add than one product.
_BLOCK_GAIN = 0.75
#: The compressed map is used only if it needs this many times fewer multiply-adds per sample.
_MIN_GAIN = 1.5


def _cell_groups(segments, max_segments: int) -> list[np.ndarray]:
    """Groups of neighbouring cells (indices into ``segments.cell_gid``), each population apart.

    Recursive bisection of the cells' centroids (mean segment midpoint, µm) at the median along
    their widest axis, until a group holds at most ``max_segments`` segments (or one cell):
    compact groups of sources seen from afar have transfer columns of low numerical rank (the
    fast multipole argument). Centroids, not ``cell_position``, so that a table rebuilt from a
    run file (:func:`signals.recompute.segment_table`) gives the same blocks as the live one.
    """
    slices = segments.cell_slices()
    n_seg = np.array([s.stop - s.start for s in slices], dtype=np.int64)
    starts = np.array([s.start for s in slices], dtype=np.int64)
    pos = (np.add.reduceat(segments.midpoints, starts, axis=0) / n_seg[:, None] if slices
           else np.zeros((0, 3)))
    out: list[np.ndarray] = []
    stack = [np.flatnonzero(segments.cell_population == p)
             for p in np.unique(segments.cell_population)]
    while stack:
        idx = stack.pop()
        if idx.size == 1 or n_seg[idx].sum() <= max_segments:
            out.append(np.sort(idx))
            continue
        p = pos[idx]
        order = idx[np.argsort(p[:, np.argmax(np.ptp(p, axis=0))], kind="stable")]
        cum = np.cumsum(n_seg[order])
        k = int(np.clip(np.searchsorted(cum, cum[-1] / 2), 1, order.size - 1))
        stack += [order[k:], order[:k]]
    return sorted(out, key=lambda g: int(g[0]))


def _as_columns(cols: np.ndarray) -> slice | np.ndarray:
    """A slice (a view when indexing) where the sorted columns are contiguous."""
    if cols.size and cols[-1] - cols[0] + 1 == cols.size:
        return slice(int(cols[0]), int(cols[-1]) + 1)
    return cols


class BlockLowRank:
    """A map ``U @ W`` with ``W`` block-diagonal in its columns (the segments): a compressed
    transfer matrix.

    Block ``k`` acts on the columns ``cols[k]`` (any disjoint sets) through ``W_k``, shape
    (``r_k``, columns of the block), or, where ``W_k`` is None, the identity (``U``'s columns
    are then the block's dense columns). ``U`` (rows x sum of the ``r_k``) holds the blocks'
    left factors side by side. It behaves as the matrix it stands for where
    :class:`~signals.recorder.LinearRecorder` uses one: ``astype``, column selection
    ``A[:, rows]`` (exact: the same factors restricted to the blocks those columns touch,
    cached) and ``A @ X`` (one product per block, then one with ``U``).

    Parameters
    ----------
    U : ndarray, shape (n_rows, sum of ranks)
        Left factors of the blocks, in block order.
    blocks : sequence of (slice or ndarray of int, ndarray or None)
        Columns of each block and its right factor ``W_k`` (None: identity).
    n_columns : int
        Number of columns of the map.
    """

    def __init__(self, U: np.ndarray, blocks, n_columns: int) -> None:
        self.U = np.ascontiguousarray(U)
        self.blocks = tuple((c, None if w is None else np.ascontiguousarray(w)) for c, w in blocks)
        widths = [(_width(c) if w is None else w.shape[0]) for c, w in self.blocks]
        self.offsets = np.concatenate([[0], np.cumsum(widths, dtype=np.int64)])
        if self.offsets[-1] != self.U.shape[1]:
            raise ValueError(f"U has {self.U.shape[1]} columns, the blocks need "
                             f"{self.offsets[-1]}")
        self.n_columns = int(n_columns)
        self._restricted: dict = {}
        self._where: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.U.shape[0], self.n_columns)

    @property
    def dtype(self) -> np.dtype:
        return self.U.dtype

    @property
    def nbytes(self) -> int:
        return self.U.nbytes + sum(0 if w is None else w.nbytes for _, w in self.blocks)

    def multiply_adds(self) -> int:
        """Multiply-adds per column of ``X`` in ``self @ X``."""
        return int(self.U.size + sum(0 if w is None else w.size for _, w in self.blocks))

    def astype(self, dtype, copy: bool = False) -> BlockLowRank:
        """The same map in another floating-point type."""
        if np.dtype(dtype) == self.dtype and not copy:
            return self
        return BlockLowRank(self.U.astype(dtype),
                            [(c, None if w is None else w.astype(dtype)) for c, w in self.blocks],
                            self.n_columns)

    def toarray(self) -> np.ndarray:
        """The dense matrix, shape (n_rows, n_columns)."""
        out = np.zeros(self.shape, dtype=self.dtype)
        for (cols, w), a, b in zip(self.blocks, self.offsets[:-1], self.offsets[1:], strict=True):
            out[:, cols] = self.U[:, a:b] if w is None else self.U[:, a:b] @ w
        return out

    def __matmul__(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.shape[0] != self.n_columns:
            raise ValueError(f"matmul: {self.shape} map and {X.shape} operand")
        Z = np.empty((self.U.shape[1], *X.shape[1:]), dtype=np.result_type(self.dtype, X.dtype))
        for (cols, w), a, b in zip(self.blocks, self.offsets[:-1], self.offsets[1:], strict=True):
            if w is None:
                Z[a:b] = X[cols]
            else:
                np.matmul(w, X[cols], out=Z[a:b])
        return self.U @ Z

    def __getitem__(self, key) -> BlockLowRank:
        if not (isinstance(key, tuple) and len(key) == 2 and key[0] == slice(None)):
            raise TypeError("BlockLowRank supports column selection only: A[:, rows]")
        rows = key[1]
        if isinstance(rows, slice):
            if rows == slice(None):
                return self
            cache_key = ("slice", *rows.indices(self.n_columns))
        else:
            rows = np.asarray(rows, dtype=np.int64)
            cache_key = ("rows", rows.tobytes())
        hit = self._restricted.get(cache_key)
        if hit is None:
            hit = self._restricted[cache_key] = self._restrict(rows)
        return hit

    def _restrict(self, rows: slice | np.ndarray) -> BlockLowRank:
        """The map on the columns ``rows`` (renumbered from 0): the touched blocks only."""
        if self._where is None:
            block = np.full(self.n_columns, -1, dtype=np.int64)
            local = np.zeros(self.n_columns, dtype=np.int64)
            for k, (cols, _) in enumerate(self.blocks):
                idx = np.arange(self.n_columns)[cols]
                block[idx] = k
                local[idx] = np.arange(idx.size)
            self._where = (block, local)
        block, local = (a[rows] for a in self._where)
        order = np.argsort(block, kind="stable")
        ks, starts = np.unique(block[order], return_index=True)
        U_parts, blocks = [], []
        for k, sel in zip(ks.tolist(), np.split(order, starts[1:]), strict=True):
            cols, w = self.blocks[k]
            a, b = self.offsets[k], self.offsets[k + 1]
            loc = local[sel]
            whole = loc.size == _width(cols) and bool(np.array_equal(loc, np.arange(loc.size)))
            if w is None:
                U_parts.append(self.U[:, a:b] if whole else self.U[:, a + loc])
                blocks.append((_as_columns(sel), None))
            else:
                U_parts.append(self.U[:, a:b])
                blocks.append((_as_columns(sel), w if whole else w[:, loc]))
        U = np.hstack(U_parts) if U_parts else np.zeros((self.U.shape[0], 0), dtype=self.dtype)
        return BlockLowRank(U, blocks, block.size)


def _width(cols: slice | np.ndarray) -> int:
    return cols.stop - cols.start if isinstance(cols, slice) else int(cols.size)


@dataclass(frozen=True)
class Compression:
    """What :func:`compress_matrix` did, per block of neighbouring cells.

    Attributes
    ----------
    tolerance : float
        Relative spectral-norm error allowed per block.
    cells, segments : ndarray of int, shape (n_block,)
        Cells and segments (columns) of each block.
    rank : ndarray of int, shape (n_block,)
        Rank of the block's truncated SVD at the tolerance.
    factored : ndarray of bool, shape (n_block,)
        Whether the block is applied through its factors (else through its dense columns,
        exactly); all False when the compressed map is not used.
    norm, error : ndarray, shape (n_block,)
        Spectral norm of the block and of its truncation error where factored (mV/nA; error 0
        where dense): ``error <= tolerance * norm``.
    n_rows : int
        Rows (contacts) of the map.
    used : bool
        Whether the compressed map is used (it saves at least ``_MIN_GAIN`` times the
        multiply-adds); else the plain matrix is.
    """

    tolerance: float
    cells: np.ndarray
    segments: np.ndarray
    rank: np.ndarray
    factored: np.ndarray
    norm: np.ndarray
    error: np.ndarray
    n_rows: int
    used: bool

    @property
    def multiply_adds(self) -> np.ndarray:
        """Multiply-adds per sample of each block as applied."""
        m, n, r = self.n_rows, self.segments, self.rank
        return np.where(self.factored, r * (m + n), m * n).astype(np.int64)

    @property
    def ratio(self) -> float:
        """Multiply-adds per sample as applied over those of the plain matrix (1 unused)."""
        dense = self.n_rows * int(self.segments.sum())
        return float(self.multiply_adds.sum() / dense) if dense else 1.0


def compress_matrix(M: np.ndarray, segments, tolerance: float, *,
                    block_segments: int = COMPRESS_BLOCK_SEGMENTS, threads: int = 1
                    ) -> tuple[BlockLowRank | None, Compression]:
    """Block-wise truncated SVD of a transfer matrix, one block per group of neighbouring cells.

    Each block ``A_k`` (the columns of a group of cells, :func:`_cell_groups`) is replaced by
    ``U_k W_k`` of the smallest rank ``r`` with ``s_r <= tolerance * s_0`` (its singular
    values, descending), i.e. spectral error ``||A_k - U_k W_k||_2 <= tolerance ||A_k||_2``;
    a block whose factors would not cost at most ``_BLOCK_GAIN`` of its dense columns stays
    dense (exact).

    Parameters
    ----------
    M : ndarray, shape (n_rows, n_seg)
        Transfer matrix (mV/nA), columns = rows of ``segments``.
    segments : SegmentTable
        The segments (cells, populations, soma positions in µm).
    tolerance : float in (0, 1)
        Relative spectral error per block.
    block_segments : int >= 1
        Most segments per block (a single larger cell is one block).
    threads : int >= 1
        Blocks factored side by side (set-up only; the result does not depend on it).

    Returns
    -------
    BlockLowRank or None
        The compressed map, or None where it would save less than ``_MIN_GAIN`` times the
        multiply-adds per sample (use ``M``).
    Compression
        Ranks, errors and costs per block.
    """
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    if _check_compress(tolerance) is None:
        raise ValueError("tolerance must be a relative error in (0, 1), got None")
    threads = ensure_int(threads, "threads", minimum=1)
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[1] != len(segments):
        raise ValueError(f"M must have one column per segment ({len(segments)}), got shape "
                         f"{M.shape}")
    m, n = M.shape
    cells = segments.cell_slices()
    groups = _cell_groups(segments, ensure_int(block_segments, "block_segments", minimum=1))

    def factor(group: np.ndarray) -> tuple:
        cols = np.concatenate([np.arange(cells[i].start, cells[i].stop) for i in group])
        A = M[:, cols]
        u, s, vt = np.linalg.svd(A, full_matrices=False)
        norm = float(s[0]) if s.size else 0.0
        r = int(np.count_nonzero(s > tolerance * norm))
        factored = r * (m + cols.size) <= _BLOCK_GAIN * m * cols.size
        stats = (group.size, cols.size, r, factored, norm,
                 float(s[r]) if factored and r < s.size else 0.0)
        if factored:
            return u[:, :r] * s[:r], (_as_columns(cols), vt[:r]), stats
        return A, (_as_columns(cols), None), stats

    # one BLAS thread per SVD, blocks side by side: small SVDs on threaded BLAS were measured
    # 20x slower on a busy 2-core machine (threads spinning), and no faster on a quiet one
    with threadpool_limits(1, user_api="blas"):
        if threads > 1 and len(groups) > 1:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                parts = list(pool.map(factor, groups))
        else:
            parts = [factor(g) for g in groups]
    U_parts = [p[0] for p in parts]
    blocks = [p[1] for p in parts]
    info = [p[2] for p in parts]
    cols_ = np.array(info, dtype=float).reshape(-1, 6).T
    report = Compression(
        tolerance=float(tolerance), cells=cols_[0].astype(np.int64),
        segments=cols_[1].astype(np.int64), rank=cols_[2].astype(np.int64),
        factored=cols_[3].astype(bool), norm=cols_[4], error=cols_[5], n_rows=m, used=True)
    if report.ratio > 1 / _MIN_GAIN or not blocks:
        report = replace(report, used=False, factored=np.zeros_like(report.factored))
        return None, report
    U = np.hstack(U_parts)
    return BlockLowRank(U, blocks, n), report


def _check_compress(value) -> float | None:
    """``LFP(compress=...)``: None, or a relative tolerance in (0, 1)."""
    if value is None:
        return None
    tol = check_positive(value, "compress (relative error tolerance per block)")
    if tol >= 1:
        raise ValueError(f"compress (relative error tolerance per block) must be < 1, got "
                         f"{value}; None turns compression off")
    return tol


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
    compress : float in (0, 1), optional
        Relative error tolerance of a compressed transfer matrix (None, the default: the exact
        matrix). See Notes.
    name : str
        Variable name in the run file.

    Notes
    -----
    Each chunk is one matrix product ``M @ I`` with ``M`` from :func:`transfer_matrix`,
    computed once in ``setup``. An electrode inside a segment (closer than its radius) gets a
    warning; the potential there is computed at the segment surface, as LFPykit does.

    ``compress=tol`` replaces ``M`` by ``U @ W`` (:func:`compress_matrix`): the segments are
    split into blocks of neighbouring cells (at most ``COMPRESS_BLOCK_SEGMENTS`` segments, each
    population apart) and each block ``M_k`` by its truncated SVD with spectral error
    ``||M_k - U_k W_k||_2 <= tol ||M_k||_2``; a block whose factors would not save work stays
    exact, and the whole map stays exact if compression saves less than 1.5x multiply-adds.
    At every sample the error is then bounded, in the Euclidean norm over contacts (mV), by
    ``tol * sum_k ||M_k||_2 ||I_k||_2 <= tol * ||M||_F ||I||_2`` (``I`` the currents, nA), plus
    round-off; that bound is what is guaranteed. Relative to the peak the error is typically
    1-3 ``tol``: on 384 Neuropixels contacts x 103k segments of realistic currents
    (``benchmarks/lowrank.py``) 1.7e-4 of the peak at tol 1e-4 with ``on_chunk`` 6x faster
    (2.1e-3 and 7.6x at 1e-3, 1.7e-5 and 5x at 1e-5), the bound 100-160x above the error;
    set-up takes ~2 s more for the SVDs. It pays for many contacts and segments, not for a
    few contacts. The per-population outputs (which sum to the total) and per-cell outputs
    apply the same factors restricted to their segments. What was done per block is stored in
    the ``<name>_block_*`` variables (rank, segments, cells, whether factored, norm and error
    in mV/nA, multiply-adds per sample; the ratio to the plain matrix as the
    ``multiply_adds_ratio`` attribute of ``<name>_block_rank`` in serial runs) and the
    tolerance as the ``compress_tolerance`` attribute of the outputs.
    """

    units = "mV"
    long_name = "extracellular potential"

    def __init__(self, electrodes: Electrodes | np.ndarray, *, method: str = "linesource",
                 sigma: float | tuple[float, float, float] | None = None,
                 slice: Slice | None = None, per_population: bool = False, cells=None,  # noqa: A002
                 compress: float | None = None, name: str = "lfp") -> None:
        self.electrodes = electrodes if isinstance(electrodes, Electrodes) else points(electrodes)
        self.method = check_option(method, "LFP method", METHODS)
        self.sigma = _conductivity(sigma, slice)
        self.slice = slice
        if slice is not None:
            _check_slice(slice, self.electrodes, self.method)
        self.per_population = bool(per_population)
        self.cells = cell_gids(cells)
        self.compress = _check_compress(compress)
        self.name = str(name)

    def channel_dims(self) -> tuple[str, ...]:
        return ("electrode",)

    def attrs(self) -> dict:
        e = self.electrodes  # the contact surfaces averaged over (signals.electrodes.from_run)
        surface = {} if e.radius is None else contact_attrs(e.shape, e.radius, e.n_points)
        if self.compress is not None:
            surface.update({
                "compress_tolerance": self.compress,
                "compress_method": "block-wise truncated SVD of the transfer matrix per group "
                                   "of neighbouring cells, spectral error <= tolerance x block "
                                   f"norm; per block: {self.name}_block_* variables"})
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
            M = medium_matrix(seg, self.electrodes, method=self.method, sigma=self.sigma,
                              slice=self.slice)
        else:
            # in the session's precision straight away (an f8 copy beside an f4 one would
            # raise the set-up's peak memory by the f8 matrix), unless it is to be compressed
            M = transfer_matrix(seg, self.electrodes, method=self.method,
                                sigma=0.3 if self.sigma is None else self.sigma, threads=threads,
                                dtype="f8" if self.compress is not None else ctx.dtype)
        self.compression_ = None
        if self.compress is None:
            return (M,)
        compressed, self.compression_ = compress_matrix(M, seg, self.compress,
                                                         threads=threads)
        return (M if compressed is None else compressed,)

    def static(self, ctx: Context) -> dict:
        info = getattr(self, "compression_", None)
        if info is None:
            return {}
        dims = (f"{self.name}_block",)
        one = {"units": "1"}
        rank_attrs = {**one, "long_name": "rank of the block's truncated SVD at the tolerance",
                      "compress_tolerance": info.tolerance,
                      "comment": "blocks of neighbouring cells of the transfer matrix, MPI "
                                 "ranks in order; multiply-adds ratio = sum of "
                                 f"{self.name}_block_multiply_adds / (contacts x segments)"}
        if ctx.nhost == 1:
            rank_attrs["multiply_adds_ratio"] = info.ratio
        return {
            f"{self.name}_block_rank": (dims, info.rank.astype(np.int32), rank_attrs),
            f"{self.name}_block_segments": (dims, info.segments.astype(np.int32),
                                            {**one, "long_name": "segments in the block"}),
            f"{self.name}_block_cells": (dims, info.cells.astype(np.int32),
                                         {**one, "long_name": "cells in the block"}),
            f"{self.name}_block_factored": (
                dims, info.factored.astype(np.int8),
                {"long_name": "block applied through its factors (else exactly)",
                 "flag_values": np.array([0, 1], dtype=np.int8), "flag_meanings": "exact factored"}),
            f"{self.name}_block_norm": (dims, info.norm, {"units": "mV/nA",
                                                          "long_name": "spectral norm of the block"}),
            f"{self.name}_block_error": (
                dims, info.error, {"units": "mV/nA",
                                   "long_name": "spectral norm of the block's truncation error "
                                                "(0 where exact)"}),
            f"{self.name}_block_multiply_adds": (
                dims, info.multiply_adds, {**one, "long_name": "multiply-adds per sample"}),
        }
