"""
Extracellular potential on a laminar probe
==========================================

LFP traces by depth, their PSD and spectrogram, the current source density, band power,
coherence and where the contacts are (NetPyNE paper Fig. 7), from a 500 ms run of the demo
network recorded on a 10-contact probe along z.
"""

# %%
import signals
from signals import plots

from _runs import demo_run

ds = signals.open_run(demo_run())

# %%
# Where the contacts are among the somata: the view along the probe is chosen for you.
plots.plot_electrodes(ds)

# %%
# LFP traces by depth (1-2-5 scale bar on the right).
plots.plot_lfp(ds)

# %%
# The contribution of one population (recorded with ``LFP(per_population=True)``).
plots.plot_lfp(ds, variable="lfp_population", population="E5")

# %%
# Traces, PSD and spectrogram of four contacts spread over depth.
plots.plot_lfp_summary(ds)

# %%
# Power spectral density per contact, coloured by depth (Welch, then multitaper).
plots.plot_psd(ds, fmax=200)

# %%
plots.plot_psd(ds, fmax=200, method="multitaper")

# %%
# Spectrograms: short-time Fourier, then Morlet wavelets.
plots.plot_spectrogram(ds, fmax=100)

# %%
plots.plot_spectrogram(ds, method="wavelet", fmin=10, fmax=100, time=(200, 500))

# %%
# Current source density (standard second difference with Vaknin padding), LFP on top.
plots.plot_csd(ds, time=(300, 400))

# %%
# Spline inverse CSD (Pettersen et al. 2006), through elephant.
plots.plot_csd(ds, method="spline", time=(300, 400))

# %%
# Band power against depth, and coherence between contacts.
plots.plot_band_power(ds)

# %%
plots.plot_coherence(ds, fmin=20, fmax=60)
