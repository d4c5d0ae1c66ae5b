"""Averages around events stacked by channel, deepest at the bottom (private to :mod:`signals.plots`).

Shared by the spike-triggered LFP (:func:`signals.plots.plot_stlfp`) and the event-related
average (:func:`signals.plots.plot_erp`): one row per channel, the channel's traces centred
on their mean over the window, a 1-2-5 scale bar right of the traces.
"""

from __future__ import annotations

import numpy as np

from signals.plots._base import _probe, _scale_bar, _unit, nice_value


def channel_dim(da, skip) -> str | None:
    """The one dimension of ``da`` besides ``skip`` (None: a single channel)."""
    rest = [d for d in da.dims if d not in skip]
    if len(rest) > 1:
        raise ValueError(f"one channel dimension is drawn, got {rest}; select first (e.g. electrodes=)")
    return rest[0] if rest else None


def rows(da, dim: str | None):
    """(number of rows, tick labels top to bottom, y-axis label) of the channels of ``da``."""
    if dim is None:
        return 1, [str(da.name or "signal")], ""
    axis = _probe(da) if dim == "electrode" else None
    n = da.sizes[dim]
    if axis is not None:
        return n, [f"{v + 0.0:.0f}" for v in axis.position], axis.label
    return n, [str(v) for v in da[dim].values], dim


def spacing_of(values: np.ndarray) -> float:
    """Row spacing: the largest peak-to-peak of the traces (their last axis), 1 if all are flat."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or not np.isfinite(v).any():
        return 1.0
    ptp = np.nanmax(v, axis=-1) - np.nanmin(v, axis=-1)
    top = float(np.nanmax(ptp)) if np.isfinite(ptp).any() else 0.0
    return top if top > 0 else 1.0


def finish(ax, lag, n: int, spacing: float, labels, ylabel: str, units, *, zero_line: bool = True):
    """Ticks, labels, the line at lag 0 and the scale bar of a stacked figure; returns the bar (units)."""
    ax.set_yticks((n - 1 - np.arange(n)) * spacing)
    ax.set_yticklabels(labels)
    ax.set_ylabel(ylabel or "channel")
    if zero_line:
        ax.axvline(0.0, color="0.6", lw=0.8, ls=":", zorder=0)
    span = float(lag[-1] - lag[0]) if len(lag) > 1 else 1.0
    ax.set_xlim(float(lag[0]), float(lag[-1]) + 0.06 * span)
    ax.set_ylim(-0.8 * spacing, (n - 1) * spacing + 0.8 * spacing)
    bar = nice_value(spacing)
    _scale_bar(ax, float(lag[-1]) + 0.01 * span, -0.5 * spacing, bar, f"{bar:g} {_unit(units)}")
    return bar
