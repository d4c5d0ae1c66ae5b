"""The network's synaptic connections, stored once with the run."""

from __future__ import annotations

import re

import numpy as np

from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.schema import connection_table

__all__ = ["Connections", "connection_table"]


class Connections(Recorder):
    """Every ``NetCon`` onto a recorded cell, as a ``connection`` dimension.

    Written once at the start of the run (gathered from all MPI ranks):

    ========================  ===========================================================
    ``connection_pre``        gid of the presynaptic cell; -1 for a source outside the
                              network (e.g. a ``NetStim``)
    ``connection_post``       gid of the postsynaptic cell
    ``connection_weight``     ``NetCon.weight[0]`` (µS for conductance synapses such as
                              ``ExpSyn``/``Exp2Syn``; the target mechanism defines it)
    ``connection_delay``      ``NetCon.delay`` (ms)
    ``connection_synapse``    target mechanism, e.g. ``"ExpSyn"``
    ``connection_section``    name of the target section
    ========================  ===========================================================

    The presynaptic gid comes from ``NetCon.srcgid()`` for sources registered with
    ``ParallelContext`` (NetPyNE, ``pc.gid_connect``), else from the section the ``NetCon``
    watches. ``NetCon`` objects without a target (spike detectors) are left out.
    """

    name = "connections"


    def variables(self) -> dict[str, VariableSpec]:
        return {}

    def setup(self, ctx: Context) -> None:
        from neuron import h

        seg_gid = {}
        for seg, gid in zip(ctx.segments.segments, ctx.segments.gid.tolist(), strict=True):
            seg_gid.setdefault(seg.sec, gid)
        rows = []
        for nc in h.List("NetCon"):
            syn = nc.syn()
            if syn is None or not hasattr(syn, "get_segment"):
                continue
            target = syn.get_segment()
            post = None if target is None else seg_gid.get(target.sec)
            if post is None:
                continue  # target outside the recorded network
            pre = int(nc.srcgid())
            if pre < 0:
                source = nc.preseg()
                pre = seg_gid.get(source.sec, -1) if source is not None else -1
            rows.append((pre, post, float(nc.weight[0]), float(nc.delay),
                         re.sub(r"\[\d+\]$", "", syn.hname()), target.sec.name()))
        self.rows_ = rows

    def static(self, ctx: Context) -> dict:
        return connection_table(self.rows_)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        return {}
