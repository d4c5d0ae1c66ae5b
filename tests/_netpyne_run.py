"""One small NetPyNE network recorded by NetPyNE's ``recordLFP`` and by signals in the same run.

Run by ``tests/test_netpyne.py`` as ``python _netpyne_run.py OUTDIR`` in a process of its own:
NetPyNE keeps a module-global ``sim``, so a process can build one network only. Writes
``OUTDIR/run.nc`` (signals) and ``OUTDIR/netpyne.npz`` (NetPyNE's results and geometry).

Two patches of NetPyNE, both for this comparison only (never in the package):

- ``setupRecordLFP`` calls ``PtrVector.ptr_update_callback``, which NEURON 9 removed. During that
  call only, the module's ``h`` is replaced by a proxy whose ``PtrVector`` ignores the callback
  and passes everything else to the real one. NetPyNE re-sets its pointers before every LFP
  sample (``calculateLFP`` calls ``cell.setImembPtr()``), so its results are unaffected.
- ``sim.calculateLFP`` is wrapped to log ``h.t`` before each call (it runs the original), so
  the test can file each signals sample into the row NetPyNE files it in.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

# NetPyNE placement: cells at integer positions (µm). NEURON stores 3-D points in single
# precision and NetPyNE's LFP moves one cell's morphology per population to every soma, so at
# arbitrary positions the two geometries differ by float32 round-off (~1e-5 µm); at integer
# positions every 3-D point is exact and geometry can be compared to 1e-9 µm.
E_POSITIONS = [(0, 20, 0), (30, 40, 20), (60, 60, 40), (90, 80, 60), (120, 100, 80)]
I_POSITIONS = [(10, 30, 100), (40, 50, 80), (70, 70, 60), (100, 90, 40), (130, 110, 20)]
# NetPyNE electrode coordinates ([x, y, z] µm, y = "depth": NetPyNE negates it).
NETPYNE_ELECTRODES = [[-60, 50, 40], [-60, -150, 40], [190, -100, 30], [60, 0, 170]]
DT = 0.025  # ms
TSTOP = 100.0  # ms


def patch_ptrvector_callback(names=("setupRecordLFP",)) -> None:
    """Let NetPyNE 1.1.1's LFP/dipole setup run on NEURON 9 (tests only).

    NetPyNE calls ``PtrVector.ptr_update_callback``, removed in NEURON 9; while the named setup
    functions run, ``h.PtrVector`` gets a no-op in its place. NetPyNE re-sets its pointers at
    every sample, so its results are unaffected.
    """
    from netpyne.sim import setup
    from neuron import h

    class _PtrVector:
        """h.PtrVector without ``ptr_update_callback`` (removed in NEURON 9)."""

        def __init__(self, n):
            self._ptr = h.PtrVector(n)

        def ptr_update_callback(self, *args):
            pass

        def __getattr__(self, name):
            return getattr(self._ptr, name)

    class _H:
        PtrVector = _PtrVector

        def __getattr__(self, name):
            return getattr(h, name)

    def without_callback(original):
        def wrapped():
            setup.h = _H()
            try:
                return original()
            finally:
                setup.h = h
        return wrapped

    for name in names:  # setupRecording looks them up in the module
        setattr(setup, name, without_callback(getattr(setup, name)))


def log_netpyne_calls() -> dict[str, list[float]]:
    """Patch NetPyNE for NEURON 9 and log ``h.t`` at each of its LFP and dipole samples."""
    from netpyne import sim
    from neuron import h

    patch_ptrvector_callback(("setupRecordLFP", "setupRecordDipole"))
    calls: dict[str, list[float]] = {"lfp": [], "dipole": []}
    for key, name in (("lfp", "calculateLFP"), ("dipole", "calculateDipole")):
        original = getattr(sim, name)

        def logged(original=original, key=key):
            calls[key].append(float(h.t))
            original()

        setattr(sim, name, logged)  # the record handlers look sim.<name> up at each event
    return calls


def _net_params():
    from netpyne import specs

    net = specs.NetParams()
    # 3-D cell: soma + bent apical dendrite along +y (relative to the cell position).
    net.cellParams["PYR"] = {"secs": {
        "soma": {"geom": {"pt3d": [[0, 0, 0, 20], [0, 20, 0, 20]]}, "mechs": {"hh": {}}},
        "dend": {"geom": {"pt3d": [[0, 20, 0, 3], [15, 150, 5, 2], [0, 300, 0, 1]], "nseg": 7},
                 "mechs": {"pas": {"g": 1e-4, "e": -65}},
                 "topol": {"parentSec": "soma", "parentX": 1, "childX": 0}},
    }}
    # Stylized cell (L/diam only): NetPyNE's defineCellShapes places it.
    net.cellParams["BAS"] = {"secs": {
        "soma": {"geom": {"L": 15, "diam": 15, "nseg": 1}, "mechs": {"hh": {}}},
        "dend": {"geom": {"L": 150, "diam": 2, "nseg": 5}, "mechs": {"pas": {"g": 1e-4, "e": -65}},
                 "topol": {"parentSec": "soma", "parentX": 1, "childX": 0}},
    }}
    for pop, cell_type, positions in (("E", "PYR", E_POSITIONS), ("I", "BAS", I_POSITIONS)):
        net.popParams[pop] = {"cellType": cell_type,
                              "cellsList": [{"x": x, "y": y, "z": z} for x, y, z in positions]}
    net.synMechParams["exc"] = {"mod": "ExpSyn", "tau": 2, "e": 0}
    net.synMechParams["inh"] = {"mod": "ExpSyn", "tau": 5, "e": -80}
    net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 40, "noise": 0.5}
    net.stimTargetParams["bkg->all"] = {"source": "bkg", "conds": {"pop": ["E", "I"]}, "weight": 0.02,
                                        "delay": 1, "synMech": "exc", "sec": "soma"}
    net.connParams["E->I"] = {"preConds": {"pop": "E"}, "postConds": {"pop": "I"}, "probability": 0.5,
                              "weight": 0.005, "delay": 2, "synMech": "exc"}
    net.connParams["I->E"] = {"preConds": {"pop": "I"}, "postConds": {"pop": "E"}, "probability": 0.5,
                              "weight": 0.005, "delay": 2, "synMech": "inh", "sec": "dend"}
    return net


def sim_config(duration: float = TSTOP, electrodes=NETPYNE_ELECTRODES, *, dipole: bool = False):
    """NetPyNE config of the comparisons: recordLFP (and recordDipole) every step, quiet."""
    from netpyne import specs

    cfg = specs.SimConfig()
    cfg.duration = duration
    cfg.dt = DT
    cfg.recordStep = DT  # one NetPyNE LFP row per time step: every signals sample is compared
    cfg.recordLFP = electrodes
    cfg.recordDipole = dipole
    cfg.use_fast_imem = True
    cfg.recordTraces = {}
    cfg.analysis = {}
    cfg.verbose = False
    cfg.printRunTime = False
    cfg.printPopAvgRates = False
    cfg.saveJson = cfg.savePickle = False
    return cfg


def main(outdir: Path) -> None:
    from netpyne import sim
    from neuron import h

    import signals
    from signals.recorders import LFP, Spikes

    call_times = log_netpyne_calls()["lfp"]
    sim.initialize(_net_params(), sim_config())
    sim.net.createPops()
    sim.net.createCells()
    # The adapter runs before NetPyNE's own LFP setup: it must place the stylized cells exactly
    # as that setup will (compared below with the segment coordinates NetPyNE's LFP uses).
    table = signals.network.from_netpyne(sim)
    sim.net.connectCells()
    sim.net.addStims()
    sim.setupRecording()  # NetPyNE's recordLFP setup: shapes, segment coords, transfer matrices

    seg_gid = np.concatenate([[c.gid] * c._segCoords["p0"].shape[1] for c in sim.net.compartCells])
    p0 = np.concatenate([c._segCoords["p0"].T for c in sim.net.compartCells])
    p1 = np.concatenate([c._segCoords["p1"].T for c in sim.net.compartCells])

    electrodes = np.array(NETPYNE_ELECTRODES, dtype=float) * [1, -1, 1]  # NEURON's coordinates
    # Engine bug worked around here: Session.attach uses h.cvode, which only exists once
    # stdrun.hoc is loaded, and NetPyNE does not load it.
    h.load_file("stdrun.hoc")
    session = signals.attach(table, [LFP(electrodes, method="linesource", sigma=0.3), Spikes()],
                             path=outdir / "run.nc")
    sim.runSim()
    session.close()
    sim.gatherData()

    np.savez(
        outdir / "netpyne.npz",
        lfp=np.asarray(sim.allSimData["LFP"]),
        lfp_call_times=np.asarray(call_times),
        spkt=np.asarray(sim.allSimData["spkt"]),
        spkid=np.asarray(sim.allSimData["spkid"]),
        seg_gid=seg_gid, p0=p0, p1=p1,
        table_gid=table.gid, table_x=table.x, table_y=table.y, table_z=table.z,
        table_cell_gid=table.cell_gid, table_cell_position=table.cell_position,
        tags=np.array([[c.tags["x"], c.tags["y"], c.tags["z"]] for c in sim.net.cells]),
        tag_gid=np.array([c.gid for c in sim.net.cells]),
        tag_pop=np.array([c.tags["pop"] for c in sim.net.cells]),
        netpyne_electrodes=np.array(NETPYNE_ELECTRODES, dtype=float),
        electrodes=electrodes,
        record_step=float(sim.cfg.recordStep), dt=float(h.dt), tstop=TSTOP,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
