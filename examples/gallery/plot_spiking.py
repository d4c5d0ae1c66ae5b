"""
Spiking activity
================

Raster, membrane potential traces, per-cell rate statistics, population rates and their
spectra, from a 500 ms run of the demo network (NetPyNE paper Figs. 6D–F and 8).
"""

# %%
# Record the demo network (or reuse a recorded run) and open the run file.
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# Spike raster: populations from the most superficial (top) down, one row per cell.
plots.plot_raster(ds)

# %%
# A window and a subset of populations: the axis holds only the cells shown.
plots.plot_raster(ds, time=(200, 400), populations=["E2", "I2"])

# %%
# Membrane potential of the traced cells (one per population).
plots.plot_traces(ds, time=(300, 500))

# %%
# Per-cell firing rate, ISI coefficient of variation and Fano factor by population.
plots.plot_rates(ds, statistic="rate")

# %%
plots.plot_rates(ds, statistic="cv")

# %%
plots.plot_rates(ds, statistic="fano")

# %%
# Population rate histograms, one panel each.
plots.plot_population_rate(ds, bin_size=5.0)

# %%
# PSD of the population rates: the gamma rhythm.
plots.plot_rate_psd(ds, fmax=150)

# %%
# Functional connectivity: spike-count correlation and Granger causality of the rates.
plots.plot_spike_correlation(ds, bin_size=5.0)

# %%
plots.plot_granger(ds, bin_size=2.0)
