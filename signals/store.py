"""Run files: netCDF4 written chunk by chunk, read back as labeled ``xarray.Dataset``.

A run file is self-describing: every variable has CF ``units`` and ``long_name``; global
attributes hold provenance (versions, dt, conductivity, forward model). ``run_status`` is
``"running"`` while it is written, ``"complete"`` after a normal end and ``"incomplete"`` (with
``run_error``) after an exception; chunks written before an interruption stay readable.
"""

from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
import shutil
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from signals.recorder import VariableSpec
from signals.schema import (
    ATTR_UNITS,
    FORMAT_NAME,
    FORMAT_VERSION,
    KNOWN_DIMS,
    MISSING_ATTR,
    NUMERIC_ATTRS,
    RUN_STATUSES,
    UNLIMITED,
)

__all__ = ["RunWriter", "open_run", "FORMAT_NAME", "FORMAT_VERSION"]

logger = logging.getLogger(__name__)


def _attr_value(value: Any) -> Any:
    """A value netCDF can hold as an attribute (bools as ints, sequences as arrays)."""
    if isinstance(value, bool | np.bool_):
        return int(value)
    if isinstance(value, str | int | float | np.number):
        return value
    if isinstance(value, list | tuple | np.ndarray):
        arr = np.asarray(value)
        return arr if arr.dtype.kind in "iuf" else ", ".join(map(str, value))
    return str(value)


def _clean_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in attrs.items():
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise ValueError(f"attrs: attribute {key!r} = {value} does not fit a 64-bit integer "
                             "(netCDF's largest); store it as a string")
    out = {k: _attr_value(v) for k, v in attrs.items() if v is not None}
    out.update({f"{k}_units": ATTR_UNITS[k] for k in list(out) if k in ATTR_UNITS})
    return out


def _write_failure(path: Path, err: BaseException) -> tuple[int, str]:
    """(errno, what went wrong) for a failed write; HDF5 reports only "NetCDF: HDF error"."""
    import resource

    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG,
                                                  errno.EACCES, errno.EROFS):
        return err.errno, os.strerror(err.errno)
    try:
        size = path.stat().st_size
    except OSError:
        return errno.ENOENT, "the file was removed while it was written"
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    if soft != resource.RLIM_INFINITY and size + 2**20 >= soft:
        return errno.EFBIG, f"the file reached the file size limit (ulimit -f) of {soft} bytes"
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if free is not None and free < 2**20:
        return errno.ENOSPC, f"no space left on the device ({free} bytes free)"
    if not os.access(path, os.W_OK):
        return errno.EACCES, "the file is no longer writable (permission denied)"
    return errno.EIO, (f"the HDF5 library could not write ({err}): disk full, quota exceeded or "
                       "an I/O error")


class RunWriter:
    """Append-only writer of one run file (used by the session on rank 0).

    Parameters
    ----------
    path : str or Path
        File to create (overwritten).
    coords : mapping
        name → (dims, values, attrs); fixes the size of every non-growing dimension.
    variables : mapping of str to VariableSpec
        Data variables; their first dim grows: ``time``, ``spike``, or a dim of the recorder's
        own (e.g. ``ko_snapshot``) that no coordinate sizes.
    attrs : mapping
        Global attributes.
    chunk_len : int
        Number of samples per chunk, used as the netCDF chunk length along ``time``.
    compression : int or None
        zlib level (1-9) for the data variables, or None for none (default). Measured on LFP
        chunks: level 1 makes each append ten times slower (3.7 vs 0.38 ms per 500 samples of
        32 electrodes) for files only 19 % smaller, and rank 0 writes while the others wait.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        coords: Mapping[str, tuple[tuple[str, ...], np.ndarray, dict]],
        variables: Mapping[str, VariableSpec],
        attrs: Mapping[str, Any],
        chunk_len: int,
        compression: int | None = None,
    ) -> None:
        import netCDF4

        from signals.validation import check_path

        if compression is not None and (isinstance(compression, bool) or
                                        not isinstance(compression, int) or not 1 <= compression <= 9):
            raise ValueError(f"compression must be a zlib level 1-9 or None, got {compression!r}")

        self.path = check_path(path, "path")
        if self.path.is_dir():
            raise IsADirectoryError(f"cannot write run file {str(self.path)!r}: it is a directory; "
                                    "give a file name such as run.nc")
        if not self.path.parent.is_dir():
            raise OSError(f"cannot write run file {str(self.path)!r}: the directory "
                          f"{str(self.path.parent)!r} does not exist")
        try:
            self._nc = netCDF4.Dataset(self.path, "w", format="NETCDF4")
        except OSError as err:
            raise OSError(f"cannot write run file {str(self.path)!r}: {err.strerror or err}") from None
        self._broken = False
        try:
            self._create(coords, variables, attrs, chunk_len, compression)
        except BaseException:
            # Leave nothing behind: an open handle would keep HDF5's lock on the path (every
            # later record() to it would fail), and the half-made file holds no data.
            self._nc.close()
            self.path.unlink(missing_ok=True)
            raise

    def _create(self, coords, variables, attrs, chunk_len, compression) -> None:
        nc = self._nc
        # Mark the file as ours at once: a run killed while the header is written is then
        # reported as an interrupted creation, not as a foreign netCDF file.
        nc.setncatts({"signals_format": FORMAT_NAME, "run_status": "creating"})
        nc.sync()
        # Growing dims: time, spike, and the first dim of any variable that no coordinate sizes
        # (e.g. a recorder's snapshot dim).
        fixed = {d for dims, _, _ in coords.values() for d in dims}
        growing = list(UNLIMITED) + [spec.dims[0] for spec in variables.values()
                                     if spec.dims[0] not in UNLIMITED]
        self._count = {}
        self._t_last: float | None = None
        for dim in dict.fromkeys(growing):
            if dim in fixed:
                raise ValueError(f"dimension {dim!r} both grows (a variable's first dim) and has a "
                                 "fixed size (a coordinate)")
            nc.createDimension(dim, None)
            self._count[dim] = 0
        for name, (dims, values, _) in coords.items():
            if len(dims) != np.ndim(values):
                raise ValueError(f"coordinate {name!r}: dims {dims} do not match its shape")
            for dim, size in zip(dims, np.shape(values), strict=True):
                if dim in nc.dimensions:
                    if len(nc.dimensions[dim]) != size:
                        raise ValueError(
                            f"dimension {dim!r} has size {len(nc.dimensions[dim])} in one "
                            f"recorder and {size} in another; give recorders distinct names/dims"
                        )
                else:
                    nc.createDimension(dim, size)
        tvar = nc.createVariable("time", "f8", ("time",), chunksizes=(max(chunk_len, 1),))
        tvar.setncatts({"units": "ms", "long_name": "simulation time", "axis": "T"})
        for name, (dims, values, vattrs) in coords.items():
            values = np.asarray(values)
            if values.dtype.kind in "OUS":
                var = nc.createVariable(name, str, dims)
                var[:] = values.astype(object)
            else:
                var = nc.createVariable(name, values.dtype, dims)
                var[:] = values
            var.setncatts(_clean_attrs(vattrs))
        self._specs = dict(variables)
        for name, spec in self._specs.items():
            # a variable may be the coordinate of its own growing dim (e.g. a snapshot time)
            if name in coords or (name in nc.dimensions and tuple(spec.dims) != (name,)):
                raise ValueError(f"a recorder's variable {name!r} clashes with the run file's "
                                 f"coordinate or dimension {name!r}; give the recorder another name=")
        for name, spec in self._specs.items():
            missing = [d for d in spec.dims[1:] if d not in nc.dimensions]
            if missing:
                raise ValueError(f"variable {name!r}: no coordinate gives the size of {missing}")
            shape = [len(nc.dimensions[d]) for d in spec.dims[1:]]
            # time: one chunk per write; spike: events are small; snapshots: one per write
            first = {"time": max(chunk_len, 1), "spike": 4096}.get(spec.dims[0], 1)
            chunks = (first, *[max(s, 1) for s in shape])
            var = nc.createVariable(name, spec.dtype, spec.dims, zlib=compression is not None,
                                    complevel=compression or 4, shuffle=compression is not None,
                                    chunksizes=chunks)
            # Each chunk is written once, in order: a cache of two chunks suffices. The library
            # default (up to 64 MiB per variable) would make memory grow with the run length.
            chunk_bytes = int(np.prod(chunks)) * np.dtype(spec.dtype).itemsize
            var.set_var_chunk_cache(size=2 * chunk_bytes, nelems=7, preemption=1.0)
            # CF auxiliary coordinates (e.g. electrode_x) so readers attach them to the variable.
            aux = [c for c, (cdims, _, _) in coords.items()
                   if cdims != (c,) and set(cdims) <= set(spec.dims)]
            var.setncatts(_clean_attrs({"units": spec.units, "long_name": spec.long_name,
                                        "coordinates": " ".join(aux) or None, **spec.attrs}))
        unused_aux = [c for c, (cdims, _, _) in coords.items()
                      if cdims != (c,) and not any(set(cdims) <= set(v.dims)
                                                   for v in self._specs.values())]
        nc.setncatts(_clean_attrs({
            **attrs,
            "coordinates": " ".join(unused_aux) or None,
            "signals_format": FORMAT_NAME,
            "signals_format_version": FORMAT_VERSION,
            "Conventions": "CF-1.8",
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "run_status": "running",
        }))
        nc.sync()

    @property
    def n_samples(self) -> int:
        """Samples written so far along ``time``."""
        return self._count["time"]

    def set_attrs(self, attrs: Mapping[str, Any]) -> None:
        """Add or replace global attributes."""
        self._nc.setncatts(_clean_attrs(attrs))

    def append(self, t: np.ndarray, outputs: Mapping[str, np.ndarray], *,
               t_reached: float | None = None) -> None:
        """Write one chunk: sample times ``t`` (ms) and each variable's rows.

        Raises
        ------
        OSError
            If the file cannot be written (disk full, quota, file size limit, permission): one
            error naming the file, the cause, the time reached and the samples safe in it.
        """
        if self._broken:
            raise OSError(errno.EIO, f"run file {str(self.path)!r} failed to write earlier")
        nc = self._nc
        n0 = self._count["time"]
        grown = {"time": t.size}
        for name, data in outputs.items():
            dim = self._specs[name].dims[0]
            n = data.shape[0]
            if grown.setdefault(dim, n) != n:
                raise ValueError(f"variable {name!r} has {n} rows along {dim!r}, expected {grown[dim]}")
        self._check_room(t.nbytes + sum(np.asarray(d).nbytes for d in outputs.values()),
                         n0, t_reached)
        try:
            # the data first and time last: a reader of a file being written never sees a
            # sample time whose data has not been written yet
            for name, data in outputs.items():
                dim = self._specs[name].dims[0]
                start = self._count[dim]
                if data.shape[0]:
                    nc[name][start:start + data.shape[0]] = data
            nc["time"][n0:n0 + t.size] = t
            nc.sync()
        except (OSError, RuntimeError) as err:
            self._broken = True
            raise self._error(*_write_failure(self.path, err), n0, t_reached) from None
        for dim, n in grown.items():
            self._count[dim] += n
        if t.size:
            self._t_last = float(t[-1])

    def _error(self, code: int, cause: str, n0: int, t_reached: float | None) -> OSError:
        t_text = "" if t_reached is None else f" at t = {t_reached:g} ms"
        last = f", up to t = {self._t_last:g} ms" if n0 else ""
        return OSError(code, f"cannot write run file {str(self.path)!r}{t_text}: {cause}; "
                             f"the {n0} samples written before{last} are safe in it")

    def _check_room(self, nbytes: int, n0: int, t_reached: float | None) -> None:
        """Refuse a chunk that cannot fit, before HDF5 tries to write it.

        HDF5 fails a write on a full disk with "NetCDF: HDF error", and then cannot close the
        file either (the handle stays open to the end of the process). Checking first (one
        ``statvfs``, a few µs per chunk) leaves a file that closes cleanly as incomplete.
        Quotas are not visible this way; they still end in the error path of :meth:`append`.
        """
        import resource

        need = 2 * nbytes + 2**18  # the chunk, HDF5's chunk-index and metadata updates
        try:
            st = os.statvfs(self.path.parent)
        except OSError:
            return
        free = st.f_bavail * st.f_frsize
        if free < need:
            raise self._error(errno.ENOSPC, f"no space left on the device ({free} bytes free, "
                              f"the next chunk needs {need})", n0, t_reached)
        soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
        if soft != resource.RLIM_INFINITY:
            size = self.path.stat().st_size
            if size + need > soft:
                raise self._error(errno.EFBIG, f"the file size limit (ulimit -f) of {soft} bytes "
                                  f"would be exceeded ({size} bytes written)", n0, t_reached)

    def close(self, *, error: BaseException | str | None = None,
              attrs: Mapping[str, Any] | None = None) -> None:
        """Mark the file complete (or incomplete with the error message) and close it.

        After a failed write the file is closed as it is (its last good chunk readable): a
        second error from HDF5 must not hide the first.
        """
        if not self._nc.isopen():
            return
        final = dict(attrs or {})
        final["run_status"] = "incomplete" if error is not None else "complete"
        if isinstance(error, str):
            final["run_error"] = error
        elif error is not None:
            final["run_error"] = f"{type(error).__name__}: {error}"
        try:
            if not self._broken:
                self._nc.setncatts(_clean_attrs(final))
        finally:
            try:
                self._nc.close()
            except (OSError, RuntimeError) as err:
                if error is None and not self._broken:
                    code, cause = _write_failure(self.path, err)
                    raise OSError(code, f"cannot close run file {str(self.path)!r}: {cause}",
                                  str(self.path)) from None
                logger.debug("closing the failed run file %s: %s", self.path, err)


def check_run_schema(ds, path: str | os.PathLike) -> None:
    """Raise a ``ValueError`` naming what is broken in an opened run file.

    Checks the dims of the variables signals writes, that ``time`` is finite and increasing,
    that coordinates are finite (NaN only where the coordinate's ``missing`` attribute says what
    it means, as importers mark positions they do not know), that variables sampled in time have
    ``time`` first, and that the global attributes signals reads have the right type.
    """
    where = f"run file {str(path)!r}"
    problems = []
    for name, dims in KNOWN_DIMS.items():
        if name in ds.variables and tuple(ds[name].dims[:len(dims)]) != dims:
            problems.append(f"variable {name!r} has dims {ds[name].dims}, expected {dims}")
    for name, var in ds.variables.items():
        if "time" in var.dims and var.dims[0] != "time":
            problems.append(f"variable {name!r} has dims {var.dims}: 'time' must come first")
        units = var.attrs.get("units")
        if units is not None and not isinstance(units, str):
            problems.append(f"variable {name!r} has a non-text units attribute {units!r}")
    for key in NUMERIC_ATTRS:
        value = ds.attrs.get(key)
        if value is None:
            continue
        if isinstance(value, str) or np.ndim(value) != 0 or not np.isfinite(value):
            problems.append(f"attribute {key!r} = {value!r} is not a finite number")
    status = ds.attrs.get("run_status")
    if status not in RUN_STATUSES:
        problems.append(f"attribute 'run_status' = {status!r} is not one of {RUN_STATUSES}")
    if problems:
        raise ValueError(f"{where} is damaged: " + "; ".join(problems))
    # values: only the (small) coordinates and time are read here, never the data
    if "time" in ds.variables:
        t = np.asarray(ds["time"].values, dtype=float)
        if not np.all(np.isfinite(t)):
            problems.append(f"'time' holds {int(np.sum(~np.isfinite(t)))} non-finite values")
        elif np.any(np.diff(t) <= 0):
            k = int(np.flatnonzero(np.diff(t) <= 0)[0])
            problems.append(f"'time' is not increasing (sample {k + 1}: {t[k + 1]} ms after {t[k]} ms)")
    for name, var in ds.coords.items():
        if name != "time" and var.dtype.kind == "f" and var.size and not np.all(np.isfinite(var.values)):
            if not (MISSING_ATTR in var.attrs and not np.any(np.isinf(var.values))):
                problems.append(f"coordinate {name!r} holds non-finite values")
    if problems:
        raise ValueError(f"{where} is damaged: " + "; ".join(problems))


_SNAPSHOT = """
import sys, time
import xarray as xr
for attempt in range(50):
    try:
        with xr.open_dataset(sys.argv[1], engine="netcdf4") as ds:
            ds.load().to_netcdf(sys.argv[2], engine="netcdf4")
        break
    except Exception as err:
        if attempt == 49:
            sys.exit(f"{type(err).__name__}: {err}")
        time.sleep(0.05)
"""


def _open_locked(path: Path, **kwargs: Any):
    """A consistent copy of a file another process holds open for writing (HDF5 locks it).

    Measured with a run writing 100-sample chunks and a reader opening the file every 50 ms
    (NEURON 9, netCDF4 1.7, HDF5 2.0): with HDF5's file locking (the default) 40 of 40 opens
    fail ("NetCDF: HDF error"); with ``HDF5_USE_FILE_LOCKING=FALSE`` 75 of 100 succeed, and all
    of those show a consistent file (times increasing, data for every time written); the others
    fail while the writer updates its metadata. HDF5 reads that variable once per process, so
    a child process with it set copies the file (retrying a failed attempt) and the copy is
    read into memory. Raises ``OSError`` when no consistent state could be read.
    """
    import subprocess
    import sys
    import tempfile

    import xarray as xr

    env = {**os.environ, "HDF5_USE_FILE_LOCKING": "FALSE"}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "snapshot.nc"
        res = subprocess.run([sys.executable, "-c", _SNAPSHOT, str(path), str(copy)], env=env,
                             capture_output=True, text=True)
        if res.returncode:
            raise OSError(res.stderr.strip().splitlines()[-1] if res.stderr.strip() else
                          f"exit {res.returncode}")
        with xr.open_dataset(copy, engine="netcdf4", **kwargs) as ds:
            return ds.load()


def _flushed_part(ds):
    """The samples of a file being written whose time has been written (data goes first)."""
    if "time" not in ds.variables or ds.sizes.get("time", 0) == 0:
        return ds
    t = np.asarray(ds["time"].values, dtype=float)
    # unwritten rows read as NaN (masked) or as netCDF's default fill value, 9.97e36
    written = np.isfinite(t) & (np.abs(t) < 9e36)
    n = t.size if written.all() else int(np.argmin(written))
    return ds.isel(time=slice(0, n))


def open_run(path: str | os.PathLike, **kwargs: Any):
    """Open a run file as a lazy, labeled ``xarray.Dataset``.

    Parameters
    ----------
    path : str or Path
        A netCDF file written by :func:`signals.record`.
    **kwargs
        Passed to ``xarray.open_dataset`` (e.g. ``chunks={}`` for dask).

    Returns
    -------
    xarray.Dataset
        Variables keep their ``units``/``long_name``; time in ms.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not netCDF or was not written by signals.
    """
    import xarray as xr

    from signals.validation import check_path

    path = check_path(path, "path")
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a directory, not a run file")
    if not path.exists():
        raise FileNotFoundError(f"run file not found: {str(path)!r}")
    in_memory = False
    try:
        ds = xr.open_dataset(path, engine="netcdf4", **kwargs)
    except (OSError, ValueError, RuntimeError) as err:
        first = err
        try:  # a run writing it holds HDF5's lock: read what it has flushed so far
            ds = _open_locked(path, **kwargs)
            in_memory = True
        except (OSError, ValueError, RuntimeError, KeyError):
            raise ValueError(
                f"{str(path)!r} is not a readable netCDF file: {first} (if a run is writing it "
                "right now, try again: signals could not read a consistent state of it)"
            ) from None
    try:
        if ds.attrs.get("signals_format") != FORMAT_NAME:
            raise ValueError(f"{str(path)!r} is a netCDF file but not a signals run file "
                             "(no signals_format attribute)")
        status = ds.attrs.get("run_status")
        if status == "creating":
            raise ValueError(f"run file {str(path)!r}: its creation was interrupted (the process "
                             "that made it stopped while writing the header); it holds no data")
        if status == "running":
            ds = _flushed_part(ds)
        check_run_schema(ds, path)
    except BaseException:
        ds.close()
        raise
    if status == "running":
        how = ("a copy in memory of the samples flushed so far" if in_memory
               else "the samples flushed so far")
        warnings.warn(
            f"run file {str(path)!r} is running: a process is writing it, or was killed before "
            f"it could close it; this is {how} ({ds.sizes.get('time', 0)} samples)",
            stacklevel=2)
    elif status != "complete":
        warnings.warn(
            f"run file {str(path)!r} is {status}: "
            f"{ds.attrs.get('run_error', 'the run did not finish')}; it holds "
            f"{ds.sizes.get('time', 0)} samples written before that",
            stacklevel=2,
        )
    return ds
