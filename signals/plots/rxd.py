"""Figures of ion concentrations recorded from ``neuron.rxd`` models.

- :func:`plot_concentration`: concentration traces per electrode (or per cell), mM against ms;
- :func:`plot_concentration_slice`: a 2-D slice of the extracellular grid at one time, with µm
  axes (from grid snapshots, e.g. :func:`signals.recorders.concentration.grid_snapshot`);
- :func:`plot_concentration_lfp`: the concentration at one electrode next to its LFP.

Electrodes keep one colour across these figures (:func:`signals.plots.electrode_colors`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.analysis.data import block_envelope, require, select_time
from signals.plots._base import _MAX_POINTS, _axes, _draw_trace, _unit, electrode_colors, fill_doc

__all__ = ["plot_concentration", "plot_concentration_lfp", "plot_concentration_slice"]


#: Slices of the concentration grid: view → (horizontal, vertical, normal) axis.
_SLICES = {"xy": ("x", "y", "z"), "xz": ("x", "z", "y"), "yz": ("y", "z", "x")}


def _array(obj, variable: str, what: str):
    import xarray as xr

    if isinstance(obj, xr.DataArray):
        return obj
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"{what} needs a run (xarray.Dataset) or a DataArray, got {type(obj).__name__}")
    require(obj, variable, what=what,
            hint="record it with signals.recorders.concentration (Concentration, "
                 "IntracellularConcentration) or add grid snapshots")
    return obj[variable]


_IONS = {"k": "K⁺", "na": "Na⁺", "ca": "Ca²⁺", "cl": "Cl⁻", "h": "H⁺"}


def _pretty(text: str) -> str:
    """Species as chemists write them: ``ko`` → ``[K⁺]o``, "extracellular k" → "extracellular K⁺"."""
    import re

    text = str(text)
    m = re.fullmatch(r"(k|na|ca|cl|h)(o|i)(_grid)?", text)
    if m:
        return f"[{_IONS[m.group(1)]}]{m.group(2)}"
    return re.sub(r"\b(extracellular|intracellular|cytosolic) (k|na|ca|cl|h)\b",
                  lambda g: f"{g.group(1)} {_IONS[g.group(2)]}", text)


def _units(da) -> str:
    """The variable's unit as an axis shows it; "?" when it states none."""
    return _unit(da.attrs.get("units", "")) or "?"


def _column_dim(da) -> str:
    other = [d for d in da.dims if d != "time"]
    if "time" not in da.dims or len(other) != 1:
        raise ValueError(f"expected dims (time, electrode) or (time, <cell dim>), got {da.dims}")
    return other[0]


def _labels(da, dim: str) -> list[str]:
    names = [str(v) for v in da[dim].values]
    zc = f"{dim}_z"
    if zc in da.coords:
        return [f"{n} (z = {float(z) + 0.0:.0f} µm)" for n, z in zip(names, da[zc].values, strict=True)]
    if dim.endswith("cell"):
        return [f"cell {n}" for n in names]
    return names


def _select(da, dim: str, wanted: Sequence | None):
    if wanted is None:
        return da
    have = [str(v) for v in da[dim].values]
    keys = [str(w) for w in wanted]
    unknown = [k for k in keys if k not in have]
    if unknown:
        raise KeyError(f"unknown {dim} label(s) {unknown}; the run has {have}")
    return da.isel({dim: [have.index(k) for k in keys]})


@fill_doc
def plot_concentration(ds, *, variable: str = "ko", electrodes: Sequence[str] | None = None,
                       time: tuple[float, float] | None = None, ax=None):
    """Concentration traces, one per electrode (or per cell), in mM against time in ms.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        A run holding ``variable`` with dims (time, electrode) — e.g. ``ko`` from
        :class:`~signals.recorders.concentration.Concentration` — or (time, ``<name>_cell``)
        from :class:`~signals.recorders.concentration.IntracellularConcentration`; or that
        DataArray.
    variable : str
        Name of the concentration variable (mM).
    electrodes : sequence of str, optional
        Labels to show along the second dim (electrode names, or cell gids); default all.
    %(time)s
    %(ax_figure)s
    """
    da = _array(ds, variable, "the concentration figure")
    dim = _column_dim(da)
    palette = electrode_colors([str(v) for v in da[dim].values])  # before selecting: stable colours
    da = select_time(_select(da, dim, electrodes), time)
    if da.sizes["time"] == 0:
        raise ValueError(f"no samples in the time window {time} ms")
    zc = f"{dim}_z"
    if zc in da.coords:  # surface (highest z) first, as in the LFP figures
        da = da.isel({dim: np.argsort(-np.asarray(da[zc].values, dtype=float), kind="stable")})
    t, low, high = block_envelope(da.transpose(dim, "time"), _MAX_POINTS)
    fig, ax = _axes(ax, (8, 4.5))
    names = [str(v) for v in da[dim].values]
    for k, label in enumerate(_labels(da, dim)):
        _draw_trace(ax, t, low[k], None if low is high else high[k], color=palette[names[k]], lw=1.2,
              label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"{_pretty(da.attrs.get('long_name', variable))} ({_units(da)})")
    ax.set_title(f"{_pretty(da.name or variable)} per "
                 f"{'cell' if dim.endswith('cell') else dim.replace('_', ' ')}")
    ax.margins(x=0)
    ax.legend(fontsize="small", ncols=2 if da.sizes[dim] > 6 else 1, loc="best")
    return fig


def _grid_at(grid, time: float | None):
    """The (x, y, z) grid at the snapshot nearest ``time`` (ms), and that snapshot's time."""
    tdim = [d for d in grid.dims if d not in ("x", "y", "z")]
    if set(grid.dims) - set(tdim) != {"x", "y", "z"} or len(tdim) > 1:
        raise ValueError(f"expected a grid with dims (x, y, z) or (<snapshot>, x, y, z), got {grid.dims}")
    if not tdim:
        t = grid.coords.get("snapshot_time")
        return grid, None if t is None else float(t)
    times = np.asarray(grid[tdim[0]].values, dtype=float)
    if times.size == 0:
        raise ValueError("the grid has no snapshots")
    i = times.size - 1 if time is None else int(np.argmin(np.abs(times - float(time))))
    if time is not None and times.size > 1 and abs(times[i] - time) > np.max(np.diff(times)):
        raise ValueError(f"no grid snapshot near t = {time} ms (snapshots from {times[0]:g} to "
                         f"{times[-1]:g} ms)")
    return grid.isel({tdim[0]: i}), float(times[i])


@fill_doc
def plot_concentration_slice(grid, *, variable: str = "ko_grid", time: float | None = None,
                             view: str = "xy", position: float | None = None,
                             electrodes: bool = True, vmin: float | None = None,
                             vmax: float | None = None, ax=None):
    """A 2-D slice of the extracellular concentration grid at one time, as a heatmap (µm axes).

    Parameters
    ----------
    grid : xarray.Dataset or xarray.DataArray
        A run holding ``variable`` with dims (``<name>_snapshot``, x, y, z) (from
        ``Concentration(..., snapshot_every=...)``), or a DataArray with dims (x, y, z) (e.g.
        from :func:`signals.recorders.concentration.grid_snapshot`) or (snapshot_time, x, y, z);
        ``x``, ``y``, ``z`` are voxel centres (µm) and snapshot times in ms.
    variable : str
        Name of the grid variable in a run (mM).
    time : float, optional
        Time (ms) of the snapshot to show (the nearest one); default the last.
    view : {"xy", "xz", "yz"}
        Plane of the slice (horizontal axis first).
    position : float, optional
        Position (µm) of the slice along the third axis (the voxel layer containing it);
        default the layer holding the grid's maximum at that time.
    electrodes : bool
        Mark the electrodes of a run (``electrode_x/y/z``) that lie in the voxel layer shown.
    vmin, vmax : float, optional
        Colour range (mM); default the slice's range.
    %(ax_figure)s
    """
    import xarray as xr

    if view not in _SLICES:
        raise ValueError(f"unknown view {view!r}; expected one of {', '.join(map(repr, _SLICES))}")
    da = _array(grid, variable, "the concentration slice figure")
    da, t = _grid_at(da, time)
    hx, vy, nz = _SLICES[view]
    centres = np.asarray(da[nz].values, dtype=float)
    step = float(np.median(np.diff(centres))) if centres.size > 1 else 1.0
    if position is None:
        layer = int(np.unravel_index(int(np.argmax(da.values)), da.shape)[da.dims.index(nz)])
    else:  # the voxel layer containing the position (a position on a face: the upper layer, as rxd)
        lo, hi = centres[0] - step / 2, centres[-1] + step / 2
        if not lo - 1e-9 * step <= float(position) <= hi + 1e-9 * step:
            raise ValueError(f"{nz} = {position} µm is outside the grid ({lo:g} to {hi:g} µm)")
        layer = int(np.clip(np.floor((float(position) - lo) / step), 0, centres.size - 1))
    plane = da.isel({nz: layer}).transpose(vy, hx)
    fig, ax = _axes(ax, (6.5, 5.5))

    def edges(c):
        c = np.asarray(c, dtype=float)
        d = float(np.median(np.diff(c))) if c.size > 1 else step
        return np.concatenate([c - d / 2, [c[-1] + d / 2]])

    mesh = ax.pcolormesh(edges(plane[hx].values), edges(plane[vy].values), plane.values,
                         cmap="magma", vmin=vmin, vmax=vmax, shading="flat")
    units = _units(da)
    fig.colorbar(mesh, ax=ax, label=f"{_pretty(da.attrs.get('long_name', da.name))} ({units})")
    if electrodes and isinstance(grid, xr.Dataset) and {"electrode_x", "electrode_y", "electrode_z"} <= \
            set(grid.variables):
        pos = {a: np.asarray(grid[f"electrode_{a}"].values, dtype=float) for a in "xyz"}
        near = np.abs(pos[nz] - centres[layer]) <= 0.5 * step + 1e-9
        if near.any():
            ax.plot(pos[hx][near], pos[vy][near], "o", mfc="none", mec="cyan", mew=1.5, ms=8,
                    label="electrode")
            for name, x, y in zip(np.asarray(grid["electrode"].values)[near], pos[hx][near], pos[vy][near],
                                  strict=True):
                ax.annotate(str(name), (x, y), xytext=(5, 5), textcoords="offset points", color="cyan",
                            fontsize="small")
    ax.set_aspect("equal")
    ax.set_xlabel(f"{hx} (µm)")
    ax.set_ylabel(f"{vy} (µm)")
    when = "" if t is None else f"t = {t:g} ms, "
    ax.set_title(f"{_pretty(da.name or variable)}: {when}{nz} = {centres[layer]:g} µm "
                 f"(voxel layer {centres[layer] - step / 2:g} to {centres[layer] + step / 2:g} µm)",
                 fontsize="medium")
    return fig


@fill_doc
def plot_concentration_lfp(ds, electrode: str | None = None, *, concentration: str = "ko",
                           lfp: str = "lfp", time: tuple[float, float] | None = None, ax=None):
    """Concentration (mM) at one electrode above its LFP (mV), on a shared time axis (ms).

    Parameters
    ----------
    ds : xarray.Dataset
        A run holding ``concentration`` and ``lfp``, both (time, electrode) on the same probe.
    electrode : str, optional
        Electrode label; default the one whose concentration changes most over the run.
    concentration, lfp : str
        Variable names (mM and mV).
    %(time)s
    ax : sequence of 2 matplotlib Axes, optional
        Concentration panel, then LFP panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    require(ds, concentration, lfp, what="the concentration-and-LFP figure")
    conc, pot = ds[concentration], ds[lfp]
    for da in (conc, pot):
        if set(da.dims) != {"time", "electrode"}:
            raise ValueError(f"{da.name} must have dims (time, electrode), got {da.dims}")
    labels = [str(e) for e in conc["electrode"].values]
    if electrode is None:
        change = np.abs((conc.isel(time=-1) - conc.isel(time=0)).values)
        electrode = labels[int(np.argmax(change))]
    if str(electrode) not in labels or str(electrode) not in [str(e) for e in pot["electrode"].values]:
        raise KeyError(f"unknown electrode {electrode!r}; the run has {labels}")
    conc = select_time(conc.sel(electrode=str(electrode)), time)
    pot = select_time(pot.sel(electrode=str(electrode)), time)
    if conc.sizes["time"] == 0:
        raise ValueError(f"no samples in the time window {time} ms")
    if ax is None:
        fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, layout="constrained",
                                 height_ratios=(1, 1.3))
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != 2:
            raise ValueError(f"this figure needs 2 axes, got {len(axes)}")
        fig = axes[0].figure
    where = str(electrode)
    if "electrode_z" in conc.coords:
        where += f" (z = {float(conc['electrode_z']) + 0.0:.0f} µm)"
    color = electrode_colors(labels)[str(electrode)]  # the electrode's colour in plot_concentration
    for axis, da, c in ((axes[0], conc, color), (axes[1], pot, "k")):
        t, low, high = block_envelope(da.expand_dims("one").transpose("one", "time"), _MAX_POINTS)
        _draw_trace(axis, t, low[0], None if low is high else high[0], color=c,
              lw=1.0 if axis is axes[0] else 0.6)
        axis.set_ylabel(f"{_pretty(da.attrs.get('long_name', da.name))}\n({_units(da)})")
        axis.margins(x=0)
    axes[1].set_xlabel("time (ms)")
    axes[0].set_title(f"{_pretty(concentration)} and {lfp} at electrode {where}")
    return fig
