"""
A slice on an MEA, anisotropic tissue, and the true CSD
=======================================================

The same cells recorded three ways at once: an LFP in the infinite homogeneous medium, the LFP
an MEA under a 300 µm slice would see (``signals.media.Slice``: LFPykit's method of images with
the saline bath above and the insulating glass below), and the LFP in anisotropic tissue
(``sigma=(σx, σy, σz)``). Beside them, ``LaminarCSD`` records the model's true current source
density, what CSD estimates from a laminar probe try to recover.
"""

# %%
# Five ball-and-stick cells lying in the slice (somata 60 µm above the MEA, dendrites along x),
# driven by synapses; an 8 × 3 MEA on the plane z = 0, and a laminar probe above the somata.
import matplotlib.pyplot as plt
import numpy as np
from neuron import h

import signals
from signals.media import Slice
from signals.recorders import LFP, LaminarCSD

from _runs import CACHE

CACHE.mkdir(parents=True, exist_ok=True)
h.load_file("stdrun.hoc")
cells = []
for i in range(5):
    soma, dend = h.Section(name=f"soma{i}"), h.Section(name=f"dend{i}")
    dend.connect(soma(1))
    y = 40.0 * (i - 2)
    soma.pt3dadd(-10, y, 60, 15)
    soma.pt3dadd(10, y, 60, 15)
    dend.pt3dadd(10, y, 60, 2)
    dend.pt3dadd(300, y, 60 + 20 * i, 2)
    dend.nseg = 15
    soma.insert("hh")
    dend.insert("pas")
    syn = h.ExpSyn(dend(0.8))
    stim = h.NetStim()
    stim.start, stim.number, stim.interval = 5.0 + 3 * i, 3, 15.0
    nc = h.NetCon(stim, syn)
    nc.weight[0] = 0.02
    cells.append(([soma, dend], syn, stim, nc))
table = signals.network.from_neuron([c[0] for c in cells])
mea = signals.electrodes.grid(x=np.linspace(-50, 300, 8), y=[-40.0, 0.0, 40.0], z=0.0)
column = signals.electrodes.laminar(x=150.0, y=0.0, z=np.arange(30.0, 171.0, 10.0))
recorders = [
    LFP(mea, name="lfp_infinite"),
    LFP(mea, slice=Slice(thickness=300.0), name="lfp_slice"),
    LFP(mea, sigma=(0.3, 0.3, 0.06), name="lfp_anisotropic"),
    LaminarCSD(column, radius=100.0),
]
path = signals.record(table, recorders, tstop=60, path=CACHE / "media.nc", progress=False)
ds = signals.open_run(path)

# %%
# The first spike at the contact under the dendrites' middle: the insulating glass about
# doubles the potential on the MEA (the half-space image), the saline above takes a little
# back; in the anisotropic tissue the potential spreads less along z towards the MEA.
contact = "e11"
window = ds.sel(time=slice(5.5, 9.0))
fig, ax = plt.subplots(figsize=(7, 3.5))
for name, label in (("lfp_infinite", "infinite medium, σ = 0.3 S/m"),
                    ("lfp_slice", "300 µm slice on the MEA (glass below, saline above)"),
                    ("lfp_anisotropic", "anisotropic, σ = (0.3, 0.3, 0.06) S/m")):
    ax.plot(window["time"], window[name].sel(electrode=contact) * 1e3, label=label)
ax.set_xlabel("time (ms)")
ax.set_ylabel(f"potential at {contact} (µV)")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The true CSD in a 100 µm-radius column around x = 150 µm over the same event (µA/mm³,
# sources positive): the first cell's dendrite (at z = 60 µm) carries its return current, a
# source, through the column; the synaptic sink at x = 242 µm lies outside it.
fig, ax = plt.subplots(figsize=(7, 3.5))
csd = window["csd_true"]
lim = float(np.abs(csd).max())
mesh = ax.pcolormesh(window["time"], window["csd_true_depth"], csd.T, cmap="RdBu_r", vmin=-lim,
                     vmax=lim, shading="nearest")
ax.set_xlabel("time (ms)")
ax.set_ylabel("z along the column (µm)")
fig.colorbar(mesh, ax=ax, label="true CSD (µA/mm³)")
fig.tight_layout()
ds.close()
