"""
Spike–field coupling and phase–amplitude coupling
=================================================

How each population's spikes relate to the LFP around them, from a 500 ms run of the demo
network: the spike-triggered LFP by depth, the spike–field coherence with the phase locking
(PPC) to the gamma band, and comodulograms (Tort modulation index) with the time-shift
surrogates' significance contour. The same figures as ``signals plot stlfp|sfc|pac run.nc``.
"""

# %%
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# Spike-triggered LFP: one row per contact (the top of the probe at the top), one trace per
# population in its run colour; the legend gives the spikes averaged.
plots.plot_stlfp(ds, window=(-25, 25))

# %%
# Spike–field coherence at four contacts spread over the probe, and the pairwise phase
# consistency of each population with the 30–80 Hz gamma rhythm at every contact. A run
# shorter than 4 s uses shorter Welch segments, and says so.
plots.plot_sfc(ds, band=(30, 80))

# %%
# Comodulograms: the modulation index of every (phase band, amplitude band) pair; white
# encloses the pairs above the 95 % quantile of 100 time-shift surrogates (at α = 0.05 a few
# of the 70 pairs per contact pass by chance).
plots.plot_pac(ds, electrodes=["e02", "e07"], n_surrogates=100)
