"""Exchange with other tools: run files to MNE."""

from __future__ import annotations

import numpy as np

__all__ = ["to_mne"]


def to_mne(ds, variable: str = "eeg"):
    """An EEG variable of a run as ``mne.io.RawArray`` with its montage.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` of dims (time, ``<variable>_sensor``) in mV and sensor
        positions ``<variable>_sensor_x/y/z`` (µm, head frame).
    variable : str
        The EEG variable.

    Returns
    -------
    mne.io.RawArray
        Data in volts (MNE's unit: mV × 1e-3), sampling frequency ``1000 / record_dt`` Hz,
        channel type ``eeg``, a ``DigMontage`` in the head frame (m).

    Raises
    ------
    KeyError
        If the run has no such variable.
    ValueError
        If the variable is not in mV or is not sampled on a regular grid.
    """
    import mne

    if variable not in ds:
        raise KeyError(f"the run has no variable {variable!r} (record it with the EEG recorder)")
    da = ds[variable]
    dim = f"{variable}_sensor"
    if da.dims != ("time", dim):
        raise ValueError(f"{variable!r} has dims {da.dims}, expected ('time', {dim!r})")
    if da.attrs.get("units") != "mV":
        raise ValueError(f"{variable!r} is in {da.attrs.get('units')!r}, expected 'mV'")
    t = ds["time"].values
    dt = float(ds.attrs.get("record_dt", np.median(np.diff(t))))  # ms
    names = [str(n) for n in ds[dim].values]
    info = mne.create_info(names, sfreq=1000.0 / dt, ch_types="eeg")
    raw = mne.io.RawArray(da.values.T * 1e-3, info, first_samp=0, verbose="error")
    pos = np.column_stack([ds[f"{dim}_{a}"].values for a in "xyz"]) * 1e-6  # µm -> m
    montage = mne.channels.make_dig_montage(dict(zip(names, pos, strict=True)), coord_frame="head")
    raw.set_montage(montage, verbose="error")
    return raw
