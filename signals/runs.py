"""Many runs at once: run files stacked along a ``run`` dimension, with their parameters as coordinates.

:func:`open_runs` opens a batch of run files (a parameter scan, seeds) as one
``xarray.Dataset``. Each run's parameters become coordinates on ``run``: the global attributes
whose values differ between the runs (provenance such as ``created`` left out), the scalar
entries of a NetPyNE batch's ``<simLabel>_cfg.json`` beside a run file ``<simLabel>.nc`` that
differ between runs, and any ``params`` the caller gives. Signals sampled in time are then
``(run, time, ...)`` and every analysis that keeps the dimensions it does not reduce (``psd``,
``band_power``, ``coherence`` with ``dim=``, ``event_average``, ...) works over ``run`` as over any
other dimension; analyses that read a run's spikes use :func:`map_runs`, which applies them
run by run.

Ragged dimensions: runs have different numbers of spikes (and connections): every dimension
without an index whose length differs between runs (``spike``, ``connection``, ...) is padded
at its end to the longest run, with NaN (floats), -1 (integers, e.g. ``spike_gid``) or ``""``
(text), and ``<dim>_count`` (``run``) says how many entries of each run are real.
:func:`run_dataset` gives one run back with the padding removed.

Bigger than memory: with ``chunks`` (e.g. ``chunks={}`` for the files' own chunks, or
``{"time": 200_000}``) the variables are dask arrays and nothing is read until needed;
:func:`signals.analysis.psd` then reads blocks of time across all runs, computing only the
dask chunks each block needs, so its peak memory is set by ``block_bytes``, not by the data
(``benchmarks/batch_psd.py`` measures it). dask's threaded scheduler is used by default; with
``distributed`` installed (not a dependency of signals) a local cluster is one line (tested
once by hand: the same PSD to the last bit)::

    from dask.distributed import Client
    client = Client(n_workers=2, threads_per_worker=1, memory_limit="2GiB")
    ds = signals.open_runs("scan/*.nc", chunks={"time": 200_000})
    p = signals.analysis.psd(ds.lfp)    # blocks computed on the cluster's workers
"""

from __future__ import annotations

import contextlib
import glob as _glob
import json
import os
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["map_runs", "mean_ci", "open_runs", "run_dataset"]

#: Global attributes that describe how a file was made, not the model run: never parameters.
PROVENANCE = frozenset({"created", "signals_version", "neuron_version", "lfpykit_version", "Conventions",
                        "signals_format", "signals_format_version", "run_status", "run_error", "history",
                        "mpi_ranks", "n_samples", "netpyne_version", "lfpy_version"})

JOINS = ("exact", "inner", "outer")

#: netCDF/HDF5 chunk cache per variable of each file :func:`open_runs` opens with ``chunks`` (bytes).
#: netCDF-C's default is 64 MiB per variable per open file: across a batch that, not the data
#: analysed, was most of the memory (measured, 4 runs of 0.29 GiB: psd peak RSS 682 MiB with the
#: default, 368 MiB with 4 MiB). Analyses read contiguous blocks of time, which a small cache serves.
RUN_CHUNK_CACHE = 4 * 2**20


@contextlib.contextmanager
def _chunk_cache(size: int | None):
    """netCDF4's default chunk cache set to ``size`` bytes for the files opened inside, then restored."""
    if size is None:
        yield
        return
    import netCDF4

    old = netCDF4.get_chunk_cache()
    netCDF4.set_chunk_cache(int(size))
    try:
        yield
    finally:
        netCDF4.set_chunk_cache(*old)


def _paths(paths_or_glob) -> list[Path]:
    if isinstance(paths_or_glob, str | os.PathLike) and not isinstance(paths_or_glob, bytes):
        text = os.fspath(paths_or_glob)
        if any(c in text for c in "*?["):
            found = sorted(_glob.glob(text))
            if not found:
                raise FileNotFoundError(f"paths_or_glob: no file matches {text!r}")
            return [Path(p) for p in found]
        p = Path(text)
        if p.is_dir():
            found = sorted(p.glob("*.nc"))
            if not found:
                raise FileNotFoundError(f"paths_or_glob: the folder {text!r} holds no .nc run file")
            return found
        return [p]
    if isinstance(paths_or_glob, bytes) or not isinstance(paths_or_glob, Sequence):
        raise TypeError("paths_or_glob must be a glob pattern, a folder or a sequence of run files, got "
                        f"{type(paths_or_glob).__name__}")
    out = []
    for p in paths_or_glob:
        if not isinstance(p, str | os.PathLike) or isinstance(p, bytes):
            raise TypeError(f"paths_or_glob: every entry must be a path (str or Path), got {p!r}")
        out.append(Path(p))
    if not out:
        raise ValueError("paths_or_glob is empty: give at least one run file")
    return out


def _scalar(value) -> Any:
    """``value`` as a Python scalar if it is one (numbers, text), else None."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | np.number) or (isinstance(value, np.ndarray) and value.ndim == 0):
        return value.item() if hasattr(value, "item") else value
    return None


def _netpyne_cfg(path: Path) -> dict[str, Any]:
    """Scalar entries of NetPyNE's ``<simLabel>_cfg.json`` beside ``<simLabel>.nc``.

    NetPyNE's batch (``netpyne/batch/grid.py``) saves each run's configuration there as
    ``{"simConfig": {...}}``; nested keys are joined by ``_``.
    """
    cfg = path.with_name(f"{path.stem}_cfg.json")
    if not cfg.is_file():
        return {}
    try:
        data = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read NetPyNE's configuration {str(cfg)!r}: {err}") from None
    data = data.get("simConfig", data) if isinstance(data, dict) else {}
    out: dict[str, Any] = {}

    def walk(prefix: str, obj) -> None:
        for key, value in obj.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(f"{name}_", value)
            elif (v := _scalar(value)) is not None:
                out[name] = v

    walk("", data)
    return out


def _fill(dtype) -> Any:
    kind = np.dtype(dtype).kind
    if kind in "fc":
        return np.nan
    if kind in "iu":
        return -1
    if kind == "b":
        return False
    return ""


def _pad_ragged(ds, dim: str, length: int):
    """``ds`` with every variable on ``dim`` padded at the end to ``length``."""
    import xarray as xr

    k = length - ds.sizes[dim]
    if k == 0:
        return ds

    def pad(var):
        if dim not in var.dims:
            return var
        if var.dtype.kind not in "fciub":
            var = var.load()  # dask pads numbers only; text variables are small (cell, connection tables)
        return var.pad({dim: (0, k)}, mode="constant", constant_values=_fill(var.dtype))

    data_vars = {n: pad(v.variable) for n, v in ds.data_vars.items()}
    coords = {n: pad(v.variable) for n, v in ds.coords.items()}
    return xr.Dataset(data_vars, coords=coords, attrs=ds.attrs)


def _check_time(datasets, paths, join: str) -> None:
    """Refuse runs whose time axes differ (``join="exact"``), else make close ones identical."""
    first = datasets[0]
    if "time" not in first.indexes:
        return
    t0 = np.asarray(first["time"].values, dtype=float)
    step = float(t0[1] - t0[0]) if t0.size > 1 else 1.0
    for i, ds in enumerate(datasets[1:], 1):
        t = np.asarray(ds["time"].values, dtype=float)
        same = t.size == t0.size and np.allclose(t, t0, rtol=0, atol=1e-6 * step)
        if same:
            datasets[i] = ds.assign_coords(time=first["time"])  # round-off apart: one axis
        elif join == "exact":
            def span(x):
                return f"{x.size} samples, {x[0]:g}–{x[-1]:g} ms" if x.size else "no samples"
            raise ValueError(
                f"runs differ in 'time': {paths[0].name} has {span(t0)}, {paths[i].name} has {span(t)}; "
                "pass join='inner' to keep the samples all runs share, or join='outer' to pad the "
                "shorter runs with NaN")


def open_runs(paths_or_glob, *, dim: str = "run", chunks: Mapping[str, int] | None = None,
              params: Mapping[str, Sequence] | None = None, join: str = "exact"):
    """Open many run files as one Dataset with a ``run`` dimension and the runs' parameters as coordinates.

    Parameters
    ----------
    paths_or_glob : str, Path or sequence of them
        A glob pattern (``"scan/*.nc"``, sorted), a folder (its ``*.nc``, sorted) or the run
        files in the order wanted.
    dim : str
        Name of the new dimension.
    chunks : mapping, optional
        dask chunks per file (``{}``: the files' own chunks; ``{"time": 200_000}``): variables
        become dask arrays, read only when computed. Default None: lazily indexed files, loaded
        into memory when the runs are stacked (fine for small runs).
    params : mapping of str to sequence, optional
        More parameters: name → one value per run, in the order of the runs.
    join : {"exact", "inner", "outer"}
        Runs whose indexed dimensions differ (``time`` length, electrode labels, cells) are
        refused (``"exact"``), cut to the labels all share (``"inner"``), or padded with NaN to
        the union (``"outer"``).

    Returns
    -------
    xarray.Dataset
        Every variable of the runs with ``dim`` first; coordinates ``dim`` (file stems),
        ``run_path``, one coordinate per parameter (units from the ``<name>_units`` attribute),
        ``<d>_count`` for each ragged dimension ``d``. Global attributes common to all runs are
        kept; ``run_parameters`` lists the parameter coordinates.

    Raises
    ------
    FileNotFoundError
        If a file or the pattern's files do not exist.
    ValueError
        If the runs cannot be stacked as asked (the message names the dimension and runs), or
        ``params`` has the wrong length.
    TypeError
        If an argument has the wrong type.
    """
    import xarray as xr

    from signals.store import open_run
    from signals.validation import check_option

    check_option(join, "join", JOINS)
    if not isinstance(dim, str) or not dim:
        raise TypeError(f"dim must be a non-empty string, got {dim!r}")
    if chunks is not None and not isinstance(chunks, Mapping):
        raise TypeError(f"chunks must be a mapping of dimension to chunk length (or {{}}), got {chunks!r}")
    paths = _paths(paths_or_glob)
    n = len(paths)
    if params is not None:
        if not isinstance(params, Mapping):
            raise TypeError("params must be a mapping of name to one value per run, got "
                            f"{type(params).__name__}")
        for key, values in params.items():
            if isinstance(values, str | bytes) or not isinstance(values, Sequence | np.ndarray) \
                    or len(values) != n:
                raise ValueError(f"params[{key!r}] must hold one value per run ({n} runs), got {values!r}")
    kwargs = {} if chunks is None else {"chunks": dict(chunks)}
    with _chunk_cache(RUN_CHUNK_CACHE if chunks is not None else None):
        datasets = [open_run(p, **kwargs) for p in paths]
    for ds in datasets:
        if dim in ds.dims or dim in ds.variables:
            raise ValueError(f"dim {dim!r} is already a dimension or variable of the runs; choose another")
    # parameters: differing scalar attributes, NetPyNE batch configurations, the caller's
    found: dict[str, list] = {}
    units: dict[str, str] = {}
    cfgs = [_netpyne_cfg(p) for p in paths]
    for source in ("attrs", "cfg"):
        rows = [ds.attrs for ds in datasets] if source == "attrs" else cfgs
        keys = sorted({k for r in rows for k in r})
        for key in keys:
            if source == "attrs" and (key in PROVENANCE or key.endswith("_units")):
                continue
            values = [_scalar(r[key]) if key in r else None for r in rows]
            if any(v is None for v, r in zip(values, rows, strict=True) if key in r):
                continue  # arrays and other non-scalars
            present = [v for v in values if v is not None]
            if len({repr(v) for v in values}) <= 1 or not present:
                continue
            text = any(isinstance(v, str) for v in present)
            found.setdefault(key, [("" if text else np.nan) if v is None else (str(v) if text else v)
                                   for v in values])
            if source == "attrs" and f"{key}_units" in datasets[0].attrs:
                units[key] = str(datasets[0].attrs[f"{key}_units"])
    for key, values in (params or {}).items():
        found[str(key)] = list(values)
    # ragged dims: no index, different lengths
    ragged = {}
    for d in sorted({d for ds in datasets for d in ds.dims}):
        if any(d in ds.indexes for ds in datasets):
            continue
        sizes = [ds.sizes.get(d, 0) for ds in datasets]
        if len(set(sizes)) > 1:
            ragged[d] = sizes
    for d, sizes in ragged.items():
        datasets = [_pad_ragged(ds, d, max(sizes)) if d in ds.dims else ds for ds in datasets]
    _check_time(datasets, paths, join)
    if join == "exact":
        for d in sorted({d for ds in datasets for d in ds.indexes}):
            ref = datasets[0].indexes.get(d)
            for p, ds in zip(paths[1:], datasets[1:], strict=True):
                idx = ds.indexes.get(d)
                if ref is None or idx is None or not ref.equals(idx):
                    raise ValueError(f"runs differ in {d!r}: {paths[0].name} and {p.name} do not have the "
                                     f"same {d} labels; pass join='inner' (labels all runs share) or "
                                     "join='outer' (the union, NaN where a run has none)")
    labels = [p.stem for p in paths]
    if len(set(labels)) < n:
        labels = [str(p) for p in paths]
    try:
        out = xr.concat(datasets, dim=dim, join=join, data_vars="all", coords="different",
                        compat="equals", combine_attrs="drop_conflicts")
    except ValueError as err:
        raise ValueError(f"the runs cannot be stacked along {dim!r}: {err}") from None
    out = out.assign_coords({dim: labels, "run_path": (dim, [str(p) for p in paths])})
    names = []
    for key, values in found.items():
        name = key if key not in out.variables and key not in out.dims else f"param_{key}"
        out = out.assign_coords({name: (dim, np.asarray(values))})
        out[name].attrs["long_name"] = f"run parameter {key}"
        if key in units:
            out[name].attrs["units"] = units[key]
        out.attrs.pop(key, None)
        names.append(name)
    for d, sizes in ragged.items():
        out[f"{d}_count"] = (dim, np.asarray(sizes, dtype=np.int64))
        out[f"{d}_count"].attrs.update(units="1",
                                       long_name=f"entries of {d!r} in each run (the rest is padding)")
    out[dim].attrs["long_name"] = "run (file stem)"
    out.attrs["run_parameters"] = ", ".join(names)
    return out


def run_dataset(ds, run: Hashable | int, *, dim: str = "run"):
    """One run of :func:`open_runs`'s Dataset, as :func:`signals.open_run` would give it.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`open_runs`.
    run : label or int
        A label of ``dim`` (file stem), or a position (int).
    dim : str
        The run dimension.

    Returns
    -------
    xarray.Dataset
        Without ``dim``; ragged dimensions cut to the run's own length (``<d>_count``), their
        integer variables back to integers. The run's parameters are scalar coordinates.
    """
    if dim not in ds.dims:
        raise ValueError(f"ds has no dimension {dim!r} (dims {tuple(ds.dims)}); open it with open_runs")
    labels = list(ds[dim].values)
    if isinstance(run, int | np.integer) and not isinstance(run, bool) and run not in labels:
        if not -len(labels) <= run < len(labels):
            raise IndexError(f"run {run} is out of range: {len(labels)} runs")
        sub = ds.isel({dim: int(run)})
    elif run in labels:
        sub = ds.sel({dim: run})
    else:
        raise KeyError(f"run {run!r} is not a label of {dim!r} ({labels})")
    for name in [v for v in sub.data_vars if v.endswith("_count") and sub[v].ndim == 0]:
        d = name[: -len("_count")]
        if d in sub.dims:
            sub = sub.isel({d: slice(0, int(sub[name]))})
        sub = sub.drop_vars(name)
    return sub


def map_runs(func: Callable, ds, *args, dim: str = "run", **kwargs):
    """``func(run_dataset(ds, r), *args, **kwargs)`` for each run, stacked along ``dim``.

    For analyses that read a run's spikes or cell table (``firing_rates``,
    ``spike_triggered_average``, ...): each run is analysed as a single run file would be, and
    the results carry ``dim`` with the runs' labels and parameter coordinates.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        ``func``'s result with ``dim`` first.
    """
    import xarray as xr

    if dim not in ds.dims:
        raise ValueError(f"ds has no dimension {dim!r} (dims {tuple(ds.dims)}); open it with open_runs")
    results = []
    for i in range(ds.sizes[dim]):
        res = func(run_dataset(ds, i, dim=dim), *args, **kwargs)
        if not isinstance(res, xr.DataArray | xr.Dataset):
            raise TypeError(f"func must return an xarray object, got {type(res).__name__}")
        # the run's scalar parameter coordinates come back below as coordinates on dim
        results.append(res.drop_vars([c for c in res.coords if c in ds.coords and dim in ds[c].dims],
                                     errors="ignore"))
    out = xr.concat(results, dim=dim, join="outer", combine_attrs="drop_conflicts")
    run_coords = {c: ds[c] for c in ds.coords if ds[c].dims == (dim,)}
    return out.assign_coords(run_coords)


def mean_ci(da, dim: str = "run", *, ci: float = 0.95):
    """Mean over ``dim`` with a Student-t confidence interval of the mean.

    Parameters
    ----------
    da : xarray.DataArray
        E.g. a per-run result (``psd`` of :func:`open_runs`' LFP); NaN entries are left out.
    dim : str
        Dimension averaged over.
    ci : float in (0, 1)
        Confidence level.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``ci_low``, ``ci_high`` (units of ``da``), ``n`` (values averaged); with
        ``groupby`` first (``psd.groupby("seed")``) use ``.map(mean_ci, dim=...)``.
    """
    import xarray as xr
    from scipy.stats import t as student_t

    if not 0 < float(ci) < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci}")
    if dim not in da.dims:
        raise ValueError(f"da has no dimension {dim!r} (dims {da.dims})")
    n = da.count(dim)
    mean = da.mean(dim)
    sem = da.std(dim, ddof=1) / np.sqrt(n)
    half = sem * xr.apply_ufunc(lambda k: student_t.ppf((1 + float(ci)) / 2, np.maximum(k - 1, 1)), n)
    out = xr.Dataset({"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n})
    for name in ("mean", "ci_low", "ci_high"):
        out[name].attrs = dict(da.attrs)
    out.attrs.update(ci=float(ci), method=f"Student t interval of the mean over {dim!r}")
    return out
