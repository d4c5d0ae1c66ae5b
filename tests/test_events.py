"""Event-related averages of known evoked shapes, bootstrap intervals, smoothed population rates."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from _analysis_data import synthetic_run
from numpy.testing import assert_allclose

from signals.analysis.events import event_average, event_times, instantaneous_rate

FS = 1000.0  # Hz


def evoked(lag):
    """A known evoked response (mV): a negative then a positive deflection after the event."""
    return -1.0 * np.exp(-0.5 * ((lag - 10) / 3) ** 2) + 0.5 * np.exp(-0.5 * ((lag - 30) / 6) ** 2)


def evoked_signal(n_events=60, noise=0.5, seed=0):
    rng = np.random.default_rng(seed)
    n = 60_000
    events = np.sort(rng.choice(np.arange(200, n - 200, 150), size=n_events, replace=False)).astype(float)
    lag = np.arange(-50, 101)
    x = noise * rng.standard_normal((n, 2))
    for e in events.astype(int):
        x[e + lag, 0] += evoked(lag)
        x[e + lag, 1] += 2 * evoked(lag)
    da = xr.DataArray(x, dims=("time", "electrode"), coords={"time": np.arange(n) * 1000 / FS,
                                                            "electrode": ["a", "b"]},
                      name="lfp", attrs={"units": "mV", "long_name": "LFP"})
    return da, events


def test_average_recovers_the_evoked_shape_and_the_interval_covers_it():
    da, events = evoked_signal()
    res = event_average(da, events, window=(-50, 100), n_boot=1000, ci=0.95, rng=0)
    lag = res.lag.values
    assert_allclose(lag, np.arange(-50, 101))
    truth = np.stack([evoked(lag), 2 * evoked(lag)])
    # noise 0.5 mV / sqrt(60 events): sem 0.065 mV, so 5 sem = 0.32 mV bounds every sample
    assert_allclose(res["mean"].values, truth, atol=0.33)
    # sem of 60 events: each sample within ~10 %, their mean within 5 %
    assert_allclose(res.sem.values.mean(), 0.5 / np.sqrt(60), rtol=0.05)
    covered = (res.ci_low.values <= truth) & (truth <= res.ci_high.values)
    # a 95 % pointwise interval covers the true curve at about 95 % of the 302 samples
    assert 0.85 < covered.mean() <= 1.0
    assert int(res.n_events) == 60 and int(res.n_dropped) == 0
    assert res["mean"].attrs["units"] == "mV" and res.lag.attrs["units"] == "ms"
    # seeded: the same interval again
    again = event_average(da, events, window=(-50, 100), n_boot=1000, rng=0)
    assert_allclose(again.ci_low, res.ci_low, rtol=0, atol=0)


def test_baseline_events_at_the_edges_and_lazy_blocks():
    da, events = evoked_signal(n_events=20, noise=0.0)
    edge = np.array([10.0, 59_990.0])
    res = event_average(da + 1.0, np.concatenate([events, edge]), window=(-50, 100), baseline=(-50, -1),
                        n_boot=0, block_bytes=4096)  # tiny blocks: windows gathered across many reads
    assert int(res.n_events) == 20 and int(res.n_dropped) == 2
    lag = res.lag.values
    assert_allclose(res["mean"].sel(electrode="a"), evoked(lag) - evoked(lag)[lag < 0].mean(), atol=1e-12)
    assert "ci_low" not in res


def test_event_times_and_instantaneous_rate_of_a_known_train():
    regular = [np.arange(100.0, 9900.0, 50.0)]  # 20 Hz
    ds = synthetic_run(np.zeros((10_000, 1)), FS, {"A": regular * 4, "B": [np.array([5000.0])]})
    ev = event_times(ds, populations=["B"])
    assert_allclose(ev, [5000.0])
    # a 20 Hz comb smoothed with sd 50 ms ripples by 2 exp(-2 pi^2 (50/50)^2) = 5e-9
    rate = instantaneous_rate(ds, sampling_period=1.0, sigma=50.0)
    assert rate.dims == ("time", "population") and rate.attrs["units"] == "Hz"
    assert rate.time.attrs["units"] == "ms"
    mid = rate.sel(time=slice(1000, 4000))
    assert_allclose(mid.sel(population="A"), 20.0, rtol=0.02)  # each cell fires at 20 Hz
    # one spike smoothed by a Gaussian: its integral is one spike
    assert_allclose(float(rate.sel(population="B").sum()) * 1e-3, 1.0, rtol=1e-3)
    assert list(rate.n_cells.values) == [4, 1]


def test_event_average_of_population_spikes_in_a_run():
    # an LFP that follows the spikes of 'A' with a fixed kernel: the spike-triggered evoked shape
    rng = np.random.default_rng(2)
    spikes = np.sort(rng.choice(np.arange(200, 19_800, 120), size=80, replace=False)).astype(float)
    x = 0.1 * rng.standard_normal(20_000)
    lag = np.arange(-50, 101)
    for s in spikes.astype(int):
        x[s + lag] += evoked(lag)
    ds = synthetic_run(x, FS, {"A": [spikes]})
    res = event_average(ds.lfp, event_times(ds, populations=["A"]), n_boot=200, rng=1)
    assert_allclose(res["mean"].isel(electrode=0), evoked(lag), atol=0.06)


@pytest.mark.parametrize("kwargs, err, word", [
    (dict(events="soon"), TypeError, "events"),
    (dict(events=[np.nan]), ValueError, "events"),
    (dict(events=[1e9]), ValueError, "no event"),
    (dict(events=[500.0], window=(10, -10)), ValueError, "window"),
    (dict(events=[500.0], n_boot=-1), ValueError, "n_boot"),
    (dict(events=[500.0], ci=95), ValueError, "ci"),
    (dict(events=[500.0], baseline=(200, 300)), ValueError, "baseline"),
])
def test_bad_input_is_named(kwargs, err, word):
    da, _ = evoked_signal(n_events=2)
    with pytest.raises(err, match=word):
        event_average(da, **kwargs)


def test_rate_options_checked():
    ds = synthetic_run(np.zeros((1000, 1)), FS, {"A": [np.array([10.0])]})
    with pytest.raises(ValueError, match="kernel"):
        instantaneous_rate(ds, kernel="box")
    with pytest.raises(ValueError, match="sigma"):
        instantaneous_rate(ds, sigma=0)
