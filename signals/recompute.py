"""Forward models applied offline to saved membrane currents: a new probe without re-simulating.

A run recorded with :class:`signals.recorders.MembraneCurrents` holds every segment's membrane
current and geometry. :func:`recompute` rebuilds the :class:`~signals.network.SegmentTable`
from the file (:func:`segment_table`), sets the recorders up on it exactly as a live session
does, and feeds them the saved currents chunk by chunk, so memory is bounded by one chunk and
the result equals recording the same recorders live (to BLAS round-off).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from signals.engine.driver import (
    BlasLimit,
    chunk_length,
    collect_specs,
    merge_coords,
    recorder_attrs,
    resolve_recorders,
    run_recorders,
    write_run,
)
from signals.network import GEOMETRY_VARIABLES, SegmentTable
from signals.recorder import Chunk, Context, LinearRecorder, VariableSpec

__all__ = ["recompute", "segment_table"]


#: Global attributes a new run file gets afresh rather than from its source.
_FRESH_ATTRS = ("signals_format", "signals_format_version", "Conventions", "created", "run_status",
                "run_error", "n_samples", "coordinates")


def _geometry_missing(ds, variable: str) -> list[str]:
    return [v for v in (variable, *GEOMETRY_VARIABLES) if v not in ds.variables]


def segment_table(ds, variable: str = "imem") -> SegmentTable:
    """The run's :class:`~signals.network.SegmentTable`, rebuilt from the file without NEURON.

    Parameters
    ----------
    ds : xarray.Dataset
        A run recorded with :class:`signals.recorders.MembraneCurrents`.
    variable : str
        Name of the membrane-current variable (nA, dims (time, segment)).

    Returns
    -------
    SegmentTable
        Rows in the order of ``ds[variable]``'s ``segment`` dim; coordinates (µm), diameters
        (µm), areas (µm²), gids, populations, section names and root flags as recorded;
        ``segments`` and ``roots`` (NEURON objects) are empty; ``cell_position`` is the
        midpoint of each cell's root-section segments (µm).

    Raises
    ------
    ValueError
        If the run has no membrane currents or segment geometry.
    """
    missing = _geometry_missing(ds, variable)
    if missing:
        raise ValueError(
            f"the run has no {', '.join(missing)}: record it with MembraneCurrents() "
            "(signals.recorders) to recompute forward models offline")
    gid = np.asarray(ds["segment_gid"].values, dtype=np.int64)
    pop_names = np.asarray(ds["segment_population"].values).astype(str)
    section = np.asarray(ds["segment_section"].values).astype(str).astype(object)
    root = np.asarray(ds["segment_root"].values).astype(bool)
    populations = tuple(dict.fromkeys(pop_names.tolist()))
    population = np.array([populations.index(p) for p in pop_names], dtype=np.int64)
    xyz = {a: np.asarray(ds[f"segment_{a}"].transpose("segment", "segment_end").values, dtype=float)
           for a in "xyz"}
    if gid.size and np.any(np.diff(gid) != 0):
        starts = np.r_[0, np.flatnonzero(np.diff(gid)) + 1]
    else:
        starts = np.zeros(min(gid.size, 1), dtype=np.int64)
    cell_gid = gid[starts]
    if np.unique(cell_gid).size != cell_gid.size:
        raise ValueError("the segments of a cell are not contiguous in the run file")
    stops = np.r_[starts[1:], gid.size].astype(np.int64)
    positions = []
    mid = np.column_stack([xyz[a].mean(axis=1) for a in "xyz"])
    for a, b in zip(starts, stops, strict=True):
        rows = np.flatnonzero(root[a:b]) + a
        if rows.size == 0:
            raise ValueError(f"cell {gid[a]} has no root-section segment in segment_root")
        positions.append(mid[rows].mean(axis=0))
    return SegmentTable(
        gid=gid, population=population, populations=populations, section=section,
        x=xyz["x"], y=xyz["y"], z=xyz["z"],
        diam=np.asarray(ds["segment_diam"].values, dtype=float),
        area=np.asarray(ds["segment_area"].values, dtype=float), root=root,
        cell_gid=cell_gid, cell_population=population[starts],
        cell_position=np.asarray(positions, dtype=float).reshape(-1, 3),
        segments=[], roots=[])


def _spec_of(da) -> VariableSpec:
    """A VariableSpec that rewrites an existing variable as it is."""
    kind = da.dtype.kind
    dtype = "f8" if kind == "f" and da.dtype.itemsize == 8 else da.dtype.str.lstrip("<>|=")
    attrs = {k: v for k, v in da.attrs.items() if k not in ("units", "long_name", "coordinates")}
    return VariableSpec(tuple(da.dims), str(da.attrs.get("units", "1")),
                        str(da.attrs.get("long_name", da.name)),
                        reduce="sum" if da.dims[0] == "time" else "gather", dtype=dtype, attrs=attrs)


def _coord_entry(da) -> tuple:
    values = da.values
    if values.dtype.kind in "US":
        values = values.astype(object)
    attrs = {k: v for k, v in da.attrs.items() if k != "coordinates"}
    return (tuple(da.dims), values, attrs)


def _plan_copies(ds, variable: str, keep, new_dims: set[str]):
    """Source variables to copy: time series, events and static arrays (and their coords)."""
    from signals.store import UNLIMITED

    segment_dims = {"segment", "segment_end"}
    names = [n for n in ds.variables if n != "time"]
    if keep is None:
        series = []
        events = [n for n in names if ds[n].dims and ds[n].dims[0] in UNLIMITED
                  and ds[n].dims[0] != "time"]
    else:
        keep = [keep] if isinstance(keep, str) else list(keep)
        unknown = [k for k in keep if k not in ds.variables]
        if unknown:
            raise KeyError(f"keep: the run has no variable(s) {unknown}")
        series = [k for k in keep if ds[k].dims[:1] == ("time",)]
        events = [k for k in keep if ds[k].dims[:1] and ds[k].dims[0] in UNLIMITED
                  and ds[k].dims[0] != "time"]
    if variable in series:
        raise ValueError(f"keep: {variable!r} is the input; the new run holds what is recomputed")
    wanted_dims = {"cell", "population", "connection"}
    for n in series + events:
        wanted_dims |= set(ds[n].dims[1:])
    wanted_dims -= segment_dims | {"time"}
    statics = {}
    for n in names:
        dims = ds[n].dims
        if n in series or n in events or not dims or dims[0] in UNLIMITED:
            continue
        if set(dims) <= wanted_dims and not (set(dims) & new_dims - {"population"}):
            statics[n] = _coord_entry(ds[n])
    return series, events, statics


def recompute(
    run,
    recorders: Sequence[LinearRecorder],
    *,
    path: str | os.PathLike | None = None,
    variable: str = "imem",
    keep: Sequence[str] | None = None,
    chunk_samples: int | None = None,
    blas_threads: int | None = 1,
    attrs: Mapping[str, Any] | None = None,
):
    """Apply forward models (LFP, EEG, MEG, dipoles, ...) to the membrane currents of a saved run.

    Parameters
    ----------
    run : xarray.Dataset or str or Path
        A run recorded with :class:`signals.recorders.MembraneCurrents` (open or a path).
    recorders : sequence of Recorder
        Recorders whose outputs are linear in the membrane currents, e.g.
        ``[LFP(new_probe), EEG(FourSphere())]``; set up on the saved geometry as in a live
        session. Spikes, traces and connections cannot be recomputed (they read NEURON).
    path : str or Path, optional
        Run file to write (netCDF4, overwritten); the function then returns its path. Without
        it the result is returned as an in-memory ``xarray.Dataset`` (for small runs).
    variable : str
        Name of the membrane-current variable in ``run`` (nA, dims (time, segment)).
    keep : sequence of str, optional
        Source variables to copy into the new run. Default: every event variable (``spike_time``,
        ``spike_gid``) and the static cell and connection tables; time series are copied only
        when named here (e.g. ``keep=["spike_time", "spike_gid", "v"]``).
    chunk_samples : int, optional
        Samples read and processed at once; default up to 500, fewer when one chunk of currents
        would exceed 64 MiB. Memory is bounded by the chunk, not by the run length.
    blas_threads : int or None
        BLAS threads during the matrix products (1 by default, as in a live session).
    attrs : mapping, optional
        Extra global attributes.

    Returns
    -------
    Path or xarray.Dataset
        The new run file (``path`` given) or the loaded Dataset. The time axis is the source's
        (ms); global attributes are the source's (dt, record_dt, tstop, model, versions) plus
        ``recomputed_from`` and one ``recorder_<name>`` per recorder.

    Raises
    ------
    ValueError
        If the run has no membrane currents or geometry, or a recorder cannot be recomputed.

    Notes
    -----
    The result equals the same recorders recorded live in the original session, because they
    see the same geometry (stored in double precision) and the same currents (with the default
    ``MembraneCurrents(dtype="f8")``); only the BLAS summation order may differ (relative
    differences ~1e-15). Runs recorded under MPI are handled the same way: the file holds every
    rank's segments in rank order.
    """
    import signals
    from signals.store import open_run

    own = not hasattr(run, "variables")
    ds = open_run(run) if own else run
    try:
        recs = resolve_recorders(recorders, linear=True)
        table = segment_table(ds, variable)
        seg_attrs = ds["segment"].attrs
        # "network_center_um": the name in files of signals 0.1
        center = seg_attrs.get("network_center", seg_attrs.get("network_center_um"))
        center = np.asarray(table.cell_position.mean(0) if center is None else center, dtype=float)
        populations = (tuple(str(p) for p in ds["population"].values) if "population" in ds.variables
                       else table.populations)
        ctx = Context(segments=table, populations=populations, network_center=center,
                      n_segments_total=len(table))
        specs = collect_specs(recs)
        coords: dict[str, tuple] = {}
        for rec in recs:
            rec.setup(ctx)
            coords = merge_coords(coords, rec.coords(ctx), owner=rec.name)
            coords = merge_coords(coords, rec.static(ctx), owner=rec.name)
        new_dims = {d for spec in specs.values() for d in spec.dims[1:]}
        new_dims |= {d for dims, _, _ in coords.values() for d in dims}
        series, events, statics = _plan_copies(ds, variable, keep, new_dims)
        clash = sorted(set(specs) & (set(series) | set(events)))
        if clash:
            raise ValueError(f"recomputed variables {clash} have the names of kept ones; pass name=")
        for n in series + events:
            specs[n] = _spec_of(ds[n])
        for dim in {d for n in series + events for d in ds[n].dims[1:]}:
            if dim in ds.variables and dim not in coords:
                statics.setdefault(dim, _coord_entry(ds[dim]))
        for name, entry in statics.items():
            if name not in coords:
                coords[name] = entry

        da = ds[variable]
        if da.dims != ("time", "segment"):
            raise ValueError(f"{variable!r} has dims {da.dims}, expected ('time', 'segment')")
        n_time = int(da.sizes["time"])
        n_seg = len(table)
        chunk_samples = chunk_length(n_seg, chunk_samples)
        source = ds.encoding.get("source", "<in-memory Dataset>")
        global_attrs = {k: v for k, v in ds.attrs.items() if k not in _FRESH_ATTRS}
        global_attrs.update({"recomputed_from": str(source), "recomputed_variable": variable,
                             "recomputed_with_signals": signals.__version__})
        global_attrs.update(recorder_attrs(recs))
        global_attrs.update(dict(attrs or {}))
        computed = {k: v for k, v in specs.items() if k not in series and k not in events}
        blas = BlasLimit(blas_threads)

        def chunks():
            time = ds["time"]
            pending_events = {n: ds[n].values for n in events}
            for k0 in range(0, max(n_time, 1), chunk_samples):
                k1 = min(k0 + chunk_samples, n_time)
                t = np.asarray(time[k0:k1].values, dtype=float)
                imem = np.asarray(da[k0:k1].values, dtype=float)  # (n, n_seg) nA
                outputs = run_recorders(recs, Chunk(imem=imem.T, t=t, start=k0, pointers=[]),
                                        computed, blas)
                for n in series:
                    outputs[n] = ds[n][k0:k1].values
                outputs.update(pending_events)
                pending_events = {}
                yield t, outputs

        def write(target: Path) -> None:
            write_run(target, coords=coords, variables=specs, attrs=global_attrs,
                      chunk_len=chunk_samples, chunks=chunks())

        if path is not None:
            write(Path(path))
            return Path(path)
        with tempfile.TemporaryDirectory(prefix="signals-recompute-") as tmp:
            target = Path(tmp) / "recomputed.nc"
            write(target)
            with open_run(target) as out:
                return out.load()
    finally:
        if own:
            ds.close()
