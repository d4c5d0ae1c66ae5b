"""Network adapters: turn an instantiated NEURON network into a :class:`SegmentTable`.

Coordinates are NEURON's own 3-D coordinates in µm, with no axis flips (NetPyNE's LFP code
negates electrode ``y`` because it treats ``y`` as cortical depth; signals does not).

Geometry is read after NEURON's own placement, ``h.define_shape()``, as NEURON's shape plots,
NetPyNE's LFP setup and LFPy use it: it gives 3-D points to sections that have none (laid out
from their parent), and it *moves* every child section whose first 3-D point is not at its
parent's connection point (e.g. a dendrite of an imported morphology attached at
``soma(0.5)``) so that it starts there, keeping its shape. Reading the points before that step
gives positions tens of µm off for such sections.

A cell's gid is the model's own: its ``gid`` attribute, else the gid it is registered under
with ``ParallelContext`` (``pc.set_gid2node(gid, rank)`` and ``pc.cell(gid, netcon)``; the
spike-detector ``NetCon``'s source section identifies the cell), else (serial runs only) its
position. Cells are told apart by section identity, never by section name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["SegmentTable", "GEOMETRY_VARIABLES", "from_neuron", "from_netpyne", "from_lfpy",
           "spike_detectors"]

logger = logging.getLogger(__name__)

#: Per-segment geometry a run file holds with saved membrane currents (dim ``segment``), enough
#: to rebuild its :class:`SegmentTable` without NEURON (:func:`signals.recompute.segment_table`).
GEOMETRY_VARIABLES = ("segment_gid", "segment_population", "segment_section", "segment_root",
                      "segment_x", "segment_y", "segment_z", "segment_diam", "segment_area")


@dataclass(frozen=True, eq=False)
class SegmentTable:
    """One row per local segment, one entry per local cell.

    Attributes
    ----------
    gid : ndarray of int, shape (n_seg,)
        Global id of the cell each segment belongs to.
    population : ndarray of int, shape (n_seg,)
        Index into :attr:`populations` of each segment's population.
    populations : tuple of str
        Population names.
    section : ndarray of str, shape (n_seg,)
        NEURON section name of each segment.
    x, y, z : ndarray, shape (n_seg, 2)
        Start and end coordinates of each segment (µm).
    diam : ndarray, shape (n_seg,)
        Segment diameter (µm).
    area : ndarray, shape (n_seg,)
        Membrane area of each segment (µm²).
    root : ndarray of bool, shape (n_seg,)
        Whether the segment belongs to its cell's root (soma) section.
    cell_gid : ndarray of int, shape (n_cell,)
        Global ids of the cells, in table order.
    cell_population : ndarray of int, shape (n_cell,)
        Population index of each cell.
    cell_position : ndarray, shape (n_cell, 3)
        Midpoint of each cell's root (soma) section (µm).
    run_note : str
        Empty, or why :func:`signals.record` cannot run these cells itself and how to record
        them instead (e.g. LFPy cells whose input events only LFPy's ``simulate`` loads).
    locate : callable or None
        Live tables: returns the cells' positions (µm, (n_cell, 3)) as the model has them now,
        so a cell moved after the table was built is caught (:meth:`moved_cells`).
    """

    gid: np.ndarray
    population: np.ndarray
    populations: tuple[str, ...]
    section: np.ndarray
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    diam: np.ndarray
    area: np.ndarray
    root: np.ndarray
    cell_gid: np.ndarray
    cell_population: np.ndarray
    cell_position: np.ndarray
    segments: list = field(repr=False, default_factory=list)  # nrn.Segment per row (live only)
    roots: list = field(repr=False, default_factory=list)  # root nrn.Section per cell (live only)
    run_note: str = ""
    locate: Any = field(repr=False, default=None)

    def __len__(self) -> int:
        return int(self.gid.size)

    def __repr__(self) -> str:
        if not len(self):
            return f"<SegmentTable: no segments, populations {list(self.populations)}>"
        lo = [float(a.min()) for a in (self.x, self.y, self.z)]
        hi = [float(a.max()) for a in (self.x, self.y, self.z)]
        box = ", ".join(f"{k} {a:.0f}..{b:.0f}" for k, a, b in zip("xyz", lo, hi, strict=True))
        return (f"<SegmentTable: {len(self)} segments, {self.n_cells} cells, populations "
                f"{list(self.populations)}, extent (µm) {box}>")

    def moved_cells(self, tol: float = 1e-6) -> str:
        """Empty, or which cells moved (by more than ``tol`` µm) since the table was built."""
        if self.locate is None or not self.n_cells:
            return ""
        shift = np.linalg.norm(np.asarray(self.locate(), dtype=float) - self.cell_position, axis=1)
        moved = np.flatnonzero(shift > tol)
        if not moved.size:
            return ""
        k = moved[np.argmax(shift[moved])]
        return (f"{moved.size} of {self.n_cells} cells moved after the segment table was built "
                f"(gid {self.cell_gid[k]} by {shift[k]:.3g} µm): build it after the cells are "
                "placed (set_pos / set_rotation / translations), right before recording")

    @property
    def n_cells(self) -> int:
        """Number of cells in the table."""
        return int(self.cell_gid.size)

    @property
    def midpoints(self) -> np.ndarray:
        """Segment midpoints, shape (n_seg, 3), in µm."""
        return np.column_stack([self.x.mean(1), self.y.mean(1), self.z.mean(1)])

    def cell_geometry(self, index: np.ndarray | slice | None = None):
        """LFPykit ``CellGeometry`` of the selected rows (all rows by default)."""
        from lfpykit import CellGeometry

        idx = slice(None) if index is None else index
        return CellGeometry(x=self.x[idx], y=self.y[idx], z=self.z[idx], d=self.diam[idx])

    def local_roots(self, gids: np.ndarray, *, require_all: bool) -> tuple[np.ndarray, dict]:
        """Which of ``gids`` are cells of this table, and their root sections.

        Returns the positions in ``gids`` of the local cells and ``{gid: root Section}``.
        ``require_all`` (serial runs): a gid that is not in the table is an error.
        """
        local = dict(zip(self.cell_gid.tolist(), self.roots, strict=True))
        cols = np.flatnonzero(np.isin(gids, list(local)))
        if require_all and cols.size != len(gids):
            missing = sorted(set(np.asarray(gids).tolist()) - set(local))[:5]
            raise ValueError(f"gids not in the network: {missing}")
        return cols, local

    def population_rows(self, populations: Sequence[str]) -> list[slice | np.ndarray]:
        """Rows of each named population: a slice where contiguous (a view), else indices.

        A population with no segments here (e.g. on another MPI rank) gets an empty slice.
        """
        out: list[slice | np.ndarray] = []
        for p in populations:
            rows = (np.flatnonzero(self.population == self.populations.index(p))
                    if p in self.populations else np.zeros(0, dtype=np.int64))
            if rows.size == 0:
                out.append(slice(0, 0))
            elif rows[-1] - rows[0] + 1 == rows.size:
                out.append(slice(int(rows[0]), int(rows[-1]) + 1))
            else:
                out.append(rows)
        return out

    def cell_slices(self) -> list[slice]:
        """Row range of each cell, in :attr:`cell_gid` order (rows of a cell are contiguous)."""
        if len(self) == 0:
            return []
        bounds = np.flatnonzero(np.diff(self.gid)) + 1
        starts = np.r_[0, bounds]
        stops = np.r_[bounds, len(self)]
        return [slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _interp3d(sec, arc_fraction: np.ndarray) -> np.ndarray:
    """Points (n, 3) in µm at fractions of a section's arc length, from its 3-D points."""
    n3d = int(sec.n3d())
    pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i)] for i in range(n3d)])
    arc = np.array([sec.arc3d(i) for i in range(n3d)])
    # Linear interpolation along arc length, the convention of NEURON's shape plots and LFPy.
    return np.column_stack([np.interp(arc_fraction * arc[-1], arc, pts[:, k]) for k in range(3)])


def _section_geometry(sec) -> tuple[np.ndarray, np.ndarray]:
    """Start and end points, each (nseg, 3) in µm, of a section's segments."""
    xyz = _interp3d(sec, np.linspace(0.0, 1.0, sec.nseg + 1))
    return xyz[:-1], xyz[1:]


def _cell_sections(cell: Any) -> list:
    """The sections of one cell given in any of the usual forms."""
    from neuron import h, nrn

    if isinstance(cell, nrn.Section):
        return list(h.SectionRef(sec=cell).root.wholetree())
    for attr in ("all", "allseclist"):
        secs = getattr(cell, attr, None)
        if secs is not None:
            return list(secs)
    if isinstance(cell, Iterable):
        secs = list(cell)
        if secs and all(isinstance(s, nrn.Section) for s in secs):
            return secs
    raise TypeError(
        f"cannot find the sections of cell {cell!r}: give a Section (its whole tree is used), "
        "an object with an `all` SectionList, or a list of Sections"
    )


def _root(sec):
    from neuron import h

    return h.SectionRef(sec=sec).root


def _registered_gids(roots: Sequence, gid_hint: int) -> dict:
    """``{root Section: gid}`` for those of ``roots`` registered with ``pc.cell(gid, netcon)``.

    NEURON offers no list of registered gids. First, every ``NetCon`` whose ``srcgid()`` is a
    gid of this rank: the detector handed to ``pc.cell`` when the model keeps it (NEURON's
    Python ring tutorial) and each ``pc.gid_connect`` from a local cell. Cells still unknown
    (hoc models often drop the detector ``NetCon`` after ``pc.cell``; NEURON keeps the
    detector) are looked for among gids ``0 .. gid_hint`` with :func:`spike_detectors`.
    """
    from neuron import h

    pc = h.ParallelContext()
    wanted = set(roots)
    out: dict = {}
    for nc in h.List("NetCon"):
        gid = int(nc.srcgid())
        if gid < 0 or pc.gid_exists(gid) < 2:  # 2, 3: the gid's cell lives on this rank
            continue
        seg = nc.preseg()
        if seg is not None and _root(seg.sec) in wanted:
            out.setdefault(_root(seg.sec), gid)
    if len(out) < len(wanted):
        known = set(out.values())
        candidates = (g for g in range(gid_hint) if g not in known)
        for gid, (seg, _) in spike_detectors(candidates).items():
            root = _root(seg.sec)
            if root in wanted:
                out.setdefault(root, gid)
    return out


def spike_detectors(gids: Iterable[int]) -> dict[int, tuple[Any, float]]:
    """The spike detectors a model registered with ``ParallelContext``, by gid.

    Parameters
    ----------
    gids : iterable of int
        Global ids of cells on this rank.

    Returns
    -------
    dict of int to (nrn.Segment, float)
        For each registered gid whose detector watches a membrane potential: the segment it
        watches and its threshold (mV, ``pc.threshold(gid)``). gids not registered on this
        rank, and artificial cells, are left out.

    Notes
    -----
    ``pc.cell(gid, netcon)`` keeps the detector even after the model dropped its ``NetCon``;
    a temporary ``pc.gid_connect`` onto a throw-away target reads its source segment.
    """
    from neuron import h

    pc = h.ParallelContext()
    out: dict[int, tuple[Any, float]] = {}
    target = None
    for gid in (int(g) for g in gids):
        if pc.gid_exists(gid) < 2:  # 2, 3: the gid's cell lives on this rank
            continue
        if target is None:
            target = h.NetStim()
        probe = pc.gid_connect(gid, target)
        seg = probe.preseg()
        del probe  # the temporary connection disappears with its NetCon
        if seg is not None:
            out[gid] = (seg, float(pc.threshold(gid)))
    return out


def _cell_label(secs: list) -> str:
    return f"the cell of section {secs[0].name()!r}"


def _assign_gids(cells: list[tuple[Any, str, list]]) -> list[tuple[int, str, list]]:
    """(gid, population, sections) for (explicit gid or None, population, sections).

    Cells without a ``gid`` attribute take their ``ParallelContext`` registration; serially,
    cells registered nowhere are numbered in order after the registered ones.
    """
    from neuron import h

    pc = h.ParallelContext()
    unknown_roots = [_root(secs[0]) for g, _, secs in cells if g is None]
    registered = {}
    if unknown_roots:
        # dense gids are below (cells per rank) x (ranks), up to twice that
        hint = 2 * len(cells) * int(pc.nhost()) + 1000
        registered = _registered_gids(unknown_roots, hint)
    resolved = [(g if g is not None else registered.get(_root(secs[0])), pop, secs)
                for g, pop, secs in cells]
    unknown = [secs for g, _, secs in resolved if g is None]
    if unknown and int(pc.nhost()) > 1:
        raise ValueError(
            f"{len(unknown)} cell(s) have no gid under MPI, e.g. {_cell_label(unknown[0])}: give "
            "each cell a global `gid` attribute, or register it with ParallelContext "
            "(pc.set_gid2node(gid, rank) and pc.cell(gid, netcon), keeping the NetCon)")
    taken = {g for g, _, _ in resolved if g is not None}
    next_free = (max(taken) + 1) if taken and unknown else 0
    out = []
    for g, pop, secs in resolved:
        if g is None:
            while next_free in taken:
                next_free += 1
            g = next_free
            taken.add(g)
        out.append((int(g), pop, secs))
    if unknown and len(unknown) < len(resolved):
        logger.info("%d cell(s) registered with no ParallelContext gid got gids after the "
                    "registered ones", len(unknown))
    return out


def _place_sections(sections: Sequence) -> None:
    """NEURON's own placement, before any 3-D point is read (see the module docstring)."""
    from neuron import h

    missing = [sec for sec in sections if sec.n3d() < 2]
    if missing:
        logger.warning(
            "%d section(s) have no 3-D points (e.g. %s); placed by h.define_shape() "
            "as NEURON does for its shape plots",
            len(missing),
            missing[0].name(),
        )
    h.define_shape()


def _empty_table(population_names: Sequence[str]) -> SegmentTable:
    empty = np.zeros(0)
    return SegmentTable(
        gid=np.zeros(0, dtype=np.int64), population=np.zeros(0, dtype=np.int64),
        populations=tuple(str(p) for p in population_names),
        section=np.zeros(0, dtype=object), x=np.zeros((0, 2)),
        y=np.zeros((0, 2)), z=np.zeros((0, 2)), diam=empty, area=empty,
        root=np.zeros(0, dtype=bool),
        cell_gid=np.zeros(0, dtype=np.int64), cell_population=np.zeros(0, dtype=np.int64),
        cell_position=np.zeros((0, 3)))


def _build_table(
    cells: Sequence[tuple[int, str, list]],
    population_names: Sequence[str] = (),
    *,
    geometry: Sequence[tuple[np.ndarray, ...]] | None = None,
    run_note: str = "",
    locate: Any = None,
) -> SegmentTable:
    """Assemble a SegmentTable from (gid, population, sections) triples.

    ``population_names`` fixes the order of the populations and keeps declared ones that have
    no cells here (their per-population outputs are then zero, not missing). ``geometry``
    gives, per cell, ``(x, y, z, d, root, position)`` for tools that keep a geometry of their
    own (LFPy): segment start/end (µm, (n_seg, 2) each) and diameters in the order of its
    sections' segments, which segments are the root (point sources of ``root_as_point``) and
    the cell position (µm), with ``locate`` giving the positions the tool has now; by default
    the geometry is NEURON's 3-D points after ``h.define_shape()``, the root is the cell's
    root section and positions are read back from NEURON.
    """
    from neuron import h

    if not cells and int(h.ParallelContext().nhost()) == 1:
        # Under MPI a rank may own no cells; the session checks the whole network.
        raise ValueError(
            "the network has no sections: build the cells before recording (no NEURON "
            "section exists, or none was given)"
        )
    if not cells:
        return replace(_empty_table(population_names), run_note=run_note)
    gids = [c[0] for c in cells]
    if len(set(gids)) != len(gids):
        dup = sorted({g for g in gids if gids.count(g) > 1})[:5]
        raise ValueError(f"cell gids must be unique; repeated: {dup}")
    owner: dict = {}
    for _, _, secs in cells:
        for sec in secs:
            if owner.setdefault(sec, secs) is not secs:
                raise ValueError(f"section {sec.name()!r} is given in two cells")

    if geometry is None:
        _place_sections([sec for _, _, secs in cells for sec in secs])
    populations: list[str] = [str(p) for p in population_names]
    rows: dict[str, list] = {k: [] for k in ("gid", "pop", "sec", "start", "end", "diam", "area",
                                             "root")}
    segments: list = []
    roots: list = []
    cell_gid, cell_pop, cell_pos = [], [], []
    for icell, (gid, pop, secs) in enumerate(cells):
        if pop not in populations:
            populations.append(pop)
        ipop = populations.index(pop)
        root = _root(secs[0])
        roots.append(root)
        cell_gid.append(gid)
        cell_pop.append(ipop)
        n_before = len(segments)
        for sec in secs:
            for seg in sec:
                segments.append(seg)
                rows["area"].append(seg.area())
            rows["gid"].extend([gid] * sec.nseg)
            rows["pop"].extend([ipop] * sec.nseg)
            rows["sec"].extend([sec.name()] * sec.nseg)
            if geometry is None:
                rows["root"].extend([sec == root] * sec.nseg)
                start, end = _section_geometry(sec)
                rows["start"].append(start)
                rows["end"].append(end)
                rows["diam"].extend(seg.diam for seg in sec)
        if geometry is None:
            cell_pos.append(_interp3d(root, np.array([0.5]))[0])
            continue
        x, y, z, d = (np.asarray(a, dtype=float) for a in geometry[icell][:4])
        is_root, position = geometry[icell][4:]
        n_seg = len(segments) - n_before
        if x.shape != (n_seg, 2) or y.shape != x.shape or z.shape != x.shape or d.shape != (n_seg,):
            raise ValueError(f"geometry of {_cell_label(secs)} has {x.shape[0]} rows for {n_seg} "
                             "segments")
        rows["start"].append(np.column_stack([x[:, 0], y[:, 0], z[:, 0]]))
        rows["end"].append(np.column_stack([x[:, 1], y[:, 1], z[:, 1]]))
        rows["diam"].extend(d.tolist())
        rows["root"].extend(np.asarray(is_root, dtype=bool).tolist())
        cell_pos.append(np.asarray(position, dtype=float))
    start = np.concatenate(rows["start"])
    end = np.concatenate(rows["end"])
    return SegmentTable(
        gid=np.asarray(rows["gid"], dtype=np.int64),
        population=np.asarray(rows["pop"], dtype=np.int64),
        populations=tuple(populations),
        section=np.asarray(rows["sec"], dtype=object),
        x=np.column_stack([start[:, 0], end[:, 0]]),
        y=np.column_stack([start[:, 1], end[:, 1]]),
        z=np.column_stack([start[:, 2], end[:, 2]]),
        diam=np.asarray(rows["diam"], dtype=float),
        area=np.asarray(rows["area"], dtype=float),
        root=np.asarray(rows["root"], dtype=bool),
        cell_gid=np.asarray(cell_gid, dtype=np.int64),
        cell_population=np.asarray(cell_pop, dtype=np.int64),
        cell_position=np.asarray(cell_pos, dtype=float).reshape(-1, 3),
        segments=segments,
        roots=roots,
        run_note=run_note,
        locate=locate if geometry is not None else (
            lambda: np.array([_interp3d(r, np.array([0.5]))[0] for r in roots])),
    )


def from_neuron(
    cells: Iterable[Any] | None = None,
    *,
    populations: Mapping[str, Iterable[Any]] | None = None,
) -> SegmentTable:
    """SegmentTable of a plain NEURON network.

    Parameters
    ----------
    cells : iterable, optional
        The cells to record. Each is a root ``Section`` (its whole tree is one cell), an object
        with an ``all`` SectionList (the usual cell template), or a list of Sections. Its
        population is its ``population`` (or ``pop``) attribute, else ``"all"``. By default
        every section that exists is taken, one cell per section tree (told apart by section
        identity, so cells whose sections share a name stay separate cells).
    populations : mapping of str to iterable, optional
        ``{name: cells}``, each cell in any form ``cells`` accepts, e.g.
        ``{"E": [pyr0, pyr1], "I": [bas0]}`` with cell-template objects; an alternative to
        ``cells`` that names the population of each cell. Every named population is kept, in
        this order, even one without cells here.

    Returns
    -------
    SegmentTable
        Geometry in µm, from the sections' 3-D points after ``h.define_shape()`` (NEURON's
        placement: sections without 3-D points get them, logged as a warning, and child
        sections not starting at their parent's connection point are moved there).

    Raises
    ------
    ValueError
        If no section exists, gids repeat, a section is given in two cells, or under MPI a
        cell has neither a ``gid`` attribute nor a ``ParallelContext`` registration.

    Notes
    -----
    A cell's gid is its ``gid`` attribute, else the gid it is registered under with
    ``pc.set_gid2node`` / ``pc.cell(gid, netcon)`` (found through the spike-detector
    ``NetCon`` if the model keeps it, else among the gids below twice the number of cells on
    all ranks), else (serial runs only) its position in ``cells`` (or, by default, in creation
    order), numbered after the registered gids.
    """
    triples: list[tuple[Any, str, list]] = []
    names: list[str] = []
    if populations is not None:
        if cells is not None:
            raise ValueError("give either `cells` or `populations`, not both")
        for pop, members in populations.items():
            for cell in members:
                triples.append((getattr(cell, "gid", None), str(pop), _cell_sections(cell)))
        names = [str(p) for p in populations]
    elif cells is not None:
        for cell in cells:
            pop = getattr(cell, "population", None) or getattr(cell, "pop", None) or "all"
            triples.append((getattr(cell, "gid", None), str(pop), _cell_sections(cell)))
    else:
        triples = [(None, "all", secs) for secs in _section_trees()]
    return _build_table(_assign_gids(triples), population_names=names)


def _section_trees() -> list[list]:
    """Every section that exists, grouped by the identity of its root section."""
    from neuron import h

    by_root: dict = {}
    for sec in h.allsec():
        by_root.setdefault(_root(sec), []).append(sec)
    return list(by_root.values())


def _netpyne_needs_shapes(cells: Iterable[Any]) -> bool:
    """Whether some NetPyNE section still waits for NetPyNE to give it 3-D points.

    Mirrors the test in NetPyNE's ``CompartCell.updateShape``: a section defined by ``L``/``diam``
    only (no ``pt3d`` in its ``geom``) is placed by ``sim.net.defineCellShapes()``.
    """
    for cell in cells:
        for sec in getattr(cell, "secs", {}).values():
            if sec.get("hObj") is not None and "geom" in sec and "pt3d" not in sec["geom"]:
                return True
    return False


def from_netpyne(sim: Any) -> SegmentTable:
    """SegmentTable of the cells NetPyNE instantiated on this rank.

    Parameters
    ----------
    sim : module
        ``netpyne.sim`` after ``sim.net.createCells()`` (or ``sim.create()``), before or after
        NetPyNE's own recording set-up. Point-process cells (no sections, e.g. NetStim
        populations) are skipped.

    Returns
    -------
    SegmentTable
        One row per segment, in NetPyNE's order (cells as in ``sim.net.cells``, sections as in
        ``cell.secs``), with start/end points, diameters (µm) and areas (µm²) from each
        section's 3-D points in NEURON's coordinates (µm), with no axis flips; gids are
        NetPyNE's ``cell.gid``, populations its ``pop`` tags.

    Raises
    ------
    ValueError
        If ``sim.net.cells`` does not exist or no cell has sections.

    Notes
    -----
    The geometry is the one NetPyNE's own LFP and dipole set-up computes (``cell._segCoords``):
    NetPyNE's shape step ``sim.net.defineCellShapes()`` runs first if some section still waits
    for it, then NEURON's ``h.define_shape()``. This matters for models whose sections are
    partly given by ``L``/``diam`` only (e.g. the axon stubs of BBP cells):
    ``defineCellShapes`` runs ``h.define_shape()`` and then NetPyNE's ``updateShape``, which
    gives those sections 3-D points with NEURON's ``x`` and ``y`` swapped and the cell position
    added (so they end up ~1 mm from a soma that already had 3-D points at that position);
    NetPyNE's LFP set-up runs ``defineCellShapes`` again, whose ``h.define_shape()`` moves them
    back to their parent's connection point. Reading the points in between (e.g. right after
    ``sim.net.createCells()`` with ``netParams.defineCellShapes = True``) gives that wrong
    geometry; this function always places the sections as NetPyNE's LFP would, whatever the
    call order (running the steps again changes nothing).

    Where NetPyNE puts the cells (NetPyNE 1.1.1): cells with ``pt3d`` in their ``geom`` get the
    points ``(x + px, -y + py, z + pz)`` from the cell tags ``x, y, z`` (µm), the ``y`` of the
    *position* negated because ``cfg.invertedYCoord`` is on by default (``(x + px, y + py,
    z + pz)`` without it; the bare ``pt3d`` with ``cfg.pt3dRelativeToCellLocation = False``).
    Sections given by ``L``/``diam`` only are laid along ``+y`` from ``(x, -y, z)`` by
    ``updateShape``, whatever ``cfg.invertedYCoord`` says.

    NetPyNE's ``recordLFP`` takes the segments of *one* cell per population (on each rank)
    relative to its soma and moves them to each cell's soma. That equals each cell's own
    geometry, which is what is used here, when all cells of a population share one morphology
    and orientation (NEURON stores 3-D points in single precision, so the two differ by its
    round-off, ~1e-5 µm for positions of ~100 µm). With ``netParams.rotateCellsRandomly`` or
    per-cell morphologies NetPyNE's LFP uses that one cell's shape for all of them; signals
    uses each cell's own.

    Conventions differ for electrodes: NetPyNE's line source (Allen Institute/BMTK formula,
    ``RecXElectrode``) negates the ``y`` of every ``cfg.recordLFP`` contact ("y is cortical
    depth"), fixes the conductivity at 0.3 S/m and returns mV. signals keeps NEURON's
    coordinates, so a NetPyNE contact ``[x, y, z]`` is the signals electrode ``(x, -y, z)``
    (µm), and ``LFP(..., method="linesource", sigma=0.3)`` reproduces NetPyNE's ``LFP``
    (mV), away from the membrane (signals floors distances at the segment radius). Spikes are
    detected where NetPyNE's ``pc.cell`` detectors are (its ``spikeGenLoc``, ``threshold``).
    """
    net = getattr(sim, "net", None)
    cells = getattr(net, "cells", None)
    if cells is None:
        raise ValueError("sim.net.cells not found: call sim.net.createCells() first")
    if _netpyne_needs_shapes(cells):
        # NetPyNE's own placement of L/diam sections (what its LFP setup calls); without it
        # _build_table's h.define_shape() would ignore the cell positions.
        net.defineCellShapes()
    triples = []
    for cell in cells:
        secs = [s["hObj"] for s in getattr(cell, "secs", {}).values() if s.get("hObj") is not None]
        if secs:
            triples.append((int(cell.gid), str(cell.tags.get("pop", "all")), secs))
    pops = getattr(net, "pops", None) or {}
    compart = [name for name, pop in pops.items()
               if getattr(pop, "cellModelClass", None) is getattr(sim, "CompartCell", object())]
    return _build_table(triples, population_names=compart)


_LFPY_RUN_NOTE = (
    "these LFPy cells receive input events (Synapse.set_spike_times) that LFPy loads only "
    "inside cell.simulate(); record LFPy's own run instead:\n"
    "    with signals.attach(net, recorders, path='run.nc'):\n"
    "        cell.simulate()        # or network.simulate()")


def from_lfpy(cells: Any) -> SegmentTable:
    """SegmentTable of ``LFPy.Cell`` objects, or of the cells of an ``LFPy.Network``.

    Parameters
    ----------
    cells : LFPy.Cell, iterable of LFPy.Cell, or LFPy.Network
        Cells; gid is the ``gid`` attribute (LFPy's ``NetworkCell``) or the position, the
        population the ``population`` attribute or ``"all"``. An ``LFPy.Network`` gives this
        rank's cells of every population, named as in ``network.populations``, with their
        gids.

    Returns
    -------
    SegmentTable
        LFPy's own geometry: ``cell.x``, ``cell.y``, ``cell.z`` (segment start and end, µm)
        and ``cell.d`` (µm), i.e. after any ``set_pos`` / ``set_rotation`` — which, with LFPy's
        default ``pt3d=False``, change only those arrays, not NEURON's 3-D points — in LFPy's
        segment order (``cell.allseclist``), as LFPy's ``RecExtElectrode`` and
        ``CurrentDipoleMoment`` use it. The root segments (point sources of ``root_as_point``)
        are LFPy's ``cell.somaidx`` and the cell position is LFPy's ``cell.somapos``.

    Notes
    -----
    LFPy loads the spike times given by ``Synapse.set_spike_times`` only inside its own
    ``cell.simulate()`` / ``network.simulate()``. Record such a run with
    ``with signals.attach(table, recorders, path=...): cell.simulate()``;
    :func:`signals.record`, which runs NEURON itself, refuses these cells with that advice.
    """
    if hasattr(cells, "populations") and hasattr(cells, "create_population"):
        members = [(name, cell) for name, pop in cells.populations.items() for cell in pop.cells]
        names = list(cells.populations)
    else:
        members = [(None, c) for c in ([cells] if hasattr(cells, "allseclist") else cells)]
        names = []
    triples, geometry, pending = [], [], False
    for i, (pop, cell) in enumerate(members):
        if not hasattr(cell, "allseclist") or getattr(cell, "x", None) is None:
            raise TypeError(f"not an LFPy.Cell: {cell!r}")
        pop = pop or getattr(cell, "population", None) or "all"
        triples.append((int(getattr(cell, "gid", i)), str(pop), list(cell.allseclist)))
        is_root = np.zeros(cell.totnsegs, dtype=bool)
        is_root[np.asarray(cell.somaidx, dtype=int)] = True  # LFPy's root: its soma segments
        geometry.append((cell.x, cell.y, cell.z, cell.d, is_root, cell.somapos))
        # LFPy 2.x keeps set_spike_times' events in this list until simulate() loads them
        pending = pending or any(len(t) for t in getattr(cell, "_sptimeslist", ()))
    lfpy_cells = [cell for _, cell in members]
    return _build_table(triples, population_names=names, geometry=geometry,
                        run_note=_LFPY_RUN_NOTE if pending else "",
                        locate=lambda: np.array([c.somapos for c in lfpy_cells], dtype=float))


# hnn-core networks: the adapter lives in signals.hnn (hnn-core is imported only when used)
from signals.hnn import from_hnn_core, record_hnn_core  # noqa: E402

__all__ += ["from_hnn_core", "record_hnn_core"]
