"""Figures of what the head sees: the current dipole moment, scalp (EEG) topomaps, sensor layouts.

The dipole is the source of the EEG and MEG forward models (:mod:`signals.head`), so its figure
lives with theirs.
"""

from __future__ import annotations

import numpy as np

from signals.analysis.data import block_envelope, require
from signals.plots._base import (
    _MAX_POINTS,
    _axes,
    _axes_grid,
    _draw_trace,
    _label,
    _run_colors,
    _signal,
    _time_window,
    _unit,
    fill_doc,
)

__all__ = ["plot_dipole", "plot_eeg_topomap", "plot_sensors"]


@fill_doc
def plot_dipole(ds, *, variable: str = "dipole", time: tuple[float, float] | None = None,
                populations: bool = True, ax=None):
    """Current dipole moment, one panel per component; per population where recorded.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` (time, component) in nA·µm (and ``<variable>_population``).
    variable : str
        Dipole variable.
    %(time)s
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


@fill_doc
def plot_eeg_topomap(ds, *, t: float | None = None, variable: str = "eeg", ax=None):
    """Scalp map of the EEG (µV) at time ``t`` (ms), drawn by MNE.

    Parameters
    ----------
    ds : xarray.Dataset
        A run recorded with :class:`signals.recorders.EEG`.
    t : float, optional
        Time (ms); default: the time of the largest absolute EEG value.
    variable : str
        The EEG variable.
    %(ax_figure)s
    """
    import mne

    from signals.io import to_mne

    require(ds, variable, what="the topomap", hint="record it with the EEG recorder")
    da = ds[variable]
    values = da.values
    if t is None:
        k = int(np.unravel_index(np.abs(values).argmax(), values.shape)[0])
    else:
        k = int(np.abs(ds["time"].values - t).argmin())
    t_k = float(ds["time"].values[k])
    raw = to_mne(ds, variable)
    fig, ax = _axes(ax, figsize=(4.5, 4))
    im, _ = mne.viz.plot_topomap(values[k] * 1e3, raw.info, axes=ax, show=False, cmap="RdBu_r",
                                 contours=6, sphere=None)
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label("EEG (µV)")
    ax.set_title(f"EEG at t = {t_k:g} ms")
    return fig


@fill_doc
def plot_sensors(ds, *, variable: str = "eeg", ax=None):
    """Sensor positions and the network (dipole) location in the head (mm), seen from above.

    Parameters
    ----------
    ds : xarray.Dataset
        A run recorded with :class:`signals.recorders.EEG` or :class:`signals.recorders.MEG`:
        ``variable`` over a ``<name>_sensor`` dimension with ``<name>_sensor_x/y/z`` (µm).
    variable : str
        The EEG or MEG variable.
    %(ax_figure)s
    """
    from matplotlib.patches import Circle

    require(ds, variable, what="the sensor figure", hint="record it with the EEG or MEG recorder")
    da = ds[variable]
    dim = next(d for d in da.dims if d.endswith("_sensor"))
    pos = np.column_stack([ds[f"{dim}_{a}"].values for a in "xyz"]) / 1000.0  # mm
    fig, ax = _axes(ax, figsize=(5, 5))
    ax.scatter(pos[:, 0], pos[:, 1], s=25, color="tab:blue", zorder=3, label="sensors")
    for name, (x, y, _) in zip(ds[dim].values, pos, strict=True):
        ax.annotate(str(name), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    # (the *_um names: run files of signals 0.1)
    loc = da.attrs.get("dipole_location", da.attrs.get("dipole_location_um"))
    if loc is not None:
        loc = np.asarray(loc, dtype=float) / 1000.0
        ax.scatter([loc[0]], [loc[1]], marker="*", s=180, color="tab:red", zorder=4,
                   label=f"network, {abs(loc[2]):.0f} mm {'above' if loc[2] >= 0 else 'below'} "
                         "the centre")
    outline = np.abs(pos).max() * 1.05
    radii = da.attrs.get("head_radii", da.attrs.get("head_radii_um"))
    if radii is not None:
        outline = float(np.max(radii)) / 1000.0
    ax.add_patch(Circle((0, 0), outline, fill=False, lw=0.8, color="0.5"))
    ax.plot([-0.08 * outline, 0, 0.08 * outline], [0.99 * outline, 1.08 * outline, 0.99 * outline],
            color="0.5", lw=0.8)  # nose
    ax.set_aspect("equal")
    ax.set_xlabel("x, left → right ear (mm)")
    ax.set_ylabel("y, back → nose (mm)")
    ax.set_title(f"{variable.upper()} sensors, top view (head frame)")
    ax.legend(loc="upper left", frameon=False, fontsize=8, bbox_to_anchor=(0.0, -0.1), ncols=2)
    ax.set_xlim(-1.15 * outline, 1.15 * outline)
    ax.set_ylim(-1.15 * outline, 1.15 * outline)
    return fig
