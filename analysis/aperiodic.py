r"""Aperiodic (1/f) and periodic (peaks) components of power spectra: spectral parameterisation.

The FOOOF algorithm (Donoghue et al. 2020) models the log-power spectrum as an aperiodic
component plus Gaussian peaks:

.. math::

    \log_{10} P(f) = b - \log_{10}(k + f^{\chi})
        + \sum_i a_i \exp\Bigl(-\frac{(f - c_i)^2}{2 w_i^2}\Bigr)

with offset :math:`b`, knee :math:`k` (0 in the ``"fixed"`` mode), exponent :math:`\chi`, and
per peak its centre frequency :math:`c_i` (Hz), height :math:`a_i` above the aperiodic fit
(log10 power) and bandwidth :math:`2 w_i` (Hz).

Library: ``fooof`` 1.1 (the final release of FOOOF; the same algorithm continues as
``specparam``, whose only releases on PyPI are 2.0 release candidates with an API still
changing, so it is not used yet). fooof's import-time note about that rename is silenced here.

References
----------
Donoghue T et al. (2020). Parameterizing neural power spectra into periodic and aperiodic
components. Nature Neuroscience 23:1655–1665.
"""

from __future__ import annotations

import warnings

import numpy as np

from signals.analysis.data import other_coords
from signals.validation import check_option, ensure_int

__all__ = ["parameterize_spectrum"]


def _fooof():
    # fooof 1.1's import calls warnings.simplefilter("always") (for every warning, process-wide)
    # and then warns that it is replaced by specparam: recording the warnings here swallows that
    # note, and leaving the block restores the caller's warning filters
    with warnings.catch_warnings(record=True):
        from fooof import FOOOF
    return FOOOF


def parameterize_spectrum(da, *, freq_range: tuple[float, float] | None = None,
                          aperiodic_mode: str = "fixed", max_n_peaks: int = 6,
                          peak_width_limits: tuple[float, float] = (1.0, 12.0),
                          min_peak_height: float = 0.0, peak_threshold: float = 2.0, **psd_kwargs):
    """Fit aperiodic exponent, offset (and knee) and Gaussian peaks to each spectrum (fooof).

    Parameters
    ----------
    da : xarray.DataArray
        A PSD with a ``frequency`` dimension (Hz), e.g. from :func:`signals.analysis.psd`
        (``<units>^2/Hz``), or a signal with ``time`` (ms), whose PSD is computed with
        ``psd_kwargs``. Every other dimension (``electrode``, ``population``, ``run``) is fitted
        spectrum by spectrum.
    freq_range : (float, float), optional
        Frequencies fitted (Hz); default all above 0 Hz.
    aperiodic_mode : {"fixed", "knee"}
        Without or with a knee.
    max_n_peaks : int >= 0
        Most peaks per spectrum (the ``peak`` dimension has this length; unused entries NaN).
    peak_width_limits : (float, float)
        Allowed peak bandwidths (Hz); the lower limit should be at least twice the frequency
        resolution.
    min_peak_height : float >= 0
        Smallest peak height above the aperiodic fit (log10 power).
    peak_threshold : float
        Peak detection threshold (standard deviations of the flattened spectrum).
    **psd_kwargs
        Passed to :func:`signals.analysis.psd` when ``da`` is a signal.

    Returns
    -------
    xarray.Dataset
        Over the other dims of ``da``: ``exponent`` (1), ``offset`` (log10 of the PSD's units),
        ``knee`` (Hz^exponent; only with ``aperiodic_mode="knee"``), ``r_squared`` and ``error``
        (mean absolute error of the log10 fit), ``n_peaks``; over (other dims..., ``peak``):
        ``peak_frequency`` (Hz), ``peak_power`` (log10 power above the aperiodic fit),
        ``peak_bandwidth`` (Hz), strongest peak first.

    Raises
    ------
    ValueError
        If ``da`` has neither ``frequency`` nor ``time``, holds non-positive power in the fitted
        range, or an option is out of range.
    """
    import xarray as xr

    from signals.analysis.spectral import psd

    check_option(aperiodic_mode, "aperiodic_mode", ("fixed", "knee"))
    max_n_peaks = ensure_int(max_n_peaks, "max_n_peaks", minimum=0)
    try:
        w_lo, w_hi = (float(v) for v in peak_width_limits)
    except (TypeError, ValueError):
        raise TypeError(f"peak_width_limits must be (low, high) in Hz, got {peak_width_limits!r}") from None
    if not 0 < w_lo < w_hi:
        raise ValueError(f"peak_width_limits must satisfy 0 < low < high (Hz), got {peak_width_limits!r}")
    if "frequency" not in da.dims:
        if "time" not in da.dims:
            raise ValueError(f"parameterize_spectrum needs a PSD (dim 'frequency') or a signal (dim "
                             f"'time'), got dims {da.dims}")
        da = psd(da, **psd_kwargs)
    elif psd_kwargs:
        raise ValueError("psd options were given but da is already a PSD (has a 'frequency' dim)")
    f = np.asarray(da["frequency"].values, dtype=float)
    lo, hi = (float(f[f > 0].min()) if np.any(f > 0) else 0.0, float(f.max())) if freq_range is None \
        else (float(freq_range[0]), float(freq_range[1]))
    if not 0 < lo < hi:
        raise ValueError(f"freq_range must satisfy 0 < low < high (Hz), got {freq_range!r}")
    sel = (f >= lo) & (f <= hi)
    if sel.sum() < 5:
        raise ValueError(f"freq_range {lo:g}–{hi:g} Hz holds {int(sel.sum())} frequency bins; fooof "
                         "needs more (a longer signal or a wider range)")
    other = [d for d in da.dims if d != "frequency"]
    shape = tuple(da.sizes[d] for d in other)
    p = np.asarray(da.transpose(*other, "frequency").values, dtype=float).reshape(-1, f.size)
    if np.any(~(p[:, sel] > 0)):
        raise ValueError("the PSD holds zero, negative or NaN power in freq_range; fooof fits log10 power")
    FOOOF = _fooof()
    n_ap = 3 if aperiodic_mode == "knee" else 2
    ap = np.full((p.shape[0], n_ap), np.nan)
    peaks = np.full((p.shape[0], max_n_peaks, 3), np.nan)
    r2, err, npk = (np.full(p.shape[0], np.nan) for _ in range(3))
    for i, spec in enumerate(p):
        fm = FOOOF(peak_width_limits=(w_lo, w_hi), max_n_peaks=max_n_peaks,
                   min_peak_height=float(min_peak_height),
                   peak_threshold=float(peak_threshold), aperiodic_mode=aperiodic_mode, verbose=False)
        fm.fit(f[sel], spec[sel])
        if not fm.has_model:
            continue
        ap[i] = fm.aperiodic_params_
        pk = np.asarray(fm.peak_params_, dtype=float).reshape(-1, 3)
        pk = pk[np.argsort(-pk[:, 1])][:max_n_peaks]
        peaks[i, : pk.shape[0]] = pk
        r2[i], err[i], npk[i] = fm.r_squared_, fm.error_, pk.shape[0]
    unit = str(da.attrs.get("units", "1"))

    def field(values, *extra):
        return values.reshape((*shape, *extra))

    dims = tuple(other)
    out = xr.Dataset({"offset": (dims, field(ap[:, 0])), "exponent": (dims, field(ap[:, -1])),
                      "r_squared": (dims, field(r2)), "error": (dims, field(err)),
                      "n_peaks": (dims, field(npk)),
                      "peak_frequency": ((*dims, "peak"), field(peaks[..., 0], max_n_peaks)),
                      "peak_power": ((*dims, "peak"), field(peaks[..., 1], max_n_peaks)),
                      "peak_bandwidth": ((*dims, "peak"), field(peaks[..., 2], max_n_peaks))},
                     coords={**other_coords(da, other), "peak": np.arange(max_n_peaks)})
    if aperiodic_mode == "knee":
        out["knee"] = (dims, field(ap[:, 1]))
        out["knee"].attrs.update(units="Hz^exponent", long_name="aperiodic knee")
    out["offset"].attrs.update(units=f"log10({unit})", long_name="aperiodic offset")
    out["exponent"].attrs.update(units="1", long_name="aperiodic exponent (P ~ 1/f^exponent)")
    out["r_squared"].attrs.update(units="1", long_name="R² of the fit (log10 power)")
    out["error"].attrs.update(units="1", long_name="mean absolute error of the fit (log10 power)")
    out["n_peaks"].attrs.update(units="1", long_name="peaks found")
    out["peak_frequency"].attrs.update(units="Hz", long_name="peak centre frequency")
    out["peak_power"].attrs.update(units="1", long_name="peak height above the aperiodic fit (log10 power)")
    out["peak_bandwidth"].attrs.update(units="Hz", long_name="peak bandwidth (2 standard deviations)")
    out.attrs.update(method="fooof", aperiodic_mode=aperiodic_mode, freq_low=lo, freq_high=hi,
                     freq_units="Hz", peak_width_low=w_lo, peak_width_high=w_hi,
                     max_n_peaks=max_n_peaks, min_peak_height=float(min_peak_height),
                     peak_threshold=float(peak_threshold))
    return out
