"""Figures from run files: each function takes ``ax=None`` and returns the Figure.

The functions read only the run file (an ``xarray.Dataset`` from :func:`signals.open_run`, or
a ``DataArray`` where stated) and compute through :mod:`signals.analysis`; long recordings are
read block by block (traces drawn as min/max envelopes, CSD of bin means), never loaded whole.
Populations keep one colour across every figure of a run (:func:`population_colors` on the
run's population order); every axis states its unit.

Multi-panel figures (spectrogram per electrode, dipole components, the LFP summary) take
``ax`` as a sequence of Axes, one per panel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from signals.analysis._data import (
    block_envelope,
    block_mean,
    cell_table,
    electrode_axis,
    population_names,
    require,
    select_time,
)

__all__ = [
    "population_colors",
    "plot_band_power",
    "plot_coherence",
    "plot_connectivity",
    "plot_csd",
    "plot_dipole",
    "electrode_view",
    "plot_electrodes",
    "plot_granger",
    "plot_lfp",
    "plot_lfp_summary",
    "plot_matrix",
    "plot_network_2d",
    "plot_population_rate",
    "plot_psd",
    "plot_raster",
    "plot_rate_psd",
    "plot_rates",
    "plot_spectrogram",
    "plot_spike_correlation",
    "plot_stacked_bar",
    "plot_traces",
]

#: Colour of external sources (NetStims) in connectivity figures.
EXTERNAL_COLOR = (0.55, 0.55, 0.55, 1.0)
_MAX_POINTS = 4000  # samples per trace drawn; longer traces are drawn as min/max envelopes
_MAX_COLUMNS = 2000  # time columns of a spectrogram image
_PRETTY_UNITS = {"1": ""}


def population_colors(populations: Sequence[str]) -> dict[str, tuple]:
    """One colour per population, stable across figures of the same run.

    Parameters
    ----------
    populations : sequence of str
        Population names in the run's order (``ds.population``); the i-th gets the i-th
        colour of matplotlib's ``tab10``.

    Returns
    -------
    dict of str to RGBA tuple
        Also maps ``"external"`` (sources outside the network) to grey.
    """
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10"]
    colors = {str(p): cmap(i % 10) for i, p in enumerate(populations)}
    colors.setdefault("external", EXTERNAL_COLOR)
    return colors


def _run_colors(ds) -> dict[str, tuple]:
    """The run's population colours (none for a bare DataArray or a run without populations)."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        return population_colors([])
    try:
        return population_colors(population_names(ds))
    except KeyError:
        return population_colors([])


def _unit(units) -> str:
    """A unit attribute (UDUNITS-style) as shown on an axis: um → µm, ^2 → ², nA um → nA·µm."""
    import re

    u = str(units or "")
    if u in _PRETTY_UNITS:
        return _PRETTY_UNITS[u]
    u = re.sub(r"\bu(?=[mSAVs]\b|[mSAV](?=[0-9^]))", "µ", u)  # micro prefix: um, uS, uA, uV
    u = u.replace("^2", "²").replace("^3", "³").replace("mm3", "mm³")
    return re.sub(r"(?<=[A-Za-zµ]) (?=[A-Za-zµ(])", "·", u)  # product of units


def _label(name: str, units) -> str:
    u = _unit(units)
    return f"{name} ({u})" if u else name


def _axes(ax, figsize=(8, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _axes_grid(ax, n: int, *, ncols: int = 1, figsize=(8, 5), sharex=True, sharey=False):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, axes = plt.subplots(n, ncols, figsize=figsize, layout="constrained", sharex=sharex,
                                 sharey=sharey, squeeze=False)
        return fig, axes
    axes = np.asarray(ax, dtype=object).reshape(-1, ncols) if np.ndim(ax) else np.array([[ax]])
    if axes.size != n * ncols:
        raise ValueError(f"this figure needs {n * ncols} axes, got {axes.size}")
    return axes.flat[0].figure, axes


def _signal(obj, variable: str, *, what: str):
    """The DataArray to plot: ``obj`` itself or ``obj[variable]`` of a run."""
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        return obj
    require(obj, variable, what=what)
    return obj[variable]


def _time_window(da, time: tuple[float, float] | None):
    da = select_time(da, time)
    if "time" in da.dims and da.sizes["time"] == 0:
        raise ValueError(f"no samples in the time window {time} ms")
    return da


def _probe(da):
    """The straight probe axis of ``da``'s electrodes, or None (no positions, or not on a line)."""
    if "electrode" not in da.dims:
        return None
    try:
        return electrode_axis(da)
    except (KeyError, ValueError):
        return None


def _depth_sorted(da):
    """``da`` with electrodes sorted from the top of the probe down (any probe direction).

    Electrodes not on one straight line are sorted by z, if they have positions.
    """
    if "electrode" not in da.dims:
        return da
    axis = _probe(da)
    if axis is not None:
        order = axis.order
    elif "electrode_z" in da.coords:
        order = np.argsort(-np.asarray(da["electrode_z"].values, dtype=float), kind="stable")
    else:
        return da
    if np.array_equal(order, np.arange(order.size)):
        return da  # already sorted: keep the plain (cheaper) lazy variable
    return da.isel(electrode=order)


def _pick_electrodes(da, electrodes: Sequence[str] | None, max_default: int | None = None):
    """Electrodes by label (sorted by depth), or ``max_default`` of them evenly spread in depth."""
    if "electrode" not in da.dims:
        return da
    if electrodes is not None:
        labels = [str(e) for e in da["electrode"].values]
        wanted = [str(e) for e in electrodes]
        unknown = [e for e in wanted if e not in labels]
        if unknown:
            raise KeyError(f"unknown electrode(s) {unknown}; the run has {labels}")
        return _depth_sorted(da.sel(electrode=wanted))
    da = _depth_sorted(da)
    n = da.sizes["electrode"]
    if max_default is not None and n > max_default:
        da = da.isel(electrode=np.unique(np.linspace(0, n - 1, max_default).round().astype(int)))
    return da


def _electrode_label(da, i: int, axis=None) -> str:
    """``"e03 (y = -250 µm)"``: the label and the position along the probe, where there is one."""
    label = str(da["electrode"].values[i])
    axis = _probe(da) if axis is None else axis
    if axis is not None:
        return f"{label} ({axis.describe(i)})"
    return label


def _draw_trace(ax, t, low, high, **kw):
    """One trace: the samples, or (``high`` given) the bins' min/max interleaved, an envelope."""
    if high is None:
        return ax.plot(t, low, **kw)
    return ax.plot(np.repeat(t, 2), np.stack([low, high], axis=-1).ravel(), **kw)


def plot_lfp(ds, *, variable: str = "lfp", time: tuple[float, float] | None = None,
             electrodes: Sequence[str] | None = None, spacing: float | None = None, ax=None):
    """LFP traces stacked by position along the probe (µm), deepest at the bottom.

    The probe axis is found from the contacts (:func:`signals.electrodes.probe_axis`): a
    NetPyNE probe along y is labelled by y, an oblique one by the distance along it.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` of dims (time, electrode), or that DataArray.
    variable : str
        Name of the potential variable (mV).
    time : (float, float), optional
        Time window (ms).
    electrodes : sequence of str, optional
        Electrode labels (default all).
    spacing : float, optional
        Vertical distance between traces (units of the variable, mV); default the largest
        peak-to-peak amplitude.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = _pick_electrodes(_time_window(_signal(ds, variable, what="the LFP figure"), time), electrodes)
    if "electrode" not in da.dims or set(da.dims) != {"time", "electrode"}:
        raise ValueError(f"plot_lfp needs dims (time, electrode), got {da.dims}")
    t, low, high = block_envelope(da, _MAX_POINTS)  # (electrode, time)
    units = _unit(da.attrs.get("units", ""))
    centre = np.median(0.5 * (low + high), axis=1)  # baseline, robust to spikes
    if spacing is None:
        ptp = high.max(axis=1) - low.min(axis=1)
        spacing = float(ptp.max()) if ptp.size and ptp.max() > 0 else 1.0
    n = da.sizes["electrode"]
    fig, ax = _axes(ax, figsize=(8, max(4.0, 0.45 * n + 1.5)))
    for k in range(n):  # surface first → top
        y = (n - 1 - k) * spacing
        lo = low[k] - centre[k] + y
        hi = None if low is high else high[k] - centre[k] + y
        _draw_trace(ax, t, lo, hi, lw=0.6, color="k")
    ax.set_yticks((n - 1 - np.arange(n)) * spacing)
    axis = _probe(da)
    if axis is not None:
        ax.set_yticklabels([f"{v + 0.0:.0f}" for v in axis.position])
        ax.set_ylabel(axis.label)
    else:
        ax.set_yticklabels([str(e) for e in da["electrode"].values])
        ax.set_ylabel("electrode")
    ax.set_xlabel("time (ms)")
    x0 = t[0] + 0.01 * (t[-1] - t[0]) if t.size > 1 else 0.0
    ax.plot([x0, x0], [-0.5 * spacing, 0.5 * spacing], color="tab:red", lw=3, solid_capstyle="butt")
    ax.set_title(f"{da.attrs.get('long_name', da.name)}  (red bar: {spacing:.3g} {units})")
    ax.margins(x=0, y=0.02)
    return fig


def plot_raster(ds, *, time: tuple[float, float] | None = None,
                populations: Sequence[str] | None = None, ax=None):
    """Spike raster: cells by gid, coloured by population.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``spike_time`` (ms) and ``spike_gid`` (and the cell table for colours).
    time : (float, float), optional
        Time window (ms).
    populations : sequence of str, optional
        Populations shown (default all).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis._data import spikes

    t, gid = spikes(ds, time=time, populations=populations)
    fig, ax = _axes(ax)
    marker = dict(s=4 if t.size < 20000 else 1, marker="|", linewidths=0.8)
    if "cell_population" in ds.variables:
        colors = _run_colors(ds)
        gids, pops = cell_table(ds)
        order = np.argsort(gids)
        idx = np.clip(np.searchsorted(gids[order], gid), 0, max(gids.size - 1, 0))
        spk_pop = pops[order][idx] if gids.size else np.array([], dtype=str)
        for p in population_names(ds, populations):
            sel = spk_pop == p
            ax.scatter(t[sel], gid[sel], color=colors[p], label=f"{p} ({int(sel.sum())})", **marker)
            members = gids[pops == p]
            if members.size:
                ax.axhspan(members.min() - 0.5, members.max() + 0.5, color=colors[p], alpha=0.06, lw=0)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=3, frameon=False,
                  title="population (spikes)")
        ax.set_ylim(gids.min() - 0.5, gids.max() + 0.5)
    else:
        ax.scatter(t, gid, color="k", **marker)
    t0, t1 = (time if time is not None else
              (float(ds["time"][0]), float(ds["time"][-1])) if "time" in ds.coords else (None, None))
    if t0 is not None:
        ax.set_xlim(t0, t1)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell gid")
    ax.set_title(f"spike raster ({t.size} spikes)")
    return fig


def plot_traces(ds, *, variable: str = "v", time: tuple[float, float] | None = None,
                cells: Sequence[int] | None = None, ax=None):
    """Membrane potential (or another traced variable) of the recorded cells.

    One panel per cell, coloured by population (as in the NetPyNE paper's Fig. 6D).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` of dims (time, <cell dim>), e.g. ``v`` (mV) over ``v_cell``.
    variable : str
        Traced variable.
    time : (float, float), optional
        Time window (ms).
    cells : sequence of int, optional
        Gids shown (default all traced cells).
    ax : Axes or sequence of Axes, optional
        One per cell.

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = _time_window(_signal(ds, variable, what=f"the {variable} traces (record with Traces)"), time)
    dims = [d for d in da.dims if d != "time"]
    if len(dims) != 1:
        raise ValueError(f"plot_traces needs dims (time, cell), got {da.dims}")
    dim = dims[0]
    if cells is not None:
        have = [int(g) for g in da[dim].values]
        missing = [int(c) for c in cells if int(c) not in have]
        if missing:
            raise KeyError(f"cell(s) {missing} were not traced; traced gids: {have}")
        da = da.sel({dim: [int(c) for c in cells]})
    colors = _run_colors(ds)
    pop_of = {}
    if "cell_population" in getattr(ds, "variables", {}):
        gids, pops = cell_table(ds)
        pop_of = dict(zip(gids.tolist(), pops.tolist(), strict=True))
    n = da.sizes[dim]
    fig, axes = _axes_grid(ax, n, figsize=(8, 1.1 + 1.3 * n), sharey=True)
    t, low, high = block_envelope(da, _MAX_POINTS)  # (cell, time)
    ylabel = _label(da.attrs.get("long_name", variable), da.attrs.get("units"))
    for k, gid in enumerate(da[dim].values):
        a = axes[k, 0]
        pop = pop_of.get(int(gid))
        _draw_trace(a, t, low[k], None if low is high else high[k], lw=0.8,
                    color=colors.get(pop, "k") if pop else "k")
        a.text(0.005, 0.92, f"gid {int(gid)}" + (f" ({pop})" if pop else ""), transform=a.transAxes,
               va="top", fontsize=9, color=colors.get(pop, "k") if pop else "k",
               bbox=dict(facecolor="white", alpha=0.7, lw=0, pad=1))
        a.set_ylabel(_label(str(variable), da.attrs.get("units")))
        a.margins(x=0)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(ylabel)
    return fig


def _psd_axes_common(ax, p, fmin):
    ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel(_label("power spectral density", p.attrs.get("units")))
    f = p["frequency"].values
    ax.set_xlim(f[0] if fmin is not None else f[f > 0][0] if np.any(f > 0) else f[0], f[-1])


def plot_psd(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
             time: tuple[float, float] | None = None, fmin: float | None = None,
             fmax: float | None = None, method: str = "welch", nperseg: int | None = None, ax=None):
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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import psd

    da = _pick_electrodes(_signal(ds, variable, what="the PSD figure"), electrodes)
    p = psd(da, method=method, nperseg=nperseg, fmin=fmin, fmax=fmax, time=time)
    if fmin is None:
        p = p.isel(frequency=p["frequency"].values > 0) if (p["frequency"].values > 0).any() else p
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
            cmap = mpl.colormaps["viridis"]
        for i in range(n):
            color = cmap(norm(z[i])) if has_z else None
            label = _electrode_label(p, i, axis) if dim == "electrode" else str(p[dim].values[i])
            ax.plot(f, p.isel({dim: i}).values, lw=1, color=color, label=label)
        if has_z and n > 6:
            fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=axis.label)
        else:
            ax.legend(frameon=False, fontsize=8, loc="upper right")
    _psd_axes_common(ax, p, fmin)
    res = p.attrs.get("frequency_resolution")
    ax.set_title(f"{p.attrs.get('long_name')}\n({p.attrs.get('method')}"
                 + (f", resolution {res:.3g} Hz" if res else "") + ")", fontsize=10)
    return fig


def plot_spectrogram(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmin: float | None = None,
                     fmax: float | None = 100.0, method: str = "stft", nperseg: int | None = None,
                     n_cycles: float = 7.0, ax=None):
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
    ax : sequence of Axes, optional
        One per electrode.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals._validation import check_option
    from signals.analysis.spectral import sampling_rate, spectrogram, wavelet

    check_option(method, "spectrogram method", ("stft", "wavelet"))
    da = _pick_electrodes(_signal(ds, variable, what="the spectrogram"), electrodes, max_default=4)
    da = _time_window(da, time)
    others = [d for d in da.dims if d != "time"]
    if len(others) == 1 and others[0] != "electrode" and da.sizes[others[0]] > 4:  # e.g. EEG sensors
        da = da.isel({others[0]: np.unique(np.linspace(0, da.sizes[others[0]] - 1, 4).round().astype(int))})
    if method == "stft":
        s = spectrogram(da, nperseg=nperseg, fmin=fmin, fmax=fmax)
    else:
        fs = sampling_rate(da)
        hi = min(fmax if fmax is not None else 100.0, 0.45 * fs)
        # lowest default frequency: wavelets no wider (sigma_t) than half the window
        duration = (float(da["time"][-1]) - float(da["time"][0])) / 1000.0
        lo = fmin if fmin is not None else max(n_cycles / (np.pi * duration), hi / 50, 1.0)
        if not lo < hi:
            raise ValueError(f"the window ({duration * 1000:g} ms) is too short for {n_cycles:g}-cycle "
                             f"wavelets below {hi:g} Hz; give a longer window or fmin")
        step = max(1, da.sizes["time"] // 1500)
        s = wavelet(da, frequencies=np.linspace(lo, hi, 60), n_cycles=n_cycles, step=step)
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
    for i in range(n):
        a = axes[i, 0]
        mesh = a.pcolormesh(s["time"].values, s["frequency"].values, s.isel({dim: i}).values,
                            shading="nearest", norm=norm, cmap="magma", rasterized=True)
        label = _electrode_label(s, i) if dim == "electrode" else str(s[dim].values[i])
        a.text(0.005, 0.95, label, transform=a.transAxes, va="top", fontsize=8, color="white")
        a.set_ylabel("frequency (Hz)")
    axes[-1, 0].set_xlabel("time (ms)")
    fig.colorbar(mesh, ax=list(axes.ravel()), label=_label("power spectral density", s.attrs.get("units")),
                 shrink=0.9)
    what = (f"STFT, {s.attrs.get('frequency_resolution', 0):.3g} Hz resolution" if method == "stft"
            else f"Morlet wavelets, {n_cycles:g} cycles")
    if averaged > 1:
        what += f", {averaged} windows averaged per column"
    fig.suptitle(f"spectrogram of {da.attrs.get('long_name', da.name)} ({what})", fontsize=10)
    return fig


def plot_csd(ds, *, variable: str = "lfp", method: str = "standard", time: tuple[float, float] | None = None,
             sigma: float | None = None, diameter: float = 500.0, overlay_lfp: bool | None = None,
             max_columns: int = 2000, ax=None):
    """Current source density over time and depth, with the LFP traces on top.

    Long windows are reduced to ``max_columns`` bin means of the LFP before the (linear) CSD,
    which equals the bin means of the CSD.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with a laminar ``variable`` (time, electrode) in mV, or that DataArray.
    variable : str
        Potential variable.
    method : {"standard", "delta", "step", "spline"}
        CSD estimator (:func:`signals.analysis.csd.csd`).
    time : (float, float), optional
        Time window (ms).
    sigma : float, optional
        Conductivity (S/m); default the LFP's ``sigma`` attribute.
    diameter : float
        iCSD source diameter (µm).
    overlay_lfp : bool, optional
        Draw each contact's LFP (scaled to the contact spacing) over the image; default when
        the drawn bins are at most 1 ms long.
    max_columns : int
        Largest number of time columns drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.csd import csd

    da = _time_window(_signal(ds, variable, what="the CSD figure"), time)
    if set(da.dims) != {"time", "electrode"}:
        raise ValueError(f"plot_csd needs dims (time, electrode), got {da.dims}")
    lfp = _depth_sorted(block_mean(da, max_columns))
    c = csd(lfp, method=method, sigma=sigma, diameter=diameter)
    z = np.asarray(c["probe_position"].values, dtype=float)
    zdim = "probe_position" if "probe_position" in c.dims else "electrode"
    img = c.transpose(zdim, "time").values
    t = c["time"].values
    # colour limits from the bulk of the values: a few spike transients would wash the image out
    lim = float(np.nanpercentile(np.abs(img), 99.5)) or float(np.nanmax(np.abs(img))) or 1.0
    fig, ax = _axes(ax, figsize=(8, 5.5))
    # contacts (or spline depths) and time bins are evenly spaced: an image, smoothed bilinearly
    # between them (far cheaper to render than a Gouraud-shaded mesh)
    dz = float(np.abs(np.diff(z)).mean()) if z.size > 1 else 1.0
    dt = float(np.diff(t).mean()) if t.size > 1 else 1.0
    order = np.argsort(z)
    mesh = ax.imshow(img[order], origin="lower", aspect="auto", interpolation="bilinear", cmap="RdBu_r",
                     vmin=-lim, vmax=lim, extent=(t[0] - dt / 2, t[-1] + dt / 2, z.min() - dz / 2,
                                                  z.max() + dz / 2))
    fig.colorbar(mesh, ax=ax, label="CSD (µA/mm³): sink < 0 < source", extend="both")
    title = f"current source density ({method}" + (
        f", {lfp.attrs['time_bin']:.3g} ms bin means" if "time_bin" in lfp.attrs else "") + ")"
    if overlay_lfp is None:  # traces help on short windows; over minutes they are clutter
        overlay_lfp = float(lfp.attrs.get("time_bin", 0.0)) <= 1.0
    if overlay_lfp:
        zl = electrode_axis(lfp).position
        h = float(np.abs(np.diff(zl)).mean()) if zl.size > 1 else 1.0
        vals = lfp.transpose("electrode", "time").values
        vals = vals - vals.mean(axis=1, keepdims=True)
        scale = 0.45 * h / (float(np.percentile(np.abs(vals), 99.5)) or 1.0)
        shown = np.unique(np.linspace(0, zl.size - 1, min(zl.size, 16)).round().astype(int))
        if shown.size < zl.size:  # many contacts: every few, scaled to their spacing
            scale *= float(np.diff(shown).mean())
        for k in shown:
            ax.plot(lfp["time"].values, zl[k] + vals[k] * scale, color="k", lw=0.6)
        title += (f"\nblack: LFP, {h / scale:.3g} {_unit(da.attrs.get('units'))} per {h:.0f} µm"
                  + (f" ({shown.size} of {zl.size} contacts)" if shown.size < zl.size else ""))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(electrode_axis(lfp).label)
    ax.set_title(title, fontsize=10)
    ax.margins(x=0)
    return fig


def plot_matrix(da, *, cmap: str | None = None, annotate: bool | None = None, center: float | None = None,
                colors: Mapping[str, tuple] | None = None, ax=None):
    """A labeled matrix (e.g. connectivity or correlation) as a heatmap; rows are the first dim.

    Parameters
    ----------
    da : xarray.DataArray
        Two dims; ``units`` and ``long_name`` go on the colour bar.
    cmap : str, optional
        Colormap; default ``viridis`` (``RdBu_r`` when ``center`` is given).
    annotate : bool, optional
        Write the values in the cells; default when the matrix has at most 12 rows and columns.
    center : float, optional
        Value at the centre of a diverging colormap (symmetric limits).
    colors : mapping, optional
        Label colours for the tick labels (e.g. :func:`population_colors`).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if da.ndim != 2:
        raise ValueError(f"plot_matrix needs a 2-D DataArray, got dims {da.dims}")
    rows, cols = da.dims
    vals = np.asarray(da.values, dtype=float)
    fig, ax = _axes(ax, figsize=(6.5, 5.5))
    finite = vals[np.isfinite(vals)]
    kw = {}
    if center is not None:
        span = float(np.max(np.abs(finite - center))) if finite.size else 1.0
        kw = dict(vmin=center - span, vmax=center + span)
        cmap = cmap or "RdBu_r"
    im = ax.imshow(vals, cmap=cmap or "viridis", aspect="auto", interpolation="nearest", **kw)
    cb_label = _label(da.attrs.get("long_name", da.name or ""), da.attrs.get("units"))
    fig.colorbar(im, ax=ax, label=cb_label)
    n_r, n_c = vals.shape
    if annotate is None:
        annotate = n_r <= 12 and n_c <= 12
    if n_r <= 40:
        ax.set_yticks(range(n_r), [str(v) for v in da[rows].values])
    if n_c <= 40:
        ax.set_xticks(range(n_c), [str(v) for v in da[cols].values])
    if colors:
        for lab in (*ax.get_xticklabels(), *ax.get_yticklabels()):
            lab.set_color(colors.get(lab.get_text(), "k"))
            lab.set_fontweight("bold")
    if annotate and finite.size:
        mid = 0.5 * (im.norm.vmin + im.norm.vmax)
        for i in range(n_r):
            for j in range(n_c):
                v = vals[i, j]
                text = "–" if not np.isfinite(v) else f"{v:.3g}"
                dark = np.isfinite(v) and (v < mid if center is None else abs(v - center) > 0.5 * (
                    im.norm.vmax - center))
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_ylabel(da[rows].attrs.get("long_name", rows))
    ax.set_xlabel(da[cols].attrs.get("long_name", cols))
    return fig


def plot_connectivity(ds, *, feature: str = "probability", by: str = "population",
                      populations: Sequence[str] | None = None, include_external: bool = False, ax=None):
    """Connectivity matrix, presynaptic rows × postsynaptic columns (NetPyNE paper Fig. 6A).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_*`` variables and the cell table.
    feature : str
        ``probability``, ``count``, ``weight`` (µS), ``strength`` (µS), ``delay`` (ms),
        ``convergence`` or ``divergence`` (:func:`signals.analysis.connectivity.connectivity_matrix`).
    by : {"population", "cell"}
        Grouping.
    populations : sequence of str, optional
        Populations shown.
    include_external : bool
        Add a row for sources outside the network (NetStims).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.connectivity import connectivity_matrix

    m = connectivity_matrix(ds, feature=feature, by=by, populations=populations,
                            include_external=include_external)
    fig = plot_matrix(m, colors=_run_colors(ds) if by == "population" else None, ax=ax)
    fig.axes[0].set_title(f"connectivity: {m.attrs['long_name']}")
    return fig


def plot_spike_correlation(ds, *, bin_size: float = 5.0, populations: Sequence[str] | None = None,
                           time: tuple[float, float] | None = None, ax=None):
    """Mean pairwise spike-count correlation between populations.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float
        Count bin (ms).
    populations : sequence of str, optional
        Populations shown.
    time : (float, float), optional
        Window (ms).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.connectivity import spike_count_correlation

    m = spike_count_correlation(ds, bin_size=bin_size, populations=populations, time=time)
    fig = plot_matrix(m, center=0.0, colors=_run_colors(ds), ax=ax)
    fig.axes[0].set_title("functional connectivity: spike-count correlation")
    fig.axes[0].set_ylabel("population")
    fig.axes[0].set_xlabel("population")
    return fig


def plot_granger(ds, *, bin_size: float = 2.0, max_order: int | None = None,
                 populations: Sequence[str] | None = None, time: tuple[float, float] | None = None,
                 ax=None):
    """Pairwise Granger causality between population rates (source rows → target columns).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float
        Rate bin (ms); the autoregressive order counts bins.
    max_order : int, optional
        Largest model order tried (bins); default 20, at most a tenth of the number of bins.
    populations : sequence of str, optional
        Populations shown.
    time : (float, float), optional
        Window (ms).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.connectivity import granger_causality
    from signals.analysis.rates import population_rate

    rate = population_rate(ds, bin_size=bin_size, populations=populations, time=time)
    if max_order is None:
        max_order = max(1, min(20, rate.sizes["time"] // 10))
    g = granger_causality(rate, max_order=max_order)
    g["source"].attrs["long_name"] = "source population"
    g["target"].attrs["long_name"] = "target population"
    fig = plot_matrix(g, cmap="viridis", colors=_run_colors(ds), ax=ax)
    fig.axes[0].set_title(f"Granger causality of population rates ({bin_size:g} ms bins, "
                          f"order ≤ {max_order})")
    return fig


_ADDITIVE = {"count": "post", "convergence": "post", "divergence": "pre"}


def plot_stacked_bar(ds, *, feature: str = "convergence", populations: Sequence[str] | None = None,
                     include_external: bool = True, ax=None):
    """Stacked bar graph of connections (NetPyNE paper Fig. 6B).

    ``count`` and ``convergence``: one bar per postsynaptic population, stacked by presynaptic
    population; ``divergence``: one bar per presynaptic population, stacked by postsynaptic.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_*`` variables and the cell table.
    feature : {"convergence", "count", "divergence"}
        An additive feature.
    populations : sequence of str, optional
        Populations shown.
    include_external : bool
        Stack inputs from external sources (NetStims) too (not for divergence).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.connectivity import connectivity_matrix

    if feature not in _ADDITIVE:
        raise ValueError(f"a stacked bar needs an additive feature: one of {sorted(_ADDITIVE)}, "
                         f"got {feature!r}")
    bar_dim = _ADDITIVE[feature]
    m = connectivity_matrix(ds, feature=feature, populations=populations,
                            include_external=include_external and bar_dim == "post")
    stack_dim = "pre" if bar_dim == "post" else "post"
    m = m.transpose(stack_dim, bar_dim)
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(7, 5))
    bars = [str(v) for v in m[bar_dim].values]
    bottom = np.zeros(len(bars))
    for src in m[stack_dim].values:
        vals = np.nan_to_num(m.sel({stack_dim: src}).values)
        ax.bar(bars, vals, bottom=bottom, color=colors.get(str(src), "k"), label=str(src),
               edgecolor="white", lw=0.5)
        bottom += vals
    for i, total in enumerate(bottom):
        ax.text(i, total, f"{total:.3g}", ha="center", va="bottom", fontsize=9)
    ax.legend(title=f"{'presynaptic' if stack_dim == 'pre' else 'postsynaptic'} population",
              frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlabel(f"{'postsynaptic' if bar_dim == 'post' else 'presynaptic'} population")
    ylabel = {"count": "connections", "convergence": "inputs per postsynaptic cell",
              "divergence": "outputs per presynaptic cell"}[feature]
    ax.set_ylabel(f"{ylabel} (count)")
    ax.set_title(m.attrs["long_name"])
    ax.margins(y=0.1)
    return fig


#: Projection planes: name → (horizontal, vertical) axis.
_VIEWS = {v: (v[0], v[1]) for v in ("xz", "xy", "yz", "zy", "zx", "yx")}


def plot_network_2d(ds, *, view: str = "xz", populations: Sequence[str] | None = None,
                    max_connections: int = 3000, ax=None):
    """Cells at their soma positions and their connections as lines (NetPyNE paper Fig. 6C).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with the cell table (``cell_x/y/z``, µm) and, for lines, ``connection_*``.
    view : {"xz", "xy", "yz", "zy", "zx", "yx"}
        Projection plane, horizontal then vertical axis; ``xz`` shows z vertically (``xy``: y,
        NetPyNE's depth axis).
    populations : sequence of str, optional
        Populations shown.
    max_connections : int
        At most this many connections are drawn (an evenly spaced subset).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.collections import LineCollection

    from signals._validation import check_option

    check_option(view, "view", tuple(_VIEWS))
    a, b = _VIEWS[view]
    require(ds, f"cell_{a}", f"cell_{b}", what="the network figure")
    gids, pops = cell_table(ds)
    names = population_names(ds, populations)
    pos = {c: np.asarray(ds[f"cell_{c}"].values, dtype=float) for c in (a, b)}
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(7, 6))
    title = "network"
    if "connection_pre" in ds.variables:
        pre = np.asarray(ds["connection_pre"].values, dtype=np.int64)
        post = np.asarray(ds["connection_post"].values, dtype=np.int64)
        shown = gids[np.isin(pops, names)]
        keep = np.flatnonzero(np.isin(pre, shown) & np.isin(post, shown))
        n_all = keep.size
        if keep.size > max_connections:
            keep = keep[np.linspace(0, keep.size - 1, int(max_connections)).round().astype(int)]
        order = np.argsort(gids)
        i = order[np.searchsorted(gids[order], pre[keep])]
        j = order[np.searchsorted(gids[order], post[keep])]
        segs = np.stack([np.stack([pos[a][i], pos[b][i]], -1), np.stack([pos[a][j], pos[b][j]], -1)], 1)
        ax.add_collection(LineCollection(segs, colors=[colors[p] for p in pops[i]], linewidths=0.3,
                                         alpha=0.25, zorder=1))
        title += f": {keep.size} of {n_all} connections drawn, coloured by presynaptic population"
    for p in names:
        sel = pops == p
        ax.scatter(pos[a][sel], pos[b][sel], s=22, color=colors[p], edgecolor="k", lw=0.4,
                   label=f"{p} ({int(sel.sum())})", zorder=2)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"{a} (µm)")
    ax.set_ylabel(f"{b} (µm)")
    ax.legend(title="population", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, fontsize=10)
    return fig


def plot_rates(ds, *, statistic: str = "rate", populations: Sequence[str] | None = None,
               time: tuple[float, float] | None = None, ax=None):
    """Boxplots of a per-cell spike statistic by population (NetPyNE paper Fig. 6F).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    statistic : {"rate", "cv", "fano"}
        Firing rate (Hz), ISI coefficient of variation, or Fano factor (100 ms windows).
    populations : sequence of str, optional
        Populations shown.
    time : (float, float), optional
        Window (ms).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals._validation import check_option
    from signals.analysis import rates

    check_option(statistic, "statistic", ("rate", "cv", "fano"))
    func = {"rate": rates.firing_rates, "cv": rates.isi_cv, "fano": rates.fano_factor}[statistic]
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


def plot_population_rate(ds, *, bin_size: float = 5.0, populations: Sequence[str] | None = None,
                         time: tuple[float, float] | None = None, ax=None):
    """Population firing-rate histograms over time, one line per population.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float
        Bin (ms).
    populations : sequence of str, optional
        Populations shown.
    time : (float, float), optional
        Window (ms).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.rates import population_rate

    r = population_rate(ds, bin_size=bin_size, populations=populations, time=time)
    colors = _run_colors(ds)
    fig, ax = _axes(ax, figsize=(8, 3.5))
    for p in r["population"].values:
        ax.step(r["time"].values, r.sel(population=p).values, where="mid", color=colors[str(p)],
                lw=0.9, label=str(p))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate per cell (Hz)")
    ax.set_title(f"population firing rate ({bin_size:g} ms bins)")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), title="population")
    ax.margins(x=0)
    return fig


def plot_rate_psd(ds, *, bin_size: float = 1.0, populations: Sequence[str] | None = None,
                  time: tuple[float, float] | None = None, fmin: float | None = None,
                  fmax: float | None = None, nperseg: int | None = None, ax=None):
    """Power spectral density of each population's firing rate (NetPyNE paper Fig. 8).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float
        Rate bin (ms); sets the Nyquist frequency ``500 / bin_size`` Hz.
    populations : sequence of str, optional
        Populations shown.
    time : (float, float), optional
        Window (ms).
    fmin, fmax : float, optional
        Frequency range (Hz).
    nperseg : int, optional
        Welch segment (bins); default 500 ms.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.rates import rate_psd

    p = rate_psd(ds, bin_size=bin_size, populations=populations, time=time, fmin=fmin, fmax=fmax,
                 nperseg=nperseg)
    if fmin is None and (p["frequency"].values > 0).any():
        p = p.isel(frequency=p["frequency"].values > 0)
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


def electrode_view(ds) -> str:
    """The projection that shows a run's probe: its axis vertical, the cells' widest spread across.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``electrode_x/y/z`` (µm) and, optionally, ``cell_x/y/z``.

    Returns
    -------
    str
        A view of :func:`plot_electrodes` (horizontal then vertical axis), e.g. ``"xy"`` for a
        probe along y (NetPyNE's depth axis), ``"xz"`` for one along z. Electrodes not on one
        line (a planar array) are shown in the plane they spread in most, z (or y) vertical.
    """
    pos = {c: np.asarray(ds[f"electrode_{c}"].values, dtype=float) for c in "xyz"}
    try:
        axis = electrode_axis(ds, what="the electrode figure")
    except ValueError:
        axis = None
    if axis is not None:
        vertical = "xyz"[int(np.argmax(np.abs(axis.direction)))]
        spread = {c: float(np.ptp(ds[f"cell_{c}"].values)) if f"cell_{c}" in ds.variables
                  and ds[f"cell_{c}"].size else 0.0 for c in "xyz"}
        others = [c for c in "xyz" if c != vertical]
        horizontal = max(others, key=lambda c: spread[c])  # ties: the first, x before y before z
        return horizontal + vertical
    flat = min("zyx", key=lambda c: float(np.ptp(pos[c])))  # the axis the electrodes spread least in
    kept = [c for c in "xyz" if c != flat]
    return kept[0] + kept[1]  # z (or else y) vertical


def _group_labels(ex, ey, labels, tol):
    """One label per drawn point: contacts that overlap in the view share it (``e00…e09``)."""
    groups: dict[tuple, list[int]] = {}
    for i, (x, y) in enumerate(zip(ex, ey, strict=True)):
        groups.setdefault((round(x / tol), round(y / tol)), []).append(i)
    out = []
    for members in groups.values():
        names = [labels[i] for i in members]
        text = ", ".join(names) if len(names) <= 3 else f"{names[0]}…{names[-1]} ({len(names)} contacts)"
        out.append((ex[members[0]], ey[members[0]], text))
    return out


def plot_electrodes(ds, *, view: str | None = None, ax=None):
    """Electrode positions among the cells' somata (NetPyNE paper Figs. 7, 8).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``electrode_x/y/z`` (µm) and, for the cells, ``cell_x/y/z``.
    view : {"xz", "xy", "yz", "zy", "zx", "yx"}, optional
        Projection plane, horizontal then vertical axis; default :func:`electrode_view`, the
        view that shows the probe along its length.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals._validation import check_option

    require(ds, "electrode_x", "electrode_y", "electrode_z", what="the electrode figure",
            hint="record an LFP")
    view = electrode_view(ds) if view is None else check_option(view, "view", tuple(_VIEWS))
    a, b = _VIEWS[view]
    fig, ax = _axes(ax, figsize=(6, 6.5))
    if f"cell_{a}" in ds.variables and "cell_population" in ds.variables:
        _, pops = cell_table(ds)
        colors = _run_colors(ds)
        for p in population_names(ds):
            sel = pops == p
            ax.scatter(ds[f"cell_{a}"].values[sel], ds[f"cell_{b}"].values[sel], s=14, color=colors[p],
                       alpha=0.7, label=f"{p} somata")
    ex = np.asarray(ds[f"electrode_{a}"].values, dtype=float)
    ey = np.asarray(ds[f"electrode_{b}"].values, dtype=float)
    ax.scatter(ex, ey, marker="s", s=30, color="k", label="electrodes", zorder=3)
    labels = [str(e) for e in ds["electrode"].values] if "electrode" in ds.coords else []
    if len(labels) == ex.size:
        extent = max(float(np.ptp(ex)), float(np.ptp(ey)), 1.0)
        for x, y, text in _group_labels(ex, ey, labels, 1e-3 * extent):
            ax.annotate(text, (x, y), xytext=(6, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel(f"{a} (µm)")
    ax.set_ylabel(f"{b} (µm)")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title(f"{len(ex)} electrodes ({view} view)")
    return fig


def plot_dipole(ds, *, variable: str = "dipole", time: tuple[float, float] | None = None,
                populations: bool = True, ax=None):
    """Current dipole moment, one panel per component; per population where recorded.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` (time, component) in nA·µm (and ``<variable>_population``).
    variable : str
        Dipole variable.
    time : (float, float), optional
        Time window (ms).
    populations : bool
        Draw ``<variable>_population`` too, if present.
    ax : sequence of Axes, optional
        One per component.

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = _time_window(_signal(ds, variable, what="the dipole figure"), time)
    if "component" not in da.dims:
        raise ValueError(f"plot_dipole needs a 'component' dimension, got {da.dims}")
    per_pop = None
    pop_var = f"{variable}_population"
    if populations and hasattr(ds, "data_vars") and pop_var in ds.variables:
        per_pop = _time_window(ds[pop_var], time)
    comps = [str(c) for c in da["component"].values]
    fig, axes = _axes_grid(ax, len(comps), figsize=(8, 1.2 + 1.6 * len(comps)))
    colors = _run_colors(ds)
    units = da.attrs.get("units", "nA um")
    for k, comp in enumerate(comps):
        a = axes[k, 0]
        if per_pop is not None:
            sub = per_pop.sel(component=comp)
            t, lo, hi = block_envelope(sub, _MAX_POINTS)  # (population, time)
            for i, p in enumerate(sub["population"].values):
                _draw_trace(a, t, lo[i], None if lo is hi else hi[i], lw=0.7,
                            color=colors.get(str(p), None), label=str(p))
        t, lo, hi = block_envelope(da.sel(component=[comp]), _MAX_POINTS)  # (1, time)
        _draw_trace(a, t, lo[0], None if lo is hi else hi[0], lw=1.0, color="k", label="total")
        a.set_ylabel(_label(f"p{comp}", units))
        a.margins(x=0)
    axes[0, 0].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(da.attrs.get("long_name", "current dipole moment"))
    return fig


def plot_coherence(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                   time: tuple[float, float] | None = None, fmin: float | None = None,
                   fmax: float | None = None, nperseg: int | None = None, ax=None):
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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.spectral import coherence

    da = _pick_electrodes(_signal(ds, variable, what="the coherence figure"), electrodes)
    c = coherence(da, nperseg=nperseg, fmin=fmin if fmin is not None else 1e-9, fmax=fmax, time=time)
    f = c["frequency"].values
    m = c.mean("frequency")
    m.attrs.update(units="1", long_name=f"coherence, mean over {f[0]:.3g}–{f[-1]:.3g} Hz")
    dim = [d for d in m.dims][0]
    axis = _probe(da) if dim == "electrode" else None
    if axis is not None and m.sizes[m.dims[0]] == da.sizes["electrode"]:
        z = [f"{v + 0.0:.0f}" for v in axis.position]
        m = m.assign_coords({m.dims[0]: z, m.dims[1]: z})
        m[m.dims[0]].attrs["long_name"] = axis.label
        m[m.dims[1]].attrs["long_name"] = axis.label
    fig = plot_matrix(m, cmap="viridis", ax=ax)
    fig.axes[0].set_title(f"coherence between electrodes ({c.attrs.get('frequency_resolution', 0):.3g} Hz "
                          "resolution)")
    return fig


def plot_band_power(ds, *, variable: str = "lfp", bands: Mapping[str, tuple[float, float]] | None = None,
                    time: tuple[float, float] | None = None, ax=None):
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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import band_power

    da = _depth_sorted(_signal(ds, variable, what="the band-power figure"))
    bp = band_power(da, bands=bands, time=time)
    try:
        axis = electrode_axis(bp, what="plot_band_power")
    except ValueError as err:
        raise ValueError(f"plot_band_power needs electrodes on one straight probe: {err}") from None
    z = axis.position
    fig, ax = _axes(ax, figsize=(6, 6))
    cmap = mpl.colormaps["plasma"]
    for k, band in enumerate(bp["band"].values):
        lo, hi = float(bp["band_low"][k]), float(bp["band_high"][k])
        ax.plot(bp.sel(band=band).values, z, marker="o", ms=3,
                color=cmap(k / max(1, bp.sizes["band"] - 1) * 0.9), label=f"{band} ({lo:g}–{hi:g} Hz)")
    ax.set_xscale("log")
    ax.set_xlabel(_label("band power", bp.attrs.get("units")))
    ax.set_ylabel(axis.label)
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("band power by depth")
    return fig


def plot_lfp_summary(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmax: float = 100.0, ax=None):
    """LFP traces, PSD and spectrogram of a few electrodes at different depths (paper Fig. 7B).

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run with ``variable`` (time, electrode), or that DataArray.
    variable : str
        Signal variable.
    electrodes : sequence of str, optional
        Electrodes (default four spread over depth), one row each.
    time : (float, float), optional
        Window (ms).
    fmax : float
        Highest frequency shown (Hz).
    ax : array of Axes, optional
        Shape (n_electrodes, 3).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import psd, spectrogram

    da = _pick_electrodes(_time_window(_signal(ds, variable, what="the LFP summary"), time), electrodes,
                          max_default=4)
    n = da.sizes["electrode"]
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(n, 3, figsize=(12, 1.2 + 1.8 * n), layout="constrained", sharex="col",
                                 squeeze=False, gridspec_kw={"width_ratios": (1.4, 1, 1.4)})
    else:
        fig, axes = _axes_grid(ax, n, ncols=3)
    t, lo, hi = block_envelope(da, _MAX_POINTS)  # (electrode, time)
    p = psd(da, fmax=fmax)
    p = p.isel(frequency=p["frequency"].values > 0)
    s = spectrogram(da, fmax=fmax)
    positive = s.values[s.values > 0]
    vmax = float(positive.max()) if positive.size else 1.0
    norm = mpl.colors.LogNorm(vmin=max(vmax * 1e-4, float(np.percentile(positive, 5)) if positive.size
                                       else vmax * 1e-4), vmax=vmax)
    units = da.attrs.get("units")
    mesh = None
    for i in range(n):
        a0, a1, a2 = axes[i]
        _draw_trace(a0, t, lo[i], None if lo is hi else hi[i], lw=0.6, color="k")
        a0.set_ylabel(_label("LFP", units))
        a0.set_title(_electrode_label(da, i), fontsize=9, loc="left")
        a0.margins(x=0)
        a1.semilogy(p["frequency"].values, p.isel(electrode=i).values, color="k", lw=1)
        a1.set_ylabel(_label("PSD", p.attrs.get("units")))
        mesh = a2.pcolormesh(s["time"].values, s["frequency"].values, s.isel(electrode=i).values,
                             shading="nearest", norm=norm, cmap="magma", rasterized=True)
        a2.set_ylabel("frequency (Hz)")
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("frequency (Hz)")
    axes[-1, 2].set_xlabel("time (ms)")
    fig.colorbar(mesh, ax=list(axes[:, 2]), label=_label("PSD", s.attrs.get("units")), shrink=0.8)
    fig.suptitle(f"{da.attrs.get('long_name', variable)}: traces, PSD and spectrogram by depth")
    return fig
