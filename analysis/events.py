"""Event-related averages of signals with bootstrap confidence intervals; smoothed population rates.

Events are times in ms: given by the user (e.g. stimulus onsets), or the spikes of some
populations (:func:`event_times`). Run files do not store the event times of the network's
``NetStim`` inputs (the ``Connections`` recorder lists their NetCons, with presynaptic gid -1,
but no recorder records their events), so stimulus times must be given by the user.

Any signal sampled in time works: ``ds.lfp`` (mV), ``ds.eeg``, ``ds.dipole`` (nA µm),
``ds.lfp_population``; every dimension other than ``time`` is kept (also a ``run`` dimension of
:func:`signals.open_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from signals.analysis._epochs import as_event_times, as_signal, check_window_ms, event_starts, windows
from signals.analysis.data import (
    BLOCK_BYTES,
    cell_table,
    other_coords,
    population_names,
    run_window,
    select_time,
    spikes,
)
from signals.validation import check_option, check_positive, ensure_int

__all__ = ["event_average", "event_times", "instantaneous_rate"]

#: Largest (events × channels × lags) array of windows held for the bootstrap (float64: 1 GiB).
_MAX_WINDOWS = 2**27


def event_times(ds, *, populations: Sequence[str] | None = None,
                time: tuple[float, float] | None = None) -> np.ndarray:
    """Spike times (ms) of the cells of ``populations`` (default all), sorted: events for averages."""
    names = population_names(ds, populations)
    t, _ = spikes(ds, time=time, populations=names)
    return np.sort(t)


def event_average(da, events, *, window: tuple[float, float] = (-50.0, 100.0),
                  baseline: tuple[float, float] | None = None, n_boot: int = 1000,
                  ci: float = 0.95, rng=None, time: tuple[float, float] | None = None,
                  block_bytes: int = BLOCK_BYTES):
    """Average of a signal around event times, with a percentile-bootstrap confidence interval.

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension (ms, evenly sampled), e.g. ``ds.lfp`` (mV), possibly
        lazily loaded; other dimensions are kept.
    events : sequence of float
        Event times (ms), e.g. stimulus onsets or :func:`event_times`. Each window is taken
        around the sample nearest the event; events whose window reaches beyond the signal
        are dropped and counted.
    window : (float, float)
        Window relative to each event (ms).
    baseline : (float, float), optional
        Lags (ms, within ``window``) whose mean is subtracted from each window first.
    n_boot : int >= 0
        Bootstrap resamples of the events (0: no interval).
    ci : float in (0, 1)
        Confidence level of the interval.
    rng : int or numpy.random.Generator, optional
        Seed or generator of the resampling.
    time : (float, float), optional
        Only the signal (and events) in this window (ms).
    block_bytes : int
        Largest block read at once (bytes).

    Returns
    -------
    xarray.Dataset
        Dims (other dims..., ``lag``), lag in ms relative to the event, in the signal's units:
        ``mean``, ``ci_low`` and ``ci_high`` (percentile bootstrap over events), ``sem``
        (standard error over events); ``n_events`` used and ``n_dropped`` (scalars).

    Raises
    ------
    ValueError
        If no event has a full window, or the windows would not fit in memory.
    """
    import xarray as xr

    w = check_window_ms(window, "window")
    times = as_event_times(events, "events")
    n_boot = ensure_int(n_boot, "n_boot", minimum=0)
    if not 0 < float(ci) < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    da = select_time(as_signal(None, da, "event_average"), time)
    other = [d for d in da.dims if d != "time"]
    starts, lags, kept = event_starts(da, times, w)
    if starts.size == 0:
        raise ValueError(f"no event of {times.size} has a full window {w[0]:g} to {w[1]:g} ms inside the "
                         f"signal ({float(da['time'][0]):g}–{float(da['time'][-1]):g} ms)")
    per = int(np.prod([da.sizes[d] for d in other])) * lags.size
    if starts.size * per > _MAX_WINDOWS:
        raise ValueError(f"{starts.size} events × {per} values per window exceed {_MAX_WINDOWS:.1e} "
                         "values in memory; use fewer events, a shorter window or select channels")
    x = windows(da, starts, lags.size, block_bytes=block_bytes)  # (events, other..., lag)
    if baseline is not None:
        b = check_window_ms(baseline, "baseline")
        sel = (lags >= b[0]) & (lags <= b[1])
        if not sel.any():
            raise ValueError(f"baseline {b} ms holds no lag of the window {w} ms")
        x = x - x[..., sel].mean(axis=-1, keepdims=True)
    mean = x.mean(axis=0)
    n = x.shape[0]
    sem = x.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(mean, np.nan)
    dims = (*other, "lag")
    out = xr.Dataset({"mean": (dims, mean), "sem": (dims, sem)},
                     coords={**other_coords(da, other), "lag": lags})
    if n_boot:
        gen = np.random.default_rng(rng)
        flat = x.reshape(n, -1)
        q = [(1 - float(ci)) / 2, (1 + float(ci)) / 2]
        low, high = np.empty(flat.shape[1]), np.empty(flat.shape[1])
        # resampled means = (resample counts / n) @ windows, a matrix product; columns in chunks
        # so that the (n_boot × columns) means stay small
        weights = np.stack([np.bincount(gen.integers(0, n, size=n), minlength=n) for _ in range(n_boot)]) / n
        step = max(1, 2**24 // max(n_boot, 1))
        for c in range(0, flat.shape[1], step):
            boot = weights @ flat[:, c: c + step]
            low[c: c + step], high[c: c + step] = np.quantile(boot, q, axis=0)
        out["ci_low"] = (dims, low.reshape(mean.shape))
        out["ci_high"] = (dims, high.reshape(mean.shape))
    unit = str(da.attrs.get("units", "1"))
    what = da.attrs.get("long_name", da.name)
    for name, text in (("mean", f"event-related average of {what}"), ("sem", "standard error over events"),
                       ("ci_low", f"{float(ci):g} bootstrap interval, low"),
                       ("ci_high", f"{float(ci):g} bootstrap interval, high")):
        if name in out:
            out[name].attrs.update(units=unit, long_name=text)
    out["lag"].attrs.update(units="ms", long_name="time relative to the event")
    out["n_events"] = n
    out["n_dropped"] = int((~kept).sum())
    out["n_events"].attrs.update(units="1", long_name="events averaged")
    out["n_dropped"].attrs.update(units="1", long_name="events dropped (window beyond the signal)")
    out.attrs.update(window_start=w[0], window_stop=w[1], window_units="ms", n_boot=n_boot, ci=float(ci),
                     baseline="" if baseline is None else f"{baseline[0]:g} to {baseline[1]:g} ms",
                     signal=str(da.name))
    return out


def instantaneous_rate(ds, *, sampling_period: float = 1.0, kernel: str = "gaussian", sigma: float = 5.0,
                       populations: Sequence[str] | None = None, time: tuple[float, float] | None = None):
    """Kernel-smoothed firing rate of each population, per cell (elephant ``instantaneous_rate``).

    The spikes of each population's cells are pooled into one train, convolved with the kernel
    (centred, so the rate does not lag) and divided by the number of cells.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    sampling_period : float > 0
        Step of the result (ms).
    kernel : {"gaussian", "exponential", "alpha", "triangular", "epanechnikov", "rectangular"}
        elephant kernel.
    sigma : float > 0
        Kernel standard deviation (ms).
    populations : sequence of str, optional
        Populations (default all).
    time : (float, float), optional
        Window (ms); default the whole run.

    Returns
    -------
    xarray.DataArray
        Dims (``time``, ``population``) in Hz (mean rate per cell); time in ms (sample times).
        Coordinate ``n_cells``.
    """
    import neo
    import quantities as pq
    import xarray as xr
    from elephant import kernels
    from elephant.statistics import instantaneous_rate as _rate

    kinds = {"gaussian": kernels.GaussianKernel, "exponential": kernels.ExponentialKernel,
             "alpha": kernels.AlphaKernel, "triangular": kernels.TriangularKernel,
             "epanechnikov": kernels.EpanechnikovLikeKernel, "rectangular": kernels.RectangularKernel}
    check_option(kernel, "kernel", kinds)
    sampling_period = check_positive(sampling_period, "sampling_period (ms)")
    sigma = check_positive(sigma, "sigma (ms)")
    names = population_names(ds, populations)
    t0, t1 = run_window(ds, time)
    _, pops = cell_table(ds)
    k = kinds[kernel](sigma=sigma * pq.ms)
    cols, t = [], None
    for p in names:
        st, _ = spikes(ds, time=(t0, t1) if time is not None else None, populations=[p])
        st = np.sort(st[(st >= t0) & (st <= t1)])
        train = neo.SpikeTrain(st * pq.ms, t_start=t0 * pq.ms, t_stop=t1 * pq.ms)
        r = _rate(train, sampling_period=sampling_period * pq.ms, kernel=k, center_kernel=True)
        n_cells = max(1, int(np.sum(pops == p)))
        cols.append(np.asarray(r.rescale(pq.Hz).magnitude, dtype=float)[:, 0] / n_cells)
        t = np.asarray(r.times.rescale(pq.ms).magnitude, dtype=float)
    size = [int(np.sum(pops == p)) for p in names]
    out = xr.DataArray(np.stack(cols, axis=1), dims=("time", "population"),
                       coords={"time": t, "population": names, "n_cells": ("population", size)},
                       name="instantaneous_rate")
    out["time"].attrs.update(units="ms", long_name="time")
    out.attrs.update(units="Hz", long_name="kernel-smoothed population firing rate (per cell)",
                     kernel=kernel, sigma=sigma, sigma_units="ms", sampling_period=sampling_period,
                     sampling_period_units="ms")
    return out
