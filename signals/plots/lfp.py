"""Figures of laminar recordings: LFP traces, CSD, the LFP summary, electrode positions, traced variables.

Long recordings are read block by block: traces are drawn as min/max envelopes, the CSD of
bin means of the LFP (the CSD being linear, the bin means of the CSD).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.analysis.data import (
    block_envelope,
    block_mean,
    cell_table,
    electrode_axis,
    pick_electrodes,
    population_names,
    require,
    sort_electrodes,
)
from signals.plots._base import (
    _MAX_POINTS,
    _VIEWS,
    _axes,
    _axes_grid,
    _draw_trace,
    _electrode_label,
    _label,
    _probe,
    _run_colors,
    _scale_bar,
    _signal,
    _time_window,
    _unit,
    fill_doc,
    nice_value,
)

__all__ = ["electrode_view", "plot_csd", "plot_electrodes", "plot_lfp", "plot_lfp_summary", "plot_traces"]


@fill_doc
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
    %(time)s
    %(electrodes)s
    spacing : float, optional
        Vertical distance between traces (units of the variable, mV); default the largest
        peak-to-peak amplitude.
    %(population)s
    %(ax_figure)s
    """
    da = _signal(ds, variable, what="the LFP figure", population=population)
    da = pick_electrodes(_time_window(da, time), electrodes)
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


@fill_doc
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
    %(time)s
    sigma : float, optional
        Conductivity (S/m); default the LFP's ``sigma`` attribute.
    diameter : float
        iCSD source diameter (µm).
    overlay_lfp : bool, optional
        Draw each contact's LFP (scaled to the contact spacing) over the image; default when
        the drawn bins are at most 1 ms long.
    max_columns : int
        Largest number of time columns drawn.
    %(population)s
    %(ax_figure)s
    """
    from signals.analysis.csd import csd

    da = _time_window(_signal(ds, variable, what="the CSD figure", population=population), time)
    if set(da.dims) != {"time", "electrode"}:
        raise ValueError(f"plot_csd needs dims (time, electrode), got {da.dims}")
    lfp = sort_electrodes(block_mean(da, max_columns))
    c = csd(lfp, method=method, sigma=sigma, diameter=diameter)
    z = np.asarray(c["probe_position"].values, dtype=float)
    zdim = "depth" if "depth" in c.dims else "electrode"
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


@fill_doc
def plot_lfp_summary(ds, *, variable: str = "lfp", electrodes: Sequence[str] | None = None,
                     time: tuple[float, float] | None = None, fmax: float = 100.0,
                     population: str | None = None, ax=None):
    """LFP traces, PSD and spectrogram of a few electrodes at different depths (paper Fig. 7B).

    Parameters
    ----------
    %(ds_signal)s
    %(variable)s
    electrodes : sequence of str, optional
        Electrodes (default four spread over depth), one row each.
    time : (float, float), optional
        Window (ms).
    fmax : float
        Highest frequency shown (Hz).
    %(population)s
    ax : array of Axes, optional
        Shape (n_electrodes, 3).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib as mpl

    from signals.analysis.spectral import positive_frequencies, psd, spectrogram

    da = _signal(ds, variable, what="the LFP summary", population=population)
    da = pick_electrodes(_time_window(da, time), electrodes, max_default=4)
    n = da.sizes["electrode"]
    if ax is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(n, 3, figsize=(12, 1.2 + 1.8 * n), layout="constrained", sharex="col",
                                 squeeze=False, gridspec_kw={"width_ratios": (1.4, 1, 1.4)})
    else:
        fig, axes = _axes_grid(ax, n, ncols=3)
    t, lo, hi = block_envelope(da, _MAX_POINTS)  # (electrode, time)
    p = positive_frequencies(psd(da, fmax=fmax))
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


@fill_doc
def plot_electrodes(ds, *, view: str | None = None, ax=None):
    """Electrode positions among the cells' somata (NetPyNE paper Figs. 7, 8).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``electrode_x/y/z`` (µm) and, for the cells, ``cell_x/y/z``.
    view : {"xz", "xy", "yz", "zy", "zx", "yx"}, optional
        Projection plane, horizontal then vertical axis; default :func:`electrode_view`, the
        view that shows the probe along its length.
    %(ax_figure)s
    """
    from signals.validation import check_option

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


@fill_doc
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
    %(time)s
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
