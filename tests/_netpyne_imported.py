"""NetPyNE with cells imported by ``importCellParams`` from morphologies LFPy ships (for
test_real_models.py), recorded by NetPyNE's ``recordLFP``/``recordDipole`` and by signals.

    python _netpyne_imported.py OUTDIR

The cell rules are used as NetPyNE users write them: morphologies imported from hoc files,
then edited in ``cellParams`` — an axon stub given by ``L``/``diam`` only (as in the BBP cells
of NetPyNE's S1 model) carrying the spike detector (``spikeGenLoc``, own threshold), and a
dendrite re-attached at ``soma(0.5)`` while its 3-D points still start at the soma's end (a
detached child, placed by ``h.define_shape()``). The run follows NetPyNE's ``sim.create``
steps; signals' table is built twice, right after ``createCells`` and after
``setupRecording``, and both are saved with NetPyNE's own ``cell._segCoords``.
Writes ``OUTDIR/run.nc`` and ``OUTDIR/netpyne.npz``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _netpyne_run import log_netpyne_calls, sim_config  # noqa: E402

TSTOP = 60.0  # ms
NETPYNE_ELECTRODES = [[50, 100, 20], [-80, 250, 0], [120, -50, -30], [0, 400, 60]]


def _net_params():
    import LFPy
    from netpyne import specs

    shipped = Path(LFPy.__file__).parent / "test"
    net = specs.NetParams()
    net.importCellParams(label="L23", conds={"cellType": "L23"}, cellName=None,
                         cellInstance=True, fileName=str(shipped / "L23E_p23.hoc"))
    net.importCellParams(label="STK", conds={"cellType": "STK"}, cellName=None,
                         cellInstance=True, fileName=str(shipped / "sticks_not_connected_head_to_toe.hoc"))
    for label in ("L23", "STK"):
        secs = net.cellParams[label]["secs"]
        for name, sec in secs.items():
            sec["mechs"] = {"hh": {}} if name.startswith("soma") else {"pas": {"g": 1e-4, "e": -65}}
            sec["geom"]["nseg"] = 5 if not name.startswith("soma") else 1
        soma = next(name for name in secs if name.startswith("soma"))
        secs["axon"] = {"geom": {"L": 300, "diam": 1, "nseg": 9}, "mechs": {"hh": {}},
                        "topol": {"parentSec": soma, "parentX": 0, "childX": 0},
                        "spikeGenLoc": 0.9, "threshold": -10}
    # a dendrite moved to the middle of the soma: its 3-D points start elsewhere
    net.cellParams["STK"]["secs"]["dend1"]["topol"]["parentX"] = 0.5
    for pop, cell_type, positions in (
            ("E", "L23", [(0, 100, 0), (150, 120, 30), (-120, 140, -40)]),
            ("S", "STK", [(60, 300, 10), (-50, 320, 80)])):
        net.popParams[pop] = {"cellType": cell_type,
                              "cellsList": [{"x": x, "y": y, "z": z} for x, y, z in positions]}
    net.synMechParams["exc"] = {"mod": "ExpSyn", "tau": 2, "e": 0}
    net.stimSourceParams["bkg"] = {"type": "NetStim", "rate": 60, "noise": 0.5}
    net.stimTargetParams["bkg->all"] = {"source": "bkg", "conds": {"pop": ["E", "S"]},
                                        "weight": 0.05, "delay": 1, "synMech": "exc", "sec": "soma"}
    net.connParams["E->S"] = {"preConds": {"pop": "E"}, "postConds": {"pop": "S"},
                              "probability": 1.0, "weight": 0.01, "delay": 2, "synMech": "exc"}
    return net


def _seg_coords(sim):
    cells = sim.net.compartCells
    return (np.concatenate([c._segCoords["p0"].T for c in cells]),
            np.concatenate([c._segCoords["p1"].T for c in cells]))


def main(outdir: Path) -> None:
    from netpyne import sim
    from neuron import h

    import signals
    from signals.recorders import LFP, Dipole, Spikes

    calls = log_netpyne_calls()
    # sim.create(netParams, cfg), step by step
    sim.initialize(_net_params(), sim_config(TSTOP, NETPYNE_ELECTRODES, dipole=True))
    sim.net.createPops()
    sim.net.createCells()
    early = signals.network.from_netpyne(sim)
    sim.net.connectCells()
    sim.net.addStims()
    sim.setupRecording()
    table = signals.network.from_netpyne(sim)
    p0, p1 = _seg_coords(sim)

    electrodes = np.array(NETPYNE_ELECTRODES, dtype=float) * [1, -1, 1]  # NEURON's coordinates
    with signals.attach(table, [LFP(electrodes, method="linesource", sigma=0.3),
                                Dipole(per_population=False), Spikes()], path=outdir / "run.nc"):
        sim.runSim()
    sim.gatherData()
    np.savez(
        outdir / "netpyne.npz",
        lfp=np.asarray(sim.allSimData["LFP"]), dipole=np.asarray(sim.allSimData["dipoleSum"]),
        lfp_calls=np.asarray(calls["lfp"]), dipole_calls=np.asarray(calls["dipole"]),
        spkt=np.asarray(sim.allSimData["spkt"]), spkid=np.asarray(sim.allSimData["spkid"]),
        p0=p0, p1=p1,
        early_x=early.x, early_y=early.y, early_z=early.z,
        table_x=table.x, table_y=table.y, table_z=table.z, table_section=table.section,
        record_step=float(sim.cfg.recordStep), dt=float(h.dt),
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
