"""Network adapters: turn an instantiated NEURON network into a :class:`SegmentTable`.

Coordinates are NEURON's own 3-D coordinates in µm, with no axis flips (NetPyNE's LFP code
negates electrode ``y`` because it treats ``y`` as cortical depth; signals does not).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SegmentTable", "from_neuron", "from_netpyne", "from_lfpy"]

logger = logging.getLogger("signals")


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

    def __len__(self) -> int:
        return int(self.gid.size)

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


def _build_table(
    cells: Sequence[tuple[int, str, list]],
    population_names: Sequence[str] = (),
) -> SegmentTable:
    """Assemble a SegmentTable from (gid, population, sections) triples.

    ``population_names`` fixes the order of the populations and keeps declared ones that have
    no cells here (their per-population outputs are then zero, not missing).
    """
    from neuron import h

    if not cells and int(h.ParallelContext().nhost()) == 1:
        # Under MPI a rank may own no cells; the session checks the whole network.
        raise ValueError(
            "the network has no sections: build the cells before recording (no NEURON "
            "section exists, or none was given)"
        )
    if not cells:
        empty = np.zeros(0)
        return SegmentTable(
            gid=np.zeros(0, dtype=np.int64), population=np.zeros(0, dtype=np.int64),
            populations=tuple(str(p) for p in population_names),
            section=np.zeros(0, dtype=object), x=np.zeros((0, 2)),
            y=np.zeros((0, 2)), z=np.zeros((0, 2)), diam=empty, area=empty,
            root=np.zeros(0, dtype=bool),
            cell_gid=np.zeros(0, dtype=np.int64), cell_population=np.zeros(0, dtype=np.int64),
            cell_position=np.zeros((0, 3)))
    gids = [c[0] for c in cells]
    if len(set(gids)) != len(gids):
        dup = sorted({g for g in gids if gids.count(g) > 1})[:5]
        raise ValueError(f"cell gids must be unique; repeated: {dup}")

    missing = [sec for _, _, secs in cells for sec in secs if sec.n3d() < 2]
    if missing:
        logger.warning(
            "%d section(s) have no 3-D points (e.g. %s); placed by h.define_shape() "
            "as NEURON does for its shape plots",
            len(missing),
            missing[0].name(),
        )
        h.define_shape()

    populations: list[str] = [str(p) for p in population_names]
    rows: dict[str, list] = {k: [] for k in ("gid", "pop", "sec", "start", "end", "diam", "area",
                                             "root")}
    segments: list = []
    roots: list = []
    cell_gid, cell_pop, cell_pos = [], [], []
    for gid, pop, secs in cells:
        if pop not in populations:
            populations.append(pop)
        ipop = populations.index(pop)
        root = h.SectionRef(sec=secs[0]).root
        roots.append(root)
        cell_gid.append(gid)
        cell_pop.append(ipop)
        cell_pos.append(_interp3d(root, np.array([0.5]))[0])
        for sec in secs:
            start, end = _section_geometry(sec)
            for seg in sec:
                segments.append(seg)
                rows["diam"].append(seg.diam)
                rows["area"].append(seg.area())
            rows["start"].append(start)
            rows["end"].append(end)
            rows["gid"].extend([gid] * sec.nseg)
            rows["pop"].extend([ipop] * sec.nseg)
            rows["sec"].extend([sec.name()] * sec.nseg)
            rows["root"].extend([sec == root] * sec.nseg)
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
        with an ``all`` SectionList (the usual cell template), or a list of Sections. A cell's gid
        is its ``gid`` attribute if it has one, else its position in ``cells``; its population is
        its ``population`` (or ``pop``) attribute, else ``"all"``. By default every section that
        exists is taken, one cell per section tree, gids 0, 1, ... in creation order.
    populations : mapping of str to iterable, optional
        ``{name: cells}``; an alternative to ``cells`` that names the population of each cell.
        Every named population is kept, in this order, even one without cells here.

    Returns
    -------
    SegmentTable
        Geometry in µm, from the sections' 3-D points. Sections without 3-D points are placed by
        ``h.define_shape()`` (logged as a warning), never silently at the origin.

    Raises
    ------
    ValueError
        If no section exists, or gids repeat.
    """
    from neuron import h

    triples: list[tuple[int, str, list]] = []
    if populations is not None:
        if cells is not None:
            raise ValueError("give either `cells` or `populations`, not both")
        i = 0
        for pop, members in populations.items():
            for cell in members:
                triples.append((int(getattr(cell, "gid", i)), str(pop), _cell_sections(cell)))
                i += 1
        return _build_table(triples, population_names=list(populations))
    if cells is not None:
        cells = list(cells)
        if int(h.ParallelContext().nhost()) > 1 and not all(hasattr(c, "gid") for c in cells):
            raise ValueError("under MPI every cell needs a global `gid` attribute")
        for i, cell in enumerate(cells):
            pop = getattr(cell, "population", None) or getattr(cell, "pop", None) or "all"
            triples.append((int(getattr(cell, "gid", i)), str(pop), _cell_sections(cell)))
    else:
        by_root: dict[str, list] = {}
        for sec in h.allsec():
            by_root.setdefault(h.SectionRef(sec=sec).root.name(), []).append(sec)
        triples = [(i, "all", secs) for i, secs in enumerate(by_root.values())]
    return _build_table(triples)


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
        ``netpyne.sim`` after ``sim.net.createCells()`` (or ``sim.create()``). Point-process
        cells (no sections, e.g. NetStim populations) are skipped.

    Returns
    -------
    SegmentTable
        One row per segment, in NetPyNE's order (cells as in ``sim.net.cells``, sections as in
        ``cell.secs``), with start/end points, diameters (µm) and areas (µm²) from each
        section's 3-D points in NEURON's coordinates (µm), with no axis flips.

    Raises
    ------
    ValueError
        If ``sim.net.cells`` does not exist or no cell has sections.

    Notes
    -----
    Where NetPyNE puts the cells (NetPyNE 1.1.1): the NEURON 3-D points already contain each
    cell's position. Cells with ``pt3d`` in their ``geom`` get the points
    ``(x + px, -y + py, z + pz)`` from the cell tags ``x, y, z`` (µm), the ``y`` of the
    *position* negated because ``cfg.invertedYCoord`` is on by default (``(x + px, y + py,
    z + pz)`` without it; the bare ``pt3d`` with ``cfg.pt3dRelativeToCellLocation = False``).
    Sections given by ``L``/``diam`` only are placed by NetPyNE's ``sim.net.defineCellShapes()``:
    ``h.define_shape()``, then NEURON's ``x`` and ``y`` swapped (the cell lies along ``y``),
    ``z`` dropped and the cell moved to ``(x, -y, z)`` whatever ``cfg.invertedYCoord`` says.
    NetPyNE runs it only when it sets up its own LFP, dipoles, extracellular stimulation or
    shape plots, so this function runs it if some section is still unplaced, as NetPyNE's LFP
    setup would (doing it twice changes nothing). Otherwise NEURON's points are used as
    they are.

    NetPyNE's ``recordLFP`` adds nothing to these points: it takes the segments of *one* cell
    per population (on each rank) relative to its soma and moves them to each cell's soma.
    That equals each cell's own geometry, which is what is used here, when all cells of a
    population share one morphology and orientation (NEURON stores 3-D points in single
    precision, so the two differ by its round-off, ~1e-5 µm for positions of ~100 µm). With
    ``netParams.rotateCellsRandomly`` or per-cell morphologies NetPyNE's LFP uses that one
    cell's shape for all of them; signals uses each cell's own.

    Conventions differ for electrodes: NetPyNE's line source (Allen Institute/BMTK formula,
    ``RecXElectrode``) negates the ``y`` of every ``cfg.recordLFP`` contact ("y is cortical
    depth"), fixes the conductivity at 0.3 S/m and returns mV. signals keeps NEURON's
    coordinates, so a NetPyNE contact ``[x, y, z]`` is the signals electrode ``(x, -y, z)``
    (µm), and ``LFP(..., method="linesource", sigma=0.3)`` reproduces NetPyNE's ``LFP``
    (mV), away from the membrane (signals floors distances at the segment radius).
    """
    net = getattr(sim, "net", None)
    cells = getattr(net, "cells", None)
    if cells is None:
        raise ValueError("sim.net.cells not found: call sim.net.createCells() first")
    if _netpyne_needs_shapes(cells):
        # NetPyNE's own placement of L/diam sections (what its LFP setup calls); without it
        # _build_table would fall back to h.define_shape(), which ignores the cell positions.
        net.defineCellShapes()
    triples = []
    for cell in cells:
        secs = [s["hObj"] for s in getattr(cell, "secs", {}).values() if s.get("hObj") is not None]
        if secs:
            triples.append((int(cell.gid), str(cell.tags.get("pop", "all")), secs))
    return _build_table(triples)


def from_lfpy(cells: Any | Iterable[Any]) -> SegmentTable:
    """SegmentTable of one or more ``LFPy.Cell`` objects.

    Parameters
    ----------
    cells : LFPy.Cell or iterable of LFPy.Cell
        Cells; gid is the ``gid`` attribute (LFPy's ``NetworkCell``) or the position, the
        population the ``population`` attribute or ``"all"``. Segment order and geometry are
        NEURON's, which is LFPy's own order (``cell.allseclist``).
    """
    if hasattr(cells, "allseclist"):
        cells = [cells]
    triples = []
    for i, cell in enumerate(cells):
        pop = getattr(cell, "population", None) or "all"
        triples.append((int(getattr(cell, "gid", i)), str(pop), list(cell.allseclist)))
    return _build_table(triples)
