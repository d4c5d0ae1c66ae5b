"""A small NetPyNE run saved by NetPyNE itself (JSON and pickle), for ``signals.io.from_netpyne``.

Run by ``tests/test_io.py`` as ``python _netpyne_save.py OUTDIR`` in a process of its own
(NetPyNE keeps a module-global ``sim``). The network is the one of ``_netpyne_run.py``; NetPyNE
records LFP (``recordLFP``, per population), dipoles (``recordDipole``, per population), soma
voltage traces and spikes, and saves them with ``sim.saveData()`` as
``OUTDIR/netpyne_data.json`` and ``OUTDIR/netpyne_data.pkl``. In the same run signals records
LFP at the same contacts in NEURON's coordinates, dipoles and spikes (``OUTDIR/live.nc``).
``OUTDIR/reference.npz`` holds NetPyNE's own ``sim.allSimData`` before saving and the times at
which NetPyNE computed each LFP and dipole sample.

Test-only patch (never in the package): NetPyNE 1.1.1's ``setupRecordLFP`` and
``setupRecordDipole`` call ``PtrVector.ptr_update_callback``, removed in NEURON 9. During those
calls only, the module's ``h`` is a proxy whose ``PtrVector`` ignores that call. NetPyNE re-sets
its pointers before every sample, so its results are unaffected.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _netpyne_run import DT, NETPYNE_ELECTRODES, _net_params, log_netpyne_calls

TSTOP = 40.0  # ms


def _sim_config(outdir: Path):
    from netpyne import specs

    cfg = specs.SimConfig()
    cfg.duration = TSTOP
    cfg.dt = DT
    cfg.recordStep = DT
    cfg.recordLFP = NETPYNE_ELECTRODES
    # Lists, not True: NetPyNE 1.1.1 builds its gid -> population map only for a list.
    cfg.saveLFPPops = ["E", "I"]
    cfg.recordDipole = True
    cfg.saveDipolePops = ["E", "I"]
    cfg.use_fast_imem = True
    cfg.recordCells = ["all"]
    cfg.recordTraces = {"V_soma": {"sec": "soma", "loc": 0.5, "var": "v"}}
    cfg.analysis = {}
    cfg.verbose = False
    cfg.printRunTime = False
    cfg.printPopAvgRates = False
    cfg.saveJson = True
    cfg.savePickle = True
    cfg.filename = str(outdir / "netpyne")
    return cfg


def main(outdir: Path) -> None:
    from netpyne import sim
    from neuron import h

    import signals
    from signals.recorders import LFP, Dipole, Spikes

    calls = log_netpyne_calls()
    sim.initialize(_net_params(), _sim_config(outdir))
    sim.net.createPops()
    sim.net.createCells()
    table = signals.network.from_netpyne(sim)
    sim.net.connectCells()
    sim.net.addStims()
    sim.setupRecording()
    electrodes = np.array(NETPYNE_ELECTRODES, dtype=float) * [1, -1, 1]  # NEURON's coordinates
    h.load_file("stdrun.hoc")
    session = signals.attach(table, [LFP(electrodes, method="linesource", sigma=0.3),
                                     Dipole(per_population=True), Spikes()],
                             path=outdir / "live.nc")
    sim.runSim()
    session.close()
    sim.gatherData()
    data = sim.allSimData
    traces = {f"V_soma/{k}": np.asarray(v) for k, v in data["V_soma"].items()}
    np.savez(
        outdir / "reference.npz",
        lfp=np.asarray(data["LFP"]), dipole=np.asarray(data["dipoleSum"]),
        lfp_E=np.asarray(data["LFPPops"]["E"]), dipole_I=np.asarray(data["dipolePops"]["I"]),
        spkt=np.asarray(data["spkt"]), spkid=np.asarray(data["spkid"]), t=np.asarray(data["t"]),
        lfp_call_times=np.asarray(calls["lfp"]), dipole_call_times=np.asarray(calls["dipole"]),
        tags=np.array([[c.tags["x"], c.tags["y"], c.tags["z"]] for c in sim.net.cells]),
        tag_gid=np.array([c.gid for c in sim.net.cells]),
        n_conns=sum(len(c.conns) for c in sim.net.cells),
        **traces,
    )
    sim.saveData()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
