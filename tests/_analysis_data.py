"""Synthetic runs with known answers for the analysis tests (spikes, cell table, signals)."""

from __future__ import annotations

import numpy as np
import xarray as xr


def synthetic_run(lfp: np.ndarray, fs: float, trains: dict[str, list[np.ndarray]], *,
                  electrodes=None) -> xr.Dataset:
    """A run-like Dataset: ``lfp`` (time, electrode) in mV sampled at ``fs`` Hz from 0 ms, and the
    spike trains (ms) of each population's cells (``trains[pop]`` = one array per cell)."""
    lfp = np.asarray(lfp, dtype=float)
    if lfp.ndim == 1:
        lfp = lfp[:, None]
    t = np.arange(lfp.shape[0]) * 1000.0 / fs
    names = electrodes or [f"e{i}" for i in range(lfp.shape[1])]
    times, gids, cells, pops = [], [], [], []
    gid = 0
    for pop, cell_trains in trains.items():
        for tr in cell_trains:
            times.append(np.asarray(tr, dtype=float))
            gids.append(np.full(len(tr), gid))
            cells.append(gid)
            pops.append(pop)
            gid += 1
    st = np.concatenate(times) if times else np.zeros(0)
    sg = np.concatenate(gids) if gids else np.zeros(0, dtype=np.int64)
    order = np.argsort(st, kind="stable")
    ds = xr.Dataset(
        {"lfp": (("time", "electrode"), lfp, {"units": "mV", "long_name": "LFP"}),
         "spike_time": ("spike", st[order], {"units": "ms"}),
         "spike_gid": ("spike", sg[order].astype(np.int64))},
        coords={"time": ("time", t, {"units": "ms"}), "electrode": names,
                "cell": np.asarray(cells, dtype=np.int64), "cell_population": ("cell", pops),
                "population": list(trains)},
        attrs={"tstop": float(t[-1]), "t_start": 0.0, "record_dt": 1000.0 / fs})
    return ds
