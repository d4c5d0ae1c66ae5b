"""Ion concentrations from NEURON's reaction-diffusion module (``neuron.rxd``).

Two recorders:

- :class:`Concentration`: an ``rxd`` species on an ``rxd.Extracellular`` region (e.g. K+ in the
  extracellular space) at electrode positions, on the same ``time`` axis and ``electrode``
  dimension as the LFP;
- :class:`IntracellularConcentration`: the intracellular concentration (``cai``, ``ki``, ...) of
  chosen cells at a chosen section and location.

:func:`grid_snapshot` returns the whole extracellular grid at the current time as a labeled
``xarray.DataArray`` (x, y, z in µm), e.g. for a slice figure at the end of a run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from signals.electrodes import Electrodes, points
from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.schema import electrode_coords, gid_coord, with_units
from signals.validation import check_option, check_positive

__all__ = [
    "Concentration",
    "IntracellularConcentration",
    "INTERPOLATIONS",
    "ExtracellularGrid",
    "extracellular_grid",
    "grid_snapshot",
    "interpolation_matrix",
]

#: How a concentration between voxel centres is computed.
INTERPOLATIONS = ("trilinear", "nearest")


@dataclass(frozen=True)
class ExtracellularGrid:
    """The voxel grid of an ``rxd.Extracellular`` region.

    Voxel ``(i, j, k)`` is the box ``origin + [i, i+1) × spacing`` (per axis) and its value is
    the mean concentration in it, centred at ``origin + (index + 0.5) * spacing``; NEURON's
    ``rxd`` puts the membrane currents of a segment into the voxel that contains its centre.

    Attributes
    ----------
    origin : ndarray, shape (3,)
        Lower corner ``(xlo, ylo, zlo)`` of the region (µm).
    spacing : ndarray, shape (3,)
        Voxel edge lengths ``(dx, dy, dz)`` (µm).
    shape : tuple of 3 int
        Number of voxels along x, y and z.
    """

    origin: np.ndarray
    spacing: np.ndarray
    shape: tuple[int, int, int]

    @property
    def upper(self) -> np.ndarray:
        """Upper corner of the region (µm): ``origin + shape * spacing``."""
        return self.origin + np.asarray(self.shape) * self.spacing

    def centres(self, axis: int) -> np.ndarray:
        """Voxel centres along ``axis`` (0, 1, 2 for x, y, z), in µm."""
        return self.origin[axis] + (np.arange(self.shape[axis]) + 0.5) * self.spacing[axis]

    def flat_index(self, i, j, k):
        """Index into the flat (C-order) state vector of voxel ``(i, j, k)``."""
        nx, ny, nz = self.shape
        return (np.asarray(i) * ny + np.asarray(j)) * nz + np.asarray(k)


def _axis_weights(u: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, upper index and upper weight along one axis.

    ``u`` is the position in voxel units measured from the first voxel centre; positions
    beyond the outermost centres (within half a voxel of the region's wall) take the outermost
    voxel's value.
    """
    if n == 1:
        zeros = np.zeros(u.shape, dtype=np.int64)
        return zeros, zeros, np.zeros(u.shape)
    u = np.clip(u, 0.0, n - 1.0)
    lo = np.minimum(np.floor(u).astype(np.int64), n - 2)
    return lo, lo + 1, u - lo


def interpolation_matrix(positions: np.ndarray, grid: ExtracellularGrid, *,
                         method: str = "trilinear") -> tuple[np.ndarray, np.ndarray]:
    """Linear map from voxel concentrations to concentrations at points.

    Parameters
    ----------
    positions : array-like, shape (n, 3)
        Points (µm); each must lie inside the region (its walls included).
    grid : ExtracellularGrid
        The voxel grid (µm).
    method : {"trilinear", "nearest"}
        ``trilinear``: between the 8 surrounding voxel centres (exact at a voxel centre and
        for any field linear in x, y, z); within half a voxel of a wall, where there is no
        centre beyond, the outermost voxel's value is kept (zero gradient, as at rxd's default
        no-flux boundary). ``nearest``: the value of the voxel that contains the point — the
        concentration the membrane of a segment there sees in rxd.

    Returns
    -------
    voxels : ndarray of int, shape (m,)
        Flat (C-order) indices of the voxels used.
    weights : ndarray, shape (n, m)
        ``c(points) = weights @ c[voxels]`` (mM if ``c`` is in mM); each row sums to 1.

    Raises
    ------
    ValueError
        If a point lies outside the region.
    """
    method = check_option(method, "interpolation", INTERPOLATIONS)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    lo, hi = grid.origin, grid.upper
    tol = 1e-9 * grid.spacing
    outside = np.flatnonzero(np.any((pos < lo - tol) | (pos > hi + tol), axis=1))
    if outside.size:
        raise ValueError(
            f"{outside.size} point(s) outside the extracellular region "
            f"x [{lo[0]:g}, {hi[0]:g}], y [{lo[1]:g}, {hi[1]:g}], z [{lo[2]:g}, {hi[2]:g}] µm: "
            f"{np.round(pos[outside[:5]], 3).tolist()}")
    rel = (pos - lo) / grid.spacing  # in voxel units from the lower corner
    n_pts = pos.shape[0]
    if method == "nearest":
        ijk = [np.clip(np.floor(rel[:, a]).astype(np.int64), 0, grid.shape[a] - 1) for a in range(3)]
        flat = grid.flat_index(*ijk)[:, None]
        w = np.ones((n_pts, 1))
    else:
        axes = [_axis_weights(rel[:, a] - 0.5, grid.shape[a]) for a in range(3)]
        flat = np.empty((n_pts, 8), dtype=np.int64)
        w = np.empty((n_pts, 8))
        corner = 0
        for ci in (0, 1):
            for cj in (0, 1):
                for ck in (0, 1):
                    idx, wt = [], np.ones(n_pts)
                    for (i0, i1, f), c in zip(axes, (ci, cj, ck), strict=True):
                        idx.append(i1 if c else i0)
                        wt = wt * (f if c else 1.0 - f)
                    flat[:, corner] = grid.flat_index(*idx)
                    w[:, corner] = wt
                    corner += 1
    voxels, inverse = np.unique(flat, return_inverse=True)
    weights = np.zeros((n_pts, voxels.size))
    np.add.at(weights, (np.repeat(np.arange(n_pts), flat.shape[1]), inverse.ravel()), w.ravel())
    return voxels, weights


# -- rxd look-ups ---------------------------------------------------------------------------------


def _extracellular_instance(species: str):
    """The rxd ``_ExtracellularSpecies`` of the species named ``species``.

    Raises ``KeyError`` naming the extracellular species that exist if there is none.
    """
    from neuron.rxd import initializer
    from neuron.rxd import species as rxd_species

    # rxd builds a species' extracellular grids on first use or at h.finitialize
    initializer._do_init()
    found: dict[str, list] = {}
    for ref in list(rxd_species._all_species):
        sp = ref()
        if sp is None:
            continue
        for inst in (getattr(sp, "_extracellular_instances", None) or {}).values():
            found.setdefault(str(sp.name), []).append(inst)
    if species not in found:
        have = ", ".join(sorted(map(repr, found))) or "none"
        raise KeyError(f"no rxd species named {species!r} on an rxd.Extracellular region "
                       f"(extracellular species defined: {have}); create it before recording, "
                       f"e.g. rxd.Species(rxd.Extracellular(...), name={species!r}, charge=...)")
    if len(found[species]) > 1:
        raise ValueError(f"the rxd species {species!r} lives on {len(found[species])} extracellular "
                         "regions; signals records species on a single rxd.Extracellular region")
    return found[species][0]


def _grid_of(instance) -> ExtracellularGrid:
    return ExtracellularGrid(
        origin=np.array([instance._xlo, instance._ylo, instance._zlo], dtype=float),
        spacing=np.asarray(instance._dx, dtype=float).reshape(3),
        shape=(int(instance._nx), int(instance._ny), int(instance._nz)),
    )


def extracellular_grid(species: str) -> ExtracellularGrid:
    """The voxel grid (µm) of the extracellular rxd species named ``species`` (e.g. ``"k"``)."""
    return _grid_of(_extracellular_instance(str(species)))


def grid_snapshot(species: str, *, name: str | None = None):
    """The extracellular concentration of ``species`` on its whole grid, now.

    Parameters
    ----------
    species : str
        Name of an ``rxd`` species on an ``rxd.Extracellular`` region (e.g. ``"k"``).
    name : str, optional
        Name of the DataArray; default ``<species>o_grid``.

    Returns
    -------
    xarray.DataArray, dims (x, y, z)
        Concentration (mM) of every voxel, with voxel-centre coordinates ``x``, ``y``, ``z``
        (µm) and the scalar coordinate ``snapshot_time`` (ms, the current ``h.t``). Snapshots
        taken during a run combine with ``xarray.concat(snapshots, dim="snapshot_time")``.
        Under MPI every rank holds the whole grid (rxd sums the membrane currents of all ranks
        into it).

    Notes
    -----
    Take snapshots between ``h.continuerun``/``session.run`` calls, when NEURON has completed
    its steps: the grid is then exactly the state at ``h.t``.
    """
    import xarray as xr
    from neuron import h

    inst = _extracellular_instance(str(species))
    grid = _grid_of(inst)
    um = {"units": "um"}
    coords = {axis: (axis, grid.centres(a), {**um, "long_name": f"voxel centre {axis}"})
              for a, axis in enumerate("xyz")}
    t, dt = float(h.t), float(h.dt)
    if abs(t - round(t / dt) * dt) < 1e-6 * dt:  # on the fixed-step grid: drop NEURON's round-off in t
        t = round(t / dt) * dt
    coords["snapshot_time"] = ((), t, {"units": "ms", "long_name": "time of the grid snapshot"})
    return xr.DataArray(
        np.array(inst.states, dtype=float).reshape(grid.shape), dims=("x", "y", "z"), coords=coords,
        name=name or f"{species}o_grid",
        attrs={"units": "mM", "long_name": f"extracellular {species} concentration"})


class _Voxel:
    """Stands for one voxel in :meth:`Context.add_pointers`: the session takes its reference
    (``_ref_concentration``) after ``h.finitialize``."""

    __slots__ = ("_states", "_index")

    def __init__(self, states, index: int) -> None:
        self._states = states
        self._index = int(index)

    @property
    def _ref_concentration(self):
        return self._states._ref_x[self._index]

    def __repr__(self) -> str:
        return f"voxel[{self._index}]"


# -- recorders ------------------------------------------------------------------------------------


class Concentration(Recorder):
    """Extracellular concentration (mM) of an ``rxd`` species at electrode positions.

    Parameters
    ----------
    electrodes : Electrodes or array-like, shape (n, 3)
        Contact centres (µm), e.g. the LFP probe; every contact must lie inside the species'
        ``rxd.Extracellular`` region. A contact radius is not used: concentrations vary on the
        voxel scale (µm to tens of µm), not across a contact.
    species : str
        Name of the ``rxd.Species`` (e.g. ``"k"``, ``"ca"``) that lives on an
        ``rxd.Extracellular`` region; it must exist when the session is created.
    interpolation : {"trilinear", "nearest"}
        ``trilinear`` (default): between the 8 voxel centres around the contact — continuous in
        the contact position, exact at voxel centres and for fields linear in x, y, z, and
        linear in the voxel values, so each sample is one small matrix product. ``nearest``:
        the voxel containing the contact, i.e. what a membrane there sees in rxd.
    name : str, optional
        Variable name in the run file; default ``<species>o`` (``ko`` for K+).
    dim : str
        Electrode dimension. With the default ``"electrode"`` the variable shares the LFP's
        electrode coordinate (``electrode``, ``electrode_x/y/z``) when both record the same
        probe; give another name (e.g. ``"k_electrode"``) for a different set of contacts.
    snapshot_every : float > 0, optional
        Also store the whole grid, for slices and movies, about every ``snapshot_every`` ms:
        ``<name>_grid`` (``<name>_snapshot``, x, y, z) with the snapshot times (ms) as the
        ``<name>_snapshot`` coordinate and voxel centres (µm) as ``x``, ``y``, ``z``. A
        snapshot is taken at the end of the first chunk that reaches each multiple of
        ``snapshot_every`` (chunks are ``chunk_samples`` samples long), and its stated time is
        exact.

    Notes
    -----
    Every sample interpolates the voxel values sampled at that step (one pointer per voxel
    used), so ``<name>`` (time, electrode) shares the run's time axis with the LFP. Under MPI
    every rank holds the whole grid (rxd sums the membrane currents of all ranks into it), so
    rank 0 alone reports the values and the others zeros, and the summed result is the same
    for any number of ranks.

    Concentrations are state-phase variables (NEURON updates them after ``v`` within a step);
    the voxels are sampled as such (``state=True``), so each sample is the concentration at its
    stated time, as ``Vector.record`` gives it.
    """


    def __init__(self, electrodes: Electrodes | np.ndarray, *, species: str = "k",
                 interpolation: str = "trilinear", name: str | None = None,
                 dim: str = "electrode", snapshot_every: float | None = None) -> None:
        self.electrodes = electrodes if isinstance(electrodes, Electrodes) else points(electrodes)
        if not isinstance(species, str) or not species.isidentifier():
            raise ValueError(f"species must be the name of an rxd species (e.g. 'k'), got {species!r}")
        self.species = species
        self.interpolation = check_option(interpolation, "interpolation", INTERPOLATIONS)
        self.name = str(name) if name is not None else f"{species}o"
        if not isinstance(dim, str) or not dim.isidentifier():
            raise ValueError(f"dim must be a dimension name, got {dim!r}")
        self.dim = dim
        self.snapshot_every = (None if snapshot_every is None
                               else check_positive(snapshot_every, "snapshot_every (ms)"))


    def variables(self) -> dict[str, VariableSpec]:
        long_name = f"extracellular {self.species} concentration"
        out = {self.name: VariableSpec(
            ("time", self.dim), "mM", long_name,
            attrs={"species": self.species, "interpolation": self.interpolation,
                   "source": "neuron.rxd.Extracellular"})}
        if self.snapshot_every is not None:
            snap = f"{self.name}_snapshot"
            out[snap] = VariableSpec((snap,), "ms", "time of the grid snapshot")
            out[f"{self.name}_grid"] = VariableSpec(
                (snap, "x", "y", "z"), "mM", long_name,
                attrs={"species": self.species,
                       **with_units("snapshot_every", self.snapshot_every, "ms")})
        return out

    def coords(self, ctx: Context) -> dict:
        out = electrode_coords(self.electrodes.positions, self.electrodes.names, dim=self.dim)
        if self.snapshot_every is not None:
            for a, axis in enumerate("xyz"):
                out[axis] = ((axis,), self.grid_.centres(a),
                             {"units": "um", "long_name": f"voxel centre {axis}"})
        return out

    def setup(self, ctx: Context) -> None:
        inst = _extracellular_instance(self.species)
        self.grid_ = _grid_of(inst)
        try:
            self.voxels_, self.weights_ = interpolation_matrix(
                self.electrodes.positions, self.grid_, method=self.interpolation)
        except ValueError as err:
            inside = np.all((self.electrodes.positions >= self.grid_.origin)
                            & (self.electrodes.positions <= self.grid_.upper), axis=1)
            names = [n for n, ok in zip(self.electrodes.names, inside, strict=True) if not ok]
            raise ValueError(f"electrode(s) {names[:10]} of the {self.species!r} concentration: {err}") \
                from None
        # Every rank holds the same grid: rank 0 reports it, the others add zeros.
        self.group_ = None
        self.inst_ = inst if ctx.rank == 0 else None
        self.next_snapshot_ = 0.0
        if ctx.rank == 0:
            states = inst._states
            self.group_ = ctx.add_pointers([_Voxel(states, i) for i in self.voxels_], "concentration",
                                           state=True)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        if self.group_ is None:
            out = {self.name: np.zeros((chunk.t.size, len(self.electrodes)))}
        else:
            out = {self.name: (self.weights_ @ chunk.pointers[self.group_]).T}
        if self.snapshot_every is not None:
            out.update(self._snapshot(chunk))
        return out

    def _snapshot(self, chunk: Chunk) -> dict[str, np.ndarray]:
        """The grid now (one snapshot) if this chunk reached the next snapshot time, else none.

        The session hands a chunk over once the states of its last sample are final, so the
        grid is exactly the state at ``chunk.t[-1]``. Every rank decides alike from the chunk's
        times; rank 0 reports the grid, the others zeros.
        """
        snap = f"{self.name}_snapshot"
        if chunk.t.size == 0 or chunk.t[-1] < self.next_snapshot_ - 1e-9:
            return {snap: np.zeros(0), f"{self.name}_grid": np.zeros((0, *self.grid_.shape))}
        t = float(chunk.t[-1])
        self.next_snapshot_ = (np.floor(t / self.snapshot_every + 1e-9) + 1) * self.snapshot_every
        grid = np.zeros((1, *self.grid_.shape))
        if self.inst_ is not None:
            grid[0] = np.array(self.inst_.states, dtype=float).reshape(self.grid_.shape)
        return {snap: np.array([t if self.inst_ is not None else 0.0]), f"{self.name}_grid": grid}


class IntracellularConcentration(Recorder):
    """Intracellular ion concentration (mM) of chosen cells, e.g. ``ki`` or ``cai``.

    Records NEURON's range variable ``<ion>i`` at one location of each chosen cell, whether a
    mechanism (an accumulation mod file) or ``neuron.rxd`` (a species on a region with
    ``nrn_region="i"``) sets it.

    Parameters
    ----------
    gids : iterable of int
        Cells to record (global gids; under MPI each rank records those it owns).
    ion : str
        Ion name as NEURON knows it (``"k"``, ``"ca"``, ``"na"``, ``"cl"``...): the recorded
        variable is ``<ion>i`` (mM).
    section : str, optional
        Section of each cell to record from, by its name within the cell (``"dend"`` matches
        ``Cell[3].dend``); default the cell's root (soma) section.
    loc : float in [0, 1]
        Position along the section.
    name : str, optional
        Variable name in the run file; default ``<ion>i``. Its cell dimension is
        ``<name>_cell`` with the gids as coordinate (as for :class:`~signals.recorders.Traces`).

    Notes
    -----
    Concentrations are sampled every step as state-phase variables (``state=True``): each
    sample is the concentration at its stated time, as ``Vector.record`` gives it.
    """

    thread_safe = True  # copies of the chunk's buffers only

    def __init__(self, gids: Iterable[int], *, ion: str = "k", section: str | None = None,
                 loc: float = 0.5, name: str | None = None) -> None:
        self.gids = np.array(sorted({int(g) for g in gids}), dtype=np.int64)
        if self.gids.size == 0:
            raise ValueError("give at least one gid")
        if not isinstance(ion, str) or not ion.isidentifier():
            raise ValueError(f"ion must be an ion name such as 'k' or 'ca', got {ion!r}")
        if not 0.0 <= float(loc) <= 1.0:
            raise ValueError(f"loc must be in [0, 1], got {loc}")
        self.ion = ion
        self.section = None if section is None else str(section)
        self.loc = float(loc)
        self.name = str(name) if name is not None else f"{ion}i"
        self.dim_ = f"{self.name}_cell"


    def variables(self) -> dict[str, VariableSpec]:
        where = self.section or "root (soma) section"
        return {self.name: VariableSpec(
            ("time", self.dim_), "mM", f"intracellular {self.ion} concentration",
            attrs={"ion": self.ion, "section": where, "loc": self.loc})}

    def coords(self, ctx: Context) -> dict:
        return gid_coord(self.dim_, self.gids)

    def _segment(self, gid: int, root):
        if self.section is None:
            return root(self.loc)
        from neuron import h

        wanted = self.section
        tree = h.SectionList()
        tree.wholetree(sec=root)
        matches = [sec for sec in tree
                   if sec.name() == wanted or sec.name().rsplit(".", 1)[-1] == wanted]
        if not matches:
            raise KeyError(f"cell {gid} has no section named {wanted!r}")
        if len(matches) > 1:
            raise ValueError(f"cell {gid} has {len(matches)} sections named {wanted!r}; "
                             "give the full section name")
        return matches[0](self.loc)

    def setup(self, ctx: Context) -> None:
        self.cols_, local = ctx.segments.local_roots(self.gids, require_all=ctx.nhost == 1)
        variable = f"{self.ion}i"
        segs = []
        for gid in self.gids[self.cols_]:
            seg = self._segment(int(gid), local[int(gid)])
            if not hasattr(seg, "_ref_" + variable):
                raise KeyError(f"cell {int(gid)} ({seg.sec.name()}) has no {variable}: no mechanism "
                               f"or rxd species there uses the ion {self.ion!r}")
            segs.append(seg)
        self.group_ = ctx.add_pointers(segs, variable, state=True) if segs else None

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        out = np.zeros((chunk.t.size, self.gids.size))
        if self.group_ is not None:
            out[:, self.cols_] = chunk.pointers[self.group_].T
        return {self.name: out}
