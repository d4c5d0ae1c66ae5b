"""Spectral analysis against closed forms (sines, white noise) and scipy.signal on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss
import xarray as xr
from numpy.testing import assert_allclose

from signals.analysis import spectral

FS = 1000.0  # Hz


def signal(x: np.ndarray, *, fs: float = FS, t0: float = 0.0, units: str = "mV", names=None):
    """(channels, samples) array as a DataArray (time in ms, electrode labels)."""
    x = np.atleast_2d(x)
    t = t0 + np.arange(x.shape[1]) * 1000.0 / fs
    names = names or [f"e{i}" for i in range(x.shape[0])]
    return xr.DataArray(x.T, dims=("time", "electrode"),
                        coords={"time": t, "electrode": names,
                                "electrode_z": ("electrode", -100.0 * np.arange(x.shape[0]))},
                        attrs={"units": units, "long_name": "test potential"}, name="lfp")


def sine(amplitude: float, freq: float, n: int, fs: float = FS, phase: float = 0.3) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(n) / fs + phase)


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_sine_peak_and_parseval(method):
    a, f0, n = 0.8, 40.0, 20_000  # mV, Hz (on a bin of both estimators), 20 s
    p = spectral.psd(signal(sine(a, f0, n)), method=method)
    assert p.dims == ("electrode", "frequency")
    assert p.attrs["units"] == "mV^2/Hz" and p["frequency"].attrs["units"] == "Hz"
    f = p["frequency"].values
    assert f[int(p.isel(electrode=0).argmax("frequency"))] == pytest.approx(f0)
    df = p.attrs["frequency_step"]
    total = p.isel(electrode=0).sum("frequency").item() * df
    assert total == pytest.approx(a**2 / 2, rel=0.01)  # Parseval: mean square of a sine


@pytest.mark.parametrize("method", ["welch", "multitaper"])
def test_white_noise_level(method):
    rng = np.random.default_rng(0)
    sd = 0.5  # mV
    p = spectral.psd(signal(rng.normal(0, sd, 100_000)), method=method)
    # one-sided density of white noise: 2 sd² / fs, flat
    level = float(p.isel(frequency=slice(5, -5)).mean())
    assert level == pytest.approx(2 * sd**2 / FS, rel=0.02)


@pytest.mark.parametrize("n, nperseg, noverlap", [(10_000, 500, None), (12_345, 256, 100), (3_000, 1000, 0)])
def test_welch_equals_scipy_across_blocks(n, nperseg, noverlap):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, n)) + sine(1.0, 25.0, n)
    da = signal(x)
    kw = dict(nperseg=nperseg, noverlap=noverlap)
    f, ref = ss.welch(x, fs=FS, window="hann", axis=-1, **kw)
    for block_bytes in (3 * 8 * 700, 2**30):  # many small blocks, then one
        p = spectral.psd(da, block_bytes=block_bytes, **kw)
        assert_allclose(p["frequency"].values, f)
        assert_allclose(p.values, ref, rtol=1e-10, atol=1e-14 * ref.max())


def test_psd_keeps_extra_dims_and_coords():
    rng = np.random.default_rng(2)
    data = rng.normal(size=(2, 4000, 3))  # (population, time, electrode): time not first
    da = xr.DataArray(data, dims=("population", "time", "electrode"),
                      coords={"population": ["E", "I"], "time": np.arange(4000) * 0.5,
                              "electrode": ["a", "b", "c"], "electrode_z": ("electrode", [0.0, -1.0, -2.0])},
                      attrs={"units": "mV"})
    p = spectral.psd(da, nperseg=400, block_bytes=6 * 8 * 900)
    assert p.dims == ("population", "electrode", "frequency")
    assert list(p["electrode_z"].values) == [0.0, -1.0, -2.0]
    _, ref = ss.welch(np.moveaxis(data, 1, -1), fs=2000.0, nperseg=400)
    assert_allclose(p.values, ref, rtol=1e-10)


def test_psd_time_window_and_frequency_range():
    x = np.concatenate([sine(1.0, 10.0, 5000), sine(1.0, 60.0, 5000, phase=0.0)])
    p = spectral.psd(signal(x), time=(5000.0, 9999.0), fmin=20, fmax=100)
    f = p["frequency"].values
    assert f.min() >= 20 and f.max() <= 100
    assert f[int(p.isel(electrode=0).argmax("frequency"))] == pytest.approx(60.0)


def test_spectrogram_equals_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 9_001))
    da = signal(x, t0=100.0)
    s = spectral.spectrogram(da, nperseg=300, noverlap=200, fmax=200, block_bytes=2 * 8 * 1000)
    f, tc, ref = ss.spectrogram(x, fs=FS, window="hann", nperseg=300, noverlap=200)
    keep = f <= 200
    assert s.dims == ("electrode", "frequency", "time")
    assert_allclose(s.values, ref[:, keep, :], rtol=1e-10)
    assert_allclose(s["time"].values, 100.0 + tc * 1000.0)  # window centres, ms
    assert s.attrs["units"] == "mV^2/Hz"


def test_wavelet_matches_closed_forms():
    n_cycles = 7.0
    a, f0 = 0.5, 40.0
    x = sine(a, f0, 8000)
    w = spectral.wavelet(signal(x), frequencies=[20.0, 40.0, 80.0], n_cycles=n_cycles)
    mid = w.isel(time=slice(2000, 6000), electrode=0).mean("time")  # away from the edges
    assert float(w["frequency"][int(mid.argmax("frequency"))]) == 40.0
    # a Morlet with sigma_t = n/(2 pi f) has noise bandwidth sqrt(pi) f / n; a sine's power a²/2
    expected = (a**2 / 2) / (np.sqrt(np.pi) * f0 / n_cycles)
    assert float(mid.sel(frequency=40.0)) == pytest.approx(expected, rel=0.01)
    rng = np.random.default_rng(4)
    sd = 1.0
    noise = spectral.wavelet(signal(rng.normal(0, sd, 40_000)), frequencies=[30.0, 100.0], step=7)
    assert_allclose(noise.mean("time").values, 2 * sd**2 / FS, rtol=0.05)  # same density as psd


def test_band_power_of_two_sines():
    x = sine(1.0, 6.0, 20_000) + sine(0.5, 50.0, 20_000)
    # 0.5 Hz resolution: the Hann window's main lobe (±2 bins) stays inside each band
    bp = spectral.band_power(signal(x), nperseg=2000).isel(electrode=0)
    assert bp.dims == ("band",) and bp.attrs["units"] == "mV^2"
    assert float(bp.sel(band="theta")) == pytest.approx(0.5, rel=0.01)
    assert float(bp.sel(band="gamma")) == pytest.approx(0.125, rel=0.01)
    assert float(bp.sel(band="beta")) < 1e-3 * 0.125
    # from a PSD directly, custom bands
    p = spectral.psd(signal(x), nperseg=2000)
    custom = spectral.band_power(p, bands={"low": (1.0, 20.0), "high": (20.0, 100.0)})
    assert_allclose(custom.values[:, 0], [0.5, 0.125], rtol=0.01)


def test_coherence_equals_scipy():
    rng = np.random.default_rng(5)
    common = rng.normal(size=20_000)
    x = np.stack([common + rng.normal(size=20_000), common + 2 * rng.normal(size=20_000),
                  rng.normal(size=20_000)])
    da = signal(x)
    c = spectral.coherence(da, nperseg=256, block_bytes=3 * 8 * 2000)
    assert c.dims == ("source", "target", "frequency") and c.attrs["units"] == "1"
    assert c.attrs["pair_of"] == "electrode" and list(c["target"].values) == list(c["source"].values)
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        _, ref = ss.coherence(x[i], x[j], fs=FS, nperseg=256)
        assert_allclose(c.isel(source=i, target=j).values, ref, rtol=1e-9, atol=1e-12)
    assert_allclose(c.isel(source=1, target=1).values, 1.0)
    r = spectral.coherence(da, reference="e0", nperseg=256)
    _, ref = ss.coherence(x[1], x[0], fs=FS, nperseg=256)
    assert_allclose(r.sel(electrode="e1").values, ref, rtol=1e-9)
    # white noise with a common half: coherence (1/2 · 1/2)/(1 · ...) closed form for e0-e1
    expected = 1.0 / (2.0 * 5.0)  # |S01|²/(S00 S11) = 1 / ((1+1)(1+4))
    assert float(c.isel(source=0, target=1).mean()) == pytest.approx(expected, abs=0.02)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda da: spectral.psd(da.isel(time=0)), ValueError, "'time' dimension"),
        (lambda da: spectral.psd(da, method="burg"), ValueError, "PSD method"),
        (lambda da: spectral.psd(da, fmin=600), ValueError, "no frequency"),
        (lambda da: spectral.psd(da.assign_coords(time=da.time**1.5)), ValueError, "not evenly spaced"),
        (lambda da: spectral.psd(da, nperseg=1), ValueError, "nperseg"),
        (lambda da: spectral.psd(da, time=(50, 10)), ValueError, "start < stop"),
        (lambda da: spectral.wavelet(da, frequencies=[600.0]), ValueError, "Nyquist"),
        (lambda da: spectral.coherence(da, reference="nope"), KeyError, "reference"),
        (lambda da: spectral.band_power(da, bands={"bad": (10, 5)}), ValueError, "high must exceed"),
    ],
)
def test_bad_input_raises_clear_errors(call, error, message):
    da = signal(np.random.default_rng(6).normal(size=(2, 2000)))
    with pytest.raises(error, match=message):
        call(da)


def test_psd_of_a_run_file_is_lazy_and_equal(tmp_path):
    """Welch over blocks read from a run file equals scipy's Welch of the whole array."""
    import signals
    from signals.recorder import VariableSpec
    from signals.store import RunWriter

    rng = np.random.default_rng(7)
    n, n_el, chunk = 6000, 4, 500
    data = rng.normal(size=(n, n_el)) * 1e-3
    coords = {"electrode": (("electrode",), np.array([f"e{i}" for i in range(n_el)]), {}),
              "electrode_z": (("electrode",), -100.0 * np.arange(n_el), {"units": "um"})}
    w = RunWriter(tmp_path / "run.nc", coords=coords,
                  variables={"lfp": VariableSpec(("time", "electrode"), "mV", "potential")},
                  attrs={"record_dt": 0.1}, chunk_len=chunk)
    for k in range(0, n, chunk):
        w.append(np.arange(k, k + chunk) * 0.1, {"lfp": data[k:k + chunk]})
    w.close()
    ds = signals.open_run(tmp_path / "run.nc")
    p = spectral.psd(ds.lfp, nperseg=1000, block_bytes=n_el * 8 * 2500)
    _, ref = ss.welch(data.T, fs=10_000.0, nperseg=1000)
    assert_allclose(p.values, ref, rtol=1e-10)
    assert p.attrs["units"] == "mV^2/Hz"
    ds.close()


def test_power_units_of_compound_units():
    rng = np.random.default_rng(8)
    da = xr.DataArray(rng.normal(size=(2000, 3)), dims=("time", "component"),
                      coords={"time": np.arange(2000) * 1.0, "component": ["x", "y", "z"]},
                      attrs={"units": "nA um"})
    p = spectral.psd(da)
    assert p.attrs["units"] == "(nA um)^2/Hz"
    assert spectral.band_power(p).attrs["units"] == "(nA um)^2"


def test_attributes_in_hz_state_their_units():
    p = spectral.psd(signal(sine(1.0, 40.0, 4000)))
    for name in ("frequency_step", "frequency_resolution", "sampling_rate"):
        assert p.attrs[f"{name}_units"] == "Hz", name
    m = spectral.psd(signal(sine(1.0, 40.0, 4000)), method="multitaper")
    assert m.attrs["bandwidth_units"] == "Hz"
    assert spectral.band_power(p).attrs["frequency_resolution_units"] == "Hz"


def test_positive_frequencies_drop_dc_only():
    p = spectral.psd(signal(sine(1.0, 40.0, 4000)))
    assert p["frequency"].values[0] == 0.0
    q = spectral.positive_frequencies(p)
    assert_allclose(q["frequency"].values, p["frequency"].values[1:])
    assert_allclose(q.values, p.values[:, 1:])
    dc = p.isel(frequency=[0])  # nothing above 0 Hz: unchanged
    assert spectral.positive_frequencies(dc) is dc


@pytest.mark.parametrize("ms, fmin, fmax, lo, hi", [
    (1000.0, None, None, 7 / np.pi, 100.0),  # 1 s: the widest wavelet fitting the window, 2.2 Hz
    (20_000.0, None, None, 2.0, 100.0),      # long: fmax / 50
    (1000.0, 5.0, 300.0, 5.0, 300.0),        # given; 300 Hz < 0.45 · 1 kHz
    (1000.0, None, 480.0, 450.0 / 50, 450.0),  # capped below Nyquist
])
def test_wavelet_frequencies(ms, fmin, fmax, lo, hi):
    da = signal(np.zeros(int(ms) + 1))
    f = spectral.wavelet_frequencies(da, fmin=fmin, fmax=fmax)
    assert f.size == 60
    assert f[0] == pytest.approx(lo) and f[-1] == pytest.approx(hi)
    assert np.all(np.diff(f) > 0)


def test_wavelet_frequencies_refuse_a_window_too_short():
    with pytest.raises(ValueError, match="too short for 7-cycle wavelets"):
        spectral.wavelet_frequencies(signal(np.zeros(21)))  # 20 ms: lowest 111 Hz > 100 Hz
