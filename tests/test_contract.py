"""Every built-in recorder keeps the Recorder contract; a broken one is caught."""

from __future__ import annotations

import numpy as np
import pytest

import signals
from signals.electrodes import laminar, points
from signals.recorders import EEG, LFP, MEG, Connections, Dipole, MembraneCurrents, Spikes, Traces, available
from signals.testing import check_recorder

FACTORIES = {
    "lfp": lambda: LFP(laminar(x=30.0, z=[0, 100, 200])),
    "lfp_per_population_disc": lambda: LFP(points([[30, 0, 50]], radius=5.0), per_population=True,
                                           method="root_as_point"),
    "dipole": lambda: Dipole(cells=[0, 1]),
    "eeg": lambda: EEG(per_population=True),
    "meg": lambda: MEG([[0, 0, 100000.0], [0, 20000, 98000.0]]),
    "spikes": Spikes,
    "traces": lambda: Traces([0, 1]),
    "connections": Connections,
    "membrane": MembraneCurrents,
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_builtin_recorders_keep_the_contract(name):
    check_recorder(FACTORIES[name]())


def test_every_registered_recorder_is_covered():
    assert set(available()) <= {k.split("_")[0] for k in FACTORIES}


class Squares(signals.Recorder):
    """Broken on purpose: not linear in the currents."""

    name = "squares"

    def variables(self):
        return {"sq": signals.VariableSpec(("time",), "nA2", "squared currents")}

    def on_chunk(self, chunk):
        return {"sq": (chunk.imem**2).sum(0)}


class Undeclared(Squares):
    """Broken on purpose: returns a variable it did not declare."""

    def on_chunk(self, chunk):
        return {"sq": chunk.imem.sum(0), "extra": np.zeros(chunk.t.size)}


def test_contract_violations_are_caught():
    with pytest.raises(AssertionError, match="not linear"):
        check_recorder(Squares())
    with pytest.raises(AssertionError, match="declared"):
        check_recorder(Undeclared())
