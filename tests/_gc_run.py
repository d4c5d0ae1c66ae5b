"""Record six times in one process, each run leaving its cells in reference cycles (driven by
test_pipeline.py): a later collection frees them during another run.

    python _gc_run.py OUT_DIR PIPELINE(0|1)

Prints one JSON line: the peak |LFP| of each run (they must be equal).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from neuron import h

import signals
from signals.recorders import LFP


class Cell:
    """A soma and a dendrite in a cell that refers to itself: a cycle only the collector frees
    (as a cell in a model's own registry, or a bound method kept as a callback, would be)."""

    def __init__(self, gid: int) -> None:
        self.gid = gid
        self.me = self
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        self.soma.L = self.soma.diam = 20.0
        self.dend.L, self.dend.diam, self.dend.nseg = 300.0, 2.0, 11
        for sec in (self.soma, self.dend):
            sec.pt3dclear()
        self.soma.pt3dadd(80.0 * gid, 0, -10, 20)
        self.soma.pt3dadd(80.0 * gid, 0, 10, 20)
        self.dend.pt3dadd(80.0 * gid, 0, 10, 2)
        self.dend.pt3dadd(80.0 * gid, 0, 310, 2)
        self.soma.insert("hh")
        self.dend.insert("pas")
        self.all = [self.soma, self.dend]
        self.stim = h.IClamp(self.soma(0.5))
        self.stim.delay, self.stim.dur, self.stim.amp = 2.0, 20.0, 0.3


def main() -> None:
    out, pipeline = Path(sys.argv[1]), sys.argv[2] == "1"
    h.load_file("stdrun.hoc")
    probe = signals.electrodes.laminar(x=40.0, y=0.0, z=np.linspace(-100, 400, 8))
    peaks = []
    for run in range(6):
        # each run's cells become garbage in cycles after it: a collection may free them
        # during a later run, wherever Python happens to allocate
        cells = [Cell(g) for g in range(2)]
        table = signals.network.from_neuron(cells)
        path = signals.record(table, [LFP(probe)], tstop=10.0, dt=0.025, progress=False,
                              path=out / f"run{run}.nc", pipeline=pipeline, chunk_samples=50)
        with signals.open_run(path) as ds:
            assert ds.attrs["run_status"] == "complete"
            peaks.append(float(np.abs(ds["lfp"].values).max()))
        del cells, table
    print(json.dumps({"peaks": peaks}), flush=True)


if __name__ == "__main__":
    main()
