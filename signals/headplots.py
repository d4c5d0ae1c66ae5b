"""Figures of EEG/MEG runs: scalp topomaps and sensor layouts (dipoles: ``signals.plots``).

Each function takes ``ax=None`` and returns the matplotlib Figure.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_eeg_topomap", "plot_sensors"]


def _axes(ax, figsize=(8, 4), projection=None):
    import matplotlib.pyplot as plt

    if ax is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot(projection=projection)
    return ax.figure, ax


def _require(ds, name: str, how: str):
    if name not in ds:
        raise KeyError(f"the run has no variable {name!r} ({how})")
    return ds[name]


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
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import mne

    from signals.io import to_mne

    da = _require(ds, variable, "record it with the EEG recorder")
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


def plot_sensors(ds, *, variable: str = "eeg", ax=None):
    """Sensor positions and the network (dipole) location in the head (mm), seen from above.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Circle

    da = _require(ds, variable, "record it with the EEG or MEG recorder")
    dim = next(d for d in da.dims if d.endswith("_sensor"))
    pos = np.column_stack([ds[f"{dim}_{a}"].values for a in "xyz"]) / 1000.0  # mm
    fig, ax = _axes(ax, figsize=(5, 5))
    ax.scatter(pos[:, 0], pos[:, 1], s=25, color="tab:blue", zorder=3, label="sensors")
    for name, (x, y, _) in zip(ds[dim].values, pos, strict=True):
        ax.annotate(str(name), (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    loc = da.attrs.get("dipole_location_um")
    if loc is not None:
        loc = np.asarray(loc, dtype=float) / 1000.0
        ax.scatter([loc[0]], [loc[1]], marker="*", s=180, color="tab:red", zorder=4,
                   label=f"network, {abs(loc[2]):.0f} mm {'above' if loc[2] >= 0 else 'below'} "
                         "the centre")
    outline = np.abs(pos).max() * 1.05
    radii = da.attrs.get("head_radii_um")
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
