"""Current dipole moment recorder: total, per population and per chosen cell."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from signals._validation import as_positions, check_iterable, ensure_int
from signals.recorder import Chunk, Context, Recorder, VariableSpec
from signals.schema import component_coord

__all__ = ["Dipole"]


class Dipole(Recorder):
    """Current dipole moment :math:`\\mathbf p = \\sum_j I_j (\\mathbf r_j - \\mathbf r_0)` (nA µm).

    ``I_j`` is the membrane current of segment ``j`` (nA) and ``r_j`` its midpoint (µm), as in
    LFPykit's ``CurrentDipoleMoment``. Without current injected by electrodes the membrane
    currents of each cell sum to zero and ``p`` does not depend on the origin ``r_0``; with an
    ``IClamp`` it does, because NEURON's ``i_membrane_`` excludes the electrode current.

    Parameters
    ----------
    per_population : bool
        Also store ``<name>_population`` (time, population, component); the populations sum
        to the total.
    cells : iterable of int, optional
        gids whose own dipole moments are stored as ``<name>_per_cell`` (time, <name>_cell,
        component). Each cell costs 24 bytes per sample (3 float64): 1,000 cells sampled every
        0.025 ms for 1 s of model time take 960 MB, so choose the cells you need.
    origin : 3 floats
        Reference point ``r_0`` (µm).
    name : str
        Variable name; the others are ``<name>_population``, ``<name>_per_cell``.
    """

    name = "dipole"
    description = "current dipole moment"

    def __init__(self, *, per_population: bool = True, cells: Iterable[int] | None = None,
                 origin=(0.0, 0.0, 0.0), name: str = "dipole") -> None:
        self.name = str(name)
        self.per_population = bool(per_population)
        self.cells = None if cells is None else np.array(
            sorted({ensure_int(g, "cells (gids)") for g in check_iterable(cells, "cells")}),
            dtype=np.int64)
        if self.cells is not None and self.cells.size == 0:
            raise ValueError("cells is empty; pass None to store no per-cell dipoles")
        self.origin = as_positions(origin, "origin")[0]

    def __repr__(self) -> str:
        n = 0 if self.cells is None else self.cells.size
        return f"Dipole(per_population={self.per_population}, n_cells={n})"

    def variables(self) -> dict[str, VariableSpec]:
        unit, attrs = "nA um", {"origin_um": self.origin}
        out = {self.name: VariableSpec(("time", "component"), unit,
                                       "current dipole moment", attrs=attrs)}
        if self.per_population:
            out[f"{self.name}_population"] = VariableSpec(("time", "population", "component"), unit,
                                                    "current dipole moment per population",
                                                    attrs=attrs)
        if self.cells is not None:
            out[f"{self.name}_per_cell"] = VariableSpec(
                ("time", f"{self.name}_cell", "component"), unit, "current dipole moment per cell",
                attrs=attrs)
        return out

    def coords(self, ctx: Context) -> dict:
        out = component_coord()
        if self.cells is not None:
            out[f"{self.name}_cell"] = ((f"{self.name}_cell",), self.cells,
                                        {"long_name": "cell gid"})
        return out

    def setup(self, ctx: Context) -> None:
        seg = ctx.segments
        self.R_ = (seg.midpoints - self.origin).T  # (3, n_seg) µm
        self.pop_rows_ = seg.population_rows(ctx.populations) if self.per_population else []
        self.cell_cols_ = []
        if self.cells is not None:
            local = dict(zip(seg.cell_gid.tolist(), seg.cell_slices(), strict=True))
            if ctx.nhost == 1 and not set(self.cells.tolist()) <= set(local):
                missing = sorted(set(self.cells.tolist()) - set(local))[:5]
                raise ValueError(f"dipole cells not in the network: {missing}")
            self.cell_cols_ = [(k, local[g]) for k, g in enumerate(self.cells.tolist())
                               if g in local]

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        imem, n = chunk.imem, chunk.t.size
        if self.per_population:
            # every segment belongs to one population: their sum is the total, in one pass
            per_pop = np.empty((n, len(self.pop_rows_), 3))
            for k, rows in enumerate(self.pop_rows_):
                per_pop[:, k] = (self.R_[:, rows] @ imem[rows]).T
            out = {self.name: per_pop.sum(axis=1), f"{self.name}_population": per_pop}
        else:
            out = {self.name: (self.R_ @ imem).T}
        if self.cells is not None:
            # zeros where another rank owns the cell: the sum over ranks is the moment
            per_cell = np.zeros((n, self.cells.size, 3))
            for k, rows in self.cell_cols_:
                per_cell[:, k] = (self.R_[:, rows] @ imem[rows]).T
            out[f"{self.name}_per_cell"] = per_cell
        return out
