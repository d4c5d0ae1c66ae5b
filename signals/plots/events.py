"""Figures of event-related averages: the mean of a signal around event times, with its
bootstrap confidence band, stacked by electrode depth.

They draw what :mod:`signals.analysis.events` computes. Run files do not hold stimulus times:
the events are times given by the user (ms), or the spikes of some populations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.analysis.data import pick_electrodes
from signals.plots import _stacked
from signals.plots._base import _axes, _run_colors, _signal, _unit, fill_doc

__all__ = ["plot_erp"]


@fill_doc
def plot_erp(ds, events: Sequence[float] | None = None, *, event_populations: Sequence[str] | None = None,
             variable: str = "lfp", window: tuple[float, float] = (-20.0, 50.0),
             baseline: tuple[float, float] | None = None, electrodes: Sequence[str] | None = None,
             n_boot: int = 1000, ci: float = 0.95, rng=0, time: tuple[float, float] | None = None,
             population: str | None = None, ax=None):
    """Event-related average of a signal per electrode, with its bootstrap confidence band.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` (and spikes, for ``event_populations``).
    events : sequence of float, optional
        Event times (ms), e.g. stimulus onsets.
    event_populations : sequence of str, optional
        Instead of ``events``: the spikes of these populations are the events
        (:func:`signals.analysis.events.event_times`).
    variable : str
        Signal variable sampled in time (``lfp``, mV; ``eeg``; ``dipole``, nA·µm).
    window : (float, float)
        Window around each event (ms).
    baseline : (float, float), optional
        Lags (ms) whose mean is subtracted from each window; without it each average is
        centred on its mean over the window (the band moves with it).
    %(electrodes)s
    n_boot : int >= 0
        Bootstrap resamples (0: no band).
    ci : float in (0, 1)
        Confidence level of the band.
    rng : int or numpy.random.Generator, optional
        Seed of the resampling (default 0: the same figure every time).
    time : (float, float), optional
        Only the signal and events in this window (ms).
    %(population)s
    %(ax_figure)s

    Raises
    ------
    ValueError
        If neither or both of ``events`` and ``event_populations`` are given, or no event has
        a full window.
    """
    from signals.analysis.events import event_average, event_times

    if (events is None) == (event_populations is None):
        raise ValueError("the event-related average needs events: times (ms) or event_populations "
                         "(CLI: --times T,... or --events POP,...), not both")
    if event_populations is not None:
        event_populations = [str(p) for p in event_populations]
        times = event_times(ds, populations=event_populations, time=time)
        source = f"spikes of {', '.join(event_populations)}"
    else:
        times = np.asarray(events, dtype=float)
        source = "given times"
    da = pick_electrodes(_signal(ds, variable, what="the event-related average", population=population),
                         electrodes)
    erp = event_average(da, times, window=window, baseline=baseline, n_boot=n_boot, ci=ci, rng=rng,
                        time=time)
    mean = erp["mean"]
    dim = _stacked.channel_dim(mean, ("lag",))
    n, labels, ylabel = _stacked.rows(mean, dim)
    lag = mean["lag"].values

    def as_rows(v):
        return np.asarray(v.values, dtype=float).reshape(n, lag.size)

    m = as_rows(mean)
    shift = np.zeros((n, 1)) if baseline is not None else m.mean(axis=-1, keepdims=True)
    m = m - shift
    band = (as_rows(erp["ci_low"]) - shift, as_rows(erp["ci_high"]) - shift) if "ci_low" in erp else None
    spacing = _stacked.spacing_of(np.concatenate([m, *band], axis=-1) if band else m)
    colors = _run_colors(ds)
    color = colors.get(event_populations[0], "C0") if event_populations and len(event_populations) == 1 \
        else "C0"
    fig, ax = _axes(ax, figsize=(7.5, max(4.0, 0.5 * n + 1.5)))
    for i in range(n):
        y = (n - 1 - i) * spacing
        if band:
            ax.fill_between(lag, band[0][i] + y, band[1][i] + y, color=color, alpha=0.3, lw=0,
                            label=f"{ci:.0%} bootstrap CI" if i == 0 else None)
        ax.plot(lag, m[i] + y, color="k" if band else color, lw=0.9, label="mean" if i == 0 else None)
    bar = _stacked.finish(ax, lag, n, spacing, labels, ylabel, mean.attrs.get("units"))
    if baseline is not None:
        ax.axvspan(*baseline, color="0.9", zorder=-1, lw=0, label="baseline")
    ax.set_xlabel("time relative to the event (ms)")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), borderaxespad=0.2)
    n_ev, dropped = int(erp["n_events"]), int(erp["n_dropped"])
    note = f"{n_ev} events ({source})" + (f", {dropped} too close to the ends left out" if dropped else "")
    how = "baseline subtracted" if baseline is not None else "each trace minus its mean"
    ax.set_title(f"event-related average of {da.attrs.get('long_name', da.name)}\n{note}\n"
                 + (f"band: {n_boot} bootstrap resamples; " if band else "")
                 + f"{how}; red bar {bar:g} {_unit(mean.attrs.get('units'))}", fontsize=9)
    return fig
