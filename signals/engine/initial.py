"""The membrane currents at t = 0, from the initial membrane potentials.

After ``h.finitialize`` NEURON's ``i_membrane_`` is zero for a uniform initial potential, but for
section-specific potentials (hnn-core's cells start at −72 … −67 mV) it holds a value that is
not a current the cell can carry: measured 1065 nA in the soma of a ball-and-stick started at
−72/−60 mV, zero elsewhere, not summing to zero over the cell. Physically, at t = 0 every
segment's membrane current (capacitive + ionic) equals the net axial current the initial
potentials drive into it (Kirchhoff; no electrode current), with the zero-area nodes at section
ends at the potential that balances their axial currents, as NEURON's first implicit step puts
them. That is what NEURON's own ``i_membrane_`` after a step tends to as the step shrinks.
"""

from __future__ import annotations

import numpy as np


def initial_membrane_currents(segments: list) -> np.ndarray:
    """Membrane current (nA) of each segment implied by the present membrane potentials.

    Parameters
    ----------
    segments : list of nrn.Segment
        The segments to report, in order; the whole trees of their cells take part.

    Returns
    -------
    ndarray, shape (n_seg,)
        Net axial current into each segment's node (nA; positive = outward membrane current):
        Σ over neighbour nodes of (v_neighbour − v) / r_axial, with v in mV and r in MΩ
        (``seg.ri()``), the section-end nodes solved for zero net current.
    """
    from neuron import h
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    if not segments:
        return np.zeros(0)
    roots = {}  # sections are hashable; names need not be unique
    for sec in dict.fromkeys(seg.sec for seg in segments):
        root = h.SectionRef(sec=sec).root
        roots.setdefault(root, root)
    index: dict[tuple, int] = {}  # (section, j) -> node; j: 0 = x=0 end, 1..nseg, nseg+1
    volts: list[float] = []
    area_node: list[bool] = []
    edges: list[tuple[int, int, float]] = []

    def node(key, v, has_area):
        if key not in index:
            index[key] = len(volts)
            volts.append(v)
            area_node.append(has_area)
        return index[key]

    def first_node(sec):
        """The node a section's x = 0 end is, which for a child is its parent's node."""
        ref = h.SectionRef(sec=sec)
        if not ref.has_parent():
            return node((sec, 0), sec(0).v, False)
        parent_seg = sec.parentseg()
        parent, px = parent_seg.sec, parent_seg.x
        if px <= 0:
            return first_node(parent)
        if px >= 1:
            return node((parent, parent.nseg + 1), parent(1).v, False)
        j = 1 + min(int(px * parent.nseg), parent.nseg - 1)
        return node((parent, j), parent_seg.v, True)

    for root in roots.values():
        for sec in root.wholetree():
            prev = first_node(sec)
            nseg = sec.nseg
            for j, seg in enumerate(sec, start=1):
                cur = node((sec, j), seg.v, True)
                edges.append((prev, cur, 1.0 / seg.ri()))
                prev = cur
            end = node((sec, nseg + 1), sec(1).v, False)
            edges.append((prev, end, 1.0 / sec(1).ri()))
    n = len(volts)
    a, b, g = (np.array(c) for c in zip(*edges, strict=True))
    # Laplacian of the axial conductances (µS; µS·mV = nA), for the section-end potentials
    lap = coo_matrix((np.r_[g, g, -g, -g], (np.r_[a, b, a, b], np.r_[a, b, b, a])),
                     shape=(n, n)).tocsr()
    # Potentials relative to one node (the currents depend on differences only), so that a
    # uniform potential gives exactly zero rather than round-off of the absolute values.
    v = np.array(volts) - volts[0]
    has_area = np.array(area_node)
    z, ar = np.flatnonzero(~has_area), np.flatnonzero(has_area)
    if z.size:
        lzz = lap[z][:, z].tocsc()
        v[z] = np.atleast_1d(spsolve(lzz, -(lap[z][:, ar] @ v[ar])))
    flow = g * (v[b] - v[a])  # nA from node b into node a along each edge
    inflow = np.zeros(n)
    np.add.at(inflow, a, flow)
    np.add.at(inflow, b, -flow)
    rows = [index[(seg.sec, 1 + min(int(seg.x * seg.sec.nseg), seg.sec.nseg - 1))]
            for seg in segments]
    return inflow[rows]
