"""
Aperiodic fits and event-related averages
=========================================

The 1/f (aperiodic) component and the peaks of each contact's PSD (fooof), and averages of the
LFP around events with their bootstrap confidence band, from a 500 ms run of the demo network.
The same figures as ``signals plot aperiodic run.nc`` and ``signals plot erp run.nc --events I2``.
"""

# %%
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# PSD in log-log with the fitted aperiodic component (dashed) and the peaks (▼), and the
# aperiodic exponent of every contact along the probe.
plots.plot_aperiodic(ds, freq_range=(4, 200))

# %%
# Run files do not hold stimulus times; a population's spikes can serve as events. Here the
# spikes of the superficial interneurons (I2): the LFP they are locked to, with the 95 %
# percentile-bootstrap interval of the mean over events.
plots.plot_erp(ds, event_populations=["I2"], window=(-20, 40))

# %%
# Given times (ms), e.g. stimulus onsets, with a baseline before each event subtracted.
plots.plot_erp(ds, [100.0, 200.0, 300.0, 400.0], window=(-20, 80), baseline=(-20, 0))
