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

from signals.analysis.data import (
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
    "matrix_format",
    "plot_network_2d",
    "plot_population_rate",
    "plot_psd",
    "plot_raster",
    "population_depth_order",
    "plot_rate_psd",
    "plot_rates",
    "plot_spectrogram",
    "plot_spike_correlation",
    "plot_stacked_bar",
    "plot_traces",
    "nice_value",
]

#: Colour of external sources (NetStims) in connectivity figures.
EXTERNAL_COLOR = (0.55, 0.55, 0.55, 1.0)
_MAX_POINTS = 4000  # samples per trace drawn; longer traces are drawn as min/max envelopes
_MAX_COLUMNS = 2000  # time columns of a spectrogram image
_PRETTY_UNITS = {"1": ""}
_MAX_LEGEND_LINES = 8  # more lines than this: a colormap with a colour bar, or grey + the strongest


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


def _signal(obj, variable: str, *, what: str, population: str | None = None):
    """The DataArray to plot: ``obj`` itself or ``obj[variable]`` of a run.

    A per-population variable (``lfp_population``) needs ``population``: the figures draw one
    signal per channel.
    """
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        da = obj
    else:
        require(obj, variable, what=what)
        da = obj[variable]
    if "population" in da.dims:
        names = [str(p) for p in da["population"].values]
        if population is None:
            raise ValueError(f"{variable!r} has one signal per population: choose one with "
                             f"population= (CLI: --populations NAME) among {', '.join(names)}")
        if str(population) not in names:
            raise KeyError(f"unknown population {population!r}; {variable!r} has {', '.join(names)}")
        da = da.sel(population=str(population))
        da = da.assign_attrs(long_name=f"{da.attrs.get('long_name', variable)} of population {population}")
    elif population is not None:
        raise ValueError(f"{variable!r} has no population dimension; record LFP(per_population=True) "
                         "for per-population signals")
    return da


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


def nice_value(x: float, *, up: bool = False) -> float:
    """The largest 1-2-5 value (1, 2, 5 × 10^k) not above ``x`` > 0 (``up``: smallest not below).

    Scale bars and trace scales use these, so a legend reads "0.02 mV", never "0.0311 mV".
    """
    x = float(x)
    if not (np.isfinite(x) and x > 0):
        return 1.0
    k = np.floor(np.log10(x))
    candidates = [m * 10.0**e for e in (k - 1, k, k + 1) for m in (1.0, 2.0, 5.0)]
    if up:
        return float(min(c for c in candidates if c >= x * (1 - 1e-9)))
    return float(max(c for c in candidates if c <= x * (1 + 1e-9)))


def _scale_bar(ax, x, y0, length, text):
    """A vertical scale bar from ``y0`` at ``x`` (data units), labelled on its right."""
    ax.plot([x, x], [y0, y0 + length], color="tab:red", lw=3, solid_capstyle="butt", clip_on=False)
    ax.annotate(text, (x, y0 + 0.5 * length), xytext=(5, 0), textcoords="offset points", va="center",
                fontsize=8, color="tab:red", annotation_clip=False)


def _draw_trace(ax, t, low, high, **kw):
    """One trace: the samples, or (``high`` given) the bins' min/max interleaved, an envelope."""
    if high is None:
        return ax.plot(t, low, **kw)
    return ax.plot(np.repeat(t, 2), np.stack([low, high], axis=-1).ravel(), **kw)


def plot_lfp(ds, *, variable: str = "lfp", time: tuple[float, float] | None = None,
             electrodes: Sequence[str] | None = None, spacing: float | None = None,
             population: str | None = None, ax=None):
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
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    da = _signal(ds, variable, what="the LFP figure", population=population)
    da = _pick_electrodes(_time_window(da, time), electrodes)
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
    ax.margins(x=0, y=0.02)
    # a 1-2-5 bar right of the traces, clear of the data, from the bottom row's baseline
    bar = nice_value(spacing)
    span = (t[-1] - t[0]) if t.size > 1 else 1.0
    ax.set_xlim(t[0], t[-1] + 0.015 * span)
    _scale_bar(ax, t[-1] + 0.01 * span, -0.5 * spacing, bar, f"{bar:g} {units}")
    ax.set_title(f"{da.attrs.get('long_name', da.name)}  (red bar: {bar:g} {units})")
    return fig


def population_depth_order(ds, populations: Sequence[str] | None = None) -> list[str]:
    """Populations from the most superficial down, by their cells' mean soma position.

    Depth runs along the run's probe where its electrodes lie on one line (NetPyNE: y), else
    along the coordinate axis over which the population means spread most; superficial is
    the higher coordinate (NEURON's coordinates, pia above).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with the cell table (``cell_population``, ``cell_x/y/z`` in µm).
    populations : sequence of str, optional
        Populations to order (default all).

    Returns
    -------
    list of str
        The run's order unchanged when it has no cell positions.
    """
    names = population_names(ds, populations)
    if not all(f"cell_{c}" in ds.variables for c in "xyz"):
        return names
    _, pops = cell_table(ds)
    pos = np.column_stack([np.asarray(ds[f"cell_{c}"].values, dtype=float) for c in "xyz"])
    means = {p: pos[pops == p].mean(axis=0) for p in names if np.any(pops == p)}
    if not means:
        return names
    direction = None
    if "electrode" in ds.dims and ds.sizes["electrode"] >= 2:
        try:
            direction = electrode_axis(ds).direction
        except (KeyError, ValueError):
            direction = None
    if direction is None:
        spread = np.ptp(np.array(list(means.values())), axis=0)
        direction = np.eye(3)[int(np.argmax(spread))]
    depth = {p: float(m @ direction) for p, m in means.items()}
    # stable: populations at one depth (or without cells) keep the run's order
    return sorted(names, key=lambda p: (-depth.get(p, -np.inf), names.index(p)))


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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals._validation import check_option
    from signals.analysis.data import run_window, spikes

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

    from signals.analysis.spectral import psd

    da = _pick_electrodes(_signal(ds, variable, what="the PSD figure", population=population), electrodes)
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
    from signals.analysis.spectral import sampling_rate, spectrogram, wavelet

    check_option(method, "spectrogram method", ("stft", "wavelet"))
    da = _pick_electrodes(_signal(ds, variable, what="the spectrogram", population=population), electrodes,
                          max_default=4)
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


def plot_csd(ds, *, variable: str = "lfp", method: str = "standard", time: tuple[float, float] | None = None,
             sigma: float | None = None, diameter: float = 500.0, overlay_lfp: bool | None = None,
             max_columns: int = 2000, population: str | None = None, ax=None):
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
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals.analysis.csd import csd

    da = _time_window(_signal(ds, variable, what="the CSD figure", population=population), time)
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
        shown = np.unique(np.linspace(0, zl.size - 1, min(zl.size, 16)).round().astype(int))
        gap = h * (float(np.diff(shown).mean()) if shown.size > 1 else 1.0)  # between drawn traces
        # the potential that spans one contact spacing, rounded to a 1-2-5 value for the legend
        per_h = nice_value((float(np.percentile(np.abs(vals), 99.5)) or 1.0) / (0.45 * gap / h), up=True)
        scale = h / per_h
        for k in shown:
            ax.plot(lfp["time"].values, zl[k] + vals[k] * scale, color="k", lw=0.6)
        title += (f"\nblack: LFP, {per_h:g} {_unit(da.attrs.get('units'))} per {h:.0f} µm"
                  + (f" ({shown.size} of {zl.size} contacts)" if shown.size < zl.size else ""))
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(electrode_axis(lfp).label)
    ax.set_title(title, fontsize=10)
    ax.margins(x=0)
    return fig


def matrix_format(values) -> str:
    """One number format for every cell of a matrix: fixed decimals, three significant at the largest.

    ``[0.0897, 0.002]`` → ``"{:.4f}"`` (0.0897, 0.0020); ``[12.3, 0.4]`` → ``"{:.1f}"``; a mix
    of "0.002" and "0.0897" reads as two kinds of number.
    """
    vals = np.abs(np.asarray(values, dtype=float))
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if not vals.size:
        return "{:.0f}"
    if np.all(vals == np.round(vals)) and vals.max() < 1e6:  # counts
        return "{:.0f}"
    decimals = int(np.clip(2 - np.floor(np.log10(vals.max())), 0, 6))
    # values on a coarser grid (e.g. rounded to 0.1) keep their own decimals: 0.2, not 0.200
    grid = next((k for k in range(decimals + 1)
                 if np.allclose(vals * 10**k, np.round(vals * 10**k), rtol=0, atol=1e-9)), decimals)
    return "{:.%sf}".replace("%s", str(grid))


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
        fmt = matrix_format(finite)
        mid = 0.5 * (im.norm.vmin + im.norm.vmax)
        for i in range(n_r):
            for j in range(n_c):
                v = vals[i, j]
                text = "–" if not np.isfinite(v) else "0" if v == 0 else fmt.format(v)
                dark = np.isfinite(v) and (v < mid if center is None else abs(v - center) > 0.5 * (
                    im.norm.vmax - center))
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_ylabel(da[rows].attrs.get("long_name", rows))
    ax.set_xlabel(da[cols].attrs.get("long_name", cols))
    return fig


def plot_connectivity(ds, *, feature: str | None = None, by: str = "population",
                      populations: Sequence[str] | None = None, include_external: bool = False, ax=None):
    """Connectivity matrix, presynaptic rows × postsynaptic columns (NetPyNE paper Fig. 6A).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``connection_*`` variables and the cell table.
    feature : str, optional
        ``probability``, ``count``, ``weight`` (µS), ``strength`` (µS), ``delay`` (ms),
        ``convergence`` or ``divergence`` (:func:`signals.analysis.connectivity.connectivity_matrix`);
        default ``probability`` by population, ``count`` by cell (per cell only ``count``,
        ``weight`` and ``delay`` are defined).
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

    if feature is None:
        feature = "count" if by == "cell" else "probability"
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
    res = g.attrs.get("resolution")
    fig.axes[0].set_title(f"Granger causality of population rates ({bin_size:g} ms bins, "
                          f"order ≤ {max_order})" + (
                              f"\nvalues rounded by elephant to ±{res:g}, their standard error "
                              f"1/√n for {rate.sizes['time']} bins" if res else ""), fontsize=10)
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


def plot_network_2d(ds, *, view: str | None = None, populations: Sequence[str] | None = None,
                    max_connections: int = 3000, ax=None):
    """Cells at their soma positions and their connections as lines (NetPyNE paper Fig. 6C).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with the cell table (``cell_x/y/z``, µm) and, for lines, ``connection_*``.
    view : {"xz", "xy", "yz", "zy", "zx", "yx"}, optional
        Projection plane, horizontal then vertical axis; ``xz`` shows z vertically (``xy``: y,
        NetPyNE's depth axis). Default: the view along the run's probe
        (:func:`electrode_view`) if it has one, else ``xz``.
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

    if view is None:
        has_probe = all(f"electrode_{c}" in ds.variables for c in "xyz") and ds.sizes.get("electrode", 0) > 1
        view = electrode_view(ds) if has_probe else "xz"
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
               time: tuple[float, float] | None = None, bin_size: float = 100.0, ax=None):
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
    bin_size : float
        Counting window of the Fano factor (ms).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from signals._validation import check_option
    from signals.analysis import rates

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


def plot_population_rate(ds, *, bin_size: float = 5.0, populations: Sequence[str] | None = None,
                         time: tuple[float, float] | None = None, ax=None):
    """Population firing-rate histograms over time, one panel per population (superficial on top).

    Small multiples sharing the time and rate axes: overlaid step histograms hide each other.

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
    # components share one scale, so a component that is round-off only reads as flat zero
    fig, axes = _axes_grid(ax, len(comps), figsize=(8, 1.2 + 1.6 * len(comps)), sharey=True)
    colors = _run_colors(ds)
    units = da.attrs.get("units", "nA um")
    total = {c: block_envelope(da.sel(component=[c]), _MAX_POINTS) for c in comps}  # (1, time) each
    pops = {}
    if per_pop is not None:
        pops = {c: block_envelope(per_pop.sel(component=c), _MAX_POINTS) for c in comps}
    peaks = [np.nanmax(np.abs(np.concatenate([lo, hi], axis=-1))) for _, lo, hi in
             [*total.values(), *pops.values()]]
    peak = float(max(peaks)) if peaks else 0.0
    # below a millionth of the largest component: round-off of cancelling sums (seen: 4e-9 of it)
    zero = 1e-6 * peak
    pop_names = [str(p) for p in per_pop["population"].values] if per_pop is not None else []
    pop_peak = {p: max(float(np.nanmax(np.abs(np.concatenate([pops[c][1][i], pops[c][2][i]]))))
                       for c in comps) for i, p in enumerate(pop_names)}
    for k, comp in enumerate(comps):
        a = axes[k, 0]
        for i, p in enumerate(pop_names):
            t, lo, hi = pops[comp]
            flat = pop_peak[p] <= zero
            _draw_trace(a, t, lo[i], None if lo is hi else hi[i], lw=0.7, color=colors.get(p, None),
                        ls=(0, (4, 2 + 2 * i)) if flat else "-",  # dashed: stacked zeros stay visible
                        label=f"{p} (numerically zero)" if flat else p)
        t, lo, hi = total[comp]
        _draw_trace(a, t, lo[0], None if lo is hi else hi[0], lw=1.0, color="k", label="total")
        comp_peak = float(np.nanmax(np.abs(np.concatenate([lo[0], hi[0]]))))
        if comp_peak <= zero:
            a.text(0.5, 0.85, f"p{comp} is numerically zero (|p{comp}| ≤ {comp_peak:.1g} {_unit(units)})",
                   transform=a.transAxes, ha="center", fontsize=9,
                   bbox=dict(facecolor="white", alpha=0.8, lw=0))
        a.set_ylabel(_label(f"p{comp}", units))
        a.margins(x=0)
    axes[0, 0].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes[-1, 0].set_xlabel("time (ms)")
    fig.suptitle(da.attrs.get("long_name", "current dipole moment"))
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
    from signals.analysis.spectral import coherence

    da = _pick_electrodes(_signal(ds, variable, what="the coherence figure", population=population),
                          electrodes)
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

    da = _depth_sorted(_signal(ds, variable, what="the band-power figure", population=population))
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


def plot_lfp_summary(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmax: float = 100.0,
                     population: str | None = None, ax=None):
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
    population : str, optional
        For a per-population variable (``lfp_population``): the population drawn.
    ax : array of Axes, optional
        Shape (n_electrodes, 3).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import psd, spectrogram

    da = _signal(ds, variable, what="the LFP summary", population=population)
    da = _pick_electrodes(_time_window(da, time), electrodes, max_default=4)
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
        a2.set_xlim(t[0], t[-1])
    axes[-1, 0].set_xlabel("time (ms)")
    axes[-1, 1].set_xlabel("frequency (Hz)")
    axes[-1, 2].set_xlabel("time (ms)")
    axes[0, 2].set_title(f"{s.attrs['nperseg'] * 1000 / s.attrs['sampling_rate']:.3g} ms windows, "
                         f"{s.attrs['frequency_resolution']:.3g} Hz resolution", fontsize=8)
    fig.colorbar(mesh, ax=list(axes[:, 2]), label=_label("PSD", s.attrs.get("units")), shrink=0.8)
    fig.suptitle(f"{da.attrs.get('long_name', variable)}: traces, PSD and spectrogram by depth")
    return fig
