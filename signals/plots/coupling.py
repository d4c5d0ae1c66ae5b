"""Figures of spike–field and phase–amplitude coupling: spike-triggered LFP, spike–field
coherence with phase locking by depth, comodulograms.

They draw what :mod:`signals.analysis.coupling` and :mod:`signals.analysis.pac` compute;
populations keep their run colours (:func:`signals.plots.population_colors`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from signals.analysis.data import pick_electrodes, population_depth_order, sampling_rate
from signals.plots import _stacked
from signals.plots._base import (
    _axes,
    _axes_grid,
    _electrode_label,
    _probe,
    _run_colors,
    _signal,
    _unit,
    fill_doc,
)

__all__ = ["plot_pac", "plot_sfc", "plot_stlfp"]


def _legend_label(pop: str, n: int) -> str:
    return f"{pop} ({n} spikes)" if n else f"{pop} (no spikes)"


@fill_doc
def plot_stlfp(ds, *, variable: str = "lfp", window: tuple[float, float] = (-50.0, 50.0),
               populations: Sequence[str] | None = None, electrodes: Sequence[str] | None = None,
               time: tuple[float, float] | None = None, ax=None):
    """Spike-triggered average of the LFP per population, stacked by electrode depth.

    One row per electrode (the top of the probe at the top), one trace per population in its
    run colour; each trace is centred on its mean over the window. The legend gives the spikes
    averaged per population.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes, the cell table and ``variable``.
    variable : str
        Signal variable sampled in time (``lfp``, mV; ``eeg``; ``dipole``, nA·µm).
    window : (float, float)
        Window around each spike (ms).
    populations : sequence of str, optional
        Populations whose spikes trigger (default all, from the most superficial).
    %(electrodes)s
    time : (float, float), optional
        Only spikes and signal in this window (ms).
    %(ax_figure)s
    """
    from signals.analysis.coupling import spike_triggered_average

    da = pick_electrodes(_signal(ds, variable, what="the spike-triggered average"), electrodes)
    names = population_depth_order(ds, populations)
    sta = spike_triggered_average(ds, da, window=window, populations=names, time=time)
    s = sta["sta"]
    dim = _stacked.channel_dim(s, ("population", "lag"))
    n, labels, ylabel = _stacked.rows(s, dim)
    lag = s["lag"].values
    values = s.values if dim is not None else s.values[:, None, :]  # (population, channel, lag)
    centred = values - np.nanmean(values, axis=-1, keepdims=True)
    spacing = _stacked.spacing_of(centred)
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(7.5, max(4.0, 0.5 * n + 1.5)))
    for k, pop in enumerate(names):
        count = int(sta["n_spikes"].sel(population=pop))
        for i in range(n):
            ax.plot(lag, centred[k, i] + (n - 1 - i) * spacing, color=colors[pop], lw=0.9,
                    label=_legend_label(pop, count) if i == 0 else None)
    bar = _stacked.finish(ax, lag, n, spacing, labels, ylabel, s.attrs.get("units"))
    ax.set_xlabel("time relative to the spike (ms)")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="population")
    dropped = int(sta["n_dropped"].sum())
    ax.set_title(f"{s.attrs.get('long_name')}\n(each trace minus its mean; red bar {bar:g} "
                 f"{_unit(s.attrs.get('units'))}"
                 + (f"; {dropped} spikes near the ends left out)" if dropped else ")"), fontsize=10)
    return fig


def _sfc_nperseg(da, nperseg):
    """The Welch segment of the coherence: the analysis default, or 8 segments of a short run (warned)."""
    if nperseg is not None:
        return nperseg
    fs = sampling_rate(da)
    n = da.sizes["time"]
    default = int(round(0.5 * fs))
    if n >= 8 * default:
        return None
    # one segment gives coherence 1 at every frequency, and a few a large positive bias: 8
    # segments (15 half-overlapping Welch segments) instead
    nperseg = max(8, n // 8, min(n // 4, int(round(0.025 * fs))))  # a 100 ms run: 25 ms, not 12.5
    warnings.warn(f"the signal ({(n - 1) * 1000 / fs:g} ms) is shorter than 8 coherence segments of "
                  f"500 ms: using {nperseg * 1000 / fs:.3g} ms segments ({fs / nperseg:.3g} Hz resolution)",
                  UserWarning, stacklevel=3)
    return nperseg


def plot_sfc(ds, *, variable: str = "lfp", populations: Sequence[str] | None = None,
             electrodes: Sequence[str] | None = None, time: tuple[float, float] | None = None,
             fmin: float | None = None, fmax: float | None = 200.0, nperseg: int | None = None,
             band: tuple[float, float] | None = (30.0, 80.0), ax=None):
    """Spike–field coherence per population against frequency, and phase locking (PPC) by depth.

    Left: one panel per electrode (default four spread over the probe), the coherence of each
    population's spikes with the signal (:func:`signals.analysis.coupling.spike_field_coherence`).
    Right (with ``band``): the pairwise phase consistency of each population's spikes with the
    band's phase at every electrode (:func:`signals.analysis.coupling.spike_phase_locking`),
    against the position along the probe.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes, the cell table and ``variable``.
    variable : str
        Signal variable sampled in time (``lfp``, mV).
    populations : sequence of str, optional
        Populations (default all).
    electrodes : sequence of str, optional
        Electrodes of the coherence panels (default four spread over depth); the PPC profile
        uses every electrode, or these if given.
    time : (float, float), optional
        Window analysed (ms).
    fmin, fmax : float, optional
        Frequency range of the coherence (Hz); default above 0 up to 200 Hz.
    nperseg : int, optional
        Welch segment (samples); default 500 ms, or an eighth of a signal shorter than 4 s
        (warned).
    band : (float, float), optional
        Band of the phase locking (Hz); default gamma, 30–80 Hz; None: coherence only.
    ax : sequence of Axes, optional
        One per coherence panel, then one for the PPC profile (with ``band``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.coupling import spike_field_coherence, spike_phase_locking
    from signals.analysis.data import select_time

    full = pick_electrodes(_signal(ds, variable, what="the spike-field coherence"), electrodes)
    da = pick_electrodes(full, None, max_default=4) if electrodes is None else full
    names = population_depth_order(ds, populations)
    seg = _sfc_nperseg(select_time(da, time), nperseg)
    coh = spike_field_coherence(ds, da, populations=names, nperseg=seg, time=time,
                                fmin=fmin, fmax=fmax)
    if fmin is None:
        coh = coh.isel(frequency=coh["frequency"].values > 0)
    dim = _stacked.channel_dim(coh, ("population", "frequency"))
    n = coh.sizes[dim] if dim else 1
    colors = _run_colors(ds)
    n_axes = n + (band is not None)
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(11 if band is not None else 7.5, 1.2 + 1.7 * n), layout="constrained")
        grid = fig.add_gridspec(n, 2 if band is not None else 1, width_ratios=(2, 1) if band else None)
        left = [fig.add_subplot(grid[i, 0]) for i in range(n)]
        for a in left[1:]:
            a.sharex(left[0])
        axes = left + ([fig.add_subplot(grid[:, 1])] if band is not None else [])
    else:
        fig, grid_axes = _axes_grid(ax, n_axes)
        axes = list(grid_axes.ravel())
    f = coh["frequency"].values
    for i in range(n):
        a = axes[i]
        c = coh.isel({dim: i}) if dim else coh
        for pop in names:
            a.plot(f, c.sel(population=pop).values, color=colors[pop], lw=1,
                   label=f"{pop} ({int(coh['n_spikes'].sel(population=pop))})")
        a.set_ylabel("coherence")
        a.set_ylim(0, None)
        a.set_xlim(f[0], f[-1])
        a.set_title(_electrode_label(coh, i) if dim == "electrode" else str(coh[dim].values[i]) if dim
                    else str(da.name), fontsize=9, loc="left")
        if i < n - 1:
            a.tick_params(labelbottom=False)
    axes[n - 1].set_xlabel("frequency (Hz)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=len(names),
               frameon=False, fontsize=8, title="population (spikes)")
    title = (f"spike–field coherence with {da.attrs.get('long_name', da.name)} "
             f"({coh.attrs['nperseg'] * 1000 / coh.attrs['sampling_rate']:.3g} ms segments, "
             f"{coh.attrs['frequency_resolution']:.3g} Hz resolution)")
    if band is not None:
        a = axes[n]
        signal = select_time(full, time)
        span = float(signal["time"][-1] - signal["time"][0])
        edge = min(2000.0 / float(band[0]), 0.2 * span)  # the analysis default, at most a fifth each end
        lock = spike_phase_locking(ds, full, band=band, populations=names, time=time, edge=edge)
        ppc = lock["ppc"]
        axis = _probe(ppc) if "electrode" in ppc.dims else None
        ch = _stacked.channel_dim(ppc, ("population",))
        y = axis.position if axis is not None else np.arange(ppc.sizes[ch]) if ch else np.zeros(1)
        for pop in names:
            a.plot(np.atleast_1d(ppc.sel(population=pop).values), y, marker="o", ms=3, color=colors[pop])
        a.axvline(0.0, color="0.6", lw=0.8, ls=":")
        a.set_xlabel("pairwise phase consistency")
        if axis is not None:
            a.set_ylabel(axis.label)
        elif ch:
            a.set_yticks(y, [str(v) for v in ppc[ch].values])
            a.set_ylabel(ch)
        a.set_title(f"phase locking to {band[0]:g}–{band[1]:g} Hz\n(PPC, 0 = none; "
                    f"{edge:.3g} ms ends left out)", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def _pac_freqs(span_ms: float, phase_freqs, amp_freqs):
    """Default phase and amplitude centre frequencies (Hz) for a signal of ``span_ms``.

    The lowest phase frequency has 4 cycles in the signal (the comodulogram trims one at each
    end), at least 4 Hz; amplitude bands start above twice the highest phase frequency, so the
    analysis' default amplitude bandwidth (2 × the highest phase frequency) stays above 0 Hz.
    """
    if phase_freqs is None:
        lo = max(4.0, float(np.ceil(4000.0 / span_ms)))
        phase_freqs = lo * np.arange(1.0, 4.01, 0.5)
    pf = np.asarray(phase_freqs, dtype=float)
    if amp_freqs is None:
        lo = max(30.0, 2.0 * float(pf.max()) + 10.0)
        amp_freqs = np.linspace(lo, max(200.0, 2 * lo), 10)
    return pf, np.asarray(amp_freqs, dtype=float)


@fill_doc
def plot_pac(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
             phase_freqs: Sequence[float] | None = None, amp_freqs: Sequence[float] | None = None,
             n_surrogates: int = 200, alpha: float = 0.05, rng=0, time: tuple[float, float] | None = None,
             population: str | None = None, ax=None):
    """Comodulogram (Tort modulation index) per electrode, with the surrogate significance contour.

    Parameters
    ----------
    %(ds_signal)s
    variable : str
        Signal variable (``lfp``, mV).
    electrodes : sequence of str, optional
        Electrodes, one panel each (default four spread over depth).
    phase_freqs, amp_freqs : sequence of float, optional
        Centre frequencies of the phase and amplitude bands (Hz). Default phase bands from
        4 Hz (or the lowest frequency with 4 cycles in the signal) to 4 × that, amplitude bands
        from above twice the highest phase frequency to 200 Hz.
    n_surrogates : int >= 0
        Time-shift surrogates (:func:`signals.analysis.pac.comodulogram`); 0: no contour.
    alpha : float in (0, 1)
        Significance level: the contour encloses MI above the ``1 - alpha`` surrogate quantile.
    rng : int or numpy.random.Generator, optional
        Seed of the surrogate shifts (default 0: the same figure every time).
    time : (float, float), optional
        Window analysed (ms).
    %(population)s
    %(ax_panels)s
    """
    import matplotlib as mpl

    from signals.analysis.data import select_time
    from signals.analysis.pac import comodulogram

    da = pick_electrodes(_signal(ds, variable, what="the comodulogram", population=population), electrodes,
                         max_default=4)
    da = select_time(da, time)
    span = float(da["time"][-1] - da["time"][0]) if da.sizes["time"] > 1 else 0.0
    pf, af = _pac_freqs(max(span, 1e-9), phase_freqs, amp_freqs)
    if phase_freqs is None and pf[0] > 4.0:
        warnings.warn(f"the signal ({span:g} ms) is short for slow phases: phase bands from "
                      f"{pf[0]:g} Hz (4 cycles in the signal)", UserWarning, stacklevel=2)
    c = comodulogram(da, phase_freqs=pf, amp_freqs=af, n_surrogates=n_surrogates, alpha=alpha, rng=rng)
    mi = c["mi"]
    dim = _stacked.channel_dim(mi, ("phase_frequency", "amplitude_frequency"))
    n = mi.sizes[dim] if dim else 1
    ncols = 1 if n == 1 else 2
    nrows = int(np.ceil(n / ncols))
    fig, axes = _axes_grid(ax, nrows, ncols=ncols, figsize=(4.2 * ncols + 1.2, 3.2 * nrows + 0.8),
                           sharex=True, sharey=True)
    finite = mi.values[np.isfinite(mi.values)]
    norm = mpl.colors.Normalize(0.0, float(finite.max()) if finite.size and finite.max() > 0 else 1.0)
    mesh = None
    flat = list(axes.ravel())
    for i in range(n):
        a = flat[i]
        m = (mi.isel({dim: i}) if dim else mi).transpose("amplitude_frequency", "phase_frequency")
        mesh = a.pcolormesh(pf, af, m.values, shading="nearest", cmap="viridis", norm=norm)
        if "mi_threshold" in c:
            thr = c["mi_threshold"].isel({dim: i}) if dim else c["mi_threshold"]
            sig = (m > thr.transpose(*m.dims)).values.astype(float)
            if sig.any() and min(sig.shape) >= 2:
                a.contour(pf, af, sig, levels=[0.5], colors="w", linewidths=1.5)
            # every significant pair marked too: a contour cannot enclose a lone corner cell
            jj, ii = np.nonzero(sig)
            a.scatter(pf[ii], af[jj], marker="+", s=20, color="w", lw=0.8)
        a.set_title(_electrode_label(mi, i) if dim == "electrode" else str(mi[dim].values[i]) if dim
                    else str(da.name), fontsize=9)
    for a in flat[n:]:
        a.set_visible(False)
    for a in axes[-1]:
        a.set_xlabel("phase frequency (Hz)")
    for a in axes[:, 0]:
        a.set_ylabel("amplitude frequency (Hz)")
    fig.colorbar(mesh, ax=flat[:n], label="modulation index (Tort)", shrink=0.9)
    what = (f"white: MI above the {1 - alpha:g} quantile of {n_surrogates} time-shift surrogates"
            if n_surrogates else "no surrogates")
    fig.suptitle(f"phase–amplitude coupling of {da.attrs.get('long_name', da.name)}\n({what}; "
                 f"phase bands ±{c.attrs['phase_width'] / 2:g} Hz, amplitude bands "
                 f"±{c.attrs['amp_width'] / 2:g} Hz)", fontsize=10)
    return fig
