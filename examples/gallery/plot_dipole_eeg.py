"""
Current dipole and EEG
======================

The network's current dipole moment (total and per population) and the EEG it gives on a
four-sphere head, with the network 1 mm below the surface under Cz.
"""

# %%
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# Dipole components on one scale: px and py are numerically zero for this network, whose
# pyramidal cells all point along z.
plots.plot_dipole(ds)

# %%
# EEG spectra: 21 sensors, the strongest named.
plots.plot_psd(ds, variable="eeg", fmax=150)

# %%
# Scalp map at the largest deflection, and the sensor layout.
plots.plot_eeg_topomap(ds)

# %%
plots.plot_sensors(ds)
