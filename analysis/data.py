"""Reading run files for analysis and figures: checks, windows, blockwise reading, spikes, probes.

Shared by the analysis modules and the figure modules (public so that neither imports the
other's private names). Run files are opened lazily (``signals.open_run``); these helpers read
a variable in blocks along ``time`` so that an analysis of a long recording never holds the
whole of it in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = ["BLOCK_BYTES", "block_envelope", "block_mean", "cell_gids", "cell_table", "check_time_dim",
           "check_window", "electrode_axis", "iter_blocks", "other_coords", "pick_electrodes",
           "population_depth_order", "population_names", "require", "run_window", "samples_per_block",
           "sampling_rate", "select_time", "sort_electrodes", "spikes"]

#: Default size of one block read from a run file (bytes of float64 data).
BLOCK_BYTES = 32 * 2**20


def require(ds, *names: str, what: str = "this analysis", hint: str = "") -> None:
    """Raise ``KeyError`` naming the first variable of ``names`` that ``ds`` lacks."""
    for name in names:
        if name not in ds.variables:
            extra = f" ({hint})" if hint else ""
            raise KeyError(f"{what} needs the variable {name!r}, which the run does not hold{extra}")


def check_time_dim(da, what: str) -> None:
    """Raise ``ValueError`` unless ``da`` has a ``time`` dimension with at least two samples."""
    if "time" not in da.dims:
        raise ValueError(f"{what} needs a 'time' dimension, got dims {da.dims}")
    if da.sizes["time"] < 2:
        raise ValueError(f"{what} needs at least two samples along 'time', got {da.sizes['time']}")


def sampling_rate(da) -> float:
    """Sampling rate (Hz) from the ``time`` coordinate of ``da`` (ms), which must be uniform.

    Raises
    ------
    ValueError
        If ``time`` has fewer than two samples or is not evenly spaced.
    """
    check_time_dim(da, "the sampling rate")
    t = da["time"]
    n = t.size
    # the first and last few steps suffice: run files are sampled on a fixed step
    head = np.asarray(t[: min(n, 1000)].values, dtype=float)
    dt = float(np.median(np.diff(head)))
    if not dt > 0:
        raise ValueError("the 'time' coordinate is not increasing")
    t_last = float(t[-1].values)
    if abs((t_last - float(head[0])) - (n - 1) * dt) > 1e-6 * max(dt, 1.0) * n:
        raise ValueError("the 'time' coordinate is not evenly spaced; resample before spectral analysis")
    if n > 1000:  # the whole span gives the step to more digits than one difference
        dt = (t_last - float(head[0])) / (n - 1)
    return 1000.0 / dt


def check_window(time: tuple[float, float], start: float, stop: float, *, step: float = 0.0,
                 what: str = "the run") -> tuple[float, float]:
    """``time`` (ms) checked against the span ``[start, stop]`` (ms) of the data.

    A window that misses the data is an error (an empty figure or a rate of 0 Hz would say
    nothing was there); one that reaches beyond it warns with the range used.

    Parameters
    ----------
    time : (float, float)
        Requested window (ms), start < stop.
    start, stop : float
        First and last time of the data (ms).
    step : float
        Sampling step (ms): overhangs shorter than one step are not clipping.

    Returns
    -------
    (float, float)
        The window used, inside ``[start, stop]``.
    """
    import warnings

    t0, t1 = (float(v) for v in time)
    if not t1 > t0:
        raise ValueError(f"time window must have start < stop (ms), got {time}")
    tol = max(float(step), 1e-9 * max(1.0, abs(stop)))
    if t0 > stop + tol or t1 < start - tol:
        raise ValueError(f"the time window {t0:g}–{t1:g} ms is outside {what} ({start:g}–{stop:g} ms)")
    used = (max(t0, start), min(t1, stop))
    if t0 < start - tol or t1 > stop + tol:
        warnings.warn(f"time window {t0:g}–{t1:g} ms reaches beyond {what} ({start:g}–{stop:g} ms); "
                      f"using {used[0]:g}–{used[1]:g} ms", UserWarning, stacklevel=3)
    return used


def select_time(obj, time: tuple[float, float] | None):
    """``obj`` restricted to ``time[0] <= t <= time[1]`` (ms); unchanged if ``time`` is None.

    A window outside ``obj``'s time span raises ``ValueError``; one partly outside warns
    (:func:`check_window`).
    """
    if time is None:
        return obj
    t0, t1 = (float(v) for v in time)
    if not t1 > t0:
        raise ValueError(f"time window must have start < stop (ms), got {time}")
    if "time" in obj.coords and obj.sizes.get("time", 0) >= 1:
        t = obj["time"]
        first, last = float(t[0]), float(t[-1])
        step = float(t[1] - t[0]) if t.size > 1 else 0.0
        t0, t1 = check_window((t0, t1), first, last, step=step, what="the recording")
    return obj.sel(time=slice(t0, t1))


def iter_blocks(da, starts: Sequence[int], length: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, values)`` with ``values`` of shape (other dims..., time) for each block.

    The other dimensions keep ``da``'s order. Pass file variables untransposed.

    Each block covers ``[start, start + length)`` samples along ``time`` (cut at the end); only
    that block is read from a lazily opened file.
    """
    other = [d for d in da.dims if d != "time"]
    n = da.sizes["time"]
    # read each block in the file's own dimension order and transpose in memory: a lazily
    # transposed file variable is indexed by xarray with full-length index arrays (memory!)
    axes = [da.dims.index(d) for d in other] + [da.dims.index("time")]
    for start in starts:
        stop = min(int(start) + int(length), n)
        block = np.asarray(da.isel(time=slice(int(start), stop)).values, dtype=float)
        yield int(start), np.transpose(block, axes)


def samples_per_block(da, block_bytes: int = BLOCK_BYTES) -> int:
    """Number of time samples of ``da`` that fit in ``block_bytes`` bytes of float64."""
    per_sample = 8 * max(1, int(np.prod([s for d, s in da.sizes.items() if d != "time"])))
    return max(1, int(block_bytes) // per_sample)


def other_coords(da, dims: Sequence[str]) -> dict[str, Any]:
    """Coordinates of ``da`` that depend only on ``dims`` (kept on results without ``time``)."""
    return {name: c for name, c in da.coords.items() if set(c.dims) <= set(dims)}


def block_mean(da, n_bins: int, *, block_bytes: int = BLOCK_BYTES):
    """Mean of ``da`` over consecutive bins of equal length along ``time``, read block by block.

    Parameters
    ----------
    da : xarray.DataArray
        A variable with a ``time`` dimension (ms), possibly lazily loaded.
    n_bins : int
        Largest number of bins wanted; if ``da`` has no more samples it is loaded unchanged.

    Returns
    -------
    xarray.DataArray
        ``time`` replaced by the bin centres (ms), attributes kept (and ``time_bin``, the bin
        width, with ``time_bin_units`` ``"ms"``).
    """
    import xarray as xr

    n = da.sizes["time"]
    if n <= n_bins:
        return da.load()
    width = int(np.ceil(n / n_bins))
    n_full = n // width
    other = [d for d in da.dims if d != "time"]
    per_block = max(width, samples_per_block(da, block_bytes) // width * width)
    means = []
    for _, vals in iter_blocks(da, range(0, n_full * width, per_block), per_block):
        k = vals.shape[-1] // width
        vals = vals[..., : k * width]
        means.append(vals.reshape(*vals.shape[:-1], k, width).mean(axis=-1))
    data = np.concatenate(means, axis=-1)[..., :n_full]
    t = np.asarray(da["time"].values[: n_full * width], dtype=float).reshape(n_full, width).mean(axis=1)
    out = xr.DataArray(data, dims=(*other, "time"), coords={**other_coords(da, other), "time": t},
                       name=da.name, attrs=dict(da.attrs))
    out["time"].attrs.update(units="ms", long_name="time (bin centre)")
    out.attrs["time_bin"] = width * float(np.median(np.diff(np.asarray(da["time"][:2].values))))
    out.attrs["time_bin_units"] = "ms"
    return out.transpose(*da.dims)


def spikes(ds, *, time: tuple[float, float] | None = None,
           populations: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Spike times (ms) and gids of the run, optionally within a window and populations."""
    require(ds, "spike_time", "spike_gid", what="spike analysis", hint="record with the Spikes recorder")
    t = np.asarray(ds["spike_time"].values, dtype=float)
    gid = np.asarray(ds["spike_gid"].values, dtype=np.int64)
    if time is not None:
        t0, t1 = run_window(ds, time)
        keep = (t >= t0) & (t < t1)
        t, gid = t[keep], gid[keep]
    if populations is not None:
        gids = cell_gids(ds, populations)
        keep = np.isin(gid, gids)
        t, gid = t[keep], gid[keep]
    return t, gid


def cell_table(ds) -> tuple[np.ndarray, np.ndarray]:
    """(gids, population names) of every cell of the run, by gid."""
    require(ds, "cell", "cell_population", what="a per-population analysis",
            hint="the run must describe its network's cells")
    return (np.asarray(ds["cell"].values, dtype=np.int64),
            np.asarray(ds["cell_population"].values).astype(str))


def population_names(ds, populations: Sequence[str] | None = None) -> list[str]:
    """Population names of the run in their stored order, or ``populations`` checked against them."""
    if "population" in ds.coords or "population" in ds.variables:
        names = [str(p) for p in np.asarray(ds["population"].values)]
    else:
        _, pops = cell_table(ds)
        names = list(dict.fromkeys(pops.tolist()))
    if populations is None:
        return names
    wanted = [str(p) for p in populations]
    unknown = [p for p in wanted if p not in names]
    if unknown:
        raise KeyError(f"unknown population(s) {unknown}; the run has {names}")
    return wanted


def cell_gids(ds, populations: Sequence[str]) -> np.ndarray:
    """Gids of the cells of ``populations``."""
    wanted = population_names(ds, populations)
    gids, pops = cell_table(ds)
    return gids[np.isin(pops, wanted)]


def run_window(ds, time: tuple[float, float] | None) -> tuple[float, float]:
    """The analysed window (ms): ``time`` or the run's first to last sample (its ``t_start``/``tstop``).

    ``time`` is checked against the run (:func:`check_window`): outside it is an error, partly
    outside a warning and the part inside is used.
    """
    span = None
    if "time" in ds.coords and ds.sizes.get("time", 0) >= 2:
        span = float(ds["time"][0]), float(ds["time"][-1])
    elif "tstop" in ds.attrs:
        span = float(ds.attrs.get("t_start", 0.0)), float(ds.attrs["tstop"])
    if time is not None:
        t0, t1 = (float(v) for v in time)
        if not t1 > t0:
            raise ValueError(f"time window must have start < stop (ms), got {time}")
        if span is None:
            return t0, t1
        # the run ends at its last sample's step: spikes up to tstop count
        end = max(span[1], float(ds.attrs.get("tstop", span[1])))
        return check_window((t0, t1), span[0], end, step=float(ds.attrs.get("record_dt", 0.0)))
    if span is not None:
        return span
    raise ValueError("cannot tell the duration of the run: give time=(start, stop) in ms")


def electrode_axis(obj, *, what: str = "this analysis"):
    """The straight probe axis of ``obj``'s electrodes, from ``electrode_x/y/z`` (µm).

    Parameters
    ----------
    obj : xarray.DataArray or xarray.Dataset
        Holds the coordinates ``electrode_x``, ``electrode_y``, ``electrode_z`` on ``electrode``.

    Returns
    -------
    signals.electrodes.ProbeAxis
        ``position`` in ``obj``'s electrode order.

    Raises
    ------
    KeyError
        If a coordinate is missing.
    ValueError
        If the contacts are not on one straight line (:func:`signals.electrodes.probe_axis`).
    """
    from signals.electrodes import probe_axis

    names = ("electrode_x", "electrode_y", "electrode_z")
    missing = [c for c in names if c not in obj.coords and c not in getattr(obj, "data_vars", {})]
    if missing:
        raise KeyError(f"{what} needs the electrode coordinates {missing} (µm)")
    return probe_axis(np.column_stack([np.asarray(obj[c].values, dtype=float) for c in names]))


def block_envelope(da, n_bins: int, *, block_bytes: int = BLOCK_BYTES):
    """Minimum and maximum of ``da`` over consecutive bins along ``time``, read block by block.

    ``da`` should not be a lazily transposed file variable (see :func:`iter_blocks`); the
    results have the other dimensions in ``da``'s order, then time.

    For drawing long traces: interleaving the two keeps every peak visible at screen resolution.

    Returns
    -------
    (t, low, high) : ndarrays
        Bin start times (ms), shape (n,); ``low``/``high`` of shape (other dims..., n). If ``da``
        has at most ``2 * n_bins`` samples, ``low`` and ``high`` are the samples themselves.
    """
    n = da.sizes["time"]
    other = [d for d in da.dims if d != "time"]
    if n <= 2 * n_bins:
        axes = [da.dims.index(d) for d in other] + [da.dims.index("time")]
        vals = np.transpose(np.asarray(da.values, dtype=float), axes)
        return np.asarray(da["time"].values, dtype=float), vals, vals
    width = int(np.ceil(n / n_bins))
    per_block = max(width, samples_per_block(da, block_bytes) // width * width)
    lows, highs = [], []
    for _, vals in iter_blocks(da, range(0, n, per_block), per_block):
        k = int(np.ceil(vals.shape[-1] / width))
        pad = k * width - vals.shape[-1]
        if pad:
            vals = np.concatenate([vals, np.repeat(vals[..., -1:], pad, axis=-1)], axis=-1)
        vals = vals.reshape(*vals.shape[:-1], k, width)
        lows.append(vals.min(axis=-1))
        highs.append(vals.max(axis=-1))
    t = np.asarray(da["time"].values[::width], dtype=float)
    return t, np.concatenate(lows, axis=-1), np.concatenate(highs, axis=-1)


def sort_electrodes(da):
    """``da`` with its electrodes sorted from the top of the probe down (any probe direction).

    The top is the highest position along the probe axis (:attr:`signals.electrodes.ProbeAxis.order`);
    electrodes not on one straight line are sorted by ``electrode_z`` (highest first), if they
    have positions.

    Parameters
    ----------
    da : xarray.DataArray or xarray.Dataset
        Anything with an ``electrode`` dimension and ``electrode_x/y/z`` coordinates (µm); other
        objects are returned unchanged.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        ``da`` itself when already sorted (a lazy file variable stays lazy), else reindexed.
    """
    if "electrode" not in da.dims:
        return da
    try:
        order = electrode_axis(da).order
    except (KeyError, ValueError):  # no positions, or not on one line: by z, if there is one
        if "electrode_z" not in da.coords:
            return da
        order = np.argsort(-np.asarray(da["electrode_z"].values, dtype=float), kind="stable")
    if np.array_equal(order, np.arange(order.size)):
        return da  # already sorted: keep the plain (cheaper) lazy variable
    return da.isel(electrode=order)


def pick_electrodes(da, electrodes: Sequence[str] | None = None, *, max_default: int | None = None):
    """Electrodes by label, sorted from the top down; or ``max_default`` of them spread in depth.

    Parameters
    ----------
    da : xarray.DataArray
        A signal with an ``electrode`` dimension (others are returned unchanged).
    electrodes : sequence of str, optional
        Labels wanted (any order; the result is sorted by :func:`sort_electrodes`).
    max_default : int, optional
        Without ``electrodes``: keep at most this many, evenly spaced from the top contact to
        the bottom one (default all).

    Returns
    -------
    xarray.DataArray

    Raises
    ------
    KeyError
        If a label is not an electrode of ``da``.
    """
    if "electrode" not in da.dims:
        return da
    if electrodes is not None:
        labels = [str(e) for e in da["electrode"].values]
        wanted = [str(e) for e in electrodes]
        unknown = [e for e in wanted if e not in labels]
        if unknown:
            raise KeyError(f"unknown electrode(s) {unknown}; the run has {labels}")
        return sort_electrodes(da.sel(electrode=wanted))
    da = sort_electrodes(da)
    n = da.sizes["electrode"]
    if max_default is not None and n > max_default:
        da = da.isel(electrode=np.unique(np.linspace(0, n - 1, max_default).round().astype(int)))
    return da


def population_depth_order(ds, populations: Sequence[str] | None = None) -> list[str]:
    """Populations from the most superficial down, by their cells' mean soma position.

    Depth runs along the run's probe where its electrodes lie on one line (NetPyNE: y), else
    along the coordinate axis over which the population means spread most; superficial is
    the higher coordinate (NEURON's coordinates, pia above).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with the cell table (``cell_population``, ``cell_x/y/z`` in µm).
    populations : sequence of str, optional
        Populations to order (default all).

    Returns
    -------
    list of str
        The run's order unchanged when it has no cell positions.
    """
    names = population_names(ds, populations)
    if not all(f"cell_{c}" in ds.variables for c in "xyz"):
        return names
    _, pops = cell_table(ds)
    pos = np.column_stack([np.asarray(ds[f"cell_{c}"].values, dtype=float) for c in "xyz"])
    means = {p: pos[pops == p].mean(axis=0) for p in names if np.any(pops == p)}
    if not means:
        return names
    direction = None
    if "electrode" in ds.dims and ds.sizes["electrode"] >= 2:
        try:
            direction = electrode_axis(ds).direction
        except (KeyError, ValueError):
            direction = None
    if direction is None:
        spread = np.ptp(np.array(list(means.values())), axis=0)
        direction = np.eye(3)[int(np.argmax(spread))]
    depth = {p: float(m @ direction) for p, m in means.items()}
    # stable: populations at one depth (or without cells) keep the run's order
    return sorted(names, key=lambda p: (-depth.get(p, -np.inf), names.index(p)))

