"""Export a run to other tools: neo (:func:`to_neo`), NWB (:func:`to_nwb`), MNE (:func:`to_mne`),
SpikeInterface (:func:`to_spikeinterface`: ground truth for spike sorting).

Units: the run's UDUNITS strings become ``quantities`` units for neo and NWB's SI unit with a
conversion factor (data stored as recorded); MNE gets volts.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from signals import schema
from signals.io._units import NWB_UNITS, quantities_units

__all__ = ["to_mne", "to_neo", "to_nwb", "to_spikeinterface"]


def to_mne(ds, variable: str = "eeg", *, ch_type: str | None = None):
    """An EEG (or LFP) variable of a run as ``mne.io.RawArray``.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` of dims (time, ``<variable>_sensor``) or (time, ``electrode``)
        in mV, and positions ``<dim>_x/y/z`` (µm).
    variable : str
        The variable, e.g. ``"eeg"`` or ``"lfp"``.
    ch_type : str, optional
        MNE channel type; default ``"eeg"`` for sensors, ``"seeg"`` for electrodes.

    Returns
    -------
    mne.io.RawArray
        Data in volts (MNE's unit: mV × 1e-3), sampling frequency ``1000 / record_dt`` Hz. EEG
        sensors (head frame) get a ``DigMontage`` in the head frame (m); LFP electrodes, whose
        positions are in the network's frame, get none.

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
    sensor_dim = f"{variable}_sensor"
    if len(da.dims) != 2 or da.dims[0] != "time" or da.dims[1] not in (sensor_dim, "electrode"):
        raise ValueError(f"{variable!r} has dims {da.dims}, expected ('time', {sensor_dim!r}) "
                         "or ('time', 'electrode')")
    dim = da.dims[1]
    if da.attrs.get("units") != "mV":
        raise ValueError(f"{variable!r} is in {da.attrs.get('units')!r}, expected 'mV'")
    dt = _record_dt(ds)
    names = [str(n) for n in ds[dim].values]
    head_frame = dim == sensor_dim
    info = mne.create_info(names, sfreq=1000.0 / dt,
                           ch_types=ch_type or ("eeg" if head_frame else "seeg"))
    raw = mne.io.RawArray(da.values.T * 1e-3, info, first_samp=0, verbose="error")
    if head_frame:
        pos = schema.positions(ds, dim)
        if pos is None:
            raise KeyError(f"the run has no sensor positions {dim}_x/y/z for {variable!r}")
        pos = pos * 1e-6  # µm -> m
        montage = mne.channels.make_dig_montage(dict(zip(names, pos, strict=True)),
                                                coord_frame="head")
        raw.set_montage(montage, verbose="error")
    return raw


def to_spikeinterface(ds, variable: str = "lfp", *, dtype: str = "float32"):
    """A run's extracellular potential and spikes as SpikeInterface ground truth.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``variable`` (time, ``electrode``) in mV, ``electrode_x/y/z`` (µm) and the
        contact surfaces it was averaged over (:func:`signals.electrodes.from_run`), and
        spikes ``spike_time`` (ms) / ``spike_gid``.
    variable : str
        The potential, e.g. ``"lfp"``; record it finely enough for spikes (``record_dt`` of
        0.05 ms or less, 20-30 kHz).
    dtype : str
        dtype of the traces (float32, as most sorters take).

    Returns
    -------
    recording : spikeinterface.core.NumpyRecording
        Traces (time, channel) in µV (mV × 1000; gain 1, offset 0, so ``get_traces`` and
        ``get_traces(return_in_uV=True)`` agree), ``sampling_frequency = 1000 / record_dt``
        Hz, channel ids the contact names, first sample at the run's first time (s), with a
        3-D probeinterface probe of the contacts (:func:`signals.electrodes.to_probeinterface`;
        ``recording.planarize("yz")`` gives the 2-D probe most sorters want); no probe, with a
        warning, where the positions are not known (NaN in imported runs).
    sorting : spikeinterface.core.NumpySorting
        One unit per cell of the cell table (unit id = gid; silent cells have empty trains),
        property ``population``; spike frames at the recording's rate, ``round((t - t0) / dt)``
        for spike time ``t`` (ms) and first sample ``t0``, spikes outside the recording left out.

    Raises
    ------
    ImportError
        If SpikeInterface is not installed (``pip install "neuro-signals[spikeinterface]"``).
    KeyError, ValueError
        No such variable, no spikes, or not (time, electrode) in mV on a regular time axis.
    """
    try:
        from spikeinterface.core import NumpyRecording, NumpySorting
    except ImportError:
        raise ImportError("SpikeInterface export needs spikeinterface: "
                          "pip install \"neuro-signals[spikeinterface]\"") from None
    from signals.electrodes import from_run, to_probeinterface

    if variable not in ds:
        raise KeyError(f"the run has no variable {variable!r} (record it with the LFP recorder)")
    da = ds[variable]
    if da.dims != ("time", "electrode"):
        raise ValueError(f"{variable!r} has dims {da.dims}, expected ('time', 'electrode')")
    if da.attrs.get("units") != "mV":
        raise ValueError(f"{variable!r} is in {da.attrs.get('units')!r}, expected 'mV'")
    if "spike_time" not in ds or "spike_gid" not in ds:
        raise KeyError("the run has no spikes (spike_time, spike_gid): record them with Spikes()")
    dt = _record_dt(ds)
    fs = 1000.0 / dt
    t = np.asarray(ds["time"].values, dtype=float)
    t0 = float(t[0]) if t.size else 0.0
    pos = schema.positions(da.coords.to_dataset(), "electrode")
    known = pos is not None and bool(np.isfinite(pos).all())
    names = [str(n) for n in np.asarray(ds["electrode"].values)]
    traces = (np.asarray(da.values, dtype=float) * 1000.0).astype(dtype)  # mV -> µV
    recording = NumpyRecording([traces], sampling_frequency=fs, t_starts=[t0 * 1e-3],
                               channel_ids=names)
    recording.set_channel_gains(1.0)
    recording.set_channel_offsets(0.0)
    if known:
        electrodes = from_run(da)
        attached = recording.set_probe(to_probeinterface(electrodes, name=f"signals {variable}"))
        recording = recording if attached is None else attached  # in place from SpikeInterface 0.104
    else:
        import warnings

        warnings.warn(f"{variable!r}: contact positions unknown (NaN, an imported run): the "
                      "recording has no probe", stacklevel=2)
    st, sg, cells, pops = _spikes_and_cells(ds)
    frames = np.rint((st - t0) / dt).astype(np.int64)
    keep = (frames >= 0) & (frames < t.size)
    frames, sg = frames[keep], sg[keep]
    order = np.lexsort([sg, frames])
    sorting = NumpySorting.from_samples_and_labels([frames[order]], [sg[order]], fs,
                                                   unit_ids=cells)
    sorting.set_property("population", np.asarray(pops, dtype=str))
    return recording, sorting


def _subject(ds, fields) -> Any:
    """NWB's subject of a simulated network: unknown sex, age and (unless told) species."""
    from pynwb.file import Subject

    species = str(ds.attrs.get("species", "http://purl.obolibrary.org/obo/NCBITaxon_32644"))
    model = str(ds.attrs.get("model", "model")).replace("/", "_") or "model"
    defaults = {"subject_id": model, "sex": "U", "age": "P0D/", "species": species,
                "description": "a simulated network (signals): no animal; sex, age and species "
                               "unknown unless the model states them"}
    return Subject(**{**defaults, **dict(fields)})


def _record_dt(ds) -> float:
    """Sampling interval (ms) of a run; raises if the time axis is not regular."""
    t = np.asarray(ds["time"].values, dtype=float)
    if "record_dt" in ds.attrs:
        dt = float(ds.attrs["record_dt"])
    elif t.size > 1:
        dt = float(np.median(np.diff(t)))
    else:
        raise ValueError("the run has fewer than two samples and no record_dt attribute")
    if t.size > 1 and np.abs(np.diff(t) - dt).max() > 1e-6 * dt:
        raise ValueError("the time axis is not regular; cannot export as a sampled signal")
    return dt


def _time_variables(ds, variables: Sequence[str] | None, *, skip=("imem",)) -> list[str]:
    if variables is None:
        return [n for n, v in ds.data_vars.items() if v.dims[:1] == ("time",) and n not in skip]
    missing = [v for v in variables if v not in ds.data_vars]
    if missing:
        raise KeyError(f"the run has no variable(s) {missing}")
    bad = [v for v in variables if ds[v].dims[:1] != ("time",)]
    if bad:
        raise ValueError(f"not time series (first dim 'time'): {bad}")
    return list(variables)


def _channel_annotations(ds, da) -> dict[str, np.ndarray]:
    """One entry per flattened channel of a (time, ...) variable: labels and positions."""
    dims = da.dims[1:]
    shape = [ds.sizes[d] for d in dims]
    index = np.indices(shape).reshape(len(dims), -1) if dims else np.zeros((0, 1), dtype=int)
    out: dict[str, np.ndarray] = {}
    for k, dim in enumerate(dims):
        labels = (np.asarray(ds[dim].values) if dim in ds.variables
                  else np.arange(ds.sizes[dim]))
        labels = labels.astype(str) if labels.dtype.kind in "OUS" else labels
        out[dim] = labels[index[k]]
        for axis in schema.COMPONENTS:
            name = f"{dim}_{axis}"
            if name in ds.variables and ds[name].dims == (dim,):
                out[f"{name}_um"] = np.asarray(ds[name].values, dtype=float)[index[k]]
    return out


def _spikes_and_cells(ds):
    """Spike times (ms) and gids, and every cell's gid and population (``"all"`` if unknown)."""
    st = np.asarray(ds["spike_time"].values, dtype=float)
    sg = np.asarray(ds["spike_gid"].values, dtype=np.int64)
    cells = np.asarray(ds["cell"].values, dtype=np.int64) if "cell" in ds.variables else np.unique(sg)
    pops = (np.asarray(ds["cell_population"].values).astype(str) if "cell_population" in ds.variables
            else np.full(cells.size, "all"))
    return st, sg, cells, pops


def to_neo(ds, *, variables: Sequence[str] | None = None, spikes: bool = True):
    """A run as a ``neo.Block``: one Segment with AnalogSignals and SpikeTrains.

    Parameters
    ----------
    ds : xarray.Dataset
        A run (:func:`signals.open_run`).
    variables : sequence of str, optional
        Time series to export; default every one except ``imem`` (per-segment currents).
    spikes : bool
        Export spikes: one ``SpikeTrain`` per cell of the cell table (ms), annotated with its
        ``gid`` and ``population``, grouped by population in ``block.groups``.

    Returns
    -------
    neo.Block
        ``block.segments[0].analogsignals``: one ``AnalogSignal`` per variable, named like it,
        of shape (time, channels) with the run's units (``quantities``: mV, nA·µm, ...),
        ``sampling_period = record_dt`` ms and ``t_start`` = first sample (ms). Variables with
        more than one non-time dim (e.g. ``lfp_population``) are flattened to channels; the
        ``array_annotations`` give each channel's label per dim and its position ``<dim>_x_um``
        etc. (µm) where the run has one. Global run attributes are block annotations.

    Raises
    ------
    ValueError
        If a variable's units have no ``quantities`` equivalent or the time axis is irregular.
    """
    import neo
    import quantities as pq

    block = neo.Block(name=str(ds.attrs.get("model", "signals run")),
                      file_origin=str(ds.encoding.get("source", "")),
                      **{f"signals_{k}": _annotation(v) for k, v in ds.attrs.items()})
    seg = neo.Segment(name="run")
    block.segments.append(seg)
    names = _time_variables(ds, variables)
    t = np.asarray(ds["time"].values, dtype=float)
    if names:
        dt = _record_dt(ds)
        for name in names:
            da = ds[name]
            data = np.asarray(da.values).reshape(da.shape[0], -1)
            sig = neo.AnalogSignal(data, units=quantities_units(str(da.attrs.get("units", "1"))),
                                   sampling_period=dt * pq.ms, t_start=(t[0] if t.size else 0.0) * pq.ms,
                                   name=name, description=str(da.attrs.get("long_name", "")),
                                   array_annotations=_channel_annotations(ds, da),
                                   dims=",".join(da.dims[1:]))
            seg.analogsignals.append(sig)
    if spikes and "spike_time" in ds and "spike_gid" in ds:
        st, sg, cells, pops = _spikes_and_cells(ds)
        t0 = min(float(t[0]) if t.size else 0.0, float(st.min()) if st.size else 0.0)
        t_stop = max(float(ds.attrs.get("tstop", 0.0)), float(t[-1]) if t.size else 0.0,
                     float(st.max()) if st.size else 0.0)
        groups: dict[str, neo.Group] = {}
        for gid, pop in zip(cells.tolist(), pops.tolist(), strict=True):
            train = neo.SpikeTrain(np.sort(st[sg == gid]) * pq.ms, t_start=t0 * pq.ms,
                                   t_stop=t_stop * pq.ms, name=f"gid {gid}", gid=int(gid),
                                   population=str(pop))
            seg.spiketrains.append(train)
            if pop not in groups:
                groups[pop] = neo.Group(name=str(pop), allowed_types=[neo.SpikeTrain])
            groups[pop].add(train)
        block.groups.extend(groups.values())
    return block


def _annotation(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_nwb(ds, path: str | os.PathLike | None = None, *, variables: Sequence[str] | None = None,
           session_description: str | None = None, identifier: str | None = None,
           session_start_time: _dt.datetime | None = None, subject=None,
           location: str = "simulated network"):
    """A run as an NWB file: ``ElectricalSeries`` with an electrode table, spikes as units.

    Parameters
    ----------
    ds : xarray.Dataset
        A run (:func:`signals.open_run`).
    path : str or Path, optional
        Write the NWB file there (overwritten); without it the ``pynwb.NWBFile`` is returned.
    variables : sequence of str, optional
        Time series to export; default every one except ``imem`` (per-segment currents).
    session_description, identifier : str, optional
        NWB metadata; default the run's ``model`` attribute and a new UUID.
    session_start_time : datetime, optional
        Default: the run file's ``created`` attribute, else now (UTC); a time without a
        timezone is taken as UTC.
    subject : pynwb.file.Subject or mapping, optional
        The subject, or ``Subject`` fields replacing the defaults, e.g.
        ``{"species": "Mus musculus", "age": "P56D"}``. Default (a model has no animal):
        ``subject_id`` the run's ``model`` attribute (else ``"model"``), ``sex="U"``
        (unknown), ``age="P0D/"`` (an open range: unknown), ``species`` the run's
        ``species`` attribute, else NCBI taxonomy's "unidentified"
        (``http://purl.obolibrary.org/obo/NCBITaxon_32644``).
    location : str
        The electrode table's ``location`` of every contact: the modelled brain area, for a
        mouse model an Allen CCF term (``"VISp"``), which nwbinspector asks for with
        ``species="Mus musculus"``.

    Returns
    -------
    pynwb.NWBFile or Path
        Potentials in mV on electrodes or EEG sensors (a (time, channel) variable whose channel
        dim has ``<dim>_x/y/z`` positions) become ``ElectricalSeries`` in ``acquisition``, with
        ``unit="volts"``, ``conversion=1e-3`` and the data stored as recorded (mV). Each channel
        is a row of the electrode table in a group named after the dim (``electrode``,
        ``eeg_sensor``), its position in ``rel_x/rel_y/rel_z`` (µm, the model's frame: NWB's
        ``x/y/z`` are brain-atlas coordinates, which a model does not have). Other time series
        become ``TimeSeries`` (``dipole``: unit ``"A m"``, conversion 1e-15 from nA µm; ``v``:
        volts, 1e-3). Spikes are the units table (times in s, NWB's unit), with ``gid`` as id
        and a ``population`` column, and the units' ``resolution`` the simulation's time step
        ``dt`` (s; fixed-step NEURON's spike times lie on it). Sampling:
        ``rate = 1000 / record_dt`` Hz, ``starting_time`` in s. The file passes nwbinspector
        with no CRITICAL or BEST_PRACTICE_VIOLATION message (``tests/test_io.py``).

    Raises
    ------
    ImportError
        If pynwb is not installed (``pip install "neuro-signals[nwb]"``).
    """
    try:
        import pynwb
        from pynwb.ecephys import ElectricalSeries
        from pynwb.file import Subject
        from pynwb.misc import Units
    except ImportError:
        raise ImportError("NWB export needs pynwb: pip install \"neuro-signals[nwb]\"") from None

    if session_start_time is None:
        try:
            session_start_time = _dt.datetime.fromisoformat(str(ds.attrs["created"]))
        except (KeyError, ValueError):
            session_start_time = _dt.datetime.now(_dt.timezone.utc)
    if session_start_time.tzinfo is None:
        session_start_time = session_start_time.replace(tzinfo=_dt.timezone.utc)
    nwb = pynwb.NWBFile(
        session_description=session_description or str(ds.attrs.get("model", "signals run")),
        identifier=identifier or str(uuid.uuid4()), session_start_time=session_start_time,
        source_script="signals.io.to_nwb", source_script_file_name="signals/io/export.py",
        experiment_description="NEURON simulation; signals recorded the extracellular potentials, "
                               "dipoles and spikes (forward models in each series' description)",
        keywords=["simulation", "NEURON", "signals"],
        notes=json.dumps({k: _annotation(v) for k, v in ds.attrs.items()}, default=str),
        subject=subject if isinstance(subject, Subject) else _subject(ds, subject or {}))
    names = _time_variables(ds, variables)
    t = np.asarray(ds["time"].values, dtype=float)
    rate = 1000.0 / _record_dt(ds) if names else None
    start = float(t[0]) * 1e-3 if t.size else 0.0
    device = None
    channel_rows: dict[str, list[int]] = {}
    for name in names:
        da = ds[name]
        dim = da.dims[1] if da.ndim == 2 else None
        units = str(da.attrs.get("units", ""))
        is_potential = units == "mV" and dim is not None and schema.positions(ds, dim) is not None
        if is_potential:
            if device is None:
                device = nwb.create_device(name="signals", description="simulated contacts "
                                           "(signals forward models)")
            if dim not in channel_rows:
                if not channel_rows:
                    for col, doc in (("rel_x", "x (µm, model frame)"), ("rel_y", "y (µm, model frame)"),
                                     ("rel_z", "z (µm, model frame)"), ("label", "contact name")):
                        nwb.add_electrode_column(name=col, description=doc)
                group = nwb.create_electrode_group(name=dim, description=f"contacts of dim {dim!r}",
                                                   location=str(location), device=device)
                rows = []
                pos = schema.positions(ds, dim)
                for label, (x, y, z) in zip(np.asarray(ds[dim].values).astype(str), pos, strict=True):
                    rows.append(len(nwb.electrodes) if nwb.electrodes is not None else 0)
                    nwb.add_electrode(group=group, location=str(location), rel_x=float(x),
                                      rel_y=float(y), rel_z=float(z), label=str(label))
                channel_rows[dim] = rows
            region = nwb.create_electrode_table_region(channel_rows[dim], f"{dim} contacts of {name}")
            nwb.add_acquisition(ElectricalSeries(
                name=name, data=np.asarray(da.values), electrodes=region, conversion=1e-3,
                starting_time=start, rate=rate, description=str(da.attrs.get("long_name", name))))
        else:
            unit, conversion = NWB_UNITS.get(units, (units or "n/a", 1.0))
            comments = f"dims {', '.join(da.dims)}; signals units {units!r}"
            for d in da.dims[1:]:
                if d in ds.variables:
                    comments += f"; {d}: {', '.join(np.asarray(ds[d].values).astype(str))}"
            nwb.add_acquisition(pynwb.TimeSeries(
                name=name, data=np.asarray(da.values), unit=unit, conversion=conversion,
                starting_time=start, rate=rate, description=str(da.attrs.get("long_name", name)),
                comments=comments))
    if "spike_time" in ds and "spike_gid" in ds:
        st, sg, cells, pops = _spikes_and_cells(ds)
        resolution = float(ds.attrs["dt"]) * 1e-3 if "dt" in ds.attrs else -1.0  # -1: unknown
        nwb.units = Units(name="units", description="spikes of the model's cells (id: gid)",
                          resolution=resolution)
        nwb.add_unit_column(name="population", description="cell population")
        for gid, pop in zip(cells.tolist(), pops.tolist(), strict=True):
            nwb.add_unit(id=int(gid), spike_times=np.sort(st[sg == gid]) * 1e-3, population=str(pop))
    if path is None:
        return nwb
    path = Path(path)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
