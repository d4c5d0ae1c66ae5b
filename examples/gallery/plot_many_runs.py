"""
Many runs at once
=================

Three 200 ms runs of the demo network with different seeds, opened as one Dataset with
:func:`signals.open_runs` (a ``run`` dimension, the seed as a coordinate), and their PSDs
overlaid per contact, coloured by seed. From the shell: ``signals plot psd "scan/*.nc"``.
"""

# %%
import signals
from signals import plots
from signals.analysis import psd
from signals.runs import mean_ci

from _runs import seed_runs

runs = signals.open_runs(seed_runs())
print(runs.seed.values, runs.lfp.dims)

# %%
# One panel per contact (four spread over the probe), one line per run; the colours follow
# the first run parameter that differs between the runs (here ``seed``; ``color_by=`` picks
# another).
plots.plot_psd(runs, fmax=150)

# %%
# Across runs: the mean PSD and its 95 % t interval, computed for every run at once.
p = psd(runs.lfp.sel(electrode="e05"), fmax=150)
print(mean_ci(p, "run")["mean"].sizes)
