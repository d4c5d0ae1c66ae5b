"""Exchange with other tools.

Import runs saved by other simulators as signals run files, so every analysis and figure of
signals works on them:

- :func:`from_netpyne`: NetPyNE's saved output (JSON; pickle only with ``allow_pickle=True``);
- :func:`from_sonata`: SONATA spike files and BMTK's ``ecp.h5`` (needs ``h5py``).

Export a run:

- :func:`to_neo`: a ``neo.Block`` (AnalogSignals, SpikeTrains, units from ``quantities``);
- :func:`to_nwb`: an NWB file (``ElectricalSeries`` with an electrode table; needs ``pynwb``);
- :func:`to_mne`: an ``mne.io.RawArray`` of an EEG (or LFP) variable.

:func:`convert` does any of these from one file to another (``signals convert IN OUT``).
Imported runs carry the variable names, dims, units and attributes of live runs (``lfp``
(time, electrode) in mV with ``electrode_x/y/z`` in µm, ``spike_time``/``spike_gid``, ``v``
(time, v_cell), the cell table, ``connection_*``, ``dipole`` (time, component) in nA µm), in
NEURON's coordinates.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signals._validation import as_gids, as_positions, as_times, check_positive
from signals.recorder import VariableSpec
from signals.recorders.connections import connection_table

__all__ = ["to_mne", "from_netpyne", "from_sonata", "to_neo", "to_nwb", "convert"]

logger = logging.getLogger("signals")

_PICKLE_MAGIC = (b"\x80",)
_GZIP_MAGIC = b"\x1f\x8b"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NETCDF3_MAGIC = b"CDF"
_BUFFER_BYTES = 64 * 2**20


# -- exports -------------------------------------------------------------------------------------


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
        pos = np.column_stack([ds[f"{dim}_{a}"].values for a in "xyz"]) * 1e-6  # µm -> m
        montage = mne.channels.make_dig_montage(dict(zip(names, pos, strict=True)),
                                                coord_frame="head")
        raw.set_montage(montage, verbose="error")
    return raw


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


def _pq_units(units: str):
    """``quantities`` unit of a UDUNITS string used in run files (e.g. ``"nA um"``)."""
    import quantities as pq

    text = {"1": "dimensionless", "": "dimensionless"}.get(units.strip(), units.strip())
    text = "*".join(text.split())
    if text == "fT":
        try:
            return pq.Quantity(1.0, "fT").units
        except LookupError:
            return pq.UnitQuantity("femtotesla", pq.T * 1e-15, symbol="fT")
    try:
        return pq.Quantity(1.0, text).units
    except (LookupError, ValueError, TypeError) as err:
        raise ValueError(f"units {units!r} have no `quantities` equivalent: {err}") from None


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
        for axis in "xyz":
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
            sig = neo.AnalogSignal(data, units=_pq_units(str(da.attrs.get("units", "1"))),
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


# NWB stores data as recorded with a conversion factor to its SI unit.
_NWB_UNITS = {"mV": ("volts", 1e-3), "nA um": ("A m", 1e-15), "fT": ("tesla", 1e-15),
              "nA": ("amperes", 1e-9), "ms": ("seconds", 1e-3)}


def to_nwb(ds, path: str | os.PathLike | None = None, *, variables: Sequence[str] | None = None,
           session_description: str | None = None, identifier: str | None = None,
           session_start_time: _dt.datetime | None = None):
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
        Default: the run file's ``created`` attribute, else now (UTC).

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
        and a ``population`` column. Sampling: ``rate = 1000 / record_dt`` Hz,
        ``starting_time`` in s.

    Raises
    ------
    ImportError
        If pynwb is not installed (``pip install "neuro-signals[nwb]"``).
    """
    try:
        import pynwb
        from pynwb.ecephys import ElectricalSeries
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
        source_script="signals.io.to_nwb", source_script_file_name="signals/io.py",
        notes=json.dumps({k: _annotation(v) for k, v in ds.attrs.items()}, default=str))
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
        is_potential = (units == "mV" and dim is not None
                        and all(f"{dim}_{a}" in ds.variables for a in "xyz"))
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
                                                   location="simulated network", device=device)
                rows = []
                for k, label in enumerate(np.asarray(ds[dim].values).astype(str)):
                    rows.append(len(nwb.electrodes) if nwb.electrodes is not None else 0)
                    nwb.add_electrode(group=group, location="simulated network",
                                      rel_x=float(ds[f"{dim}_x"].values[k]),
                                      rel_y=float(ds[f"{dim}_y"].values[k]),
                                      rel_z=float(ds[f"{dim}_z"].values[k]), label=str(label))
                channel_rows[dim] = rows
            region = nwb.create_electrode_table_region(channel_rows[dim], f"{dim} contacts of {name}")
            nwb.add_acquisition(ElectricalSeries(
                name=name, data=np.asarray(da.values), electrodes=region, conversion=1e-3,
                starting_time=start, rate=rate, description=str(da.attrs.get("long_name", name))))
        else:
            unit, conversion = _NWB_UNITS.get(units, (units or "n/a", 1.0))
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
        nwb.add_unit_column(name="population", description="cell population")
        for gid, pop in zip(cells.tolist(), pops.tolist(), strict=True):
            nwb.add_unit(id=int(gid), spike_times=np.sort(st[sg == gid]) * 1e-3, population=str(pop))
    if path is None:
        return nwb
    path = Path(path)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


# -- imported runs -------------------------------------------------------------------------------


@dataclass
class _Imported:
    """A run assembled from another tool's files, before it is written as a run file."""

    time: np.ndarray
    attrs: dict[str, Any]
    coords: dict[str, tuple] = field(default_factory=dict)
    series: dict[str, tuple[VariableSpec, Any]] = field(default_factory=dict)
    events: dict[str, tuple[VariableSpec, np.ndarray]] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        """Write as a signals run file, chunk by chunk along time."""
        from signals.store import RunWriter

        n_time = self.time.size
        width = sum(int(np.prod(np.shape(a)[1:])) for _, a in self.series.values()) or 1
        chunk = int(np.clip(_BUFFER_BYTES // (8 * width), 1, 500))
        writer = RunWriter(path, coords=self.coords,
                           variables={k: s for k, (s, _) in {**self.series, **self.events}.items()},
                           attrs=self.attrs, chunk_len=chunk)
        error = None
        try:
            pending = {k: a for k, (_, a) in self.events.items()}
            for k0 in range(0, max(n_time, 1), chunk):
                k1 = min(k0 + chunk, n_time)
                out = {k: np.asarray(a[k0:k1]) for k, (_, a) in self.series.items()}
                out.update(pending)
                pending = {}
                writer.append(self.time[k0:k1], out)
        except BaseException as err:
            error = err
            raise
        finally:
            writer.close(error=error, attrs={"n_samples": writer.n_samples})
        return path

    def finish(self, out: str | os.PathLike | None):
        """Write to ``out`` and open it lazily, or return the run loaded in memory."""
        from signals.store import open_run

        if out is not None:
            return open_run(self.write(Path(out)))
        with tempfile.TemporaryDirectory(prefix="signals-import-") as tmp:
            with open_run(self.write(Path(tmp) / "run.nc")) as ds:
                return ds.load()


def _provenance(fmt: str, path: Path) -> dict[str, Any]:
    import signals

    return {"signals_version": signals.__version__, "source_format": fmt,
            "source_file": str(path), "mpi_ranks": 1}


def _electrode_coords(positions: np.ndarray, names: Sequence[str] | None = None, *,
                      dim: str = "electrode", comment: str | None = None) -> dict[str, tuple]:
    """``electrode`` and ``electrode_x/y/z`` (µm) as a live LFP recorder writes them."""
    n = len(positions)
    if names is None:
        width = max(2, len(str(n - 1)))
        names = [f"e{i:0{width}d}" for i in range(n)]
    out = {dim: ((dim,), np.array(names, dtype=object), {"long_name": "electrode contact"})}
    for k, axis in enumerate("xyz"):
        attrs = {"units": "um", "long_name": f"electrode {axis} position"}
        if comment:
            attrs["comment"] = comment
        out[f"{dim}_{axis}"] = ((dim,), np.asarray(positions, dtype=float)[:, k], attrs)
    return out


def _cell_coords(gid, pop, pos, populations, *, comment: str) -> dict[str, tuple]:
    """The cell table of a live run: ``cell``, ``cell_population``, ``cell_x/y/z`` (µm)."""
    gid = as_gids(gid, "cell gids")
    if np.unique(gid).size != gid.size:
        raise ValueError("cell gids repeat: " + str(np.unique(gid[np.flatnonzero(
            np.diff(np.sort(gid)) == 0)]).tolist()[:5]))
    order = np.argsort(gid, kind="stable")
    pos = np.asarray(pos, dtype=float).reshape(-1, 3)[order]
    um = {"units": "um", "comment": comment}
    return {
        "population": (("population",), np.array(populations, dtype=object),
                       {"long_name": "cell population"}),
        "cell": (("cell",), gid[order], {"units": "1", "long_name": "cell gid"}),
        "cell_population": (("cell",), np.asarray(pop, dtype=object)[order],
                            {"long_name": "population of the cell"}),
        "cell_x": (("cell",), pos[:, 0], {**um, "long_name": "soma x position"}),
        "cell_y": (("cell",), pos[:, 1], {**um, "long_name": "soma y position"}),
        "cell_z": (("cell",), pos[:, 2], {**um, "long_name": "soma z position"}),
    }


def _spike_events(times, gids, *, where: str = "spikes",
                  comment: str | None = None) -> dict[str, tuple]:
    """``spike_time`` (ms), ``spike_gid`` sorted by time then gid, as live runs store them.

    ``where`` names the file and fields in errors: times finite and >= 0, gids int64.
    """
    times = as_times(times, f"{where} (spike times)")
    gids = as_gids(gids, f"{where} (spike gids)")
    if times.size != gids.size:
        raise ValueError(f"{where}: {times.size} spike times but {gids.size} spike gids")
    order = np.lexsort([gids, times])
    attrs = {"comment": comment} if comment else {}
    return {
        "spike_time": (VariableSpec(("spike",), "ms", "spike time", reduce="gather", attrs=attrs),
                       times[order]),
        "spike_gid": (VariableSpec(("spike",), "1", "gid of the spiking cell", reduce="gather",
                                   dtype="i8"), gids[order]),
    }


def _sniff(path: Path) -> str:
    """``json``, ``pickle``, ``gzip``, ``hdf5``, ``netcdf3`` or ``unknown``, from the first bytes."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if not head:
            return "empty"
        if head.startswith(_HDF5_MAGIC):
            return "hdf5"
        if head.startswith(_NETCDF3_MAGIC):
            return "netcdf3"
        if head.startswith(_GZIP_MAGIC):
            return "gzip"
        if head[:1] in _PICKLE_MAGIC:
            return "pickle"
        fh.seek(0)
        start = fh.read(4096).lstrip()
    if start[:1] in (b"{", b"["):
        return "json"
    return "unknown"


# -- NetPyNE -------------------------------------------------------------------------------------

#: Units of NetPyNE trace variables (``cfg.recordTraces[...]['var']``).
_TRACE_UNITS = {"v": "mV", "i_membrane_": "nA", "i_membrane": "mA/cm2", "cai": "mM", "cao": "mM",
                "nai": "mM", "nao": "mM", "ki": "mM", "ko": "mM", "ica": "mA/cm2",
                "ina": "mA/cm2", "ik": "mA/cm2", "i": "nA", "g": "uS"}


def _load_netpyne(path: Path, allow_pickle: bool) -> dict:
    kind = _sniff(path)
    if kind in ("pickle", "gzip"):
        if not allow_pickle:
            raise ValueError(
                f"{str(path)!r} is a Python pickle{' (gzip-compressed)' if kind == 'gzip' else ''}: "
                "unpickling runs code stored in the file. Pass allow_pickle=True (CLI: "
                "--allow-pickle) only for files you trust, or save from NetPyNE as JSON "
                "(cfg.saveJson = True)")
        import pickle

        opener = gzip.open if kind == "gzip" else open
        try:
            with opener(path, "rb") as fh:
                data = pickle.load(fh)
        except (pickle.UnpicklingError, EOFError, OSError, RecursionError) as err:
            raise ValueError(f"{str(path)!r} is not a readable pickle (truncated?): {err}") from None
        except (ImportError, AttributeError) as err:
            raise ValueError(f"{str(path)!r}: the pickle refers to code that is not installed "
                             f"({err}); NetPyNE pickles need netpyne installed") from None
    elif kind == "json":
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except json.JSONDecodeError as err:
            raise ValueError(f"{str(path)!r} is not complete JSON (truncated or corrupt file?): "
                             f"{err}") from None
        except RecursionError:
            raise ValueError(f"{str(path)!r}: JSON nested too deeply to be NetPyNE output") from None
        except ValueError as err:  # e.g. Python's limit on the digits of an integer
            raise ValueError(f"{str(path)!r} holds a value JSON cannot give: {err}") from None
    elif kind in ("hdf5", "netcdf3"):
        raise ValueError(f"{str(path)!r} is a {'netCDF/HDF5' if kind == 'hdf5' else 'netCDF'} file, "
                         "not NetPyNE output (JSON, or pickle with allow_pickle=True); for a signals "
                         "run use signals.open_run, for SONATA/BMTK files signals.io.from_sonata")
    elif kind == "empty":
        raise ValueError(f"{str(path)!r} is empty")
    else:
        raise ValueError(f"{str(path)!r} is neither JSON nor a pickle: not NetPyNE saved output")
    if not isinstance(data, Mapping) or not ({"simData", "net"} & set(data)):
        keys = sorted(map(str, data))[:8] if isinstance(data, Mapping) else type(data).__name__
        raise ValueError(f"{str(path)!r} is not NetPyNE saved output: no 'simData' or 'net' "
                         f"(found {keys}); save with sim.saveData()")
    return data


def _rows(value) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    return arr.reshape(arr.shape[0], -1) if arr.ndim == 1 else arr


def _arc_midpoint(points: np.ndarray) -> np.ndarray:
    """Point at half the arc length of a polyline (n, 3) µm, as NEURON interpolates 3-D points."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    arc = np.r_[0.0, np.cumsum(seg)]
    if arc[-1] == 0:
        return points[0]
    return np.array([np.interp(0.5 * arc[-1], arc, points[:, k]) for k in range(3)])


def _netpyne_cell_position(cell: Mapping, cfg: Mapping) -> np.ndarray:
    """Soma (root section) midpoint of a saved NetPyNE cell in NEURON's coordinates (µm)."""
    tags = cell.get("tags", {})
    try:
        x, y, z = (float(tags[k]) for k in ("x", "y", "z"))
    except (KeyError, TypeError, ValueError):
        return np.full(3, np.nan)
    base = np.array([x, -y if cfg.get("invertedYCoord", True) else y, z])
    secs = cell.get("secs") or {}
    roots = [name for name, sec in secs.items()
             if not (sec.get("topol") or {}).get("parentSec")]
    if not roots:
        return base
    root = "soma" if "soma" in roots else roots[0]
    pts = (secs[root].get("geom") or {}).get("pt3d")
    if not pts or len(pts) < 2:
        return base
    points = np.asarray(pts, dtype=float)[:, :3]
    if cfg.get("pt3dRelativeToCellLocation", True):
        points = points + base
    return _arc_midpoint(points)


def _netpyne_connections(cells: Sequence[Mapping], cfg: Mapping, syn_params: Mapping) -> dict:
    fmt = cfg.get("compactConnFormat")
    rows = []
    for cell in cells:
        post = int(cell["gid"])
        for conn in cell.get("conns") or []:
            if not isinstance(conn, Mapping):
                conn = dict(zip(fmt or [], conn, strict=False))
            pre = conn.get("preGid")
            pre = int(pre) if isinstance(pre, int | float | np.integer) and not isinstance(pre, bool) else -1
            label = str(conn.get("synMech", ""))
            params = syn_params.get(label) if isinstance(syn_params, Mapping) else None
            mech = (params or {}).get("mod", label)
            rows.append((pre, post, float(conn.get("weight", np.nan)), float(conn.get("delay", np.nan)),
                         str(mech), str(conn.get("sec", ""))))
    if not rows:
        return {}
    return connection_table(rows, comments={
        "connection_pre": "NetPyNE preGid; -1 for NetStim sources",
        "connection_synapse": "the 'mod' of NetPyNE's synMechParams[synMech]",
        "connection_section": "NetPyNE section name",
    })


def _per_population(saved: Mapping, populations: Sequence[str], n_time: int, width: int) -> np.ndarray:
    """NetPyNE's per-population series as (time, population, width); NetPyNE starts at
    t = recordStep, so row 0 (t = 0) and populations it did not save stay 0."""
    out = np.zeros((n_time, len(populations), width))
    for k, p in enumerate(populations):
        if p in saved:
            rows = _rows(saved[p])
            out[1:rows.shape[0] + 1, k] = rows
    return out


def from_netpyne(path: str | os.PathLike, *, allow_pickle: bool = False,
                 out: str | os.PathLike | None = None):
    """A run saved by NetPyNE (``sim.saveData()``) as a signals run.

    Parameters
    ----------
    path : str or Path
        NetPyNE's saved output: JSON (``cfg.saveJson``), or a pickle (``cfg.savePickle``,
        ``.pkl``; gzip-compressed ``.dpk``) only with ``allow_pickle=True``.
    allow_pickle : bool
        Allow reading pickles. Unpickling runs code stored in the file: only for files you
        trust. The file's type is told by its content, not its name.
    out : str or Path, optional
        Also write the run file there (netCDF4, overwritten) and return it opened lazily;
        default: return the run loaded in memory.

    Returns
    -------
    xarray.Dataset
        What NetPyNE saved, with the names, dims, units and attributes of a live run:

        - ``lfp`` (time, electrode) in mV from ``simData['LFP']``, with ``electrode_x/y/z`` (µm)
          in NEURON's coordinates: NetPyNE's line source negates the y of every
          ``cfg.recordLFP`` contact ("y is depth"), so a contact ``[x, y, z]`` is the electrode
          ``(x, -y, z)`` (the positions NetPyNE itself used, ``net.recXElectrode.pos``);
          ``sigma`` = 0.3 S/m (fixed by NetPyNE). ``lfp_population`` (time, population,
          electrode) from ``LFPPops``, ``lfp_per_cell`` (time, lfp_cell, electrode) from
          ``LFPCells``.
        - ``dipole`` (time, component) in nA µm from ``dipoleSum``: NetPyNE's
          ``recordDipole`` is LFPykit's ``CurrentDipoleMoment`` on NEURON's coordinates (µm)
          with currents in nA, about the origin, like ``Dipole()``; ``dipole_population`` and
          ``dipole_per_cell`` from ``dipolePops`` and ``dipoleCells``.
        - One variable per ``cfg.recordTraces`` entry, (time, ``<name>_cell``) by gid; the first
          trace of ``v`` is named ``v`` (mV), the others keep NetPyNE's key.
        - ``spike_time`` (ms), ``spike_gid`` from ``spkt``/``spkid`` (NetPyNE's times carry
          NEURON's 1e-10 ms spike-event offset).
        - The cell table (``cell``, ``cell_population``, ``cell_x/y/z``: root-section midpoint
          in NEURON's coordinates, from each cell's ``tags`` position, its y negated when
          ``cfg.invertedYCoord``, plus its saved ``pt3d``) and ``connection_*`` from each
          cell's ``conns`` (NetStim sources as -1).
        - Attributes ``dt``, ``record_dt`` (``cfg.recordStep``), ``tstop`` (``cfg.duration``),
          ``netpyne_version``, ``source_format = "netpyne"``, ``source_file``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        A pickle without ``allow_pickle``, a truncated JSON file, or a file that is not
        NetPyNE output; the message names the problem.

    Notes
    -----
    Time axis: samples at ``k * recordStep`` (ms), k = 0, 1, ..., like a live run. NetPyNE
    records traces from t = 0 but computes LFP and dipoles only from ``t = recordStep`` on (its
    row ``k`` is meant for ``(k + 1) * recordStep``); their t = 0 sample is 0, which is what
    NEURON's membrane currents give right after ``finitialize`` and what a live run records
    there. NetPyNE files each LFP/dipole sample by ``floor(h.t / recordStep)``, which h.t's
    round-off makes one row early for some samples (and sums two samples into one row): that
    is in NetPyNE's saved data and cannot be undone here.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NetPyNE file not found: {str(path)!r}")
    data = _load_netpyne(path, allow_pickle)
    try:
        return _netpyne_run(path, data, out)
    except (TypeError, AttributeError, KeyError, IndexError, OverflowError) as err:
        # the file parsed but holds other types or shapes than NetPyNE writes
        raise ValueError(f"{str(path)!r} is not valid NetPyNE output: unexpected contents "
                         f"({type(err).__name__}: {err})") from None


def _netpyne_run(path: Path, data: Mapping, out):
    """The body of :func:`from_netpyne` once the file is loaded."""
    for key in ("simConfig", "simData", "net"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise ValueError(f"{str(path)!r}: {key} must be an object, got "
                             f"{type(data[key]).__name__}")
    cfg = data.get("simConfig") or {}
    sd = data.get("simData") or {}
    net = data.get("net") or {}
    record_step, dt, duration = (
        None if cfg.get(k) is None else check_positive(cfg[k], f"{str(path)!r}: simConfig.{k}")
        for k in ("recordStep", "dt", "duration"))

    lfp = _rows(sd["LFP"]) if "LFP" in sd and len(sd["LFP"]) else None
    dipole = _rows(sd["dipoleSum"]) if "dipoleSum" in sd and len(sd["dipoleSum"]) else None
    t_rec = as_times(sd.get("t", []), f"{str(path)!r}: simData.t")
    n_time = max(t_rec.size, *(a.shape[0] + 1 for a in (lfp, dipole) if a is not None), 0)
    if n_time and record_step is None:
        if t_rec.size < 2:
            raise ValueError(f"{str(path)!r}: no simConfig.recordStep and no time vector 't'")
        record_step = float(np.median(np.diff(t_rec)))
    time = np.arange(n_time) * float(record_step or 0.0)

    attrs = {**_provenance("netpyne", path), "netpyne_version": str(data.get("netpyne_version", "")),
             "t_start": 0.0}
    for key, value in (("dt", dt), ("record_dt", record_step), ("tstop", duration)):
        if value is not None:
            attrs[key] = float(value)
    for key in ("simLabel", "seeds"):
        if cfg.get(key):
            attrs[f"netpyne_{key}"] = json.dumps(cfg[key], default=str) if not isinstance(cfg[key], str) \
                else cfg[key]
    run = _Imported(time=time, attrs=attrs)

    # cells, populations, connections
    cells = list(net.get("cells") or [])
    if not all(isinstance(c, Mapping) and "gid" in c for c in cells):
        raise ValueError(f"{str(path)!r}: net.cells must be objects with a 'gid'")
    cell_gids = as_gids([c["gid"] for c in cells], f"{str(path)!r}: net.cells[].gid")
    cells = [cells[i] for i in np.argsort(cell_gids, kind="stable")]
    populations: list[str] = []
    if cells:
        gids = np.sort(cell_gids).tolist()
        pops = [str((c.get("tags") or {}).get("pop", "all")) for c in cells]
        pos = [_netpyne_cell_position(c, cfg) for c in cells]
    else:  # cells not saved (cfg.saveDataInclude): take the gids the populations list
        gids, pops = [], []
        for pop, p in (net.get("pops") or {}).items():
            for g in p.get("cellGids", []):
                gids.append(int(g))
                pops.append(str(pop))
        pos = [np.full(3, np.nan)] * len(gids)
    for p in pops:
        if p not in populations:
            populations.append(p)
    if gids:
        run.coords.update(_cell_coords(
            gids, pops, pos, populations,
            comment="midpoint of the root section from NetPyNE's tags x, y, z (y negated with "
                    "cfg.invertedYCoord) and saved pt3d, in NEURON's coordinates"))
    syn_params = (net.get("params") or {}).get("synMechParams") or {}
    run.coords.update(_netpyne_connections(cells, cfg, syn_params))

    zero_first = ("NetPyNE samples from t = recordStep on; the t = 0 sample is 0 (membrane "
                  "currents right after finitialize)")

    def from_t1(rows: np.ndarray) -> np.ndarray:
        full = np.zeros((n_time, *rows.shape[1:]))
        full[1:rows.shape[0] + 1] = rows
        return full

    if lfp is not None:
        rec = net.get("recXElectrode")
        pos_el = getattr(rec, "pos", None) if rec is not None and not isinstance(rec, Mapping) \
            else (rec or {}).get("pos")
        if pos_el is not None:
            el = np.asarray(pos_el, dtype=float).T
        elif cfg.get("recordLFP"):
            el = np.asarray(cfg["recordLFP"], dtype=float) * [1, -1, 1]
        else:
            raise ValueError(f"{str(path)!r}: LFP saved without electrode positions")
        if el.shape != (lfp.shape[1], 3):
            raise ValueError(f"{str(path)!r}: {lfp.shape[1]} LFP channels but electrode positions "
                             f"of shape {el.shape}")
        run.coords.update(_electrode_coords(
            el, comment="NEURON coordinates: NetPyNE's recordLFP contact [x, y, z] is (x, -y, z)"))
        lfp_attrs = {"sigma": 0.3, "sigma_units": "S/m", "comment": zero_first,
                     "forward_model": "NetPyNE RecXElectrode line source (Allen Institute formula), "
                                      "sigma fixed at 0.3 S/m"}
        run.series["lfp"] = (VariableSpec(("time", "electrode"), "mV", "extracellular potential",
                                          attrs=lfp_attrs), from_t1(lfp))
        if sd.get("LFPPops"):
            per_pop = _per_population(sd["LFPPops"], populations, n_time, lfp.shape[1])
            run.series["lfp_population"] = (VariableSpec(
                ("time", "population", "electrode"), "mV", "extracellular potential per population",
                attrs={**lfp_attrs, "comment": zero_first + "; populations NetPyNE did not save "
                                                             "(cfg.saveLFPPops) are 0"}), per_pop)
        if sd.get("LFPCells"):
            cg = sorted(int(g) for g in sd["LFPCells"])
            by_gid = {int(g): v for g, v in sd["LFPCells"].items()}
            run.coords["lfp_cell"] = (("lfp_cell",), np.asarray(cg, dtype=np.int64),
                                      {"long_name": "cell gid"})
            run.series["lfp_per_cell"] = (VariableSpec(
                ("time", "lfp_cell", "electrode"), "mV", "extracellular potential per cell", attrs=lfp_attrs),
                from_t1(np.stack([_rows(by_gid[g]) for g in cg], axis=1)))
    if dipole is not None:
        comp = {"component": (("component",), np.array(["x", "y", "z"], dtype=object),
                              {"long_name": "Cartesian component"})}
        run.coords.update(comp)
        dip_attrs = {"origin_um": np.zeros(3), "comment": zero_first,
                     "forward_model": "lfpykit.CurrentDipoleMoment (NetPyNE recordDipole), NEURON "
                                      "coordinates"}
        run.series["dipole"] = (VariableSpec(("time", "component"), "nA um", "current dipole moment",
                                             attrs=dip_attrs), from_t1(dipole))
        if sd.get("dipolePops"):
            per_pop = _per_population(sd["dipolePops"], populations, n_time, 3)
            run.series["dipole_population"] = (VariableSpec(
                ("time", "population", "component"), "nA um", "current dipole moment per population",
                attrs=dip_attrs), per_pop)
        if sd.get("dipoleCells"):
            cg = sorted(int(g) for g in sd["dipoleCells"])
            by_gid = {int(g): v for g, v in sd["dipoleCells"].items()}
            run.coords["dipole_cell"] = (("dipole_cell",), np.asarray(cg, dtype=np.int64),
                                         {"long_name": "cell gid"})
            run.series["dipole_per_cell"] = (VariableSpec(
                ("time", "dipole_cell", "component"), "nA um", "current dipole moment per cell",
                attrs=dip_attrs), from_t1(np.stack([_rows(by_gid[g]) for g in cg], axis=1)))

    used_v = False
    for key, spec in (cfg.get("recordTraces") or {}).items():
        traces = sd.get(key)
        if not isinstance(traces, Mapping) or not traces:
            continue
        if any(isinstance(v, Mapping) for v in traces.values()):
            logger.warning("NetPyNE trace %r is per synapse/stim (nested); not imported", key)
            continue
        var = str((spec or {}).get("var", "")) if isinstance(spec, Mapping) else ""
        name = "v" if var == "v" and not used_v else str(key)
        used_v = used_v or name == "v"
        if name in run.series:
            name = f"trace_{key}"
        by_gid = {int(str(k).rsplit("_", 1)[-1]): np.asarray(v, dtype=float) for k, v in traces.items()}
        cg = sorted(by_gid)
        values = np.full((n_time, len(cg)), np.nan)
        for j, g in enumerate(cg):
            m = min(by_gid[g].size, n_time)
            values[:m, j] = by_gid[g][:m]
        dim = f"{name}_cell"
        run.coords[dim] = ((dim,), np.asarray(cg, dtype=np.int64), {"long_name": "cell gid"})
        where = ", ".join(f"{k}={v}" for k, v in (spec or {}).items()) if isinstance(spec, Mapping) else ""
        units = _TRACE_UNITS.get(var, "unknown")
        run.series[name] = (VariableSpec(("time", dim), units, f"{var or key} ({where})",
                                         attrs={"netpyne_trace": str(key)}), values)

    if "spkt" in sd:
        run.events.update(_spike_events(sd.get("spkt", []), sd.get("spkid", []),
                                        where=f"{str(path)!r}: simData.spkt/spkid",
                                        comment="NetPyNE spkt (pc.spike_record: step time + 1e-10 ms)"))
    return run.finish(out)


# -- SONATA / BMTK -------------------------------------------------------------------------------


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("SONATA/BMTK files need h5py: pip install \"neuro-signals[sonata]\"") from None
    return h5py


def _open_h5(path: Path, what: str):
    h5py = _h5py()
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {str(path)!r}")
    if _sniff(path) != "hdf5":
        raise ValueError(f"{str(path)!r} is not an HDF5 file: not a {what}")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise ValueError(f"{str(path)!r} is not a readable HDF5 file (truncated?): {err}") from None


def _time_factor(dset, default: str = "ms") -> float:
    units = dset.attrs.get("units", default)
    units = units.decode() if isinstance(units, bytes) else str(units)
    factors = {"ms": 1.0, "s": 1000.0, "sec": 1000.0, "seconds": 1000.0}
    if units not in factors:
        raise ValueError(f"{dset.name}: time units {units!r} not understood (expected ms or s)")
    return factors[units]


def _numeric(dset, path: Path) -> np.ndarray:
    """A dataset's values, refused unless numeric (h5py would hand strings to numpy ufuncs)."""
    if dset.dtype.kind not in "iuf":
        raise ValueError(f"{str(path)!r}: {dset.name} holds {dset.dtype} values, expected numbers")
    return dset[()]


def _sonata_spikes(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(population, node_ids, times in ms) per population of a SONATA spike file."""
    with _open_h5(path, "SONATA spike file") as f:
        if "spikes" not in f:
            raise ValueError(f"{str(path)!r} has no /spikes group: not a SONATA spike file "
                             f"(top level: {sorted(f)[:8]})")
        grp = f["spikes"]
        out = []
        if "timestamps" in grp:  # SONATA 0.x / early BMTK: /spikes/{timestamps, gids}
            ids = grp["node_ids"] if "node_ids" in grp else grp.get("gids")
            if ids is None:
                raise ValueError(f"{str(path)!r}: /spikes has timestamps but no node_ids or gids")
            out.append((str(grp.attrs.get("population", "all")), _numeric(ids, path),
                        _numeric(grp["timestamps"], path) * _time_factor(grp["timestamps"])))
        for pop, sub in grp.items():
            if hasattr(sub, "keys") and "timestamps" in sub and "node_ids" in sub:
                out.append((pop, _numeric(sub["node_ids"], path),
                            _numeric(sub["timestamps"], path) * _time_factor(sub["timestamps"])))
        if not out:
            raise ValueError(f"{str(path)!r}: /spikes holds no population with timestamps and "
                             "node_ids")
    return out


def _sonata_nodes(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(population, node_ids, positions (n, 3) µm or NaN) from a SONATA nodes file."""
    with _open_h5(path, "SONATA nodes file") as f:
        if "nodes" not in f:
            raise ValueError(f"{str(path)!r} has no /nodes group: not a SONATA nodes file")
        out = []
        for pop, grp in f["nodes"].items():
            ids = grp["node_id"][()]
            pos = np.full((ids.size, 3), np.nan)
            group_ids = grp["node_group_id"][()] if "node_group_id" in grp else np.zeros(ids.size, int)
            index = grp["node_group_index"][()] if "node_group_index" in grp else np.arange(ids.size)
            for gname, g in grp.items():
                if not (hasattr(g, "keys") and gname.isdigit()):
                    continue
                rows = np.flatnonzero(group_ids == int(gname))
                if "positions" in g:
                    pos[rows] = g["positions"][()][index[rows]]
                elif all(a in g for a in "xyz"):
                    pos[rows] = np.column_stack([g[a][()][index[rows]] for a in "xyz"])
            out.append((pop, ids, pos))
    return out


def _read_electrodes(path: Path, channels: np.ndarray) -> np.ndarray:
    """Positions (µm) of ``channels`` from a BMTK electrode file (``channel x_pos y_pos z_pos``)."""
    if not path.exists():
        raise FileNotFoundError(f"electrode file not found: {str(path)!r}")
    text = path.read_text().splitlines()
    if not text:
        raise ValueError(f"{str(path)!r} is empty")
    delim = "," if "," in text[0] else None
    header = text[0].replace(",", " ").split()
    need = ("x_pos", "y_pos", "z_pos")
    if not set(need) <= set(header):
        raise ValueError(f"{str(path)!r}: expected BMTK's columns x_pos y_pos z_pos, found {header}")
    rows = [line.split(delim) for line in text[1:] if line.strip()]
    table = {h: [r[i].strip() for r in rows] for i, h in enumerate(header)}
    if any(len(r) != len(header) for r in rows):
        raise ValueError(f"{str(path)!r}: every row must have the {len(header)} columns {header}")
    pos = as_positions(np.column_stack([table[c] for c in need]) if rows else np.zeros((0, 3)),
                       f"{str(path)!r}: x_pos y_pos z_pos")
    if "channel" in table:
        try:
            channel = np.asarray(table["channel"], dtype=float)
        except ValueError:
            raise ValueError(f"{str(path)!r}: channel must be integers") from None
        ids = as_gids(channel, f"{str(path)!r}: channel")
        lookup = dict(zip(ids.tolist(), range(len(ids)), strict=True))
        missing = [int(c) for c in channels if int(c) not in lookup]
        if missing:
            raise ValueError(f"{str(path)!r} has no position for channel(s) {missing[:5]}")
        return pos[[lookup[int(c)] for c in channels]]
    if len(pos) != len(channels):
        raise ValueError(f"{str(path)!r} has {len(pos)} positions for {len(channels)} channels")
    return pos


class _Transposed:
    """Rows of a (channel, time) dataset read as (time, channel), a block at a time."""

    def __init__(self, dset) -> None:
        self.dset = dset
        self.shape = dset.shape[::-1]

    def __getitem__(self, index: slice) -> np.ndarray:
        return np.asarray(self.dset[:, index]).T


class _Scaled:
    def __init__(self, data, factor: float) -> None:
        self.data, self.factor, self.shape = data, factor, data.shape

    def __getitem__(self, index: slice) -> np.ndarray:
        return np.asarray(self.data[index], dtype=float) * self.factor


def from_sonata(spikes: str | os.PathLike | None = None, *, ecp: str | os.PathLike | None = None,
                electrodes: str | os.PathLike | None = None, nodes: str | os.PathLike | None = None,
                layout: str = "auto", tstop: float | None = None,
                out: str | os.PathLike | None = None):
    """SONATA spikes and BMTK extracellular potentials (``ecp.h5``) as a signals run.

    Parameters
    ----------
    spikes : str or Path, optional
        SONATA spike file: ``/spikes/<population>/{timestamps, node_ids}`` (times in the
        ``units`` attribute, ms by default), or the older ``/spikes/{timestamps, gids}``.
    ecp : str or Path, optional
        BMTK's extracellular potential file: ``/ecp/data`` (mV), ``/ecp/time`` = (start, stop,
        step) in ms and ``/ecp/channel_id`` (older BMTK: ``/data`` with attributes ``dt``,
        ``tstart``, ``tstop``).
    electrodes : str or Path, optional
        BMTK electrode file (the ``positions`` file of its ``ecp`` report: columns ``channel``,
        ``x_pos``, ``y_pos``, ``z_pos`` in µm). BMTK's line source uses these coordinates as
        they are (no axis flip, unlike NetPyNE). Without it the positions are NaN.
    nodes : str or Path, optional
        SONATA nodes file: populations and positions (``x``, ``y``, ``z`` or ``positions``, µm)
        of every cell; without it the cell table holds the cells that spiked, positions NaN.
    layout : {"auto", "time_channel", "channel_time"}
        Layout of ``/ecp/data``. BMTK writes (time, channel) in row-major HDF5; tools that read
        it column-major (MATLAB, Julia) see, and some write, (channel, time). ``auto`` tells
        them apart by the channel count and, if that is ambiguous, by ``/ecp/time``.
    tstop : float, optional
        Simulation end (ms) when no ECP gives it (for rates).
    out : str or Path, optional
        Write the run file there and return it opened lazily (the ECP is copied a block at a
        time); default: return the run loaded in memory.

    Returns
    -------
    xarray.Dataset
        ``spike_time`` (ms), ``spike_gid``; ``lfp`` (time, electrode) in mV with
        ``electrode_x/y/z`` (µm) and the time axis ``start + k * step`` (BMTK's own reading of
        its file); the cell table. gids are SONATA node ids; with several populations whose ids
        overlap, each population's ids are offset (``cell_node_id`` keeps the SONATA id).

    Raises
    ------
    ImportError
        If h5py is not installed (``pip install "neuro-signals[sonata]"``).
    ValueError
        A file that is not of the expected kind, or inconsistent shapes; the message says which.
    """
    if spikes is None and ecp is None:
        raise ValueError("give a SONATA spike file (spikes=) and/or a BMTK ecp.h5 (ecp=)")
    check = ("auto", "time_channel", "channel_time")
    if layout not in check:
        raise ValueError(f"unknown layout {layout!r}; expected one of {check}")
    _h5py()
    first = Path(spikes if spikes is not None else ecp)
    attrs = {**_provenance("sonata", first), "t_start": 0.0}
    run = _Imported(time=np.zeros(0), attrs=attrs)
    populations: list[str] = []
    # cells: (population, node_id) -> position
    cell_pop: list[str] = []
    cell_id: list[int] = []
    cell_pos: list[np.ndarray] = []
    if nodes is not None:
        for pop, ids, pos in _sonata_nodes(Path(nodes)):
            cell_pop += [pop] * ids.size
            cell_id += ids.astype(np.int64).tolist()
            cell_pos += list(pos)
    spike_parts = _sonata_spikes(Path(spikes)) if spikes is not None else []
    known = set(zip(cell_pop, cell_id, strict=True))
    for pop, ids, _ in spike_parts:
        for node in np.unique(ids).astype(np.int64).tolist():
            if (pop, node) not in known:
                known.add((pop, node))
                cell_pop.append(pop)
                cell_id.append(node)
                cell_pos.append(np.full(3, np.nan))
    for p in cell_pop:
        if p not in populations:
            populations.append(p)
    # gids: node ids, offset per population only where they would collide
    offsets = dict.fromkeys(populations, 0)
    ids_by_pop = {p: [i for q, i in zip(cell_pop, cell_id, strict=True) if q == p] for p in populations}
    if len(populations) > 1 and sum(len(set(v)) for v in ids_by_pop.values()) != len(set(cell_id)):
        start = 0
        for p in populations:
            offsets[p] = start
            start += max(ids_by_pop[p]) + 1
        attrs["gid_offsets"] = json.dumps(offsets)
    if cell_id:
        gid = [i + offsets[p] for p, i in zip(cell_pop, cell_id, strict=True)]
        run.coords.update(_cell_coords(gid, cell_pop, cell_pos, populations,
                                       comment="SONATA nodes file positions (NaN: not given)"))
        order = np.argsort(np.asarray(gid), kind="stable")
        run.coords["cell_node_id"] = (("cell",), np.asarray(cell_id, dtype=np.int64)[order],
                                      {"long_name": "SONATA node id"})
    if spike_parts:
        times = np.concatenate([t for _, _, t in spike_parts])
        gids = np.concatenate([ids.astype(np.int64) + offsets[p] for p, ids, _ in spike_parts])
        run.events.update(_spike_events(times, gids, where=f"{str(spikes)!r}: /spikes",
                                        comment="SONATA spike file"))
        attrs["spikes_file"] = str(spikes)

    handle = None
    try:
        if ecp is not None:
            handle = _open_h5(Path(ecp), "BMTK ecp.h5 file")
            grp = handle["ecp"] if "ecp" in handle else handle
            if "data" not in grp:
                raise ValueError(f"{str(ecp)!r} has no /ecp/data (nor /data): not a BMTK ECP file "
                                 f"(top level: {sorted(handle)[:8]})")
            dset = grp["data"]
            if dset.ndim != 2:
                raise ValueError(f"{str(ecp)!r}: ECP data has shape {dset.shape}, expected 2-D")
            if "time" in grp:
                t_start, t_stop, step = (float(v) for v in grp["time"][()][:3])
            elif "dt" in handle.attrs:
                t_start = float(handle.attrs.get("tstart", 0.0))
                t_stop, step = float(handle.attrs["tstop"]), float(handle.attrs["dt"])
            else:
                raise ValueError(f"{str(ecp)!r}: no /ecp/time nor dt/tstop attributes")
            channels = (np.asarray(grp["channel_id"][()], dtype=np.int64) if "channel_id" in grp
                        else None)
            n_expected = round((t_stop - t_start) / step)
            if layout == "auto":
                n_ch = channels.size if channels is not None else None
                if n_ch is not None and dset.shape[1] == n_ch and dset.shape[0] != n_ch:
                    layout = "time_channel"
                elif n_ch is not None and dset.shape[0] == n_ch and dset.shape[1] != n_ch:
                    layout = "channel_time"
                elif abs(dset.shape[0] - n_expected) <= 1 and abs(dset.shape[1] - n_expected) > 1:
                    layout = "time_channel"
                elif abs(dset.shape[1] - n_expected) <= 1:
                    layout = "channel_time"
                else:
                    raise ValueError(f"{str(ecp)!r}: cannot tell the layout of data {dset.shape} "
                                     f"({n_ch} channels, ~{n_expected} samples); pass layout=")
            data = dset if layout == "time_channel" else _Transposed(dset)
            n_time, n_ch = data.shape
            if channels is None:
                channels = np.arange(n_ch)
            if channels.size != n_ch:
                raise ValueError(f"{str(ecp)!r}: {channels.size} channel ids for {n_ch} channels")
            units = dset.attrs.get("units", "mV")
            units = units.decode() if isinstance(units, bytes) else str(units)
            factor = {"mV": 1.0, "uV": 1e-3, "V": 1e3}.get(units)
            if factor is None:
                raise ValueError(f"{str(ecp)!r}: ECP units {units!r} not understood (mV, uV or V)")
            if factor != 1.0:
                data = _Scaled(data, factor)
            run.time = t_start + np.arange(n_time) * step
            if electrodes is not None:
                pos = _read_electrodes(Path(electrodes), channels)
                comment = f"from {electrodes} (BMTK's coordinates, as its line source uses them)"
            else:
                pos = np.full((n_ch, 3), np.nan)
                comment = "unknown: pass the BMTK electrode positions file (electrodes=)"
            run.coords.update(_electrode_coords(pos, [f"ch{int(c)}" for c in channels], comment=comment))
            run.coords["electrode_channel"] = (("electrode",), channels, {"long_name": "BMTK channel id"})
            run.series["lfp"] = (VariableSpec(
                ("time", "electrode"), "mV", "extracellular potential",
                attrs={"sigma": 0.3, "sigma_units": "S/m", "source_layout": layout,
                       "forward_model": "BMTK ecp module: RecXElectrode line source, sigma 0.3 S/m"}),
                data)
            attrs.update({"dt": step, "record_dt": step, "t_start": t_start, "tstop": t_stop,
                          "ecp_file": str(ecp)})
        if tstop is not None:
            attrs["tstop"] = float(tstop)
        return run.finish(out)
    finally:
        if handle is not None:
            handle.close()


# -- convert -------------------------------------------------------------------------------------

_IMPORT_FORMATS = ("netpyne", "sonata", "ecp", "signals")


def _guess_format(src: Path) -> str:
    kind = _sniff(src)
    if kind in ("json", "pickle", "gzip"):
        return "netpyne"
    if kind == "netcdf3":
        return "signals"
    if kind == "hdf5":
        h5py = _h5py_or_none()
        if h5py is None:  # netCDF4 files are HDF5 too
            return "signals"
        with h5py.File(src, "r") as f:
            if "spikes" in f:
                return "sonata"
            if "ecp" in f or ("data" in f and "dt" in f.attrs):
                return "ecp"
            if "signals_format" in f.attrs:
                return "signals"
        return "signals"
    raise ValueError(f"cannot tell the format of {str(src)!r}; pass fmt= (one of {_IMPORT_FORMATS})")


def _h5py_or_none():
    try:
        import h5py
    except ImportError:
        return None
    return h5py


def convert(src: str | os.PathLike, dst: str | os.PathLike, *, fmt: str | None = None,
            allow_pickle: bool = False) -> Path:
    """Convert between signals run files and other tools' files.

    Parameters
    ----------
    src : str or Path
        Input: NetPyNE output (``.json``; ``.pkl``/``.dpk`` with ``allow_pickle``), a SONATA
        spike file or BMTK ``ecp.h5`` (needs h5py), or a signals run file (``.nc``).
    dst : str or Path
        Output, by suffix: ``.nc`` (signals run file), ``.nwb`` (NWB, needs pynwb), ``.nix``
        (neo's NixIO, needs nixio), ``.fif`` (MNE raw of the EEG, or of the LFP when the run
        has no EEG).
    fmt : {"netpyne", "sonata", "ecp", "signals"}, optional
        Input format; default: told from the file's content.
    allow_pickle : bool
        Allow NetPyNE pickles (unpickling runs code: only for files you trust).

    Returns
    -------
    Path
        ``dst``.

    Raises
    ------
    FileNotFoundError
        If ``src`` does not exist.
    ValueError
        Unknown formats, or input the importers reject (see :func:`from_netpyne`,
        :func:`from_sonata`).
    """
    from signals.store import open_run

    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise FileNotFoundError(f"input file not found: {str(src)!r}")
    suffix = dst.suffix.lower()
    if suffix not in (".nc", ".nwb", ".nix", ".fif"):
        raise ValueError(f"unknown output type {dst.suffix!r}: use .nc (signals run), .nwb, .nix "
                         "(neo) or .fif (MNE)")
    fmt = fmt or _guess_format(src)
    if fmt not in _IMPORT_FORMATS:
        raise ValueError(f"unknown input format {fmt!r}; expected one of {_IMPORT_FORMATS}")
    target = dst if suffix == ".nc" else None
    if fmt == "netpyne":
        ds = from_netpyne(src, allow_pickle=allow_pickle, out=target)
    elif fmt == "sonata":
        ds = from_sonata(src, out=target)
    elif fmt == "ecp":
        ds = from_sonata(ecp=src, out=target)
    else:
        if suffix == ".nc":
            raise ValueError(f"{str(src)!r} is already a signals run file")
        ds = open_run(src)
    try:
        if suffix == ".nwb":
            to_nwb(ds, dst)
        elif suffix == ".nix":
            from neo.io import NixIO

            if dst.exists():
                dst.unlink()
            with NixIO(str(dst), mode="ow") as io:
                io.write_block(to_neo(ds))
        elif suffix == ".fif":
            variable = "eeg" if "eeg" in ds else "lfp"
            to_mne(ds, variable).save(dst, overwrite=True, verbose="error")
    finally:
        ds.close()
    return dst
