"""Helpers shared by the figure modules of :mod:`signals.plots` (private to that package).

Axes and grids, unit labels, min/max envelopes of long traces, colours, scale values and the
constants of screen resolution live here, once; the figure modules import them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from signals.analysis.data import electrode_axis, population_names, require, select_time

#: Parameter descriptions shared by the figures' docstrings, filled in by :func:`fill_doc`.
DOCS = {
    "ds_signal": "ds : xarray.Dataset or xarray.DataArray\n"
                 "    A run with ``variable`` (time, electrode), or that DataArray.",
    "ds_spikes": "ds : xarray.Dataset\n    A run with spikes and the cell table.",
    "populations": "populations : sequence of str, optional\n    Populations shown.",
    "population": "population : str, optional\n    For a per-population variable "
                  "(``lfp_population``): the population drawn.",
    "time": "time : (float, float), optional\n    Time window (ms).",
    "electrodes": "electrodes : sequence of str, optional\n    Electrode labels (default all).",
    "ax_figure": "ax : matplotlib Axes, optional\n\nReturns\n-------\nmatplotlib.figure.Figure",
    "ax_panels": "ax : sequence of Axes, optional\n    One per electrode.\n\nReturns\n-------\n"
                 "matplotlib.figure.Figure",
    "variable": "variable : str\n    Signal variable.",
}
_PLACEHOLDER = re.compile(r"^( *)%\((\w+)\)s$", re.MULTILINE)


def fill_doc(func):
    """Replace each docstring line holding only a ``DOCS`` key in ``%(key)s`` form by that
    entry, indented as the line (MNE's ``fill_doc``, with no other ``%`` formatting)."""

    def expand(match: re.Match) -> str:
        indent = match.group(1)
        return "\n".join(indent + line if line else "" for line in DOCS[match.group(2)].split("\n"))

    func.__doc__ = _PLACEHOLDER.sub(expand, func.__doc__)
    return func


#: Colour of external sources (NetStims) in connectivity figures.
EXTERNAL_COLOR = (0.55, 0.55, 0.55, 1.0)
_MAX_POINTS = 4000  # samples per trace drawn; longer traces are drawn as min/max envelopes
_MAX_COLUMNS = 2000  # time columns of a spectrogram image
_MAX_WAVELET_COLUMNS = 1500  # time columns of a wavelet image (every step-th sample kept)
_PRETTY_UNITS = {"1": ""}
_MAX_LEGEND_LINES = 8  # more lines than this: a colormap with a colour bar, or grey + the strongest
#: Projection planes of the electrode and network figures: name → (horizontal, vertical) axis.
_VIEWS = {v: (v[0], v[1]) for v in ("xz", "xy", "yz", "zy", "zx", "yx")}


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

def electrode_colors(labels: Sequence[str]) -> dict[str, tuple]:
    """One colour per electrode of a run, the same in every concentration figure.

    Parameters
    ----------
    labels : sequence of str
        All the run's electrode labels, in its order (``ds.electrode``).

    Returns
    -------
    dict of str to RGBA tuple
        ``tab10`` for up to 10 electrodes, else viridis without its pale yellow end.
    """
    import matplotlib as mpl

    n = len(labels)
    cmap = mpl.colormaps["tab10"] if n <= 10 else None
    colors = [cmap(i) for i in range(n)] if cmap else list(mpl.colormaps["viridis"](np.linspace(0, 0.75, n)))
    return {str(lab): tuple(c) for lab, c in zip(labels, colors, strict=True)}

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
    """``(figure, ax)``: ``ax`` and its figure, or a new figure of ``figsize`` (in) with one Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax

def _axes_grid(ax, n: int, *, ncols: int = 1, figsize=(8, 5), sharex=True, sharey=False):
    """``(figure, axes)`` with ``axes`` of shape (n, ncols): the Axes given, or a new grid of them."""
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

def _psd_axes_common(ax, p, fmin):
    """Log power axis with its unit, frequency axis from the first positive bin (or ``fmin``)."""
    ax.set_yscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel(_label("power spectral density", p.attrs.get("units")))
    f = p["frequency"].values
    ax.set_xlim(f[0] if fmin is not None else f[f > 0][0] if np.any(f > 0) else f[0], f[-1])
