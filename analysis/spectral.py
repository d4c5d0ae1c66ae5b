"""Spectral analysis of sampled signals (LFP, EEG, dipoles, population rates) on xarray objects.

Every function takes a ``DataArray`` with a ``time`` dimension in ms (any other dimensions, e.g.
``electrode``, are kept with their coordinates) and returns a labeled ``DataArray`` with a
``frequency`` dimension in Hz. Power spectral densities are one-sided, in ``<units>^2/Hz`` of the
input (mV²/Hz for an LFP), so that ``sum(P) * df`` is the signal's mean square (Parseval).

Welch PSDs, spectrograms and coherences are accumulated over blocks of time read one at a time
from the file, so a long recording is never loaded whole: the result equals
``scipy.signal.welch`` (``spectrogram``, ``coherence``) of the whole signal to rounding error.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping

import numpy as np

from signals.analysis.data import (
    BLOCK_BYTES,
    check_time_dim,
    iter_blocks,
    other_coords,
    samples_per_block,
    sampling_rate,
    select_time,
)
from signals.validation import check_option

__all__ = ["BANDS", "band_power", "coherence", "frequency_mask", "positive_frequencies", "psd",
           "sampling_rate", "spectrogram", "wavelet", "wavelet_frequencies"]

#: Canonical frequency bands (Hz): name → (low, high), low inclusive, high exclusive.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (1.0, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 13.0),
    "beta": (13.0, 30.0),
    "gamma": (30.0, 80.0),
    "high_gamma": (80.0, 200.0),
}


def _segments(n: int, fs: float, nperseg: int | None, noverlap: int | None,
              default_ms: float, default_overlap: float) -> tuple[int, int]:
    """Checked (nperseg, noverlap) in samples for a signal of ``n`` samples."""
    if nperseg is None:
        nperseg = max(8, int(round(default_ms * fs / 1000.0)))
    nperseg = int(nperseg)
    if nperseg < 2:
        raise ValueError(f"nperseg must be >= 2 samples, got {nperseg}")
    nperseg = min(nperseg, n)
    if noverlap is None:
        noverlap = int(nperseg * default_overlap)
    noverlap = int(noverlap)
    if not 0 <= noverlap < nperseg:
        raise ValueError(f"noverlap must be in [0, nperseg={nperseg}), got {noverlap}")
    return nperseg, noverlap


def frequency_mask(f: np.ndarray, fmin: float | None, fmax: float | None) -> np.ndarray:
    """Boolean mask of the frequencies ``f`` (Hz) in ``[fmin, fmax]``; an empty band is an error."""
    keep = np.ones(f.shape, dtype=bool)
    if fmin is not None:
        keep &= f >= float(fmin)
    if fmax is not None:
        keep &= f <= float(fmax)
    if not keep.any():
        raise ValueError(f"no frequency in the range [{fmin}, {fmax}] Hz "
                         f"(resolution {f[1] - f[0] if f.size > 1 else 0:.3g} Hz, max {f[-1]:.3g} Hz)")
    return keep


#: Attributes of spectral results in Hz; each comes with ``<name>_units``.
_HZ_ATTRS = ("frequency_step", "frequency_resolution", "sampling_rate", "bandwidth")


def _label(out, da, *, units: str, long_name: str, suffix: str, **attrs):
    """Name, units and provenance attributes of a spectral result (``X_units`` beside each ``X`` in Hz)."""
    out["frequency"].attrs.update(units="Hz", long_name="frequency")
    out.name = f"{da.name}_{suffix}" if da.name else suffix
    attrs = {k: v for k, v in attrs.items() if v is not None}
    attrs.update({f"{k}_units": "Hz" for k in _HZ_ATTRS if k in attrs})
    out.attrs.update(units=units, long_name=long_name, **attrs)
    return out


def _power_units(da) -> str:
    """``<units>^2/Hz``, parenthesised for compound units: ``(nA um)^2/Hz``."""
    unit = str(da.attrs.get("units", "1")).strip()
    if unit in ("", "1"):
        return "1/Hz"
    return f"({unit})^2/Hz" if any(c in unit for c in " /*.") else f"{unit}^2/Hz"


def _segments_per_block(da, nperseg: int, step: int, block_bytes: int, bytes_per_value: int = 32) -> int:
    """Welch segments per block so that the block's working memory stays within ``block_bytes``.

    scipy holds each segment detrended, windowed and transformed (about 4 float64 copies of
    ``channels × segments × nperseg``); overlapping segments repeat samples, so the budget is
    per segment, not per sample read.
    """
    n_ch = max(1, int(np.prod([s for d, s in da.sizes.items() if d != "time"])))
    by_work = int(block_bytes) // (n_ch * nperseg * bytes_per_value)
    by_read = (samples_per_block(da, block_bytes) - nperseg) // step + 1
    return max(1, min(by_work, by_read))


def _segment_starts(n: int, nperseg: int, step: int) -> int:
    """Number of whole segments of scipy's Welch (no padding, no boundary extension)."""
    return (n - nperseg) // step + 1


def _welch_blocks(da, nperseg: int, step: int, block_bytes: int, bytes_per_value: int = 32):
    """The signal read in blocks of whole Welch segments (the one block loop of this module).

    Yields ``(start, x, k)``: the block's first sample, its values (other dims..., time) cut
    to exactly ``k`` segments of ``nperseg`` samples ``step`` apart. scipy's Welch (and
    spectrogram, and the cross-spectra of :func:`coherence`) of a block is then its segments'
    sum or mean, so the weighted sum over blocks is the estimate of the whole signal.
    """
    n_seg = _segment_starts(da.sizes["time"], nperseg, step)
    per_block = _segments_per_block(da, nperseg, step, block_bytes, bytes_per_value)
    starts = range(0, n_seg * step, per_block * step)
    for start, x in iter_blocks(da, starts, (per_block - 1) * step + nperseg):
        k = min(per_block, n_seg - start // step)
        yield start, x[..., : (k - 1) * step + nperseg], k


def psd(da, *, method: str = "welch", nperseg: int | None = None, noverlap: int | None = None,
        window: str = "hann", bandwidth: float | None = None, fmin: float | None = None,
        fmax: float | None = None, time: tuple[float, float] | None = None,
        block_bytes: int = BLOCK_BYTES):
    """Power spectral density along ``time`` (Welch or multitaper).

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension (ms, evenly sampled) and a ``units`` attribute (e.g. mV).
        It may be lazily loaded from a run file.
    method : {"welch", "multitaper"}
        ``"welch"``: ``scipy.signal.welch``, accumulated over blocks of time (lazy, low memory).
        ``"multitaper"``: ``mne.time_frequency.psd_array_multitaper`` (DPSS tapers) on the
        whole window, which is loaded into memory.
    nperseg : int, optional
        Welch segment length (samples); default: 500 ms of data, at most the whole signal.
        The frequency resolution is ``fs / nperseg`` (Hz).
    noverlap : int, optional
        Welch segment overlap (samples); default ``nperseg // 2``.
    window : str
        Welch window (a ``scipy.signal.get_window`` name).
    bandwidth : float, optional
        Multitaper full bandwidth (Hz); default: mne's (8 / duration).
    fmin, fmax : float, optional
        Frequency range kept (Hz).
    time : (float, float), optional
        Time window analysed (ms).
    block_bytes : int
        Largest block read at once (bytes), for the Welch method.

    Returns
    -------
    xarray.DataArray
        ``time`` replaced by ``frequency`` (Hz); one-sided density in ``<units>^2/Hz``
        (mV²/Hz for an LFP in mV); other dimensions and their coordinates kept. Attributes
        ``frequency_step`` (bin spacing, Hz: ``sum(P) * frequency_step`` is the mean square) and
        ``frequency_resolution`` (Hz: ``fs / nperseg`` for Welch, the taper bandwidth for
        multitaper).

    Raises
    ------
    ValueError
        If ``da`` has no ``time`` dimension, fewer than two samples, an uneven time step, or
        an unknown method.
    """
    import xarray as xr

    check_option(method, "PSD method", ("welch", "multitaper"))
    da = select_time(da, time)
    check_time_dim(da, "psd")
    fs = sampling_rate(da)
    n = da.sizes["time"]
    other = [d for d in da.dims if d != "time"]
    if method == "welch":
        from scipy.signal import welch

        nperseg, noverlap = _segments(n, fs, nperseg, noverlap, 500.0, 0.5)
        step = nperseg - noverlap
        n_seg = _segment_starts(n, nperseg, step)
        # scipy's Welch of a block is the mean over its segments: the weighted mean over blocks
        total, f = None, None
        for _, x, k in _welch_blocks(da, nperseg, step, block_bytes):
            f, p = welch(x, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap, axis=-1)
            total = p * k if total is None else total + p * k
        p = total / n_seg
        attrs = dict(method="welch", nperseg=nperseg, noverlap=noverlap, window=window,
                     n_segments=n_seg)
    else:
        from mne.time_frequency import psd_array_multitaper

        x = np.moveaxis(np.asarray(da.values, dtype=float), da.dims.index("time"), -1)
        p, f = psd_array_multitaper(x, fs, bandwidth=bandwidth, normalization="full",
                                    remove_dc=True, verbose=False)
        attrs = dict(method="multitaper", bandwidth=bandwidth if bandwidth is not None else 8000.0 / (
            n / fs * 1000.0))
    keep = frequency_mask(f, fmin, fmax)
    out = xr.DataArray(p[..., keep], dims=(*other, "frequency"),
                       coords={**other_coords(da, other), "frequency": f[keep]})
    out = _label(out, da, units=_power_units(da), suffix="psd",
                 long_name=f"power spectral density of {da.attrs.get('long_name', da.name or 'signal')}",
                 frequency_step=float(f[1] - f[0]) if f.size > 1 else None,
                 frequency_resolution=(float(f[1] - f[0]) if f.size > 1 else None) if method == "welch"
                 else float(attrs["bandwidth"]),
                 sampling_rate=fs, **attrs)
    return out


def spectrogram(da, *, nperseg: int | None = None, noverlap: int | None = None, window: str = "hann",
                fmin: float | None = None, fmax: float | None = None,
                time: tuple[float, float] | None = None, block_bytes: int = BLOCK_BYTES):
    """Short-time Fourier power spectral density (``scipy.signal.spectrogram``), read block by block.

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension (ms, evenly sampled), possibly lazily loaded.
    nperseg : int, optional
        Window length (samples); default 200 ms of data, or a quarter of a signal shorter than
        800 ms (with a warning). Frequency resolution ``fs / nperseg`` (Hz).
    noverlap : int, optional
        Overlap of consecutive windows (samples); default ``7/8`` of ``nperseg``.
    window : str
        Window name (``scipy.signal.get_window``).
    fmin, fmax : float, optional
        Frequency range kept (Hz); keep it narrow for long recordings, the result holds
        (frequencies × windows) values per channel.
    time : (float, float), optional
        Time window analysed (ms).
    block_bytes : int
        Largest block read at once (bytes).

    Returns
    -------
    xarray.DataArray
        Dims (other dims..., ``frequency``, ``time``): frequency in Hz, time the window centres
        in ms; one-sided density in ``<units>^2/Hz``.
    """
    import xarray as xr
    from scipy.signal import spectrogram as _spectrogram

    da = select_time(da, time)
    check_time_dim(da, "spectrogram")
    fs = sampling_rate(da)
    n = da.sizes["time"]
    other = [d for d in da.dims if d != "time"]
    if n < _MIN_SPECTROGRAM:
        raise ValueError(f"a spectrogram needs at least {_MIN_SPECTROGRAM} samples "
                         f"({_MIN_SPECTROGRAM * 1000 / fs:g} ms at this sampling rate), got {n}")
    if nperseg is None and n < 4 * round(0.2 * fs):
        # a short recording: 4 windows across it (one would be a single time column), the
        # coarser frequency resolution stated in the result's attributes and this warning
        nperseg = max(_MIN_SPECTROGRAM // 2, n // 4)
        warnings.warn(f"the signal ({(n - 1) * 1000 / fs:g} ms) is shorter than 4 spectrogram windows of "
                      f"200 ms: using {nperseg * 1000 / fs:.3g} ms windows ({fs / nperseg:.3g} Hz "
                      "resolution)", UserWarning, stacklevel=2)
    nperseg, noverlap = _segments(n, fs, nperseg, noverlap, 200.0, 7 / 8)
    step = nperseg - noverlap
    parts, centres, keep, f = [], [], None, None
    t0 = float(da["time"][0])
    for start, x, _ in _welch_blocks(da, nperseg, step, block_bytes):
        f, tc, s = _spectrogram(x, fs=fs, window=window, nperseg=nperseg, noverlap=noverlap,
                                axis=-1, scaling="density", mode="psd")
        if keep is None:
            keep = frequency_mask(f, fmin, fmax)
        parts.append(s[..., keep, :])
        centres.append(t0 + start * 1000.0 / fs + tc * 1000.0)
    out = xr.DataArray(np.concatenate(parts, axis=-1), dims=(*other, "frequency", "time"),
                       coords={**other_coords(da, other), "frequency": f[keep],
                               "time": np.concatenate(centres)})
    out["time"].attrs.update(units="ms", long_name="time (window centre)")
    return _label(out, da, units=_power_units(da), suffix="spectrogram",
                  long_name=f"spectrogram of {da.attrs.get('long_name', da.name or 'signal')}",
                  method="stft", nperseg=nperseg, noverlap=noverlap, window=window,
                  frequency_step=float(f[1] - f[0]), frequency_resolution=float(f[1] - f[0]),
                  sampling_rate=fs)


#: Fewest samples a spectrogram is computed on (4 windows of 8 samples, 7/8 overlap).
_MIN_SPECTROGRAM = 16


def _morlet(f: float, fs: float, n_cycles: float) -> tuple[np.ndarray, float]:
    """Complex Morlet wavelet at ``f`` Hz (sum of its envelope = 1) and its noise bandwidth (Hz)."""
    sigma_t = n_cycles / (2.0 * np.pi * f)  # s
    half = int(np.ceil(5.0 * sigma_t * fs))
    t = np.arange(-half, half + 1) / fs
    env = np.exp(-0.5 * (t / sigma_t) ** 2)
    env /= env.sum()
    w = env * np.exp(2j * np.pi * f * t)
    enbw = fs * float(np.sum(env**2))  # ∫|W(ν)|² dν / |W(f)|² with |W(f)| = sum(env) = 1
    return w, enbw


def wavelet(da, *, frequencies, n_cycles: float = 7.0, step: int = 1,
            time: tuple[float, float] | None = None):
    """Morlet wavelet time-frequency power, scaled as a power spectral density.

    Each frequency ``f`` uses a complex Morlet wavelet with ``n_cycles`` cycles per ±1 standard
    deviation pair (``sigma_t = n_cycles / (2 pi f)``), normalised to unit gain at ``f``; the
    power ``2 |x * w|^2`` is divided by the wavelet's equivalent noise bandwidth, so white noise of
    one-sided density ``S`` gives ``S`` on average and the values compare with :func:`psd`.

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension (ms, evenly sampled). The window is loaded into memory.
    frequencies : sequence of float
        Frequencies (Hz), each > 0 and below the Nyquist frequency.
    n_cycles : float > 0
        Cycles per wavelet (time/frequency trade-off).
    step : int >= 1
        Keep every ``step``-th sample of the result (the power is smooth over ``sigma_t``).
    time : (float, float), optional
        Time window analysed (ms).

    Returns
    -------
    xarray.DataArray
        Dims (other dims..., ``frequency``, ``time``), in ``<units>^2/Hz``; time in ms.
    """
    import xarray as xr
    from scipy.signal import fftconvolve

    da = select_time(da, time)
    check_time_dim(da, "wavelet")
    fs = sampling_rate(da)
    freqs = np.atleast_1d(np.asarray(frequencies, dtype=float))
    if freqs.size == 0 or not np.all((freqs > 0) & (freqs < fs / 2)):
        raise ValueError(f"frequencies must be in (0, {fs / 2:g}) Hz (the Nyquist frequency)")
    if not n_cycles > 0:
        raise ValueError(f"n_cycles must be > 0, got {n_cycles}")
    step = int(step)
    if step < 1:
        raise ValueError(f"step must be >= 1, got {step}")
    other = [d for d in da.dims if d != "time"]
    x = np.moveaxis(np.asarray(da.values, dtype=float), da.dims.index("time"), -1)
    x = x - x.mean(axis=-1, keepdims=True)
    flat = x.reshape(-1, x.shape[-1])
    n_out = len(range(0, x.shape[-1], step))
    power = np.empty((flat.shape[0], freqs.size, n_out))
    for j, f in enumerate(freqs):
        w, enbw = _morlet(f, fs, n_cycles)
        y = fftconvolve(flat, w[None, :], mode="same", axes=-1)[:, ::step]
        power[:, j, :] = 2.0 * np.abs(y) ** 2 / enbw
    power = power.reshape(*x.shape[:-1], freqs.size, n_out)
    out = xr.DataArray(power, dims=(*other, "frequency", "time"),
                       coords={**other_coords(da, other), "frequency": freqs,
                               "time": np.asarray(da["time"].values)[::step]})
    out["time"].attrs.update(units="ms", long_name="time")
    return _label(out, da, units=_power_units(da), suffix="wavelet",
                  long_name=f"Morlet wavelet power of {da.attrs.get('long_name', da.name or 'signal')}",
                  method="morlet", n_cycles=float(n_cycles), sampling_rate=fs)


def wavelet_frequencies(da, *, fmin: float | None = None, fmax: float | None = None,
                        n_cycles: float = 7.0, n: int = 60) -> np.ndarray:
    """Default frequencies of a Morlet wavelet analysis (:func:`wavelet`) of ``da``'s window.

    The highest is ``fmax`` (default 100 Hz), at most 0.45 of the sampling rate (below
    Nyquist). The lowest is ``fmin`` or, by default, the lowest frequency whose wavelet is no
    wider than the window allows: ``n_cycles / (pi * duration)`` (the wavelet's ±1 standard
    deviation, ``2 sigma_t = n_cycles / (pi f)``, spans at most the window), and at least
    ``fmax / 50`` and 1 Hz.

    Parameters
    ----------
    da : xarray.DataArray
        Signal with a ``time`` dimension (ms, evenly sampled), already cut to the window.
    fmin, fmax : float, optional
        Frequency range (Hz).
    n_cycles : float > 0
        Cycles per wavelet, as given to :func:`wavelet`.
    n : int
        Number of frequencies, evenly spaced from the lowest to the highest.

    Returns
    -------
    ndarray of float, shape (n,)
        Frequencies (Hz).

    Raises
    ------
    ValueError
        If the window is too short for ``n_cycles``-cycle wavelets below the highest frequency.
    """
    check_time_dim(da, "wavelet_frequencies")
    fs = sampling_rate(da)
    hi = min(fmax if fmax is not None else 100.0, 0.45 * fs)
    duration = (float(da["time"][-1]) - float(da["time"][0])) / 1000.0  # s
    lo = fmin if fmin is not None else max(n_cycles / (np.pi * duration), hi / 50, 1.0)
    if not lo < hi:
        raise ValueError(f"the window ({duration * 1000:g} ms) is too short for {n_cycles:g}-cycle "
                         f"wavelets below {hi:g} Hz; give a longer window or fmin")
    return np.linspace(lo, hi, int(n))


def positive_frequencies(da):
    """``da`` without its frequencies at or below 0 Hz (the DC bin of a PSD or coherence).

    A log-scaled spectrum cannot show 0 Hz, and the coherence there is that of the means.

    Parameters
    ----------
    da : xarray.DataArray
        A result with a ``frequency`` dimension (Hz), e.g. from :func:`psd` or :func:`coherence`.

    Returns
    -------
    xarray.DataArray
        ``da`` restricted to ``frequency > 0``; unchanged if no frequency is above 0 Hz.
    """
    positive = np.asarray(da["frequency"].values, dtype=float) > 0
    return da.isel(frequency=positive) if positive.any() else da


def band_power(da, *, bands: Mapping[str, tuple[float, float]] | None = None, **psd_kwargs):
    """Power in frequency bands: the PSD integrated over each band.

    Parameters
    ----------
    da : xarray.DataArray
        Either a signal with a ``time`` dimension (its :func:`psd` is computed with
        ``psd_kwargs``) or a PSD with a ``frequency`` dimension (Hz).
    bands : mapping of str to (float, float), optional
        Band name → (low, high) in Hz, low inclusive and high exclusive; default :data:`BANDS`
        less the bands holding no frequency bin above 0 Hz (above Nyquist, or narrower than the
        resolution of a short signal), named in the attribute ``bands_without_bins``.
    **psd_kwargs
        Passed to :func:`psd` when ``da`` is a signal.

    Returns
    -------
    xarray.DataArray
        Dims (``band``, other dims...), coords ``band_low``/``band_high`` (Hz); in ``<units>^2``
        (mV² for an LFP): ``sum(P[f in band]) * df``.
    """
    import xarray as xr

    if "frequency" not in da.dims:
        da = psd(da, **psd_kwargs)
    elif psd_kwargs:
        raise ValueError("psd options were given but da is already a PSD (has a 'frequency' dim)")
    f = np.asarray(da["frequency"].values, dtype=float)
    if f.size < 2:
        raise ValueError("band_power needs at least two frequencies")
    df = float(np.median(np.diff(f)))
    dropped = []
    if bands is None:
        # a default band without any frequency bin (a short run's coarse resolution, or above
        # Nyquist) would be a legend entry without data: leave it out, and say so
        bands = {k: v for k, v in BANDS.items() if np.any((f >= v[0]) & (f < v[1]) & (f > 0))}
        dropped = [k for k in BANDS if k not in bands]
        if not bands:
            raise ValueError(f"no default band holds a frequency bin (resolution {df:.3g} Hz, max "
                             f"{f[-1]:.3g} Hz); give a longer signal or bands=")
    rows, lows, highs = [], [], []
    for name, (lo, hi) in bands.items():
        if not hi > lo:
            raise ValueError(f"band {name!r}: high must exceed low (Hz), got {(lo, hi)}")
        sel = (f >= lo) & (f < hi)
        rows.append(da.isel(frequency=np.flatnonzero(sel)).sum("frequency") * df)
        lows.append(float(lo))
        highs.append(float(hi))
    out = xr.concat(rows, dim=xr.DataArray(list(bands), dims="band", name="band"))
    out = out.assign_coords(band_low=("band", lows), band_high=("band", highs))
    out["band_low"].attrs.update(units="Hz")
    out["band_high"].attrs.update(units="Hz")
    unit = str(da.attrs.get("units", "1/Hz"))
    out.attrs = {"units": unit[:-3] if unit.endswith("/Hz") else f"{unit} Hz",
                 "long_name": f"band power ({da.attrs.get('long_name', 'PSD')})",
                 "frequency_resolution": df, "frequency_resolution_units": "Hz",
                 "bands_without_bins": ", ".join(dropped)}
    out.name = "band_power"
    return out


def _pair_coords(da, dim) -> dict:
    """``dim``'s label coordinate and the coordinates on it, once as ``source``, once as ``target``."""
    import xarray as xr

    out = {}
    long_name = da[dim].attrs.get("long_name", str(dim))
    for side in ("source", "target"):
        out[side] = xr.Variable(side, np.asarray(da[dim].values), {"long_name": long_name})
        for name, c in other_coords(da, [dim]).items():
            if name == dim:
                continue
            short = name.removeprefix(f"{dim}_")
            out[f"{side}_{short}"] = xr.Variable(side, np.asarray(c.values), dict(c.attrs))
    return out


def coherence(da, *, dim: Hashable | None = None, reference: Hashable | None = None,
              nperseg: int | None = None, noverlap: int | None = None, window: str = "hann",
              fmin: float | None = None, fmax: float | None = None,
              time: tuple[float, float] | None = None, block_bytes: int = BLOCK_BYTES):
    """Magnitude-squared coherence between the channels of ``da`` (e.g. electrodes), Welch-averaged.

    Equal to ``scipy.signal.coherence`` on the same segments; cross-spectra are accumulated block
    by block, so long recordings are not loaded whole.

    Parameters
    ----------
    da : xarray.DataArray
        Signal of dims (``time``, ``dim``), time in ms.
    dim : str, optional
        The channel dimension; default: the only dimension other than ``time``.
    reference : label, optional
        A label of ``dim``: the coherence of every channel with it. Default: every pair.
    nperseg, noverlap : int, optional
        Segment length and overlap (samples); defaults 500 ms and half of it.
    window : str
        Window name (``scipy.signal.get_window``).
    fmin, fmax : float, optional
        Frequency range kept (Hz).
    time : (float, float), optional
        Time window analysed (ms).
    block_bytes : int
        Largest block read at once (bytes).

    Returns
    -------
    xarray.DataArray
        Dimensionless, in [0, 1]. With ``reference``: dims (``dim``, ``frequency``). Otherwise
        every pair: dims (``source``, ``target``, ``frequency``), symmetric in the two, both
        labeled by ``dim``'s labels (``long_name``: ``dim``'s, e.g. "electrode"), the attribute
        ``pair_of`` naming ``dim``; coordinates of ``dim`` come once per side, renamed
        ``source_<name>`` and ``target_<name>`` (``electrode_x`` → ``source_x``, ``target_x``).
    """
    import xarray as xr
    from scipy.signal import get_window

    da = select_time(da, time)
    check_time_dim(da, "coherence")
    others = [d for d in da.dims if d != "time"]
    if dim is None:
        if len(others) != 1:
            raise ValueError(f"coherence needs dims (time, channel); give dim= among {others}")
        dim = others[0]
    elif dim not in others:
        raise ValueError(f"{dim!r} is not a dimension of the signal (dims {da.dims})")
    extra = [d for d in others if d != dim]
    if extra:
        raise ValueError(f"coherence needs dims (time, {dim}); select or reduce {extra} first")
    labels = da[dim].values
    ref_idx = None
    if reference is not None:
        hits = np.flatnonzero(labels == reference)
        if hits.size != 1:
            raise KeyError(f"reference {reference!r} is not a label of {dim!r} ({list(labels)})")
        ref_idx = int(hits[0])
    fs = sampling_rate(da)
    n = da.sizes["time"]
    nperseg, noverlap = _segments(n, fs, nperseg, noverlap, 500.0, 0.5)
    step = nperseg - noverlap
    n_seg = _segment_starts(n, nperseg, step)
    win = get_window(window, nperseg)
    f = np.fft.rfftfreq(nperseg, 1.0 / fs)
    keep = frequency_mask(f, fmin, fmax)
    n_ch = len(labels)
    nf = int(keep.sum())
    sxx = np.zeros((n_ch, nf))
    sxy = np.zeros((n_ch, nf) if ref_idx is not None else (n_ch, n_ch, nf), dtype=complex)
    for _, x, k in _welch_blocks(da, nperseg, step, block_bytes, bytes_per_value=48):
        segs = np.lib.stride_tricks.sliding_window_view(x, nperseg, axis=-1)[:, : k * step: step, :]
        segs = (segs - segs.mean(axis=-1, keepdims=True)) * win
        spec = np.fft.rfft(segs, axis=-1)[..., keep]  # (channel, segment, frequency)
        sxx += np.sum(np.abs(spec) ** 2, axis=1)
        if ref_idx is not None:
            sxy += np.sum(spec * np.conj(spec[ref_idx])[None], axis=1)
        else:
            sxy += np.einsum("isf,jsf->ijf", spec, np.conj(spec))
    with np.errstate(invalid="ignore", divide="ignore"):
        if ref_idx is not None:
            coh = np.abs(sxy) ** 2 / (sxx * sxx[ref_idx][None])
            dims = (dim, "frequency")
            coords = {**other_coords(da, [dim]), "frequency": f[keep]}
        else:
            coh = np.abs(sxy) ** 2 / (sxx[:, None, :] * sxx[None, :, :])
            dims = ("source", "target", "frequency")
            coords = {**_pair_coords(da, dim), "frequency": f[keep]}
    out = xr.DataArray(coh, dims=dims, coords=coords)
    if ref_idx is None:
        out.attrs["pair_of"] = str(dim)
    return _label(out, da, units="1", suffix="coherence",
                  long_name=f"magnitude-squared coherence of {da.attrs.get('long_name', da.name)}",
                  reference=None if reference is None else str(reference), nperseg=nperseg,
                  noverlap=noverlap, window=window, n_segments=n_seg,
                  frequency_step=float(f[1] - f[0]), frequency_resolution=float(f[1] - f[0]),
                  sampling_rate=fs)
