"""Figures of spikes: raster, per-cell statistics, population rates and their spectra, spike-count
correlation and Granger causality between populations.

Populations keep their run colours (:func:`signals.plots.population_colors`) and are ordered
from the most superficial down (:func:`signals.analysis.data.population_depth_order`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.analysis.data import cell_table, population_depth_order, population_names
from signals.plots._base import _axes, _axes_grid, _label, _psd_axes_common, _run_colors, fill_doc
from signals.plots.network import plot_matrix

__all__ = ["plot_granger", "plot_population_rate", "plot_raster", "plot_rate_psd", "plot_rates",
           "plot_spike_correlation"]


@fill_doc
def plot_raster(ds, *, time: tuple[float, float] | None = None,
                populations: Sequence[str] | None = None, order: str = "depth", ax=None):
    """Spike raster: one row per cell, grouped by population, coloured by population.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``spike_time`` (ms) and ``spike_gid`` (and the cell table for colours).
    time : (float, float), optional
        Time window (ms); it must overlap the run (partly outside: a warning, clipped).
    populations : sequence of str, optional
        Populations shown (default all); the y axis holds only their cells.
    order : {"depth", "run"}
        Populations from the most superficial at the top (:func:`population_depth_order`, as
        the NetPyNE paper's rasters), or in the run's order from the top.
    %(ax_figure)s
    """
    from signals.analysis.data import run_window, spikes
    from signals.validation import check_option

    check_option(order, "raster order", ("depth", "run"))
    t, gid = spikes(ds, time=time, populations=populations)
    window = run_window(ds, time) if time is not None or "time" in ds.coords or "tstop" in ds.attrs else None
    fig, ax = _axes(ax)
    marker = dict(s=4 if t.size < 20000 else 1, marker="|", linewidths=0.8)
    if "cell_population" in ds.variables:
        colors = _run_colors(ds)
        gids, pops = cell_table(ds)
        names = population_depth_order(ds, populations) if order == "depth" else population_names(
            ds, populations)
        # rows from the top: each population's cells by gid, populations in depth order
        shown = np.concatenate([np.sort(gids[pops == p]) for p in names]) if names else gids[:0]
        n_rows = shown.size
        row_of = dict(zip(shown.tolist(), range(n_rows - 1, -1, -1), strict=True))
        rows = np.array([row_of.get(int(g), -1) for g in gid], dtype=float)
        centres, top = [], n_rows
        for p in names:
            members = int(np.sum(pops == p))
            sel = np.isin(gid, gids[pops == p])
            ax.scatter(t[sel], rows[sel], color=colors[p], label=f"{p} ({int(sel.sum())})", **marker)
            if members:
                ax.axhspan(top - members - 0.5, top - 0.5, color=colors[p], alpha=0.06, lw=0)
                centres.append((top - 0.5 * members - 0.5, p))
            top -= members
        ax.set_yticks([c for c, _ in centres], [p for _, p in centres])
        for lab in ax.get_yticklabels():
            lab.set_color(colors.get(lab.get_text(), "k"))
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=3, frameon=False,
                  title="population (spikes)")
        ax.set_ylim(-0.5, max(n_rows, 1) - 0.5)
        ax.set_ylabel(f"cells by population ({n_rows}; " + (
            "superficial at top)" if order == "depth" else "run order)"))
    else:
        ax.scatter(t, gid, color="k", **marker)
        ax.set_ylabel("cell gid")
    if window is not None:
        ax.set_xlim(*window)
    ax.set_xlabel("time (ms)")
    ax.set_title(f"spike raster ({t.size} spikes)")
    return fig


@fill_doc
def plot_rates(ds, *, statistic: str = "rate", populations: Sequence[str] | None = None,
               time: tuple[float, float] | None = None, bin_size: float = 100.0, ax=None):
    """Boxplots of a per-cell spike statistic by population (NetPyNE paper Fig. 6F).

    Parameters
    ----------
    %(ds_spikes)s
    statistic : {"rate", "cv", "fano"}
        Firing rate (Hz), ISI coefficient of variation, or Fano factor (100 ms windows).
    %(populations)s
    time : (float, float), optional
        Window (ms).
    bin_size : float
        Counting window of the Fano factor (ms).
    %(ax_figure)s
    """
    from signals.analysis import rates
    from signals.validation import check_option

    check_option(statistic, "statistic", ("rate", "cv", "fano"))
    if statistic == "fano":
        per_cell = rates.fano_factor(ds, populations=populations, time=time, bin_size=bin_size)
    else:
        func = {"rate": rates.firing_rates, "cv": rates.isi_cv}[statistic]
        per_cell = func(ds, populations=populations, time=time)
    names = population_names(ds, populations)
    colors = _run_colors(ds)
    data = [per_cell.values[(per_cell["cell_population"].values == p) & np.isfinite(per_cell.values)]
            for p in names]
    fig, ax = _axes(ax, figsize=(7, 5))
    box = ax.boxplot(data, tick_labels=names, patch_artist=True, showfliers=False, widths=0.6,
                     medianprops=dict(color="k"))
    rng = np.random.default_rng(0)
    for k, (p, vals) in enumerate(zip(names, data, strict=True)):
        box["boxes"][k].set(facecolor=colors[p], alpha=0.45)
        ax.scatter(k + 1 + rng.uniform(-0.18, 0.18, vals.size), vals, s=8, color=colors[p], zorder=3)
        if vals.size:
            ax.text(k + 1, 1.0, f"mean {vals.mean():.3g}\nn = {vals.size}", ha="center", va="bottom",
                    fontsize=8, transform=ax.get_xaxis_transform())
    ax.set_xlabel("population")
    ax.set_ylabel(_label(per_cell.attrs["long_name"], per_cell.attrs.get("units")))
    ax.set_title(f"{per_cell.attrs['long_name']} per cell", pad=28)
    return fig


@fill_doc
def plot_population_rate(ds, *, bin_size: float = 5.0, populations: Sequence[str] | None = None,
                         time: tuple[float, float] | None = None, ax=None):
    """Population firing-rate histograms over time, one panel per population (superficial on top).

    Small multiples sharing the time and rate axes: overlaid step histograms hide each other.

    Parameters
    ----------
    %(ds_spikes)s
    bin_size : float
        Bin (ms).
    %(populations)s
    time : (float, float), optional
        Window (ms).
    ax : sequence of Axes, optional
        One per population.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.rates import population_rate

    r = population_rate(ds, bin_size=bin_size, populations=populations, time=time)
    names = [p for p in population_depth_order(ds, populations) if p in set(map(str, r["population"].values))]
    colors = _run_colors(ds)
    fig, axes = _axes_grid(ax, len(names), figsize=(8, 1.0 + 1.2 * len(names)), sharey=True)
    t = r["time"].values
    width = float(r.attrs.get("bin_size", bin_size))
    for k, p in enumerate(names):
        a = axes[k, 0]
        vals = r.sel(population=p).values
        a.fill_between(t, vals, step="mid", color=colors[p], alpha=0.35, lw=0)
        a.step(t, vals, where="mid", color=colors[p], lw=0.9)
        a.text(0.005, 0.92, f"{p}: mean {np.nanmean(vals):.3g} Hz", transform=a.transAxes, va="top",
               fontsize=9, color=colors[p], bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
        a.set_ylabel("rate (Hz)")
        a.set_xlim(t[0] - width / 2, t[-1] + width / 2)
    top = float(np.nanmax(r.values)) if r.size and np.isfinite(r.values).any() else 0.0
    axes[0, 0].set_ylim(0, 1.1 * top if top > 0 else 1.0)  # shared: set once, after every panel
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(f"population firing rate per cell ({bin_size:g} ms bins)", fontsize=11)
    return fig


@fill_doc
def plot_rate_psd(ds, *, bin_size: float = 1.0, populations: Sequence[str] | None = None,
                  time: tuple[float, float] | None = None, fmin: float | None = None,
                  fmax: float | None = None, nperseg: int | None = None, ax=None):
    """Power spectral density of each population's firing rate (NetPyNE paper Fig. 8).

    Parameters
    ----------
    %(ds_spikes)s
    bin_size : float
        Rate bin (ms); sets the Nyquist frequency ``500 / bin_size`` Hz.
    %(populations)s
    time : (float, float), optional
        Window (ms).
    fmin, fmax : float, optional
        Frequency range (Hz).
    nperseg : int, optional
        Welch segment (bins); default 500 ms.
    %(ax_figure)s
    """
    from signals.analysis.rates import rate_psd
    from signals.analysis.spectral import positive_frequencies

    p = rate_psd(ds, bin_size=bin_size, populations=populations, time=time, fmin=fmin, fmax=fmax,
                 nperseg=nperseg)
    if fmin is None:
        p = positive_frequencies(p)
    colors = _run_colors(ds)
    fig, ax = _axes(ax)
    for pop in p["population"].values:
        vals = p.sel(population=pop).values
        peak = float(p["frequency"].values[np.nanargmax(vals)]) if np.isfinite(vals).any() else np.nan
        ax.plot(p["frequency"].values, vals, color=colors[str(pop)], lw=1.2,
                label=f"{pop} (peak {peak:.3g} Hz)")
    _psd_axes_common(ax, p, fmin)
    ax.set_ylabel(_label("rate power spectral density", p.attrs.get("units")))
    ax.legend(frameon=False, title="population", loc="upper right")
    ax.set_title(f"firing-rate PSD ({bin_size:g} ms bins, Welch, "
                 f"resolution {p.attrs.get('frequency_resolution', 0):.3g} Hz)")
    return fig


@fill_doc
def plot_spike_correlation(ds, *, bin_size: float = 5.0, populations: Sequence[str] | None = None,
                           time: tuple[float, float] | None = None, ax=None):
    """Mean pairwise spike-count correlation between populations.

    Parameters
    ----------
    %(ds_spikes)s
    bin_size : float
        Count bin (ms).
    %(populations)s
    time : (float, float), optional
        Window (ms).
    %(ax_figure)s
    """
    from signals.analysis.connectivity import spike_count_correlation

    m = spike_count_correlation(ds, bin_size=bin_size, populations=populations, time=time)
    fig = plot_matrix(m, center=0.0, colors=_run_colors(ds), ax=ax)
    fig.axes[0].set_title("functional connectivity: spike-count correlation")
    return fig


@fill_doc
def plot_granger(ds, *, bin_size: float = 2.0, max_order: int | None = None,
                 populations: Sequence[str] | None = None, time: tuple[float, float] | None = None,
                 ax=None):
    """Pairwise Granger causality between population rates (source rows → target columns).

    Parameters
    ----------
    %(ds_spikes)s
    bin_size : float
        Rate bin (ms); the autoregressive order counts bins.
    max_order : int, optional
        Largest model order tried (bins); default 20, at most a tenth of the number of bins
        (:func:`signals.analysis.connectivity.granger_causality` with ``max_order=None``).
    %(populations)s
    time : (float, float), optional
        Window (ms).
    %(ax_figure)s
    """
    from signals.analysis.connectivity import granger_causality
    from signals.analysis.rates import population_rate

    rate = population_rate(ds, bin_size=bin_size, populations=populations, time=time)
    g = granger_causality(rate, max_order=max_order)
    max_order = g.attrs["max_order"]
    fig = plot_matrix(g, cmap="viridis", colors=_run_colors(ds), ax=ax)
    res = g.attrs.get("resolution")
    fig.axes[0].set_title(f"Granger causality of population rates ({bin_size:g} ms bins, "
                          f"order ≤ {max_order})" + (
                              f"\nvalues rounded by elephant to ±{res:g}, their standard error "
                              f"1/√n for {rate.sizes['time']} bins" if res else ""), fontsize=10)
    return fig
