"""Current dipole moment recorder: total, per population and per chosen cell."""

from __future__ import annotations

import numpy as np

from signals.recorder import Context, LinearRecorder, cell_gids
from signals.schema import component_coord
from signals.validation import as_positions

__all__ = ["Dipole"]


class Dipole(LinearRecorder):
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

    units = "nA um"
    long_name = "current dipole moment"

    def __init__(self, *, per_population: bool = True, cells=None,
                 origin=(0.0, 0.0, 0.0), name: str = "dipole") -> None:
        self.name = str(name)
        self.per_population = bool(per_population)
        self.cells = cell_gids(cells)
        self.origin = as_positions(origin, "origin")[0]

    def channel_dims(self) -> tuple[str, ...]:
        return ("component",)

    def attrs(self) -> dict:
        return {"origin": self.origin, "origin_units": "um"}

    def channel_coords(self, ctx: Context) -> dict:
        return component_coord()

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        return ((ctx.segments.midpoints - self.origin).T,)  # (3, n_seg) µm
