"""SONATA spike files and BMTK extracellular potentials (``ecp.h5``) as a signals run:
:func:`from_sonata`."""

from __future__ import annotations

import json
import os
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from signals import schema
from signals.io._files import h5py_or_none, open_h5, require_h5py, sniff
from signals.io._imported import Imported, provenance
from signals.io._units import TIME_TO_MS, VOLTAGE_TO_MV, units_text
from signals.io.readers import Reader
from signals.recorder import VariableSpec
from signals.validation import as_gids, as_positions

__all__ = ["from_sonata", "SonataReader", "EcpReader"]

_LAYOUTS = ("auto", "time_channel", "channel_time")


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
    if layout not in _LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {_LAYOUTS}")
    require_h5py()
    first = Path(spikes if spikes is not None else ecp)
    run = Imported(time=np.zeros(0), attrs={**provenance("sonata", first), "t_start": 0.0})
    spike_parts = _sonata_spikes(Path(spikes)) if spikes is not None else []
    offsets = _add_cells(run, Path(nodes) if nodes is not None else None, spike_parts)
    if spike_parts:
        times = np.concatenate([t for _, _, t in spike_parts])
        gids = np.concatenate([ids.astype(np.int64) + offsets[p] for p, ids, _ in spike_parts])
        run.events.update(schema.spike_events(times, gids, where=f"{str(spikes)!r}: /spikes",
                                              comment="SONATA spike file"))
        run.attrs["spikes_file"] = str(spikes)
    # the ECP stays open while the run is written: its data are copied a block at a time
    with open_h5(Path(ecp), "BMTK ecp.h5 file") if ecp is not None else nullcontext() as handle:
        if handle is not None:
            _add_ecp(run, Path(ecp), handle, None if electrodes is None else Path(electrodes), layout)
        if tstop is not None:
            run.attrs["tstop"] = float(tstop)
        return run.finish(out)


def _add_cells(run: Imported, nodes: Path | None,
               spike_parts: list[tuple[str, np.ndarray, np.ndarray]]) -> dict[str, int]:
    """The cell table from the nodes file and the cells that spiked; returns each population's
    gid offset (0 unless node ids of several populations collide)."""
    cell_pop: list[str] = []
    cell_id: list[int] = []
    cell_pos: list[np.ndarray] = []
    if nodes is not None:
        for pop, ids, pos in _sonata_nodes(nodes):
            cell_pop += [pop] * ids.size
            cell_id += ids.astype(np.int64).tolist()
            cell_pos += list(pos)
    known = set(zip(cell_pop, cell_id, strict=True))
    for pop, ids, _ in spike_parts:
        for node in np.unique(ids).astype(np.int64).tolist():
            if (pop, node) not in known:
                known.add((pop, node))
                cell_pop.append(pop)
                cell_id.append(node)
                cell_pos.append(np.full(3, np.nan))
    populations = list(dict.fromkeys(cell_pop))
    offsets = _gid_offsets(cell_pop, cell_id, populations)
    if offsets is None:
        offsets = dict.fromkeys(populations, 0)
    else:
        run.attrs["gid_offsets"] = json.dumps(offsets)
    if cell_id:
        gid = [i + offsets[p] for p, i in zip(cell_pop, cell_id, strict=True)]
        run.coords.update(schema.cell_coords(gid, cell_pop, cell_pos, populations,
                                             comment="SONATA nodes file positions (NaN: not given)"))
        order = np.argsort(np.asarray(gid), kind="stable")
        run.coords["cell_node_id"] = (("cell",), np.asarray(cell_id, dtype=np.int64)[order],
                                      {"long_name": "SONATA node id"})
    return offsets


def _gid_offsets(cell_pop: list[str], cell_id: list[int],
                 populations: list[str]) -> dict[str, int] | None:
    """gid = node id + offset of its population, where node ids of several populations collide
    (each population then starts after the last id of the one before); None if none collide."""
    ids_by_pop = {p: [i for q, i in zip(cell_pop, cell_id, strict=True) if q == p] for p in populations}
    if len(populations) < 2 or sum(len(set(v)) for v in ids_by_pop.values()) == len(set(cell_id)):
        return None
    offsets, start = {}, 0
    for p in populations:
        offsets[p] = start
        start += max(ids_by_pop[p]) + 1
    return offsets


def _ecp_time(path: Path, handle, grp) -> tuple[float, float, float]:
    """(start, stop, step) in ms of a BMTK ECP file (``/ecp/time``, or older attributes)."""
    if "time" in grp:
        t_start, t_stop, step = (float(v) for v in grp["time"][()][:3])
    elif "dt" in handle.attrs:
        t_start = float(handle.attrs.get("tstart", 0.0))
        t_stop, step = float(handle.attrs["tstop"]), float(handle.attrs["dt"])
    else:
        raise ValueError(f"{str(path)!r}: no /ecp/time nor dt/tstop attributes")
    return t_start, t_stop, step


def _ecp_layout(path: Path, shape: tuple[int, int], channels: np.ndarray | None,
                n_expected: int) -> str:
    """``time_channel`` or ``channel_time``, by the channel count, else by the sample count."""
    n_ch = channels.size if channels is not None else None
    if n_ch is not None and shape[1] == n_ch and shape[0] != n_ch:
        return "time_channel"
    if n_ch is not None and shape[0] == n_ch and shape[1] != n_ch:
        return "channel_time"
    if abs(shape[0] - n_expected) <= 1 and abs(shape[1] - n_expected) > 1:
        return "time_channel"
    if abs(shape[1] - n_expected) <= 1:
        return "channel_time"
    raise ValueError(f"{str(path)!r}: cannot tell the layout of data {shape} "
                     f"({n_ch} channels, ~{n_expected} samples); pass layout=")


def _add_ecp(run: Imported, path: Path, handle, electrodes: Path | None, layout: str) -> None:
    """``lfp`` (time, electrode) in mV from an open BMTK ECP file, and its time axis."""
    grp = handle["ecp"] if "ecp" in handle else handle
    if "data" not in grp:
        raise ValueError(f"{str(path)!r} has no /ecp/data (nor /data): not a BMTK ECP file "
                         f"(top level: {sorted(handle)[:8]})")
    dset = grp["data"]
    if dset.ndim != 2:
        raise ValueError(f"{str(path)!r}: ECP data has shape {dset.shape}, expected 2-D")
    t_start, t_stop, step = _ecp_time(path, handle, grp)
    channels = (np.asarray(grp["channel_id"][()], dtype=np.int64) if "channel_id" in grp
                else None)
    if layout == "auto":
        layout = _ecp_layout(path, dset.shape, channels, round((t_stop - t_start) / step))
    data = dset if layout == "time_channel" else _Transposed(dset)
    n_time, n_ch = data.shape
    if channels is None:
        channels = np.arange(n_ch)
    if channels.size != n_ch:
        raise ValueError(f"{str(path)!r}: {channels.size} channel ids for {n_ch} channels")
    factor = _voltage_factor(dset, path)
    if factor != 1.0:
        data = _Scaled(data, factor)
    run.time = t_start + np.arange(n_time) * step
    if electrodes is not None:
        pos = _read_electrodes(electrodes, channels)
        comment = f"from {electrodes} (BMTK's coordinates, as its line source uses them)"
    else:
        pos = np.full((n_ch, 3), np.nan)
        comment = "unknown: pass the BMTK electrode positions file (electrodes=)"
    run.coords.update(schema.electrode_coords(pos, [f"ch{int(c)}" for c in channels],
                                              comment=comment))
    run.coords["electrode_channel"] = (("electrode",), channels, {"long_name": "BMTK channel id"})
    run.series["lfp"] = (VariableSpec(
        ("time", "electrode"), "mV", "extracellular potential",
        attrs={"sigma": 0.3, "sigma_units": "S/m", "source_layout": layout,
               "forward_model": "BMTK ecp module: RecXElectrode line source, sigma 0.3 S/m"}),
        data)
    run.attrs.update({"dt": step, "record_dt": step, "t_start": t_start, "tstop": t_stop,
                      "ecp_file": str(path)})


def _voltage_factor(dset, path: Path) -> float:
    """Factor from the ECP's ``units`` attribute (default mV) to mV."""
    units = units_text(dset.attrs.get("units"), "mV")
    factor = VOLTAGE_TO_MV.get(units)
    if factor is None:
        raise ValueError(f"{str(path)!r}: ECP units {units!r} not understood (mV, uV or V)")
    return factor


def _hdf5_has(path: Path, test) -> bool:
    """Whether HDF5 file ``path`` passes ``test(h5py.File)``; False without h5py (netCDF4 files
    are HDF5 too, so an HDF5 file is not told apart without it)."""
    h5py = h5py_or_none()
    if h5py is None or sniff(path) != "hdf5":
        return False
    with h5py.File(path, "r") as f:
        return bool(test(f))


class SonataReader(Reader):
    """A SONATA spike file (``/spikes``)."""

    name = "sonata"
    description = "SONATA spike file (/spikes; needs h5py)"

    def guess_can_open(self, path: Path) -> bool:
        return _hdf5_has(path, lambda f: "spikes" in f)

    def open(self, path: Path, *, out: Path | None = None, allow_pickle: bool = False):
        return from_sonata(path, out=out)


class EcpReader(Reader):
    """BMTK's extracellular potential file (``/ecp``, or older ``/data`` with a ``dt``)."""

    name = "ecp"
    description = "BMTK ecp.h5 extracellular potentials (needs h5py)"

    def guess_can_open(self, path: Path) -> bool:
        return _hdf5_has(path, lambda f: "ecp" in f or ("data" in f and "dt" in f.attrs))

    def open(self, path: Path, *, out: Path | None = None, allow_pickle: bool = False):
        return from_sonata(ecp=path, out=out)


def _time_factor(dset, default: str = "ms") -> float:
    units = units_text(dset.attrs.get("units"), default)
    if units not in TIME_TO_MS:
        raise ValueError(f"{dset.name}: time units {units!r} not understood (expected ms or s)")
    return TIME_TO_MS[units]


def _numeric(dset, path: Path) -> np.ndarray:
    """A dataset's values, refused unless numeric (h5py would hand strings to numpy ufuncs)."""
    if dset.dtype.kind not in "iuf":
        raise ValueError(f"{str(path)!r}: {dset.name} holds {dset.dtype} values, expected numbers")
    return dset[()]


def _sonata_spikes(path: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(population, node_ids, times in ms) per population of a SONATA spike file."""
    with open_h5(path, "SONATA spike file") as f:
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
    with open_h5(path, "SONATA nodes file") as f:
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
    """Positions (µm) of ``channels`` from a BMTK electrode file (``channel x_pos y_pos z_pos``).

    The table is read by pandas (whitespace-, tab- or comma-separated, quoted names, a leading
    index column, a byte-order mark); a ``channel`` column, when there is one, orders the rows.
    """
    import pandas as pd

    if not path.exists():
        raise FileNotFoundError(f"electrode file not found: {str(path)!r}")
    try:
        frame = pd.read_csv(path, sep=r"\s*,\s*|\s+" if _has_comma(path) else r"\s+",
                            engine="python", encoding="utf-8-sig", dtype=str, quotechar='"')
    except pd.errors.EmptyDataError:
        raise ValueError(f"{str(path)!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a table of electrode positions: {err}") from None
    frame.columns = [str(c).strip().strip('"') for c in frame.columns]
    header = list(frame.columns)
    need = ("x_pos", "y_pos", "z_pos")
    if not set(need) <= set(header):
        raise ValueError(f"{str(path)!r}: expected BMTK's columns x_pos y_pos z_pos, found {header}")
    if frame[list(need)].isna().to_numpy().any():
        raise ValueError(f"{str(path)!r}: every row must have the {len(header)} columns {header}")
    table = {h: [str(v).strip().strip('"') for v in frame[h]] for h in header}
    pos = as_positions(np.column_stack([table[c] for c in need]) if len(frame) else np.zeros((0, 3)),
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


def _has_comma(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        return "," in fh.readline()


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
