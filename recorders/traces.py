"""Membrane potential (or another range variable) of chosen cells."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.schema import gid_coord
from signals.validation import check_iterable, ensure_int

__all__ = ["Traces"]


class Traces(Recorder):
    """A range variable at the middle of each chosen cell's root (soma) section.

    Parameters
    ----------
    gids : iterable of int
        Cells to record (global gids; under MPI each rank records those it owns).
    variable : str
        NEURON range variable, ``"v"`` (mV) by default.
    units : str
        Units of ``variable`` (UDUNITS); ``"mV"`` for ``v``.
    loc : float in [0, 1]
        Position along the root section.
    name : str
        Variable name in the run file; its cell dimension is ``<name>_cell`` (e.g. ``v_cell``)
        with the gids as coordinate, so several traced variables can coexist.
    state : bool, optional
        Whether NEURON updates ``variable`` in the state phase of a step (channel gates such as
        ``m_hh``, concentrations such as ``cai``), see :meth:`signals.Context.add_pointers`.
        Default: False for ``v``, currents (``i*``) and conductances (``g*``), True otherwise.
        Either way each sample equals ``Vector.record`` of the variable at its time.
    """

    thread_safe = True  # copies of the chunk's buffers only

    def __init__(self, gids: Iterable[int], *, variable: str = "v", units: str = "mV",
                 loc: float = 0.5, name: str = "v", state: bool | None = None) -> None:
        self.gids = np.array(sorted({ensure_int(g, "gids (cell gids to trace)") for g in
                                     check_iterable(gids, "gids")}), dtype=np.int64)
        if self.gids.size == 0:
            raise ValueError("gids is empty: give at least one gid to trace")
        if not 0.0 <= float(loc) <= 1.0:
            raise ValueError(f"loc must be in [0, 1], got {loc}")
        self.variable = str(variable)
        self.units = str(units)
        self.loc = float(loc)
        self.name = str(name)
        self.dim_ = f"{self.name}_cell"
        self.state = (not (self.variable == "v" or self.variable.startswith(("i", "g")))
                      if state is None else bool(state))


    def variables(self) -> dict[str, VariableSpec]:
        return {self.name: VariableSpec(("time", self.dim_), self.units,
                                        f"{self.variable} at the soma")}

    def coords(self, ctx: Context) -> dict:
        return gid_coord(self.dim_, self.gids)

    def setup(self, ctx: Context) -> None:
        self.cols_, local = ctx.segments.local_roots(self.gids, require_all=ctx.nhost == 1)
        self.group_ = None
        if self.cols_.size:
            segs = [local[int(g)](self.loc) for g in self.gids[self.cols_]]
            self.group_ = ctx.add_pointers(segs, self.variable, state=self.state)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        # Zeros where another rank owns the cell: the sum over ranks is the trace.
        out = np.zeros((chunk.t.size, self.gids.size))
        if self.group_ is not None:
            out[:, self.cols_] = chunk.pointers[self.group_].T
        return {self.name: out}
