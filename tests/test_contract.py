"""Every built-in recorder keeps the Recorder contract; a broken one is caught."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import signals
from signals.electrodes import laminar, points
from signals.recorders import (
    EEG,
    LFP,
    MEG,
    Connections,
    Dipole,
    LaminarCSD,
    MembraneCurrents,
    Spikes,
    Traces,
    VolumetricCSD,
    available,
)
from signals.testing import check_recorder

# registry name (before ":") → factory; several variants may share a name
FACTORIES = {
    "lfp": lambda: LFP(laminar(x=30.0, z=[0, 100, 200])),
    "lfp:per_population_disc": lambda: LFP(points([[30, 0, 50]], radius=5.0), per_population=True,
                                           method="root_as_point"),
    "dipole": lambda: Dipole(cells=[0, 1]),
    "eeg": lambda: EEG(per_population=True),
    "meg": lambda: MEG([[0, 0, 100000.0], [0, 20000, 98000.0]]),
    "spikes": Spikes,
    "traces": lambda: Traces([0, 1]),
    "connections": Connections,
    "membrane": MembraneCurrents,
    "csd_laminar": lambda: LaminarCSD(laminar(x=0.0, z=[-50, 50, 150, 250]), per_population=True),
    "csd_laminar:oblique_per_cell": lambda: LaminarCSD(points([[0, 0, 0], [30, 0, 40], [60, 0, 80]]),
                                                      cells=[1]),
    "csd_volume": lambda: VolumetricCSD([-100, 0, 100], [-50, 50], [-50, 100, 250, 400]),
}

# rxd species live in NEURON's global state (and deleting one after a run crashes NEURON
# 9.0.2), so the concentration recorders are checked in a fresh process each
RXD_FACTORIES = {
    "concentration": "Concentration(points([[30.0, 0.0, 100.0], [0.0, 10.0, 0.0]]), species='k', "
                     "snapshot_every=1.0)",
    "intracellular_concentration": "IntracellularConcentration([0, 1], ion='k')",
}
RXD_SCRIPT = """
from neuron import h, rxd
from signals.electrodes import points
from signals.recorders import Concentration, IntracellularConcentration
from signals.testing import check_recorder
ecs = rxd.Extracellular(-100, -100, -100, 200, 100, 400, dx=25)
k = rxd.Species(ecs, name="k", charge=1, initial=3.0)
check_recorder({factory})
print("contract ok")
"""


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_builtin_recorders_keep_the_contract(name):
    check_recorder(FACTORIES[name]())


@pytest.mark.parametrize("name", sorted(RXD_FACTORIES))
def test_rxd_recorders_keep_the_contract(name):
    res = subprocess.run([sys.executable, "-c", RXD_SCRIPT.format(factory=RXD_FACTORIES[name])],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "contract ok" in res.stdout, res.stderr[-2000:]


def test_every_registered_recorder_is_covered():
    covered = {k.split(":")[0] for k in FACTORIES} | set(RXD_FACTORIES)
    assert set(available()) <= covered


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
