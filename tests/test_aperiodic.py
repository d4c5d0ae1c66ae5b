"""Spectral parameterisation (fooof) of a 1/f^chi spectrum with a Gaussian peak, and of a real LFP."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from numpy.testing import assert_allclose

from signals.analysis import psd
from signals.analysis.aperiodic import parameterize_spectrum


def spectrum(chi, peak_f, *, offset=-2.0, height=0.8, sd=2.0, noise=0.02, seed=0):
    """log10 P = offset - chi log10 f + height exp(-(f - peak_f)^2 / (2 sd^2)) (+ small noise)."""
    f = np.arange(1.0, 100.5, 0.5)
    logp = offset - chi * np.log10(f) + height * np.exp(-0.5 * ((f - peak_f) / sd) ** 2)
    logp += noise * np.random.default_rng(seed).standard_normal(f.size)
    return f, 10**logp


def test_exponent_and_peak_recovered():
    cases = [(1.0, 10.0), (2.0, 40.0), (1.5, 22.0)]
    rows = [spectrum(chi, pf, seed=i)[1] for i, (chi, pf) in enumerate(cases)]
    f = spectrum(1, 10)[0]
    da = xr.DataArray(np.stack(rows), dims=("electrode", "frequency"),
                      coords={"electrode": ["a", "b", "c"], "frequency": f}, attrs={"units": "mV^2/Hz"})
    res = parameterize_spectrum(da, freq_range=(2, 95))
    assert_allclose(res.exponent, [c[0] for c in cases], atol=0.05)
    assert_allclose(res.offset, -2.0, atol=0.1)
    assert_allclose(res.peak_frequency.isel(peak=0), [c[1] for c in cases], atol=0.5)
    assert_allclose(res.peak_power.isel(peak=0), 0.8, atol=0.1)
    assert_allclose(res.peak_bandwidth.isel(peak=0), 2 * 2.0, rtol=0.2)  # 2 sd
    assert np.all(res.r_squared > 0.98) and np.all(res.error < 0.05)
    assert res.offset.attrs["units"] == "log10(mV^2/Hz)" and res.peak_frequency.attrs["units"] == "Hz"


def test_knee_mode_and_signal_input():
    f = np.arange(1.0, 150.5, 0.5)
    knee, chi = 100.0, 2.0
    p = 10 ** (-1.0) / (knee + f**chi)
    da = xr.DataArray(p, dims="frequency", coords={"frequency": f}, attrs={"units": "mV^2/Hz"})
    res = parameterize_spectrum(da, aperiodic_mode="knee", freq_range=(1, 150))
    assert_allclose(float(res.exponent), chi, atol=0.05)
    assert_allclose(float(res.knee), knee, rtol=0.1)
    # a signal is turned into its PSD first: white noise has exponent ~0
    rng = np.random.default_rng(0)
    sig = xr.DataArray(rng.standard_normal((20000, 2)), dims=("time", "electrode"),
                       coords={"time": np.arange(20000) * 1.0, "electrode": ["a", "b"]},
                       attrs={"units": "mV"})
    white = parameterize_spectrum(sig, freq_range=(2, 200), nperseg=1000)
    assert_allclose(white.exponent, 0.0, atol=0.1)


def test_real_lfp_psd(tmp_path):
    """On psd() of a recorded run: one fit per electrode and population, labelled as the PSD."""
    from _analysis_data import synthetic_run

    rng = np.random.default_rng(3)
    t = np.arange(4000) / 1000.0
    lfp = np.cumsum(rng.standard_normal((4000, 3)), axis=0) * 0.01 + 0.3 * np.sin(2 * np.pi * 30 * t)[:, None]
    ds = synthetic_run(lfp, 1000.0, {"A": [np.array([1.0])]})
    res = parameterize_spectrum(psd(ds.lfp, nperseg=1000), freq_range=(2, 200))
    assert res.exponent.dims == ("electrode",)
    assert_allclose(res.exponent, 2.0, atol=0.3)  # a random walk: 1/f^2
    assert_allclose(res.peak_frequency.isel(peak=0), 30.0, atol=1.0)


@pytest.mark.parametrize("kwargs, err, word", [
    (dict(aperiodic_mode="lorentz"), ValueError, "aperiodic_mode"),
    (dict(max_n_peaks=-1), ValueError, "max_n_peaks"),
    (dict(peak_width_limits=(5, 1)), ValueError, "peak_width_limits"),
    (dict(peak_width_limits=3), TypeError, "peak_width_limits"),
    (dict(freq_range=(50, 10)), ValueError, "freq_range"),
    (dict(nperseg=100), ValueError, "psd options"),
])
def test_bad_input_is_named(kwargs, err, word):
    f, p = spectrum(1.0, 10.0)
    da = xr.DataArray(p, dims="frequency", coords={"frequency": f})
    with pytest.raises(err, match=word):
        parameterize_spectrum(da, **kwargs)


def test_non_positive_power_is_refused():
    f, p = spectrum(1.0, 10.0)
    p[5] = 0
    with pytest.raises(ValueError, match="zero, negative"):
        parameterize_spectrum(xr.DataArray(p, dims="frequency", coords={"frequency": f}))
