"""Figures of spectra: PSD, spectrogram (STFT or Morlet wavelets), coherence, band power by depth.

They draw what :mod:`signals.analysis.spectral` computes; the choices of what to compute (the
wavelet frequencies, leaving out 0 Hz) are functions of that module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from signals.analysis.data import electrode_axis, pick_electrodes, sort_electrodes
from signals.plots._base import (
    _MAX_COLUMNS,
    _MAX_LEGEND_LINES,
    _MAX_WAVELET_COLUMNS,
    _axes,
    _axes_grid,
    _electrode_label,
    _label,
    _probe,
    _psd_axes_common,
    _signal,
    _time_window,
    _unit,
    fill_doc,
)
from signals.plots.network import plot_matrix

__all__ = ["plot_aperiodic", "plot_band_power", "plot_coherence", "plot_psd", "plot_spectrogram"]


@fill_doc
def plot_psd(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
             time: tuple[float, float] | None = None, fmin: float | None = None,
             fmax: float | None = None, method: str = "welch", nperseg: int | None = None,
             population: str | None = None, run_dim: str = "run", color_by: str | None = None, ax=None):
    """Power spectral density of each electrode, coloured by depth; or of many runs, overlaid.

    A Dataset of :func:`signals.open_runs` (a ``run_dim`` dimension) gives one panel per
    electrode (default four spread over the probe) with every run's PSD overlaid, coloured by
    a run parameter (``color_by``).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray (any channel dim); or many
        runs stacked along ``run_dim`` (:func:`signals.open_runs`).
    variable : str
        Signal variable (e.g. ``lfp``, mV; ``dipole``, nA·µm).
    %(electrodes)s
    %(time)s
    fmin, fmax : float, optional
        Frequency range (Hz); by default from the first non-zero frequency to Nyquist.
    method : {"welch", "multitaper"}
        Estimator (:func:`signals.analysis.spectral.psd`).
    nperseg : int, optional
        Welch segment length (samples).
    %(population)s
    run_dim : str
        The runs' dimension of a Dataset of :func:`signals.open_runs`.
    color_by : str, optional
        Many runs: the run coordinate the colours follow (a colour bar for numbers, a legend
        for text); default the first of the runs' parameters (``run_parameters``), else the
        runs themselves.
    ax : matplotlib Axes, optional
        Many runs: a sequence of Axes, one per electrode.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import positive_frequencies, psd

    da = _signal(ds, variable, what="the PSD figure", population=population)
    if run_dim in da.dims:
        return _plot_psd_runs(ds, da, electrodes=electrodes, time=time, fmin=fmin, fmax=fmax, method=method,
                              nperseg=nperseg, run_dim=run_dim, color_by=color_by, ax=ax)
    da = pick_electrodes(da, electrodes)
    p = psd(da, method=method, nperseg=nperseg, fmin=fmin, fmax=fmax, time=time)
    if fmin is None:
        p = positive_frequencies(p)
    fig, ax = _axes(ax)
    f = p["frequency"].values
    chan = [d for d in p.dims if d != "frequency"]
    if not chan:
        ax.plot(f, p.values, color="k", lw=1)
    else:
        dim = chan[0]
        rest = [d for d in chan if d != dim]
        if rest:
            raise ValueError(f"plot_psd needs one channel dimension, got {chan}; select first")
        n = p.sizes[dim]
        axis = _probe(p) if dim == "electrode" else None
        has_z = axis is not None
        if has_z:
            z = axis.position
            norm = mpl.colors.Normalize(z.min(), z.max() if np.ptp(z) > 0 else z.min() + 1)
            # viridis without its last (yellow) quarter: every line stays visible on white
            cmap = mpl.colors.ListedColormap(mpl.colormaps["viridis"](np.linspace(0, 0.75, 256)))
        labels = [_electrode_label(p, i, axis) if dim == "electrode" else str(p[dim].values[i])
                  for i in range(n)]
        if has_z or n <= _MAX_LEGEND_LINES:
            for i in range(n):
                color = cmap(norm(z[i])) if has_z else f"C{i}"
                ax.plot(f, p.isel({dim: i}).values, lw=1, color=color, label=labels[i])
        else:
            # many channels without an order (EEG sensors): a colour cycle would repeat; the
            # strongest few get colours and names, the rest are drawn in grey
            power = np.asarray(p.sum("frequency", skipna=True).values, dtype=float)
            top = set(np.argsort(-power)[:_MAX_LEGEND_LINES - 1].tolist())
            k = 0
            for i in range(n):
                if i not in top:
                    ax.plot(f, p.isel({dim: i}).values, lw=0.6, color="0.7", zorder=1)
            for i in sorted(top, key=lambda j: -power[j]):
                ax.plot(f, p.isel({dim: i}).values, lw=1.2, color=f"C{k}", label=labels[i], zorder=2)
                k += 1
            ax.plot([], [], lw=0.6, color="0.7", label=f"{n - len(top)} others")
        if has_z and n > 6:
            fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=axis.label)
        else:
            many = not has_z and n > _MAX_LEGEND_LINES
            ax.legend(frameon=False, fontsize=8, loc="upper left" if many else "upper right",
                      bbox_to_anchor=(1.0, 1.0) if many else None,
                      title=f"strongest {len(top)} of {n}" if many else None)
    _psd_axes_common(ax, p, fmin)
    res = p.attrs.get("frequency_resolution")
    ax.set_title(f"{p.attrs.get('long_name')}\n({p.attrs.get('method')}"
                 + (f", resolution {res:.3g} Hz" if res else "") + ")", fontsize=10)
    return fig


def _plot_psd_runs(ds, da, *, electrodes, time, fmin, fmax, method, nperseg, run_dim, color_by, ax):
    """:func:`plot_psd` of many runs: a panel per electrode, the runs overlaid, coloured by a parameter."""
    import matplotlib as mpl

    from signals.analysis.spectral import positive_frequencies, psd

    da = pick_electrodes(da, electrodes, max_default=4)
    chan = [d for d in da.dims if d not in ("time", run_dim)]
    if len(chan) > 1:
        raise ValueError(f"plot_psd needs one channel dimension besides {run_dim!r}, got {chan}; "
                         "select first")
    dim = chan[0] if chan else None
    if dim is not None and dim != "electrode" and da.sizes[dim] > 4:  # e.g. EEG sensors: four of them
        da = da.isel({dim: np.unique(np.linspace(0, da.sizes[dim] - 1, 4).round().astype(int))})
    p = psd(da, method=method, nperseg=nperseg, fmin=fmin, fmax=fmax, time=time)
    if fmin is None:
        p = positive_frequencies(p)
    runs = [str(r) for r in p[run_dim].values]
    params = [c for c in str(getattr(ds, "attrs", {}).get("run_parameters", "")).split(", ") if c]
    if color_by is None:
        color_by = next((c for c in params if c in p.coords and p[c].dims == (run_dim,)), run_dim)
    if color_by not in p.coords or p[color_by].dims != (run_dim,):
        have = [c for c in p.coords if p[c].dims == (run_dim,)]
        raise KeyError(f"color_by {color_by!r} is not a run coordinate; the runs have {', '.join(have)}")
    values = p[color_by].values
    numeric = color_by != run_dim and np.issubdtype(np.asarray(values).dtype, np.number) \
        and len(set(values.tolist())) > 1
    if numeric:
        norm = mpl.colors.Normalize(float(np.nanmin(values)), float(np.nanmax(values)))
        cmap = mpl.colors.ListedColormap(mpl.colormaps["viridis"](np.linspace(0, 0.85, 256)))
        colors = [cmap(norm(float(v))) for v in values]
    else:
        cats = list(dict.fromkeys(str(v) for v in values))
        colors = [f"C{cats.index(str(v)) % 10}" for v in values]
    n = p.sizes[dim] if dim else 1
    fig, axes = _axes_grid(ax, n, figsize=(8, 1.2 + 2.2 * n), sharey=True)
    f = p["frequency"].values
    for i in range(n):
        a = axes[i, 0]
        panel = p.isel({dim: i}) if dim else p
        for k, run in enumerate(runs):
            text = run if color_by == run_dim else f"{run} ({color_by} = {values[k]})"
            a.plot(f, panel.isel({run_dim: k}).values, color=colors[k], lw=1, label=text)
        _psd_axes_common(a, panel, fmin)
        a.set_ylabel(_label("PSD", panel.attrs.get("units")))
        a.set_title(_electrode_label(p, i) if dim == "electrode" else str(p[dim].values[i]) if dim
                    else str(da.name), fontsize=9, loc="left")
        if i < n - 1:
            a.set_xlabel("")
    units = p[color_by].attrs.get("units")
    name = _label(color_by, units)
    distinct = len(set(np.asarray(values).tolist()))
    if numeric and distinct > _MAX_LEGEND_LINES:
        fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes.ravel()), label=name,
                     shrink=0.9)
    elif numeric:  # a few values (seeds): one legend entry each, in order, not a continuous bar
        order = sorted(set(np.asarray(values).tolist()))
        handles = [mpl.lines.Line2D([], [], color=cmap(norm(float(v)))) for v in order]
        axes[0, 0].legend(handles, [f"{v:g}" for v in order], frameon=False, fontsize=8, loc="upper left",
                          bbox_to_anchor=(1.0, 1.0), title=name)
    elif len(runs) <= _MAX_LEGEND_LINES:
        axes[0, 0].legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0),
                          title=run_dim)
    else:  # many runs: one entry per category
        handles = {str(v): mpl.lines.Line2D([], [], color=c) for v, c in zip(values, colors, strict=True)}
        axes[0, 0].legend(list(handles.values())[:_MAX_LEGEND_LINES], list(handles)[:_MAX_LEGEND_LINES],
                          frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), title=name)
    res = p.attrs.get("frequency_resolution")
    fig.suptitle(f"{p.attrs.get('long_name')} of {len(runs)} runs, coloured by {color_by}\n"
                 f"({p.attrs.get('method')}" + (f", resolution {res:.3g} Hz" if res else "") + ")",
                 fontsize=10)
    return fig


@fill_doc
def plot_spectrogram(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmin: float | None = None,
                     fmax: float | None = 100.0, method: str = "stft", nperseg: int | None = None,
                     n_cycles: float = 7.0, population: str | None = None, ax=None):
    """Spectrogram (or Morlet wavelet power) per electrode, one panel each, top = shallowest.

    Parameters
    ----------
    %(ds_signal)s
    %(variable)s
    electrodes : sequence of str, optional
        Electrode labels; default four spread over depth.
    %(time)s
    fmin, fmax : float, optional
        Frequency range (Hz); default up to 100 Hz.
    method : {"stft", "wavelet"}
        Short-time Fourier (:func:`~signals.analysis.spectral.spectrogram`, lazy) or Morlet
        wavelets (:func:`~signals.analysis.spectral.wavelet`, loads the window).
    nperseg : int, optional
        STFT window (samples); default 200 ms.
    n_cycles : float
        Wavelet cycles.
    %(population)s
    %(ax_panels)s
    """
    import matplotlib as mpl

    from signals.analysis.spectral import spectrogram, wavelet, wavelet_frequencies
    from signals.validation import check_option

    check_option(method, "spectrogram method", ("stft", "wavelet"))
    da = pick_electrodes(_signal(ds, variable, what="the spectrogram", population=population), electrodes,
                          max_default=4)
    da = _time_window(da, time)
    others = [d for d in da.dims if d != "time"]
    if len(others) == 1 and others[0] != "electrode" and da.sizes[others[0]] > 4:  # e.g. EEG sensors
        da = da.isel({others[0]: np.unique(np.linspace(0, da.sizes[others[0]] - 1, 4).round().astype(int))})
    if method == "stft":
        s = spectrogram(da, nperseg=nperseg, fmin=fmin, fmax=fmax)
    else:
        freqs = wavelet_frequencies(da, fmin=fmin, fmax=fmax, n_cycles=n_cycles)
        step = max(1, da.sizes["time"] // _MAX_WAVELET_COLUMNS)  # the power is smooth: no more columns
        s = wavelet(da, frequencies=freqs, n_cycles=n_cycles, step=step)
    chan = [d for d in s.dims if d not in ("frequency", "time")]
    if len(chan) > 1:
        raise ValueError(f"plot_spectrogram needs one channel dimension, got {chan}; select first")
    averaged = int(np.ceil(s.sizes["time"] / _MAX_COLUMNS))
    if averaged > 1:  # more windows than pixels: average consecutive windows (still a PSD)
        s = s.coarsen(time=averaged, boundary="trim").mean().assign_attrs(s.attrs)
    if not chan:
        s = s.expand_dims(channel=[da.name or variable])
        chan = ["channel"]
    dim = chan[0]
    n = s.sizes[dim]
    fig, axes = _axes_grid(ax, n, figsize=(8, 1.0 + 1.6 * n))
    positive = s.values[s.values > 0]
    vmax = float(positive.max()) if positive.size else 1.0
    vmin = max(float(np.percentile(positive, 5)) if positive.size else vmax * 1e-4, vmax * 1e-5)
    norm = mpl.colors.LogNorm(vmin=vmin, vmax=vmax)
    mesh = None
    span = (float(da["time"][0]), float(da["time"][-1]))
    for i in range(n):
        a = axes[i, 0]
        vals = s.isel({dim: i}).values
        label = (_electrode_label(s, i) if dim == "electrode" else
                 f"p{s[dim].values[i]}" if dim == "component" else str(s[dim].values[i]))
        peak = float(np.nanmax(vals)) if vals.size else 0.0
        if not peak > 1e-12 * vmax:
            # e.g. a dipole component that is round-off only: a black panel would read as data
            a.text(0.5, 0.5, f"{label}: numerically zero (peak {peak:.2g} {_unit(s.attrs.get('units'))})",
                   transform=a.transAxes, ha="center", va="center", fontsize=9)
            a.set_ylim(float(s["frequency"].values[0]), float(s["frequency"].values[-1]))
        else:
            mesh = a.pcolormesh(s["time"].values, s["frequency"].values, vals,
                                shading="nearest", norm=norm, cmap="magma", rasterized=True)
            a.text(0.005, 0.95, label, transform=a.transAxes, va="top", fontsize=8,
                   bbox=dict(facecolor="white", alpha=0.8, lw=0, pad=1))
        a.set_ylabel("frequency (Hz)")
        a.set_xlim(*span)  # the analysed window, even where windows' centres do not reach
        f = s["frequency"].values
        if f.size > 1:  # no negative frequencies below the 0 Hz row
            a.set_ylim(max(0.0, f[0] - 0.5 * (f[1] - f[0])), f[-1] + 0.5 * (f[1] - f[0]))
    axes[-1, 0].set_xlabel("time (ms)")
    if mesh is not None:
        fig.colorbar(mesh, ax=list(axes.ravel()), shrink=0.9,
                     label=_label("power spectral density", s.attrs.get("units")))
    what = (f"STFT, {s.attrs['nperseg'] * 1000 / s.attrs['sampling_rate']:.3g} ms windows, "
            f"{s.attrs.get('frequency_resolution', 0):.3g} Hz resolution" if method == "stft"
            else f"Morlet wavelets, {n_cycles:g} cycles")
    if averaged > 1:
        what += f", {averaged} windows averaged per column"
    fig.suptitle(f"spectrogram of {da.attrs.get('long_name', da.name)} ({what})", fontsize=10)
    return fig


@fill_doc
def plot_coherence(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                   time: tuple[float, float] | None = None, fmin: float | None = None,
                   fmax: float | None = None, nperseg: int | None = None, population: str | None = None,
                   ax=None):
    """Mean coherence between electrodes over a frequency band, as a depth-sorted matrix.

    Parameters
    ----------
    %(ds_signal)s
    %(variable)s
    electrodes : sequence of str, optional
        Electrodes (default all).
    time : (float, float), optional
        Window (ms).
    fmin, fmax : float, optional
        Band averaged (Hz); default all frequencies above 0.
    nperseg : int, optional
        Welch segment (samples).
    %(population)s
    %(ax_figure)s
    """
    from signals.analysis.spectral import coherence, positive_frequencies

    da = pick_electrodes(_signal(ds, variable, what="the coherence figure", population=population),
                         electrodes)
    c = coherence(da, nperseg=nperseg, fmin=fmin, fmax=fmax, time=time)
    if fmin is None:
        c = positive_frequencies(c)
    f = c["frequency"].values
    m = c.mean("frequency")
    m.attrs.update(units="1", long_name=f"coherence, mean over {f[0]:.3g}–{f[-1]:.3g} Hz")
    axis = _probe(da) if c.attrs.get("pair_of") == "electrode" else None
    if axis is not None and m.sizes["source"] == da.sizes["electrode"]:
        z = [f"{v + 0.0:.0f}" for v in axis.position]
        m = m.assign_coords(source=z, target=z)
        m["source"].attrs["long_name"] = axis.label
        m["target"].attrs["long_name"] = axis.label
    fig = plot_matrix(m, cmap="viridis", ax=ax)
    fig.axes[0].set_title(f"coherence between electrodes ({c.attrs.get('frequency_resolution', 0):.3g} Hz "
                          "resolution)")
    return fig


@fill_doc
def plot_band_power(ds, *, variable: str = "lfp", bands: Mapping[str, tuple[float, float]] | None = None,
                    time: tuple[float, float] | None = None, population: str | None = None, ax=None):
    """Laminar profile of band power: power in each frequency band against electrode depth.

    Parameters
    ----------
    %(ds_signal)s
    %(variable)s
    bands : mapping of str to (float, float), optional
        Bands (Hz); default :data:`signals.analysis.spectral.BANDS`.
    time : (float, float), optional
        Window (ms).
    %(population)s
    %(ax_figure)s
    """
    import matplotlib as mpl

    from signals.analysis.spectral import band_power

    da = sort_electrodes(_signal(ds, variable, what="the band-power figure", population=population))
    bp = band_power(da, bands=bands, time=time)
    try:
        axis = electrode_axis(bp, what="plot_band_power")
    except ValueError as err:
        raise ValueError(f"plot_band_power needs electrodes on one straight probe: {err}") from None
    z = axis.position
    fig, ax = _axes(ax, figsize=(6, 6))
    cmap = mpl.colormaps["plasma"]
    empty = [b for b in str(bp.attrs.get("bands_without_bins", "")).split(", ") if b]
    for k, band in enumerate(bp["band"].values):
        lo, hi = float(bp["band_low"][k]), float(bp["band_high"][k])
        vals = bp.sel(band=band).values
        if not np.any(vals > 0):  # nothing to draw on a log axis: say so instead of a bare legend entry
            empty.append(str(band))
            continue
        ax.plot(vals, z, marker="o", ms=3,
                color=cmap(k / max(1, bp.sizes["band"] - 1) * 0.85), label=f"{band} ({lo:g}–{hi:g} Hz)")
    ax.set_xscale("log")
    ax.set_xlabel(_label("band power", bp.attrs.get("units")))
    ax.set_ylabel(axis.label)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    title = f"band power by depth ({bp.attrs.get('frequency_resolution', 0):.3g} Hz resolution)"
    if empty:
        title += f"\nno frequency bin in: {', '.join(empty)} (signal too short)"
    ax.set_title(title, fontsize=10)
    return fig


def _depth_colors(da):
    """Colour of each electrode of ``da`` by its position along the probe (the PSD figure's), or C0, C1..."""
    import matplotlib as mpl

    axis = _probe(da)
    n = da.sizes.get("electrode", 1) if "electrode" in da.dims else 1
    if axis is None:
        return [f"C{i % 10}" for i in range(n)]
    z = axis.position
    norm = mpl.colors.Normalize(z.min(), z.max() if np.ptp(z) > 0 else z.min() + 1)
    cmap = mpl.colors.ListedColormap(mpl.colormaps["viridis"](np.linspace(0, 0.75, 256)))
    return [cmap(norm(v)) for v in z]


@fill_doc
def plot_aperiodic(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                   time: tuple[float, float] | None = None, freq_range: tuple[float, float] | None = None,
                   aperiodic_mode: str = "fixed", nperseg: int | None = None, population: str | None = None,
                   ax=None):
    """PSD in log-log with its fitted aperiodic (1/f) component and peaks, and the exponent by depth.

    Left: the PSD of a few electrodes (default four spread over the probe, coloured by depth as
    in :func:`plot_psd`), the aperiodic fit dashed and each fitted peak marked. Right: the
    aperiodic exponent of every electrode against its position along the probe
    (:func:`signals.analysis.aperiodic.parameterize_spectrum`, fooof).

    Parameters
    ----------
    %(ds_signal)s
    variable : str
        Signal variable (``lfp``, mV; ``eeg``).
    electrodes : sequence of str, optional
        Electrodes fitted (default all); the left panel draws four of them spread in depth
        (all if given).
    time : (float, float), optional
        Window (ms).
    freq_range : (float, float), optional
        Frequencies fitted (Hz); default from the first non-zero frequency (at least 2 Hz) to
        200 Hz (or Nyquist).
    aperiodic_mode : {"fixed", "knee"}
        Aperiodic component without or with a knee.
    nperseg : int, optional
        Welch segment (samples).
    %(population)s
    ax : sequence of two Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.aperiodic import parameterize_spectrum
    from signals.analysis.spectral import positive_frequencies, psd

    da = pick_electrodes(_signal(ds, variable, what="the aperiodic fit", population=population), electrodes)
    hi = 200.0 if freq_range is None else float(freq_range[1])
    p = positive_frequencies(psd(da, nperseg=nperseg, time=time, fmax=hi))
    f = p["frequency"].values
    res = float(p.attrs.get("frequency_resolution", f[1] - f[0] if f.size > 1 else 1.0))
    if freq_range is None:
        freq_range = (max(2.0, float(f[0])), float(f[-1]))
    # fooof wants peaks at least two bins wide: a coarse (short-run) spectrum widens the limits
    widths = (max(1.0, 2.0 * res), max(12.0, 6.0 * res))
    fit = parameterize_spectrum(p, freq_range=freq_range, aperiodic_mode=aperiodic_mode,
                                peak_width_limits=widths)
    chan = [d for d in p.dims if d != "frequency"]
    if len(chan) > 1:
        raise ValueError(f"plot_aperiodic needs one channel dimension, got {chan}; select first")
    dim = chan[0] if chan else None
    n = p.sizes[dim] if dim else 1
    if dim is None:
        shown = [0]
    elif electrodes is None or dim != "electrode":
        shown = sorted(set(np.linspace(0, n - 1, min(n, 4)).round().astype(int).tolist()))
    else:
        shown = list(range(n))
    colors = _depth_colors(p) if dim == "electrode" else [f"C{i % 10}" for i in range(n)]
    fig, axes = _axes_grid(ax, 1, ncols=2, figsize=(11, 4.8), sharex=False)
    a0, a1 = axes[0]
    sel = (f >= freq_range[0]) & (f <= freq_range[1])
    fs = f[sel]
    for i in shown:
        spec = p.isel({dim: i}) if dim else p
        ft = fit.isel({dim: i}) if dim else fit
        label = (_electrode_label(p, i) if dim == "electrode" else str(p[dim].values[i]) if dim
                 else str(da.name))
        a0.plot(f, spec.values, color=colors[i], lw=1, label=f"{label}, χ = {float(ft.exponent):.2f}")
        if np.isfinite(float(ft.exponent)):
            knee = float(ft.knee) if "knee" in ft else 0.0
            ap = float(ft.offset) - np.log10(knee + fs ** float(ft.exponent))
            a0.plot(fs, 10 ** ap, color=colors[i], lw=1.2, ls="--")
            cf, pw = ft.peak_frequency.values, ft.peak_power.values
            ok = np.isfinite(cf)
            if ok.any():
                base = float(ft.offset) - np.log10(knee + cf[ok] ** float(ft.exponent))
                a0.scatter(cf[ok], 10 ** (base + pw[ok]), marker="v", s=28, color=colors[i], zorder=3,
                           edgecolor="k", lw=0.5)
    a0.set_xscale("log")
    a0.set_yscale("log")
    a0.set_xlabel("frequency (Hz)")
    a0.set_ylabel(_label("power spectral density", p.attrs.get("units")))
    a0.set_xlim(f[0], f[-1])
    if freq_range[0] > f[0] or freq_range[1] < f[-1]:  # the fitted range, where it is not all
        a0.axvspan(freq_range[0], freq_range[1], color="0.95", zorder=-1, lw=0)
    a0.legend(frameon=False, fontsize=7, loc="lower left")
    a0.set_title(f"PSD (solid), aperiodic fit (dashed), peaks (▼); fitted {freq_range[0]:.3g}–"
                 f"{freq_range[1]:.3g} Hz", fontsize=9)
    exp = np.atleast_1d(fit.exponent.values)
    axis = _probe(p) if dim == "electrode" else None
    if axis is not None:
        a1.plot(exp, axis.position, color="0.5", lw=0.8, zorder=1)
        a1.scatter(exp, axis.position, c=colors, s=25, zorder=2)
        a1.set_ylabel(axis.label)
    else:
        a1.scatter(np.arange(exp.size), exp, c=colors[: exp.size], s=25)
        a1.set_xticks(np.arange(exp.size), [str(v) for v in p[dim].values] if dim else [str(da.name)],
                      rotation=90 if exp.size > 8 else 0, fontsize=7)
        a1.set_xlabel(dim or "signal")
    if axis is not None:
        a1.set_xlabel("aperiodic exponent χ (P ∝ 1/f^χ)")
    else:
        a1.set_ylabel("aperiodic exponent χ (P ∝ 1/f^χ)")
    r2 = np.atleast_1d(fit.r_squared.values)
    a1.set_title(f"exponent per {dim or 'signal'} (fooof, {aperiodic_mode}; "
                 f"R² {np.nanmin(r2):.2f}–{np.nanmax(r2):.2f})", fontsize=9)
    fig.suptitle(f"aperiodic component of {p.attrs.get('long_name', da.name)} "
                 f"({res:.3g} Hz resolution)", fontsize=10)
    return fig
