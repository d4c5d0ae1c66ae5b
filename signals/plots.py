"""Figures from run files: each function takes ``ax=None`` and returns the Figure."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["population_colors", "plot_lfp", "plot_raster", "plot_traces"]


def population_colors(populations: Sequence[str]) -> dict[str, tuple]:
    """One colour per population, stable across figures of the same run."""
    import matplotlib as mpl

    cmap = mpl.colormaps["tab10"]
    return {str(p): cmap(i % 10) for i, p in enumerate(populations)}


def _axes(ax, figsize=(8, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def _time_window(da, time: tuple[float, float] | None):
    return da if time is None else da.sel(time=slice(*time))


def plot_lfp(ds, *, variable: str = "lfp", time: tuple[float, float] | None = None,
             spacing: float | None = None, ax=None):
    """LFP traces stacked by electrode depth (``electrode_z``, µm).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` of dims (time, electrode).
    variable : str
        Name of the potential variable (mV).
    time : (float, float), optional
        Time window (ms).
    spacing : float, optional
        Vertical distance between traces (mV); default: the largest peak-to-peak amplitude.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if variable not in ds:
        raise KeyError(f"the run has no variable {variable!r}; it has {sorted(ds.data_vars)}")
    da = _time_window(ds[variable], time).load()
    data = da.transpose("time", "electrode").values
    units = da.attrs.get("units", "")
    if spacing is None:
        ptp = np.ptp(data, axis=0)
        spacing = float(ptp.max()) if ptp.size and ptp.max() > 0 else 1.0
    depth = ds["electrode_z"].values if "electrode_z" in ds else np.arange(data.shape[1])
    order = np.argsort(depth)  # deepest at the bottom
    fig, ax = _axes(ax)
    t = da["time"].values
    for k, i in enumerate(order):
        ax.plot(t, data[:, i] - data[:, i].mean() + k * spacing, lw=0.7, color="k")
    ax.set_yticks(np.arange(len(order)) * spacing)
    ax.set_yticklabels([f"{depth[i]:.0f}" for i in order])
    ax.set_ylabel("electrode z (µm)")
    ax.set_xlabel("time (ms)")
    ax.set_title(f"{da.attrs.get('long_name', variable)}; scale bar {spacing:.3g} {units}")
    x0 = t[0] + 0.01 * (t[-1] - t[0]) if t.size else 0
    ax.plot([x0, x0], [-0.5 * spacing, 0.5 * spacing], color="tab:red", lw=3)
    ax.margins(x=0)
    return fig


def plot_raster(ds, *, time: tuple[float, float] | None = None, ax=None):
    """Spike raster, cells sorted by gid and coloured by population.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if "spike_time" not in ds:
        raise KeyError("the run has no spikes (record with the Spikes recorder)")
    t = ds["spike_time"].values
    gid = ds["spike_gid"].values
    if time is not None:
        keep = (t >= time[0]) & (t <= time[1])
        t, gid = t[keep], gid[keep]
    fig, ax = _axes(ax)
    if "cell_population" in ds:
        pops = [str(p) for p in ds["population"].values]
        colors = population_colors(pops)
        cell_pop = dict(zip(ds["cell"].values.tolist(),
                            (str(p) for p in ds["cell_population"].values), strict=True))
        spk_pop = np.array([cell_pop.get(int(g), "") for g in gid])
        for p in pops:
            sel = spk_pop == p
            ax.scatter(t[sel], gid[sel], s=2, color=colors[p], label=p, marker="|")
        ax.legend(loc="upper right", markerscale=4, frameon=False, title="population")
    else:
        ax.scatter(t, gid, s=2, color="k", marker="|")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("cell gid")
    ax.set_title(f"spike raster ({t.size} spikes)")
    return fig


def plot_traces(ds, *, variable: str = "v", time: tuple[float, float] | None = None, ax=None):
    """Membrane potential (or other traced variable) of the recorded cells, one line each.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if variable not in ds:
        raise KeyError(f"the run has no variable {variable!r} (record it with Traces)")
    da = _time_window(ds[variable], time)
    dim = next(d for d in da.dims if d != "time")
    fig, ax = _axes(ax, figsize=(8, 3))
    for gid in da[dim].values:
        ax.plot(da["time"].values, da.sel({dim: gid}).values, lw=0.8, label=f"gid {gid}")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{da.attrs.get('long_name', variable)} ({da.attrs.get('units', '')})")
    ax.legend(loc="upper right", frameon=False)
    return fig
