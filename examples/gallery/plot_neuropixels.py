"""
A Neuropixels probe in the demo network
=======================================

Real probe layouts come from MEAutility's definitions (installed with LFPykit), offline:
``signals.electrodes.probe("Neuropixels-128", position=..., rotation=...)``. Each 12 µm square
contact averages the potential over its surface (50 random points), as LFPykit's
``RecExtElectrode(probe=...)`` does. The run file keeps the contact normals, shape and size,
so ``signals.electrodes.from_run`` gives the probe back, and
``signals.io.to_spikeinterface`` hands recording, probe and ground-truth spikes to
SpikeInterface.
"""

# %%
# The demo network (120 cells, somata between z = -950 and -50 µm) and a Neuropixels 1.0 probe
# (128 contacts in 4 staggered columns), its contacts facing x, turned 90° about its long axis so
# that they face the cells along y.
import matplotlib.pyplot as plt
import numpy as np

import signals
from signals import plots
from signals.demo import build_network
from signals.electrodes import probe, rotation_matrix
from signals.recorders import LFP, Spikes

from _runs import CACHE

CACHE.mkdir(parents=True, exist_ok=True)
net = build_network(seed=1)
table = signals.network.from_neuron([c for cells in net.populations.values() for c in cells])
npx = probe("Neuropixels-128", position=(0, 20, -500), rotation=rotation_matrix("z", 90))
print(f"{len(npx)} {npx.shape} contacts, side {2 * npx.radius:g} µm, facing {npx.normal[0].round(3)}")
path = signals.record(table, [LFP(npx), Spikes()], tstop=120, path=CACHE / "neuropixels.nc",
                      progress=False)
ds = signals.open_run(path)

# %%
# The probe among the somata (x-z view: the probe's width along x, its length along z).
plots.plot_electrodes(ds, view="xz")

# %%
# The LFP of one column of contacts, by depth.
column = np.isclose(ds["electrode_x"].values, ds["electrode_x"].values.min())
lfp = ds["lfp"].isel(electrode=np.flatnonzero(column)).sortby("electrode_z")
fig, ax = plt.subplots(figsize=(7, 4.5))
limit = float(np.abs(lfp).quantile(0.99))
image = ax.pcolormesh(lfp["time"], lfp["electrode_z"], lfp.T, cmap="RdBu_r", vmin=-limit, vmax=limit,
                      shading="nearest")
fig.colorbar(image, ax=ax, label="LFP (mV)")
ax.set_xlabel("time (ms)")
ax.set_ylabel("contact z (µm)")
x0 = float(lfp["electrode_x"][0])
ax.set_title(f"Neuropixels column x = {x0:g} µm ({lfp.sizes['electrode']} contacts)")

# %%
# The run file knows its probe again.
back = signals.electrodes.from_run(ds)
print(back.shape, back.radius, "µm half side;", back.n_points, "points per contact")
