"""
Extracellular potassium
=======================

K⁺ concentration at the probe contacts, a slice of the extracellular grid, and K⁺ above the
LFP on one contact, from ``examples/rxd_potassium.py`` (16 cells with ``neuron.rxd``, 40 ms).
"""

# %%
import numpy as np

import signals
from signals import plots

from _runs import rxd_run

ds = signals.open_run(rxd_run())

# %%
# K⁺ at each contact over time.
plots.plot_concentration(ds)

# %%
# The whole grid at the last snapshot, in the plane through the cells.
plots.plot_concentration_slice(ds, view="xy")

# %%
# K⁺ and the LFP at the contact where K⁺ rose most.
rise = (ds.ko.isel(time=-1) - ds.ko.isel(time=0)).values
plots.plot_concentration_lfp(ds, str(ds.electrode.values[int(np.argmax(rise))]))
