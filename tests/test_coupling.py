"""Spike–field coupling against cases with known answers: locked spikes, random spikes, known kernels."""

from __future__ import annotations

import numpy as np
import pytest
from _analysis_data import synthetic_run
from numpy.testing import assert_allclose

from signals.analysis.coupling import spike_field_coherence, spike_phase_locking, spike_triggered_average

FS = 1000.0  # Hz
F = 10.0  # Hz, the oscillation spikes lock to
DUR = 20.0  # s


def locked_run(phase0=np.pi / 2, jitter=0.3, n_cells=5, seed=0):
    """LFP cos(2 pi F t) (mV) on e0, noise on e1; 'L' spikes at phase0 (+ normal jitter, rad) of
    random cycles; 'R' spikes uniformly at random."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(DUR * FS)) / FS
    lfp = np.column_stack([np.cos(2 * np.pi * F * t), rng.standard_normal(t.size)])
    cycles = np.arange(5, int(DUR * F) - 5)
    locked, rand = [], []
    for _ in range(n_cells):
        c = rng.choice(cycles, size=100, replace=False)
        locked.append(np.sort((c + (phase0 + jitter * rng.standard_normal(c.size)) / (2 * np.pi)) / F * 1000))
        rand.append(np.sort(rng.uniform(500, DUR * 1000 - 500, size=100)))
    return synthetic_run(lfp, FS, {"L": locked, "R": rand})


def test_plv_ppc_of_locked_and_random_spikes():
    jitter = 0.3  # rad
    ds = locked_run(jitter=jitter)
    res = spike_phase_locking(ds, band=(8, 12))
    e0 = res.sel(electrode="e0")
    # normal phase jitter sigma: PLV = exp(-sigma^2 / 2), PPC = PLV^2 = exp(-sigma^2)
    assert_allclose(e0.plv.sel(population="L"), np.exp(-jitter**2 / 2), atol=0.03)
    assert_allclose(e0.ppc.sel(population="L"), np.exp(-jitter**2), atol=0.04)
    # phase 0 is the peak of the band-passed cosine: the spikes sit at pi/2
    assert_allclose(e0.mean_phase.sel(population="L"), np.pi / 2, atol=0.1)
    # random spikes: PPC is unbiased (sd ~ sqrt(2)/N = 0.003 for N = 500), PLV is not (~ sqrt(pi/4N))
    n = int(res.n_spikes.sel(population="R"))
    assert n == 500 and int(res.n_dropped.sel(population="R")) == 0
    assert abs(float(e0.ppc.sel(population="R"))) < 0.01
    assert float(e0.plv.sel(population="R")) < 3 * np.sqrt(np.pi / (4 * n))
    # nothing locks to the noise channel
    assert abs(float(res.ppc.sel(electrode="e1", population="L"))) < 0.02
    assert res.plv.attrs["units"] == "1" and res.mean_phase.attrs["units"] == "rad"


def test_phases_equal_elephants_spike_triggered_phase():
    import neo
    import quantities as pq
    from elephant.phase_analysis import spike_triggered_phase
    from scipy.signal import butter, hilbert, sosfiltfilt

    ds = locked_run(n_cells=1)
    # a band up to 30 Hz: no decimation before filtering at this 1 kHz sampling
    res = spike_phase_locking(ds.isel(electrode=[0]), band=(8, 30), edge=0).isel(electrode=0)
    assert res.attrs["sampling_rate_used"] == FS
    x = ds.lfp.values[:, 0]
    y = hilbert(sosfiltfilt(butter(3, [8, 30], btype="bandpass", fs=FS, output="sos"), x - x.mean()))
    sig = neo.AnalogSignal(y[:, None], units="dimensionless", sampling_rate=FS * pq.Hz, t_start=0 * pq.ms)
    t = ds.spike_time.values[ds.spike_gid.values == 0]
    train = neo.SpikeTrain(t * pq.ms, t_start=0 * pq.ms, t_stop=sig.t_stop)
    (phases,), _, _ = spike_triggered_phase(sig, train, interpolate=True)
    z = np.exp(1j * phases)
    n = z.size
    assert_allclose(float(res.plv.sel(population="L")), abs(z.mean()), rtol=1e-9)
    assert_allclose(float(res.ppc.sel(population="L")), (abs(z.sum()) ** 2 - n) / (n * (n - 1)), rtol=1e-9)


def test_spike_triggered_average_recovers_a_kernel_and_counts_dropped_spikes():
    rng = np.random.default_rng(1)
    n = int(10 * FS)
    times = np.sort(rng.choice(np.arange(100, n - 100, 60), size=120, replace=False)).astype(float)  # ms
    lag = np.arange(-20, 41)  # ms = samples at 1 kHz
    kernel = np.exp(-0.5 * ((lag - 5) / 4.0) ** 2)  # mV, a bump 5 ms after each spike
    lfp = 0.05 * rng.standard_normal(n)
    for s in times.astype(int):
        lfp[s + lag] += kernel
    edge = np.array([10.0, n - 5.0])  # two spikes too close to the ends for the window
    ds = synthetic_run(lfp, FS, {"A": [np.sort(np.concatenate([times, edge]))]})
    res = spike_triggered_average(ds, window=(-20, 40)).sel(population="A")
    assert int(res.n_spikes) == 120 and int(res.n_dropped) == 2
    assert_allclose(res.lag.values, lag)
    # spikes at least 60 ms apart: windows do not overlap, the STA is the kernel + noise / sqrt(120)
    assert_allclose(res.sta.sel(electrode="e0"), kernel, atol=0.025)
    assert res.sta.attrs["units"] == "mV" and res.lag.attrs["units"] == "ms"


def test_spike_triggered_average_equals_elephant():
    import neo
    import quantities as pq
    from elephant.sta import spike_triggered_average as el_sta

    ds = locked_run(n_cells=1)
    res = spike_triggered_average(ds, window=(-30, 30), populations=["L"])
    sig = neo.AnalogSignal(ds.lfp.values, units="mV", sampling_rate=FS * pq.Hz, t_start=0 * pq.ms)
    # elephant starts each window at the sample below (spike + window start); here the sample
    # nearest the spike: the same windows for spikes on the grid
    t = np.round(ds.spike_time.values[ds.spike_gid.values == 0])
    train = neo.SpikeTrain(t * pq.ms, t_start=0 * pq.ms, t_stop=sig.t_stop)
    ref = el_sta(sig, train, (-30 * pq.ms, 31 * pq.ms))
    ds2 = ds.assign(spike_time=("spike", np.round(ds.spike_time.values)))
    res = spike_triggered_average(ds2, window=(-30, 30), populations=["L"])
    assert_allclose(res.sta.sel(population="L").values, np.asarray(ref.magnitude).T, rtol=1e-10, atol=1e-12)


def test_spike_field_coherence_high_for_locked_spikes():
    ds = locked_run(jitter=0.2)
    coh = spike_field_coherence(ds, nperseg=1000, fmax=50)
    at_f = coh.sel(frequency=F, electrode="e0")
    assert float(at_f.sel(population="L")) > 0.8
    # random spikes: only the estimator's bias, ~1/K for K = 39 half-overlapping segments
    # (0.005-0.09 over seeds 0-3)
    assert float(at_f.sel(population="R")) < 0.2
    assert float(coh.min()) >= 0 and float(coh.max()) <= 1 + 1e-12
    assert coh.frequency.attrs["units"] == "Hz"


@pytest.mark.parametrize("call, err, word", [
    (lambda ds: spike_triggered_average(ds, signal="nope"), KeyError, "nope"),
    (lambda ds: spike_triggered_average(ds, window=(5, -5)), ValueError, "window"),
    (lambda ds: spike_triggered_average(ds, window=5), TypeError, "window"),
    (lambda ds: spike_triggered_average(ds, signal=3), TypeError, "signal"),
    (lambda ds: spike_phase_locking(ds, band=(50, 10)), ValueError, "band"),
    (lambda ds: spike_phase_locking(ds, band=(8, 600)), ValueError, "Nyquist"),
    (lambda ds: spike_phase_locking(ds, band="alpha"), TypeError, "band"),
    (lambda ds: spike_phase_locking(ds, band=(8, 12), edge=-1), ValueError, "edge"),
    (lambda ds: spike_field_coherence(ds, nperseg=2.5), TypeError, "nperseg"),
    (lambda ds: spike_triggered_average(ds, populations=["X"]), KeyError, "X"),
])
def test_bad_input_is_named(call, err, word):
    with pytest.raises(err, match=word):
        call(locked_run(n_cells=1))
