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
)
from signals.plots.network import plot_matrix

__all__ = ["plot_band_power", "plot_coherence", "plot_psd", "plot_spectrogram"]


def plot_psd(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
             time: tuple[float, float] | None = None, fmin: float | None = None,
             fmax: float | None = None, method: str = "welch", nperseg: int | None = None,
             population: str | None = None, ax=None):
    """Power spectral density of each electrode, coloured by depth.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray (any channel dim).
    variable : str
        Signal variable (e.g. ``lfp``, mV; ``dipole``, nA·µm).
    electrodes : sequence of str, optional
        Electrode labels (default all).
    time : (float, float), optional
        Time window (ms).
    fmin, fmax : float, optional
        Frequency range (Hz); by default from the first non-zero frequency to Nyquist.
    method : {"welch", "multitaper"}
        Estimator (:func:`signals.analysis.spectral.psd`).
    nperseg : int, optional
        Welch segment length (samples).
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import positive_frequencies, psd

    da = pick_electrodes(_signal(ds, variable, what="the PSD figure", population=population), electrodes)
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


def plot_spectrogram(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmin: float | None = None,
                     fmax: float | None = 100.0, method: str = "stft", nperseg: int | None = None,
                     n_cycles: float = 7.0, population: str | None = None, ax=None):
    """Spectrogram (or Morlet wavelet power) per electrode, one panel each, top = shallowest.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray.
    variable : str
        Signal variable.
    electrodes : sequence of str, optional
        Electrode labels; default four spread over depth.
    time : (float, float), optional
        Time window (ms).
    fmin, fmax : float, optional
        Frequency range (Hz); default up to 100 Hz.
    method : {"stft", "wavelet"}
        Short-time Fourier (:func:`~signals.analysis.spectral.spectrogram`, lazy) or Morlet
        wavelets (:func:`~signals.analysis.spectral.wavelet`, loads the window).
    nperseg : int, optional
        STFT window (samples); default 200 ms.
    n_cycles : float
        Wavelet cycles.
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : sequence of Axes, optional
        One per electrode.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals._validation import check_option
    from signals.analysis.spectral import spectrogram, wavelet, wavelet_frequencies

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


def plot_coherence(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                   time: tuple[float, float] | None = None, fmin: float | None = None,
                   fmax: float | None = None, nperseg: int | None = None, population: str | None = None,
                   ax=None):
    """Mean coherence between electrodes over a frequency band, as a depth-sorted matrix.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray.
    variable : str
        Signal variable.
    electrodes : sequence of str, optional
        Electrodes (default all).
    time : (float, float), optional
        Window (ms).
    fmin, fmax : float, optional
        Band averaged (Hz); default all frequencies above 0.
    nperseg : int, optional
        Welch segment (samples).
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
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


def plot_band_power(ds, *, variable: str = "lfp", bands: Mapping[str, tuple[float, float]] | None = None,
                    time: tuple[float, float] | None = None, population: str | None = None, ax=None):
    """Laminar profile of band power: power in each frequency band against electrode depth.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray.
    variable : str
        Signal variable.
    bands : mapping of str to (float, float), optional
        Bands (Hz); default :data:`signals.analysis.spectral.BANDS`.
    time : (float, float), optional
        Window (ms).
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
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
