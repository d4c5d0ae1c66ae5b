"""NetPyNE's saved output (``sim.saveData()``) as a signals run: :func:`from_netpyne`."""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from signals import schema
from signals.io._files import sniff
from signals.io._imported import Imported, provenance
from signals.io.readers import Reader
from signals.recorder import VariableSpec
from signals.validation import as_gids, as_times, check_positive

__all__ = ["from_netpyne", "NetpyneReader"]

logger = logging.getLogger(__name__)

_TRACE_UNITS = {"v": "mV", "i_membrane_": "nA", "i_membrane": "mA/cm2", "cai": "mM", "cao": "mM",
                "nai": "mM", "nao": "mM", "ki": "mM", "ko": "mM", "ica": "mA/cm2",
                "ina": "mA/cm2", "ik": "mA/cm2", "i": "nA", "g": "uS"}


def _load_netpyne(path: Path, allow_pickle: bool) -> dict:
    kind = sniff(path)
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
    return schema.connection_table(rows, comments={
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



def _sections(path: Path, data: Mapping) -> tuple[Mapping, Mapping, Mapping]:
    """``simConfig``, ``simData`` and ``net`` of a loaded file (each may be absent)."""
    for key in ("simConfig", "simData", "net"):
        if data.get(key) is not None and not isinstance(data[key], Mapping):
            raise ValueError(f"{str(path)!r}: {key} must be an object, got "
                             f"{type(data[key]).__name__}")
    return data.get("simConfig") or {}, data.get("simData") or {}, data.get("net") or {}


def _time_steps(path: Path, cfg: Mapping) -> dict[str, float | None]:
    """``recordStep``, ``dt`` and ``duration`` (ms) of ``simConfig``, each > 0 or None."""
    return {k: None if cfg.get(k) is None else check_positive(cfg[k], f"{str(path)!r}: simConfig.{k}")
            for k in ("recordStep", "dt", "duration")}


def _time_axis(path: Path, sd: Mapping, steps: Mapping, n_rows: int) -> tuple[np.ndarray, dict]:
    """Sample times ``k * recordStep`` (ms) for the longest saved series, and the attributes
    ``dt``, ``record_dt`` and ``tstop`` (ms) that the file gives.

    ``n_rows`` is the number of samples of LFP/dipole series (NetPyNE saves them from
    t = recordStep on, so they need one sample more than their rows). Without ``recordStep``
    the step is the median interval of the saved time vector ``t``.
    """
    record_step = steps["recordStep"]
    t_rec = as_times(sd.get("t", []), f"{str(path)!r}: simData.t")
    n_time = max(t_rec.size, n_rows, 0)
    if n_time and record_step is None:
        if t_rec.size < 2:
            raise ValueError(f"{str(path)!r}: no simConfig.recordStep and no time vector 't'")
        record_step = float(np.median(np.diff(t_rec)))
    attrs = {key: float(value) for key, value in
             (("dt", steps["dt"]), ("record_dt", record_step), ("tstop", steps["duration"]))
             if value is not None}
    return np.arange(n_time) * float(record_step or 0.0), attrs


def _global_attrs(path: Path, data: Mapping, cfg: Mapping, times: dict) -> dict:
    """Provenance, NetPyNE's version, the time attributes and ``netpyne_simLabel``/``_seeds``."""
    attrs = {**provenance("netpyne", path), "netpyne_version": str(data.get("netpyne_version", "")),
             "t_start": 0.0, **times}
    for key in ("simLabel", "seeds"):
        if cfg.get(key):
            attrs[f"netpyne_{key}"] = json.dumps(cfg[key], default=str) if not isinstance(cfg[key], str) \
                else cfg[key]
    return attrs


def _add_cells(run: Imported, path: Path, net: Mapping, cfg: Mapping) -> list[str]:
    """The cell table and the connections; returns the populations in order."""
    cells = list(net.get("cells") or [])
    if not all(isinstance(c, Mapping) and "gid" in c for c in cells):
        raise ValueError(f"{str(path)!r}: net.cells must be objects with a 'gid'")
    cell_gids = as_gids([c["gid"] for c in cells], f"{str(path)!r}: net.cells[].gid")
    cells = [cells[i] for i in np.argsort(cell_gids, kind="stable")]
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
    populations = list(dict.fromkeys(pops))
    if gids:
        run.coords.update(schema.cell_coords(
            gids, pops, pos, populations,
            comment="midpoint of the root section from NetPyNE's tags x, y, z (y negated with "
                    "cfg.invertedYCoord) and saved pt3d, in NEURON's coordinates"))
    syn_params = (net.get("params") or {}).get("synMechParams") or {}
    run.coords.update(_netpyne_connections(cells, cfg, syn_params))
    return populations


_ZERO_FIRST = ("NetPyNE samples from t = recordStep on; the t = 0 sample is 0 (membrane "
               "currents right after finitialize)")


def _from_t1(rows: np.ndarray, n_time: int) -> np.ndarray:
    """NetPyNE's rows for t = recordStep, 2 recordStep, ... on the run's axis from t = 0."""
    full = np.zeros((n_time, *rows.shape[1:]))
    full[1:rows.shape[0] + 1] = rows
    return full


def _per_cell(saved: Mapping, n_time: int) -> tuple[np.ndarray, np.ndarray]:
    """gids (sorted) and (time, cell, width) values of NetPyNE's per-cell series."""
    gids = sorted(int(g) for g in saved)
    by_gid = {int(g): v for g, v in saved.items()}
    return (np.asarray(gids, dtype=np.int64),
            _from_t1(np.stack([_rows(by_gid[g]) for g in gids], axis=1), n_time))


def _lfp_electrodes(path: Path, net: Mapping, cfg: Mapping, n_channels: int) -> np.ndarray:
    """Positions (µm, NEURON's coordinates) of NetPyNE's LFP contacts."""
    rec = net.get("recXElectrode")
    pos_el = getattr(rec, "pos", None) if rec is not None and not isinstance(rec, Mapping) \
        else (rec or {}).get("pos")
    if pos_el is not None:
        el = np.asarray(pos_el, dtype=float).T
    elif cfg.get("recordLFP"):
        el = np.asarray(cfg["recordLFP"], dtype=float) * [1, -1, 1]
    else:
        raise ValueError(f"{str(path)!r}: LFP saved without electrode positions")
    if el.shape != (n_channels, 3):
        raise ValueError(f"{str(path)!r}: {n_channels} LFP channels but electrode positions "
                         f"of shape {el.shape}")
    return el


def _add_lfp(run: Imported, path: Path, lfp: np.ndarray, sd: Mapping, net: Mapping,
             cfg: Mapping, populations: Sequence[str]) -> None:
    """``lfp`` (time, electrode) in mV, with ``lfp_population`` and ``lfp_per_cell``."""
    n_time = run.time.size
    el = _lfp_electrodes(path, net, cfg, lfp.shape[1])
    run.coords.update(schema.electrode_coords(
        el, comment="NEURON coordinates: NetPyNE's recordLFP contact [x, y, z] is (x, -y, z)"))
    attrs = {"sigma": 0.3, "sigma_units": "S/m", "comment": _ZERO_FIRST,
             "forward_model": "NetPyNE RecXElectrode line source (Allen Institute formula), "
                              "sigma fixed at 0.3 S/m"}
    run.series["lfp"] = (VariableSpec(("time", "electrode"), "mV", "extracellular potential",
                                      attrs=attrs), _from_t1(lfp, n_time))
    if sd.get("LFPPops"):
        run.series["lfp_population"] = (VariableSpec(
            ("time", "population", "electrode"), "mV", "extracellular potential per population",
            attrs={**attrs, "comment": _ZERO_FIRST + "; populations NetPyNE did not save "
                                                     "(cfg.saveLFPPops) are 0"}),
            _per_population(sd["LFPPops"], populations, n_time, lfp.shape[1]))
    if sd.get("LFPCells"):
        gids, values = _per_cell(sd["LFPCells"], n_time)
        run.coords.update(schema.gid_coord("lfp_cell", gids))
        run.series["lfp_per_cell"] = (VariableSpec(
            ("time", "lfp_cell", "electrode"), "mV", "extracellular potential per cell",
            attrs=attrs), values)


def _add_dipole(run: Imported, dipole: np.ndarray, sd: Mapping, populations: Sequence[str]) -> None:
    """``dipole`` (time, component) in nA µm, with ``dipole_population`` and ``dipole_per_cell``."""
    n_time = run.time.size
    run.coords.update(schema.component_coord())
    attrs = {**schema.with_units("origin", np.zeros(3), "um"), "comment": _ZERO_FIRST,
             "forward_model": "lfpykit.CurrentDipoleMoment (NetPyNE recordDipole), NEURON "
                              "coordinates"}
    run.series["dipole"] = (VariableSpec(("time", "component"), "nA um", "current dipole moment",
                                         attrs=attrs), _from_t1(dipole, n_time))
    if sd.get("dipolePops"):
        run.series["dipole_population"] = (VariableSpec(
            ("time", "population", "component"), "nA um", "current dipole moment per population",
            attrs=attrs), _per_population(sd["dipolePops"], populations, n_time, 3))
    if sd.get("dipoleCells"):
        gids, values = _per_cell(sd["dipoleCells"], n_time)
        run.coords.update(schema.gid_coord("dipole_cell", gids))
        run.series["dipole_per_cell"] = (VariableSpec(
            ("time", "dipole_cell", "component"), "nA um", "current dipole moment per cell",
            attrs=attrs), values)


def _add_traces(run: Imported, cfg: Mapping, sd: Mapping) -> None:
    """One (time, ``<name>_cell``) variable per ``cfg.recordTraces`` entry; the first ``v`` is ``v``."""
    n_time = run.time.size
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
        run.coords.update(schema.gid_coord(dim, cg))
        where = ", ".join(f"{k}={v}" for k, v in (spec or {}).items()) if isinstance(spec, Mapping) else ""
        units = _TRACE_UNITS.get(var, "unknown")
        run.series[name] = (VariableSpec(("time", dim), units, f"{var or key} ({where})",
                                         attrs={"netpyne_trace": str(key)}), values)


def _netpyne_run(path: Path, data: Mapping, out):
    """The body of :func:`from_netpyne` once the file is loaded."""
    cfg, sd, net = _sections(path, data)
    steps = _time_steps(path, cfg)
    lfp = _rows(sd["LFP"]) if "LFP" in sd and len(sd["LFP"]) else None
    dipole = _rows(sd["dipoleSum"]) if "dipoleSum" in sd and len(sd["dipoleSum"]) else None
    n_rows = max((a.shape[0] + 1 for a in (lfp, dipole) if a is not None), default=0)
    time, times = _time_axis(path, sd, steps, n_rows)
    run = Imported(time=time, attrs=_global_attrs(path, data, cfg, times))
    populations = _add_cells(run, path, net, cfg)
    if lfp is not None:
        _add_lfp(run, path, lfp, sd, net, cfg, populations)
    if dipole is not None:
        _add_dipole(run, dipole, sd, populations)
    _add_traces(run, cfg, sd)
    if "spkt" in sd:
        run.events.update(schema.spike_events(
            sd.get("spkt", []), sd.get("spkid", []), where=f"{str(path)!r}: simData.spkt/spkid",
            comment="NetPyNE spkt (pc.spike_record: step time + 1e-10 ms)"))
    return run.finish(out)


class NetpyneReader(Reader):
    """NetPyNE's saved output: JSON, or a pickle (``.pkl``, gzip ``.dpk``) with ``allow_pickle``."""

    name = "netpyne"
    description = "NetPyNE sim.saveData() output (JSON; pickle with allow_pickle)"

    def guess_can_open(self, path: Path) -> bool:
        return sniff(path) in ("json", "pickle", "gzip")

    def open(self, path: Path, *, out: Path | None = None, allow_pickle: bool = False):
        return from_netpyne(path, allow_pickle=allow_pickle, out=out)
