"""Spike statistics per cell and per population: rates, irregularity, variability, synchrony.

All functions read the run's spikes (``spike_time`` ms, ``spike_gid``) and cell table
(``cell``, ``cell_population``). Per-cell results are ``DataArray`` over ``cell`` (gid) with a
``cell_population`` coordinate; ``by="population"`` aggregates them over each population.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from signals.analysis.data import cell_table, population_names, require, run_window, spikes
from signals.validation import check_option, check_positive

__all__ = ["firing_rates", "fano_factor", "isi_cv", "population_rate", "rate_psd", "synchrony"]


#: Largest (cells × bins) count matrix the rate functions build (8 bytes each: 2 GiB).
_MAX_COUNTS = 2**28


def _cells(ds, populations):
    require(ds, "spike_time", "spike_gid", what="spike statistics", hint="record with the Spikes recorder")
    names = population_names(ds, populations)
    gids, pops = cell_table(ds)
    keep = np.isin(pops, names)
    return names, gids[keep], pops[keep]


def _per_cell(values, gids, pops, *, name, units, long_name, attrs=None):
    import xarray as xr

    out = xr.DataArray(np.asarray(values, dtype=float), dims="cell",
                       coords={"cell": gids, "cell_population": ("cell", pops)}, name=name)
    out.attrs.update(units=units, long_name=long_name, **(attrs or {}))
    return out


def _aggregate(per_cell, names, by: str):
    """Per cell unchanged, or the mean over each population's cells (NaN cells ignored)."""
    import xarray as xr

    check_option(by, "grouping", ("cell", "population"))
    if by == "cell":
        return per_cell
    pops = per_cell["cell_population"].values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a population with only NaN stays NaN
        means = [np.nanmean(per_cell.values[pops == p]) if np.any(pops == p) else np.nan for p in names]
    counts = [int(np.sum(np.isfinite(per_cell.values[pops == p]))) for p in names]
    out = xr.DataArray(np.asarray(means, dtype=float), dims="population",
                       coords={"population": names, "n_cells": ("population", counts)},
                       name=per_cell.name, attrs=dict(per_cell.attrs))
    out.attrs["long_name"] = f"{per_cell.attrs.get('long_name', per_cell.name)} (mean over cells)"
    out["n_cells"].attrs["long_name"] = "cells with a defined value"
    return out


def _trains_by_cell(ds, gids, time):
    """Sorted spike times (ms) of each gid in ``gids`` within ``time``."""
    t, gid = spikes(ds, time=time)
    order = np.lexsort((t, gid))
    t, gid = t[order], gid[order]
    bounds = np.searchsorted(gid, np.stack([gids, gids + 1]))
    return [t[lo:hi] for lo, hi in bounds.T]


def firing_rates(ds, *, by: str = "cell", populations: Sequence[str] | None = None,
                 time: tuple[float, float] | None = None):
    """Mean firing rate of each cell (spike count / duration), or per population.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    by : {"cell", "population"}
        Per cell, or the mean over each population's cells (silent cells included).
    populations : sequence of str, optional
        Populations included (default all).
    time : (float, float), optional
        Window (ms); default the whole run.

    Returns
    -------
    xarray.DataArray
        In Hz, over ``cell`` (gid) or ``population``.
    """
    names, gids, pops = _cells(ds, populations)
    t0, t1 = run_window(ds, time)
    t, gid = spikes(ds, time=(t0, t1) if time is not None else None)
    counts = np.searchsorted(np.sort(gid), gids + 1) - np.searchsorted(np.sort(gid), gids)
    rate = counts / ((t1 - t0) / 1000.0)
    per_cell = _per_cell(rate, gids, pops, name="firing_rate", units="Hz", long_name="firing rate",
                         attrs={"t_start": t0, "t_start_units": "ms", "t_stop": t1, "t_stop_units": "ms"})
    return _aggregate(per_cell, names, by)


def isi_cv(ds, *, by: str = "cell", populations: Sequence[str] | None = None,
           time: tuple[float, float] | None = None, min_spikes: int = 3):
    """Coefficient of variation of the interspike intervals (elephant ``isi``/``cv``).

    1 for a Poisson process, 0 for a regular train.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    by : {"cell", "population"}
        Per cell, or the mean over the cells of each population that have a value.
    populations : sequence of str, optional
        Populations included.
    time : (float, float), optional
        Window (ms).
    min_spikes : int
        Cells with fewer spikes get NaN.

    Returns
    -------
    xarray.DataArray
        Dimensionless (std / mean of the ISIs, ``ddof=0``), over ``cell`` or ``population``.
    """
    from elephant.statistics import cv, isi

    names, gids, pops = _cells(ds, populations)
    trains = _trains_by_cell(ds, gids, time)
    values = [float(cv(isi(tr))) if tr.size >= max(int(min_spikes), 3) else np.nan for tr in trains]
    per_cell = _per_cell(values, gids, pops, name="isi_cv", units="1",
                         long_name="coefficient of variation of interspike intervals",
                         attrs={"min_spikes": int(min_spikes)})
    return _aggregate(per_cell, names, by)


def _counts(ds, gids, t0, t1, bin_size):
    """(cells × bins) spike counts in bins of ``bin_size`` ms from ``t0`` (whole bins only)."""
    n_bins = int(np.floor((t1 - t0) / bin_size + 1e-9))
    if n_bins < 2:
        raise ValueError(f"the window {t1 - t0:g} ms holds fewer than two bins of {bin_size:g} ms")
    if n_bins * max(gids.size, 1) > _MAX_COUNTS:
        # a tiny bin (e.g. 1e-6 ms) would ask for hundreds of GiB of counts
        raise ValueError(f"bin_size = {bin_size:g} ms makes {n_bins} bins for {gids.size} cells "
                         f"(more than {_MAX_COUNTS:.0e} counts); use a larger bin_size or a "
                         "shorter time window")
    t, gid = spikes(ds, time=(t0, t0 + n_bins * bin_size))
    row = np.searchsorted(np.sort(gids), gid)
    order = np.argsort(gids)
    row = np.clip(row, 0, gids.size - 1)
    known = np.sort(gids)[row] == gid
    col = np.clip(((t[known] - t0) / bin_size).astype(np.int64), 0, n_bins - 1)
    counts = np.zeros((gids.size, n_bins))
    np.add.at(counts, (order[row[known]], col), 1.0)
    return counts


def fano_factor(ds, *, bin_size: float = 100.0, by: str = "cell",
                populations: Sequence[str] | None = None, time: tuple[float, float] | None = None):
    """Fano factor of spike counts in consecutive windows: variance / mean (``ddof=0``).

    1 for a Poisson process. ``by="cell"``: each cell's counts; ``by="population"``: the
    counts of the whole population (its summed spike train), which exceed 1 when cells fire
    together. The same estimator as elephant's ``fanofactor`` applied to the windows as trials.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float > 0
        Counting window (ms).
    by : {"cell", "population"}
        Per cell or per population (summed train).
    populations : sequence of str, optional
        Populations included.
    time : (float, float), optional
        Window (ms); only whole counting windows are used.

    Returns
    -------
    xarray.DataArray
        Dimensionless, over ``cell`` or ``population``; NaN without spikes.
    """
    import xarray as xr

    check_option(by, "grouping", ("cell", "population"))
    bin_size = check_positive(bin_size, "bin_size (ms)")
    names, gids, pops = _cells(ds, populations)
    t0, t1 = run_window(ds, time)
    counts = _counts(ds, gids, t0, t1, bin_size)
    attrs = {"bin_size": bin_size, "bin_size_units": "ms"}
    if by == "population":
        counts = np.stack([counts[pops == p].sum(axis=0) for p in names])
    mean = counts.mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ff = np.where(mean > 0, counts.var(axis=1) / mean, np.nan)
    if by == "cell":
        return _per_cell(ff, gids, pops, name="fano_factor", units="1",
                         long_name=f"Fano factor of spike counts ({bin_size:g} ms)", attrs=attrs)
    out = xr.DataArray(ff, dims="population", coords={"population": names}, name="fano_factor")
    out.attrs.update(units="1", long_name=f"Fano factor of population spike counts ({bin_size:g} ms)",
                     **attrs)
    return out


def synchrony(ds, *, populations: Sequence[str] | None = None, time: tuple[float, float] | None = None,
              min_bin: float = 1.0):
    """Spike-contrast synchrony of each population (elephant ``spike_contrast``, Ciba et al. 2018).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    populations : sequence of str, optional
        Populations included.
    time : (float, float), optional
        Window (ms).
    min_bin : float > 0
        Smallest bin of the contrast scan (ms).

    Returns
    -------
    xarray.DataArray
        Dimensionless in [0, 1] (1: all cells fire together), over ``population``; NaN for a
        population with fewer than two spiking cells.
    """
    import neo
    import quantities as pq
    import xarray as xr
    from elephant.spike_train_synchrony import spike_contrast

    min_bin = check_positive(min_bin, "min_bin (ms)")
    names, gids, pops = _cells(ds, populations)
    t0, t1 = run_window(ds, time)
    trains = _trains_by_cell(ds, gids, (t0, t1))
    values = []
    for p in names:
        members = [neo.SpikeTrain(tr * pq.ms, t_start=t0 * pq.ms, t_stop=t1 * pq.ms)
                   for tr, q in zip(trains, pops, strict=True) if q == p and tr.size]
        if len(members) < 2:
            values.append(np.nan)
            continue
        values.append(float(spike_contrast(members, t_start=t0 * pq.ms, t_stop=t1 * pq.ms,
                                           min_bin=min_bin * pq.ms)))
    out = xr.DataArray(np.asarray(values), dims="population", coords={"population": names},
                       name="synchrony")
    out.attrs.update(units="1", long_name="spike-contrast synchrony", method="spike_contrast")
    return out


def population_rate(ds, *, bin_size: float = 1.0, populations: Sequence[str] | None = None,
                    time: tuple[float, float] | None = None):
    """Population firing-rate histogram: spikes per bin / (cells × bin width).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float > 0
        Bin width (ms).
    populations : sequence of str, optional
        Populations included (default all).
    time : (float, float), optional
        Window (ms); default the whole run. Only whole bins are used.

    Returns
    -------
    xarray.DataArray
        Dims (``time``, ``population``) in Hz (mean rate per cell); ``time`` is the bin
        centre (ms).
    """
    import xarray as xr

    bin_size = check_positive(bin_size, "bin_size (ms)")
    names, gids, pops = _cells(ds, populations)
    t0, t1 = run_window(ds, time)
    counts = _counts(ds, gids, t0, t1, bin_size)
    size = np.array([np.sum(pops == p) for p in names], dtype=float)
    summed = np.stack([counts[pops == p].sum(axis=0) for p in names], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = summed / (size[None, :] * bin_size / 1000.0)
    centres = t0 + (np.arange(summed.shape[0]) + 0.5) * bin_size
    out = xr.DataArray(rate, dims=("time", "population"),
                       coords={"time": centres, "population": names, "n_cells": ("population", size)},
                       name="population_rate")
    out["time"].attrs.update(units="ms", long_name="time (bin centre)")
    out.attrs.update(units="Hz", long_name="population firing rate", bin_size=bin_size,
                     bin_size_units="ms")
    return out


def rate_psd(ds, *, bin_size: float = 1.0, populations: Sequence[str] | None = None,
             time: tuple[float, float] | None = None, **psd_kwargs):
    """Power spectral density of the population rates (:func:`population_rate`).

    Parameters
    ----------
    ds : xarray.Dataset
        A run with spikes and the cell table.
    bin_size : float > 0
        Rate bin (ms); the Nyquist frequency is ``500 / bin_size`` Hz.
    populations : sequence of str, optional
        Populations included.
    time : (float, float), optional
        Window (ms).
    **psd_kwargs
        Passed to :func:`signals.analysis.spectral.psd` (``method``, ``nperseg``, ``fmax``...).

    Returns
    -------
    xarray.DataArray
        Dims (``population``, ``frequency``) in Hz²/Hz (frequency in Hz).
    """
    from signals.analysis.spectral import psd

    rate = population_rate(ds, bin_size=bin_size, populations=populations, time=time)
    return psd(rate, **psd_kwargs)
