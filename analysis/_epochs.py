"""Windows of a signal around event times, gathered block by block (shared by coupling and events).

Private: the public entry points are :mod:`signals.analysis.coupling` and
:mod:`signals.analysis.events`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from signals.analysis.data import BLOCK_BYTES, check_time_dim, iter_blocks, samples_per_block, sampling_rate


def as_signal(ds, signal, what: str):
    """The DataArray ``signal`` (a variable name of ``ds`` or a DataArray with ``time`` in ms)."""
    import xarray as xr

    if isinstance(signal, str) and ds is None:
        raise TypeError(f"{what}: the signal must be an xarray.DataArray with a 'time' dimension "
                        f"(e.g. ds.lfp), got the string {signal!r}")
    if isinstance(signal, str):
        if signal not in ds.variables:
            have = sorted(v for v in getattr(ds, "data_vars", {}) if "time" in ds[v].dims)
            raise KeyError(f"{what}: signal {signal!r} is not a variable of the run "
                           f"(signals sampled in time: {have})")
        da = ds[signal]
    elif isinstance(signal, xr.DataArray):
        da = signal
    else:
        raise TypeError(f"{what}: signal must be a variable name (str) or an xarray.DataArray, "
                        f"got {type(signal).__name__}")
    check_time_dim(da, what)
    return da


def check_window_ms(window, what: str = "window") -> tuple[float, float]:
    """``window`` as (start, stop) in ms relative to the event, start < stop."""
    from signals.validation import check_real

    try:
        w0, w1 = window
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be (start, stop) in ms relative to the event, got {window!r}") from None
    w0, w1 = check_real(w0, f"{what}[0] (ms)"), check_real(w1, f"{what}[1] (ms)")
    if not w1 > w0:
        raise ValueError(f"{what} must have start < stop (ms), got {window!r}")
    return w0, w1


def as_event_times(events, what: str = "events") -> np.ndarray:
    """``events`` as a 1-D float array of finite times (ms)."""
    if isinstance(events, str | bytes) or np.ndim(events) > 1:
        raise TypeError(f"{what} must be a 1-D sequence of times in ms, got {type(events).__name__}")
    try:
        arr = np.atleast_1d(np.asarray(events, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be numbers (times in ms)") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} holds non-finite times")
    return arr


def event_starts(da, times: np.ndarray, window: tuple[float, float]):
    """Window geometry of ``da`` around ``times`` (ms).

    Returns
    -------
    starts : ndarray of int
        First sample of each kept window (events whose window fits inside the signal).
    lags : ndarray
        Lag of each window sample relative to the event (ms), on the sample grid.
    kept : ndarray of bool
        Which of ``times`` were kept.
    """
    fs = sampling_rate(da)
    dt = 1000.0 / fs
    t0 = float(da["time"][0])
    n = da.sizes["time"]
    k0, k1 = int(np.round(window[0] / dt)), int(np.round(window[1] / dt))
    if k1 - k0 + 1 > n:
        raise ValueError(f"the window {window[0]:g} to {window[1]:g} ms is longer than the signal "
                         f"({(n - 1) * dt:g} ms)")
    idx = np.round((times - t0) / dt).astype(np.int64)  # nearest sample of each event
    starts = idx + k0
    kept = (starts >= 0) & (starts + (k1 - k0 + 1) <= n)
    return starts[kept], np.arange(k0, k1 + 1) * dt, kept


def _groups(da, starts: np.ndarray, length: int, block_bytes: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (positions in ``starts``, windows of shape (events, other dims..., length))."""
    n = da.sizes["time"]
    n_ch = max(1, int(np.prod([s for d, s in da.sizes.items() if d != "time"])))
    per_block = max(1, samples_per_block(da, block_bytes))
    per_group = max(1, int(block_bytes) // (8 * n_ch * length))
    order = np.argsort(starts, kind="stable")
    sorted_starts = starts[order]
    block_starts = range(0, n, per_block)
    for b, x in iter_blocks(da, block_starts, per_block + length - 1):
        lo, hi = np.searchsorted(sorted_starts, [b, b + per_block])
        if hi <= lo:
            continue
        view = np.lib.stride_tricks.sliding_window_view(x, length, axis=-1)  # (..., n_win, length)
        for g in range(lo, hi, per_group):
            pos = order[g: min(hi, g + per_group)]
            win = view[..., starts[pos] - b, :]  # (..., events, length)
            yield pos, np.moveaxis(win, -2, 0)


def window_sum(da, starts: np.ndarray, length: int, *, block_bytes: int = BLOCK_BYTES) -> np.ndarray:
    """Sum over events of the windows ``[s, s + length)`` of ``da``: shape (other dims..., length)."""
    shape = tuple(s for d, s in da.sizes.items() if d != "time")
    total = np.zeros((*shape, length))
    for _, win in _groups(da, starts, length, block_bytes):
        total += win.sum(axis=0)
    return total


def windows(da, starts: np.ndarray, length: int, *, block_bytes: int = BLOCK_BYTES) -> np.ndarray:
    """The windows themselves: shape (events, other dims..., length), in the order of ``starts``."""
    shape = tuple(s for d, s in da.sizes.items() if d != "time")
    out = np.empty((starts.size, *shape, length))
    for pos, win in _groups(da, starts, length, block_bytes):
        out[pos] = win
    return out
