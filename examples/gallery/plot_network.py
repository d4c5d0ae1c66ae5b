"""
Network structure
=================

Connectivity matrices, the stacked bar graph of inputs and the 2-D network, from the
connections the run recorded (NetPyNE paper Figs. 6A–C).
"""

# %%
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# Connection probability, presynaptic rows × postsynaptic columns.
plots.plot_connectivity(ds, feature="probability")

# %%
# Mean weight (µS), with the external (NetStim) inputs as a row.
plots.plot_connectivity(ds, feature="weight", include_external=True)

# %%
# Convergence: inputs per postsynaptic cell, stacked by source population.
plots.plot_stacked_bar(ds, feature="convergence")

# %%
# Cells at their soma positions and a subset of their connections (depth z vertical).
plots.plot_network_2d(ds, view="xz")

# %%
# Per cell: counts of connections between every pair of cells.
plots.plot_connectivity(ds, by="cell")
