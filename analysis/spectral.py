"""Spectral analysis of sampled signals (PSD) on labeled xarray objects."""

from __future__ import annotations

import numpy as np

__all__ = ["psd"]


def psd(da, *, nperseg: int | None = None, fmax: float | None = None):
    """Welch power spectral density along ``time``.

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension in ms and a ``units`` attribute (e.g. ``mV``).
    nperseg : int, optional
        Samples per Welch segment; default: about 1 s of data, at most the whole signal.
    fmax : float, optional
        Highest frequency kept (Hz).

    Returns
    -------
    xarray.DataArray
        Dims ``time`` replaced by ``frequency`` (Hz); units ``<units>^2/Hz``.
    """
    import xarray as xr
    from scipy.signal import welch

    if "time" not in da.dims:
        raise ValueError(f"psd needs a 'time' dimension, got dims {da.dims}")
    t = np.asarray(da["time"].values, dtype=float)
    if t.size < 2:
        raise ValueError("psd needs at least two samples")
    fs = 1000.0 / float(np.median(np.diff(t)))  # time in ms -> Hz
    n = t.size if nperseg is None else int(nperseg)
    n = min(n, t.size, int(fs) if nperseg is None else n)
    other = [d for d in da.dims if d != "time"]
    data = da.transpose(*other, "time").values
    f, p = welch(data, fs=fs, nperseg=n, axis=-1)
    out = xr.DataArray(p, dims=(*other, "frequency"),
                       coords={**{d: da[d] for d in other if d in da.coords}, "frequency": f})
    out["frequency"].attrs.update(units="Hz", long_name="frequency")
    unit = da.attrs.get("units", "1")
    out.attrs.update(units=f"{unit}^2/Hz", long_name=f"power spectral density of {da.name}")
    if fmax is not None:
        out = out.sel(frequency=slice(None, fmax))
    return out
