"""Spike statistics on Poisson and regular spike trains of known rate, cross-checked with elephant."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from signals.analysis import rates


def run_of(trains: list[np.ndarray], pops: list[str], tstop: float) -> xr.Dataset:
    """A run-like Dataset holding only spikes and the cell table (gids 0..n-1)."""
    gid = np.concatenate([np.full(t.size, g) for g, t in enumerate(trains)]).astype(np.int64)
    t = np.concatenate(trains)
    order = np.lexsort((gid, t))
    return xr.Dataset(
        coords={"cell": np.arange(len(trains)), "cell_population": ("cell", pops),
                "population": list(dict.fromkeys(pops)), "time": [0.0, tstop]},
        data_vars={"spike_time": ("spike", t[order], {"units": "ms"}),
                   "spike_gid": ("spike", gid[order], {"units": "1"})},
        attrs={"tstop": tstop, "t_start": 0.0})


def poisson(rng, rate_hz: float, tstop: float) -> np.ndarray:
    return np.sort(rng.uniform(0.0, tstop, rng.poisson(rate_hz * tstop / 1000.0)))


TSTOP = 50_000.0  # ms
RATES = {"slow": 5.0, "fast": 20.0}  # Hz
N_CELLS = 100


@pytest.fixture(scope="module")
def poisson_run():
    rng = np.random.default_rng(0)
    trains, pops = [], []
    for pop, rate in RATES.items():
        trains += [poisson(rng, rate, TSTOP) for _ in range(N_CELLS)]
        pops += [pop] * N_CELLS
    return run_of(trains, pops, TSTOP), trains


def test_poisson_rates(poisson_run):
    ds, trains = poisson_run
    per_pop = rates.firing_rates(ds, by="population")
    assert per_pop.attrs["units"] == "Hz" and list(per_pop["population"].values) == ["slow", "fast"]
    for pop, rate in RATES.items():
        sd = np.sqrt(rate * TSTOP / 1000 * N_CELLS) / (TSTOP / 1000 * N_CELLS)  # Poisson count error
        assert float(per_pop.sel(population=pop)) == pytest.approx(rate, abs=4 * sd)
    per_cell = rates.firing_rates(ds)
    assert_allclose(per_cell.values, [t.size / (TSTOP / 1000) for t in trains], rtol=1e-12)
    # elephant's mean_firing_rate on the same trains
    import neo
    import quantities as pq
    from elephant.statistics import mean_firing_rate

    ref = [float(mean_firing_rate(neo.SpikeTrain(t * pq.ms, t_stop=TSTOP * pq.ms)).rescale(pq.Hz))
           for t in trains[:5]]
    assert_allclose(per_cell.values[:5], ref, rtol=1e-12)


def test_poisson_cv_and_fano(poisson_run):
    ds, _ = poisson_run
    cv = rates.isi_cv(ds, by="population")
    # ~250-1000 ISIs per cell: each CV within ~0.05 of 1; the mean of 100 cells within ~0.01
    assert_allclose(cv.values, 1.0, atol=0.03)
    ff = rates.fano_factor(ds, bin_size=100.0)
    assert ff.dims == ("cell",)
    per_pop_mean = ff.groupby("cell_population").mean()
    assert_allclose(per_pop_mean.values, 1.0, atol=0.03)  # 500 windows per cell, 100 cells
    pop_ff = rates.fano_factor(ds, bin_size=100.0, by="population")
    assert_allclose(pop_ff.values, 1.0, atol=0.25)  # one estimate from 500 windows: sd ~0.06


def test_regular_trains_closed_forms():
    period, tstop = 10.0, 1000.0  # ms
    regular = np.arange(5.0, tstop, period)  # 100 spikes, none on a window edge
    ds = run_of([regular, regular + 1.0], ["R", "R"], tstop)
    assert_allclose(rates.firing_rates(ds).values, 100.0)
    assert_allclose(rates.isi_cv(ds).values, 0.0, atol=1e-12)
    assert_allclose(rates.fano_factor(ds, bin_size=100.0).values, 0.0, atol=1e-12)
    r = rates.population_rate(ds, bin_size=10.0)
    assert r.dims == ("time", "population") and r.attrs["units"] == "Hz"
    assert_allclose(r.values, 100.0)  # one spike per cell per 10 ms bin
    assert_allclose(r["time"].values[:2], [5.0, 15.0])  # bin centres


def test_cross_checks_with_elephant(poisson_run):
    import neo
    import quantities as pq
    from elephant.statistics import fanofactor, time_histogram

    ds, trains = poisson_run
    sub = trains[:N_CELLS]
    st = [neo.SpikeTrain(t * pq.ms, t_start=0 * pq.ms, t_stop=TSTOP * pq.ms) for t in sub]
    hist = time_histogram(st, bin_size=5 * pq.ms, output="rate")
    ours = rates.population_rate(ds, bin_size=5.0, populations=["slow"])
    assert_allclose(ours.values[:, 0], np.asarray(hist.rescale(pq.Hz)).ravel(), rtol=1e-9)
    # elephant's Fano factor over the 100 ms windows of one cell, taken as trials
    windows = [neo.SpikeTrain((sub[0][(sub[0] >= k) & (sub[0] < k + 100)] - k) * pq.ms, t_stop=100 * pq.ms)
               for k in np.arange(0, TSTOP, 100.0)]
    assert float(rates.fano_factor(ds, bin_size=100.0).sel(cell=0)) == pytest.approx(fanofactor(windows),
                                                                                      rel=1e-12)


def test_synchrony_identical_vs_independent():
    rng = np.random.default_rng(1)
    tstop = 10_000.0
    shared = poisson(rng, 20.0, tstop)
    trains = [shared.copy() for _ in range(5)] + [poisson(rng, 20.0, tstop) for _ in range(5)]
    s = rates.synchrony(run_of(trains, ["sync"] * 5 + ["indep"] * 5, tstop))
    assert float(s.sel(population="sync")) > 0.99  # spike contrast of identical trains ~ 1
    assert float(s.sel(population="indep")) < 0.3


def test_rate_psd_of_modulated_population():
    """An inhomogeneous Poisson population at λ (1 + m sin 2π f t): the rate PSD peaks at f."""
    rng = np.random.default_rng(2)
    tstop, lam, m, f0 = 20_000.0, 20.0, 0.8, 40.0
    trains = []
    for _ in range(50):
        cand = poisson(rng, lam * (1 + m), tstop)  # thinning
        keep = rng.random(cand.size) < (1 + m * np.sin(2 * np.pi * f0 * cand / 1000)) / (1 + m)
        trains.append(cand[keep])
    p = rates.rate_psd(run_of(trains, ["M"] * 50, tstop), bin_size=1.0, fmin=5)
    assert p.attrs["units"] == "Hz^2/Hz"
    assert float(p["frequency"][int(p.isel(population=0).argmax("frequency"))]) == pytest.approx(f0)


def test_windows_populations_and_errors(poisson_run):
    ds, trains = poisson_run
    r = rates.firing_rates(ds, time=(0.0, 10_000.0), populations=["fast"])
    assert r.sizes["cell"] == N_CELLS
    assert_allclose(r.values, [np.sum(t < 10_000.0) / 10.0 for t in trains[N_CELLS:]])
    with pytest.raises(KeyError, match="unknown population"):
        rates.firing_rates(ds, populations=["nope"])
    with pytest.raises(KeyError, match="spike_time"):
        rates.firing_rates(ds.drop_vars("spike_time"))
    with pytest.raises(ValueError, match="bin_size"):
        rates.population_rate(ds, bin_size=0.0)
    with pytest.raises(ValueError, match="start < stop"):
        rates.firing_rates(ds, time=(5.0, 1.0))
