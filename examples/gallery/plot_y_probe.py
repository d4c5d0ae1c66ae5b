"""
A probe along y (NetPyNE's depth axis)
======================================

NetPyNE puts cortical depth on y. The probe axis is found from the contact positions, so a
probe along y (or any straight line) gets every laminar figure and the CSD with no options:
contacts are labelled by their y, and the electrode view shows the probe along its length.
"""

# %%
# Three ball-and-stick cells with their dendrites along +y, and a 9-contact probe along y.
import numpy as np
from neuron import h

import signals
from signals import plots
from signals.recorders import LFP, Spikes

from _runs import CACHE


class Cell:
    def __init__(self, gid, x, y, z):
        self.gid, self.population = gid, "E" if gid < 2 else "I"
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        for sec, points in ((self.soma, [(0, -10, 20), (0, 10, 20)]), (self.dend, [(0, 10, 2), (0, 410, 1)])):
            for dx, dy, diam in points:
                sec.pt3dadd(x + dx, y + dy, z, diam)
        self.dend.nseg = 10
        self.all = [self.soma, self.dend]  # the sections signals records
        self.soma.insert("hh")
        self.dend.insert("pas")
        self.syn = h.ExpSyn(self.dend(0.8))
        self.stim = h.NetStim()
        self.stim.start, self.stim.number, self.stim.interval = 2 + 3 * gid, 4, 7
        self.nc = h.NetCon(self.stim, self.syn)
        self.nc.weight[0] = 0.04


CACHE.mkdir(parents=True, exist_ok=True)
cells = [Cell(gid, 60.0 * gid - 60.0, -800.0, 20.0 * gid) for gid in range(3)]
probe = signals.electrodes.laminar(x=0, y=np.arange(-900, -99, 100), z=0)  # µm
path = signals.record(signals.network.from_neuron(cells), [LFP(probe), Spikes()], tstop=60, dt=0.025,
                      path=CACHE / "y_probe.nc", progress=False)
ds = signals.open_run(path)
print(signals.electrodes.probe_axis(probe.positions).label)

# %%
plots.plot_electrodes(ds)

# %%
plots.plot_lfp(ds)

# %%
plots.plot_csd(ds)
