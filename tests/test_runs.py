"""Many runs at once: real demo runs with different seeds stacked along ``run``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.analysis import (
    band_power,
    event_average,
    firing_rates,
    psd,
    spike_phase_locking,
    spike_triggered_average,
)
from signals.runs import map_runs, mean_ci, run_dataset

RECORD = ("import sys; from signals.demo import record_demo; "
          "record_demo(sys.argv[1], tstop=float(sys.argv[2]), seed=int(sys.argv[3]), progress=False)")


def record(path, tstop, seed):
    res = subprocess.run([sys.executable, "-c", RECORD, str(path), str(tstop), str(seed)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return path


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Three 100 ms demo runs (seeds 1-3) in scan/, and a 60 ms one elsewhere."""
    d = tmp_path_factory.mktemp("runs")
    (d / "scan").mkdir()
    paths = [record(d / "scan" / f"seed{s}.nc", 100, s) for s in (1, 2, 3)]
    short = record(d / "short.nc", 60, 4)
    return d, paths, short


def test_runs_stack_with_their_parameters(batch):
    d, paths, _ = batch
    ds = signals.open_runs(d / "scan" / "*.nc")
    assert ds.sizes["run"] == 3 and list(ds.run.values) == ["seed1", "seed2", "seed3"]
    assert list(ds.seed.values) == [1, 2, 3]  # the attribute that differs is a coordinate
    assert "created" not in ds.coords and "seed" not in ds.attrs and ds.attrs["run_parameters"] == "seed"
    assert ds.lfp.dims == ("run", "time", "electrode") and ds.lfp.attrs["units"] == "mV"
    # ragged spikes: padded to the longest run, counts say how many are real
    for i, p in enumerate(paths):
        one = signals.open_run(p)
        n = one.sizes["spike"]
        assert int(ds.spike_count[i]) == n
        assert np.all(np.isnan(ds.spike_time[i, n:])) and np.all(ds.spike_gid[i, n:] == -1)
        back = run_dataset(ds, i)
        assert_allclose(back.spike_time, one.spike_time)
        assert back.spike_gid.dtype == np.int64 and "spike_count" not in back
        assert_allclose(back.lfp.values, one.lfp.values, rtol=0, atol=0)


def test_analyses_over_the_run_dim_equal_single_runs(batch):
    _, paths, _ = batch
    ds = signals.open_runs(paths)
    p = psd(ds.lfp, fmax=200)
    bp = band_power(ds.lfp, bands={"gamma": (30, 80)})
    rates = map_runs(firing_rates, ds, by="population")
    sta = map_runs(spike_triggered_average, ds, window=(-10, 10))
    lock = map_runs(spike_phase_locking, ds, band=(30, 50), edge=20)
    evoked = event_average(ds.lfp, [30.0, 60.0], window=(-5, 5), n_boot=0)  # user-given times (ms)
    assert p.dims == ("run", "electrode", "frequency") and list(rates.seed.values) == [1, 2, 3]
    for i, path in enumerate(paths):
        one = signals.open_run(path)
        assert_allclose(p.isel(run=i), psd(one.lfp, fmax=200), rtol=1e-12)
        assert_allclose(bp.isel(run=i), band_power(one.lfp, bands={"gamma": (30, 80)}), rtol=1e-12)
        assert_allclose(rates.isel(run=i), firing_rates(one, by="population"), rtol=1e-12)
        assert_allclose(sta.sta.isel(run=i), spike_triggered_average(one, window=(-10, 10)).sta, rtol=1e-12)
        one_lock = spike_phase_locking(one, band=(30, 50), edge=20)
        assert_allclose(lock.ppc.isel(run=i), one_lock.ppc, rtol=1e-12)
        one_evoked = event_average(one.lfp, [30.0, 60.0], window=(-5, 5), n_boot=0)
        assert_allclose(evoked["mean"].isel(run=i), one_evoked["mean"], rtol=1e-12)


def test_mean_ci_and_groupby_parameter(batch):
    from scipy.stats import t as student_t

    _, paths, _ = batch
    ds = signals.open_runs(paths, params={"drive": ["low", "low", "high"]})
    gamma = band_power(ds.lfp, bands={"gamma": (30, 80)}).sel(band="gamma")
    summary = mean_ci(gamma, "run")
    vals = gamma.values
    half = student_t.ppf(0.975, 2) * vals.std(axis=0, ddof=1) / np.sqrt(3)
    assert_allclose(summary["mean"], vals.mean(axis=0), rtol=1e-12)
    assert_allclose(summary.ci_high - summary.ci_low, 2 * half, rtol=1e-12)
    assert np.all(summary.n == 3) and summary["mean"].attrs["units"] == "mV^2"
    by_drive = gamma.groupby("drive").mean("run")
    assert_allclose(by_drive.sel(drive="low"), vals[:2].mean(axis=0), rtol=1e-12)
    assert_allclose(by_drive.sel(drive="high"), vals[2], rtol=1e-12)


def test_dask_chunks_give_the_same_psd(batch):
    import dask.array

    _, paths, _ = batch
    lazy = signals.open_runs(paths, chunks={"time": 1000})
    assert isinstance(lazy.lfp.data, dask.array.Array)
    eager = psd(signals.open_runs(paths).lfp, fmax=200)
    assert_allclose(psd(lazy.lfp, fmax=200, block_bytes=2**16), eager, rtol=1e-12)


def test_runs_of_different_length_refused_or_aligned(batch):
    _, paths, short = batch
    with pytest.raises(ValueError, match="differ in 'time'.*join='inner'"):
        signals.open_runs([paths[0], short])
    inner = signals.open_runs([paths[0], short], join="inner")
    assert inner.sizes["time"] == signals.open_run(short).sizes["time"]
    assert not np.any(np.isnan(inner.lfp.values))
    outer = signals.open_runs([paths[0], short], join="outer")
    assert outer.sizes["time"] == signals.open_run(paths[0]).sizes["time"]
    assert np.isnan(float(outer.lfp.isel(run=1, time=-1, electrode=0)))


def test_netpyne_batch_configurations_are_parameters(batch, tmp_path):
    _, paths, _ = batch
    for i, p in enumerate(paths[:2]):
        # NetPyNE's batch names each run <batchLabel>_<i> and saves <label>_cfg.json beside it
        shutil.copy(p, tmp_path / f"scan_{i}.nc")
        cfg = {"simConfig": {"duration": 100.0, "weightEE": [0.1, 0.2][i], "IClamp1": {"amp": [0.5, 0.7][i]}}}
        (tmp_path / f"scan_{i}_cfg.json").write_text(json.dumps(cfg))
    ds = signals.open_runs(tmp_path)
    assert list(ds.weightEE.values) == [0.1, 0.2] and list(ds.IClamp1_amp.values) == [0.5, 0.7]
    assert "duration" not in ds.coords  # the same in every run: not a parameter


@pytest.mark.parametrize("args, kwargs, err, word", [
    (([],), {}, ValueError, "empty"),
    ((3,), {}, TypeError, "paths_or_glob"),
    (("no_such_dir/*.nc",), {}, FileNotFoundError, "no file matches"),
    ((["missing.nc"],), {}, FileNotFoundError, "missing.nc"),
])
def test_bad_paths_are_named(args, kwargs, err, word):
    with pytest.raises(err, match=word):
        signals.open_runs(*args, **kwargs)


def test_bad_options_are_named(batch):
    _, paths, _ = batch
    with pytest.raises(ValueError, match="join"):
        signals.open_runs(paths, join="left")
    with pytest.raises(ValueError, match=r"params\['drive'\]"):
        signals.open_runs(paths, params={"drive": [1, 2]})
    with pytest.raises(TypeError, match="chunks"):
        signals.open_runs(paths, chunks=100)
    with pytest.raises(ValueError, match="time"):
        signals.open_runs(paths, dim="time")
    with pytest.raises(KeyError, match="seed9"):
        run_dataset(signals.open_runs(paths), "seed9")
