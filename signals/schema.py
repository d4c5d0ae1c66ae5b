"""The run file's conventions in one place: dims, coordinate builders, name and units rules.

Every writer of run files (the session, offline recomputation, the recorders, the importers of
:mod:`signals.io`) builds its labels with these functions, so a run file looks the same
whichever path made it:

- positions: a contact dim (``electrode``, ``<name>_sensor``) with ``<dim>_x``, ``<dim>_y``,
  ``<dim>_z`` in µm (``um``), never bare ``x``/``y``/``z``;
- the cell table: ``cell`` (gid), ``cell_population``, ``cell_x/y/z`` (µm) and the
  ``population`` coordinate;
- ``component`` (``x``, ``y``, ``z``) of vector quantities (dipole moments, MEG);
- spikes as ragged events ``spike_time(spike)`` (ms) and ``spike_gid(spike)``;
- the connection table ``connection_*`` along ``connection``.

A coordinate is a ``(dims, values, attrs)`` tuple, as :class:`signals.store.RunWriter` takes
them. Attributes follow one rule (:func:`with_units`): an attribute ``X`` never carries its
units in its name; its units are in the attribute ``X_units`` (``sigma`` and ``sigma_units``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from signals.recorder import VariableSpec
from signals.validation import as_gids, as_times

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "TIME", "SPIKE", "ELECTRODE", "CELL", "POPULATION",
    "COMPONENT", "CONNECTION", "COMPONENTS", "UNLIMITED", "STATIC_DIMS", "KNOWN_DIMS",
    "NUMERIC_ATTRS", "ATTR_UNITS", "RUN_STATUSES", "MISSING_ATTR",
    "position_coords", "electrode_coords", "contact_attrs", "sensor_coords", "positions",
    "population_coord",
    "cell_coords", "gid_coord", "component_coord", "spike_variables", "spike_events",
    "connection_table", "with_units", "units_in_name", "check_attr_names", "read_attr",
]

#: A coordinate as the run writer takes it: (dims, values, attrs).
Coord = tuple[tuple[str, ...], np.ndarray, dict[str, Any]]

#: Value of the global attribute ``signals_format`` that marks a run file.
FORMAT_NAME = "signals-run"
#: Version of the run-file layout (global attribute ``signals_format_version``).
FORMAT_VERSION = 1

TIME = "time"
SPIKE = "spike"
ELECTRODE = "electrode"
CELL = "cell"
POPULATION = "population"
COMPONENT = "component"
CONNECTION = "connection"
#: Labels of the ``component`` dim, in order.
COMPONENTS = ("x", "y", "z")

#: Dims that grow while a run is written: sampled series along ``time``, events along ``spike``.
UNLIMITED = (TIME, SPIKE)
#: Dims of the static tables a run carries (cells, populations, connections).
STATIC_DIMS = (CELL, POPULATION, CONNECTION)

#: Dims of the variables signals itself writes (a prefix for the per-population variants).
KNOWN_DIMS = {
    "time": ("time",), "lfp": ("time", "electrode"), "lfp_population": ("time", "population"),
    "dipole": ("time", "component"), "dipole_population": ("time", "population", "component"),
    "spike_time": ("spike",), "spike_gid": ("spike",),
    "electrode_x": ("electrode",), "electrode_y": ("electrode",), "electrode_z": ("electrode",),
    "cell_x": ("cell",), "cell_y": ("cell",), "cell_z": ("cell",),
}
#: Global attributes that must be finite numbers when present.
NUMERIC_ATTRS = ("dt", "record_dt", "t_start", "tstop", "tstop_requested", "v_init", "n_samples",
                 "mpi_ranks", "signals_format_version")
#: Units of the numeric global attributes the session writes (stored as ``<name>_units``, the
#: suffix style of ``sigma_units``): netCDF global attributes cannot carry CF ``units`` themselves.
ATTR_UNITS = {"dt": "ms", "record_dt": "ms", "t_start": "ms", "tstop": "ms",
              "tstop_requested": "ms", "v_init": "mV", "v_init_min": "mV", "v_init_max": "mV",
              "n_samples": "1", "mpi_ranks": "1"}
#: Values of the global attribute ``run_status``.
RUN_STATUSES = ("creating", "running", "complete", "incomplete")
#: Attribute of a coordinate that may hold NaN, saying what NaN means there (e.g. a position an
#: imported file does not give); any other non-finite coordinate value marks a damaged file.
MISSING_ATTR = "missing"
_UNKNOWN_POSITION = "NaN: position not known"

_UM = "um"


# -- positions -----------------------------------------------------------------------------------


def position_coords(dim: str, names: Sequence[str], positions: Any, *, what: str = "electrode",
                    long_name: str | None = None, frame: str | None = None,
                    comment: str | None = None) -> dict[str, Coord]:
    """A contact dim and its positions ``<dim>_x``, ``<dim>_y``, ``<dim>_z`` (µm).

    Parameters
    ----------
    dim : str
        The contact dim, e.g. ``"electrode"`` or ``"eeg_sensor"``.
    names : sequence of str
        One label per contact.
    positions : array-like, shape (n, 3)
        Contact positions (µm); NaN where a position is not known (imported files), which the
        positions' ``missing`` attribute then says.
    what : str
        What a contact is, for the long names (``"electrode"``, ``"sensor"``).
    long_name : str, optional
        Long name of the dim; default ``"<what> contact"``.
    frame : str, optional
        Coordinate frame, appended to the positions' long names (e.g. ``"head frame"``).
    comment : str, optional
        ``comment`` attribute of the positions (where they came from).

    Returns
    -------
    dict
        ``{dim: ((dim,), names, attrs), "<dim>_x": ((dim,), x, attrs), ...}``; positions in
        ``um``.
    """
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    if len(names) != len(pos):
        raise ValueError(f"{dim}: {len(names)} names for {len(pos)} positions")
    out: dict[str, Coord] = {dim: ((dim,), np.array(list(names), dtype=object),
                                   {"long_name": long_name or f"{what} contact"})}
    for k, axis in enumerate(COMPONENTS):
        attrs: dict[str, Any] = {"units": _UM, "long_name": f"{what} {axis} position"
                                 + (f" ({frame})" if frame else "")}
        if comment:
            attrs["comment"] = comment
        if np.isnan(pos[:, k]).any():
            attrs[MISSING_ATTR] = _UNKNOWN_POSITION
        out[f"{dim}_{axis}"] = ((dim,), pos[:, k], attrs)
    return out


def electrode_coords(positions: Any, names: Sequence[str] | None = None, *,
                     dim: str = ELECTRODE, comment: str | None = None, normal: Any = None,
                     edge: Any = None) -> dict[str, Coord]:
    """``electrode`` and ``electrode_x/y/z`` (µm), as the LFP recorder writes them, and the
    orientation of the contact surfaces when the potential is averaged over them.

    The shape and size of the contacts belong to each recorded variable (two recorders may
    average over different surfaces at the same contacts): :func:`contact_attrs`.

    Parameters
    ----------
    positions : array-like, shape (n, 3)
        Contact positions (µm), NaN where unknown.
    names : sequence of str, optional
        Contact names; default ``e00``, ``e01``, ... (as :func:`signals.electrodes.points`).
    dim : str
        The dim, ``"electrode"`` unless a recorder records another set of contacts.
    comment : str, optional
        ``comment`` attribute of the positions.
    normal : array-like, shape (n, 3), optional
        Unit normal of each contact surface: ``<dim>_normal_x/y/z`` (``1``).
    edge : array-like, shape (n, 3), optional
        Square contacts: the direction of one pair of sides, ``<dim>_edge_x/y/z`` (``1``).

    Returns
    -------
    dict
        Coordinates for the run writer (see :func:`position_coords`), all along ``dim``.
    """
    n = len(np.asarray(positions, dtype=float).reshape(-1, 3))
    if names is None:
        width = max(2, len(str(n - 1)))
        names = [f"e{i:0{width}d}" for i in range(n)]
    out = position_coords(dim, names, positions, what="electrode", comment=comment)
    for what, vectors in (("normal", normal), ("edge", edge)):
        if vectors is None:
            continue
        v = np.broadcast_to(np.asarray(vectors, dtype=float), (n, 3))
        for k, axis in enumerate(COMPONENTS):
            out[f"{dim}_{what}_{axis}"] = ((dim,), np.array(v[:, k]), {
                "units": "1", "long_name": f"{axis} component of the contact {what}"
                + (" (along one pair of the square's sides)" if what == "edge" else "")})
    return out


def contact_attrs(shape: str, radius: float, n_points: int) -> dict[str, Any]:
    """Attributes of a variable averaged over contact surfaces: ``contact_shape``,
    ``contact_radius`` (µm; half the side of a square) and ``contact_points``.

    Parameters
    ----------
    shape : {"circle", "square"}
        Contact surface.
    radius : float
        Disc radius, or half the side of a square (µm).
    n_points : int
        Random points averaged per contact.

    Returns
    -------
    dict
        Four attributes (with ``contact_radius_units = "um"``).
    """
    return {"contact_shape": str(shape), **with_units("contact_radius", float(radius), _UM),
            "contact_points": int(n_points)}


def sensor_coords(dim: str, names: Sequence[str], positions: Any, frame: str) -> dict[str, Coord]:
    """EEG/MEG sensors: ``dim`` (e.g. ``"eeg_sensor"``) and ``<dim>_x/y/z`` (µm) in ``frame``.

    Parameters
    ----------
    dim : str
        The sensor dim, ``<name>_sensor``.
    names : sequence of str
        Sensor names.
    positions : array-like, shape (n, 3)
        Sensor positions (µm).
    frame : str
        Coordinate frame of the positions, e.g. ``"head frame"``.

    Returns
    -------
    dict
        Coordinates for the run writer (see :func:`position_coords`).
    """
    return position_coords(dim, names, positions, what="sensor", long_name="sensor", frame=frame)


def positions(ds, dim: str = ELECTRODE) -> np.ndarray | None:
    """The positions (n, 3) in µm of a run's contact dim, or None if it has none.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.
    dim : str
        The contact dim (``"electrode"``, ``"eeg_sensor"``, ...).

    Returns
    -------
    ndarray, shape (n, 3), or None
        ``<dim>_x``, ``<dim>_y``, ``<dim>_z`` (µm) stacked as columns.
    """
    names = [f"{dim}_{axis}" for axis in COMPONENTS]
    if not all(n in ds.variables for n in names):
        return None
    return np.column_stack([np.asarray(ds[n].values, dtype=float) for n in names])


# -- cells and populations -----------------------------------------------------------------------


def population_coord(populations: Iterable[str]) -> dict[str, Coord]:
    """The ``population`` coordinate: population names, in the network's order.

    Parameters
    ----------
    populations : iterable of str
        Population names.

    Returns
    -------
    dict
        ``{"population": (("population",), names, {"long_name": "cell population"})}``.
    """
    return {POPULATION: ((POPULATION,), np.array([str(p) for p in populations], dtype=object),
                         {"long_name": "cell population"})}


def cell_coords(gid: Any, population: Sequence[str], position: Any, populations: Iterable[str], *,
                comment: str | None = None) -> dict[str, Coord]:
    """The cell table: ``cell`` (gid), ``cell_population``, ``cell_x/y/z`` (µm), sorted by gid.

    Parameters
    ----------
    gid : array-like of int
        One gid per cell, unique.
    population : sequence of str
        The population of each cell.
    position : array-like, shape (n, 3)
        Each cell's soma position (µm); NaN where unknown (imported files).
    populations : iterable of str
        Every population of the network (the ``population`` coordinate), in order.
    comment : str, optional
        ``comment`` attribute of the positions (how they were obtained).

    Returns
    -------
    dict
        ``population`` and the cell table, rows sorted by gid.

    Raises
    ------
    ValueError
        If gids are not integers or repeat, or the lengths differ.
    """
    gid = as_gids(gid, "cell gids")
    if np.unique(gid).size != gid.size:
        raise ValueError("cell gids repeat: " + str(np.unique(gid[np.flatnonzero(
            np.diff(np.sort(gid)) == 0)]).tolist()[:5]))
    pos = np.asarray(position, dtype=float).reshape(-1, 3)
    pop = np.asarray(list(population), dtype=object)
    if not len(pop) == len(pos) == gid.size:
        raise ValueError(f"cell table: {gid.size} gids, {len(pop)} populations, {len(pos)} positions")
    order = np.argsort(gid, kind="stable")
    pos = pos[order]
    um: dict[str, Any] = {"units": _UM}
    if comment:
        um["comment"] = comment
    out = {
        **population_coord(populations),
        CELL: ((CELL,), gid[order], {"units": "1", "long_name": "cell gid"}),
        "cell_population": ((CELL,), pop[order], {"long_name": "population of the cell"}),
    }
    for k, axis in enumerate(COMPONENTS):
        attrs = {**um, "long_name": f"soma {axis} position"}
        if np.isnan(pos[:, k]).any():
            attrs[MISSING_ATTR] = _UNKNOWN_POSITION
        out[f"cell_{axis}"] = ((CELL,), pos[:, k], attrs)
    return out


def gid_coord(dim: str, gids: Any) -> dict[str, Coord]:
    """A dim of chosen cells labelled by gid (e.g. ``v_cell``, ``dipole_cell``).

    Parameters
    ----------
    dim : str
        The dim, ``<variable>_cell``.
    gids : array-like of int
        The cells' gids, in the order of the variable's columns.

    Returns
    -------
    dict
        ``{dim: ((dim,), gids as int64, {"units": "1", "long_name": "cell gid"})}``.
    """
    return {dim: ((dim,), np.asarray(gids, dtype=np.int64), {"units": "1", "long_name": "cell gid"})}


def component_coord() -> dict[str, Coord]:
    """The ``component`` coordinate (``x``, ``y``, ``z``) of vector quantities.

    Returns
    -------
    dict
        ``{"component": (("component",), ["x", "y", "z"], {"long_name": "Cartesian component"})}``.
    """
    return {COMPONENT: ((COMPONENT,), np.array(COMPONENTS, dtype=object),
                        {"long_name": "Cartesian component"})}


# -- spikes and connections ----------------------------------------------------------------------


def spike_variables(comment: str | None = None) -> dict[str, VariableSpec]:
    """The specs of ``spike_time`` (ms) and ``spike_gid`` along the growing ``spike`` dim.

    Parameters
    ----------
    comment : str, optional
        ``comment`` attribute of ``spike_time`` (where the spikes came from).

    Returns
    -------
    dict of str to VariableSpec
        Both gathered (not summed) across MPI ranks; gids as int64.
    """
    attrs = {"comment": comment} if comment else {}
    return {
        "spike_time": VariableSpec((SPIKE,), "ms", "spike time", reduce="gather", attrs=attrs),
        "spike_gid": VariableSpec((SPIKE,), "1", "gid of the spiking cell", reduce="gather",
                                  dtype="i8"),
    }


def spike_events(times: Any, gids: Any, *, where: str = "spikes",
                 comment: str | None = None) -> dict[str, tuple[VariableSpec, np.ndarray]]:
    """``spike_time`` (ms) and ``spike_gid`` sorted by time then gid, as live runs store them.

    Parameters
    ----------
    times : array-like of float
        Spike times (ms), finite and >= 0.
    gids : array-like of int
        The gid of each spike.
    where : str
        Names the file and fields in error messages.
    comment : str, optional
        ``comment`` attribute of ``spike_time``.

    Returns
    -------
    dict
        ``{"spike_time": (spec, times), "spike_gid": (spec, gids)}``, sorted.

    Raises
    ------
    ValueError
        Non-finite or negative times, non-integer gids, or different lengths.
    """
    times = as_times(times, f"{where} (spike times)")
    gids = as_gids(gids, f"{where} (spike gids)")
    if times.size != gids.size:
        raise ValueError(f"{where}: {times.size} spike times but {gids.size} spike gids")
    order = np.lexsort([gids, times])
    specs = spike_variables(comment)
    return {"spike_time": (specs["spike_time"], times[order]),
            "spike_gid": (specs["spike_gid"], gids[order])}


def connection_table(rows: Sequence[tuple], comments: Mapping[str, str] | None = None) -> dict[str, Coord]:
    """The ``connection_*`` variables of a run along the ``connection`` dim.

    Parameters
    ----------
    rows : sequence of tuple
        One ``(pre, post, weight, delay, synapse, section)`` per connection: presynaptic gid
        (-1 for a source outside the network), postsynaptic gid, ``NetCon.weight[0]`` (µS for
        conductance synapses; the target mechanism defines it), delay (ms), mechanism name and
        target section name.
    comments : mapping of str to str, optional
        A ``comment`` attribute for named variables (e.g. where the values came from when
        imported from another tool).

    Returns
    -------
    dict
        ``connection_pre``, ``connection_post``, ``connection_weight`` (uS),
        ``connection_delay`` (ms), ``connection_synapse``, ``connection_section``.
    """
    col = list(zip(*rows, strict=True)) if rows else [[]] * 6
    dims = (CONNECTION,)
    out: dict[str, Coord] = {
        "connection_pre": (dims, np.asarray(col[0], dtype=np.int64),
                           {"units": "1", "long_name": "presynaptic gid (-1: outside the network)"}),
        "connection_post": (dims, np.asarray(col[1], dtype=np.int64),
                            {"units": "1", "long_name": "postsynaptic gid"}),
        "connection_weight": (dims, np.asarray(col[2], dtype=float),
                              {"units": "uS", "long_name": "NetCon weight[0]",
                               "comment": "units as the target mechanism defines them"}),
        "connection_delay": (dims, np.asarray(col[3], dtype=float),
                             {"units": "ms", "long_name": "NetCon delay"}),
        "connection_synapse": (dims, np.asarray(col[4], dtype=object),
                               {"long_name": "synapse mechanism"}),
        "connection_section": (dims, np.asarray(col[5], dtype=object),
                               {"long_name": "target section"}),
    }
    for name, comment in (comments or {}).items():
        out[name][2]["comment"] = comment
    return out


# -- attributes and their units ------------------------------------------------------------------

#: Unit spellings that once ended attribute names (``head_radii_um``): the rule forbids them.
_UNIT_SUFFIXES = ("um", "mm", "ms", "s", "mV", "uV", "V", "nA", "mA", "uS", "mM", "S_per_m",
                  "nA_um", "fT", "Hz")
_UNIT_SUFFIX = re.compile(r"_(" + "|".join(map(re.escape, sorted(_UNIT_SUFFIXES, key=len,
                                                                    reverse=True))) + r")$")


def with_units(name: str, value: Any, units: str) -> dict[str, Any]:
    """An attribute and its units: ``{name: value, "<name>_units": units}``.

    Parameters
    ----------
    name : str
        Attribute name, without units (``"head_radii"``, not ``"head_radii_um"``).
    value : object
        Its value, in ``units``.
    units : str
        UDUNITS string, e.g. ``"um"``, ``"S/m"``.

    Returns
    -------
    dict
        Two attributes.

    Raises
    ------
    ValueError
        If ``name`` carries units (see :func:`units_in_name`).
    """
    check_attr_names([name])
    return {name: value, f"{name}_units": str(units)}


def units_in_name(name: str) -> str | None:
    """The unit suffix an attribute name carries (``"um"`` for ``"depth_um"``), else None.

    Parameters
    ----------
    name : str
        An attribute name; ``<name>_units`` attributes themselves are fine.

    Returns
    -------
    str or None
        The suffix (``"um"``, ``"ms"``, ``"S_per_m"``, ...).
    """
    if name.endswith("_units"):
        return None
    match = _UNIT_SUFFIX.search(name)
    return match.group(1) if match else None


def check_attr_names(names: Iterable[str]) -> None:
    """Raise if any attribute name carries its units: they belong in ``<name>_units``.

    Parameters
    ----------
    names : iterable of str
        Attribute names (e.g. the keys of a recorder's attrs).

    Raises
    ------
    ValueError
        Naming the attributes and the names to use instead.
    """
    bad = {n: units_in_name(n) for n in names if units_in_name(n)}
    if bad:
        fix = ", ".join(f"{n!r} -> {n[:-len(u) - 1]!r} with {n[:-len(u) - 1] + '_units'!r} = {u!r}"
                        for n, u in bad.items())
        raise ValueError(f"attribute names must not carry units: {fix}")


def read_attr(attrs: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Attribute ``name``, or from files written before the units rule its older spelling
    with a unit suffix (``head_radii_um`` for ``head_radii``).

    Parameters
    ----------
    attrs : mapping
        A variable's or the run's attributes.
    name : str
        The attribute's name under the rule (units in ``<name>_units``).
    default : object
        Returned when neither spelling is there.

    Returns
    -------
    object
        The value, in the units of ``<name>_units`` (or those the old suffix named).
    """
    if name in attrs:
        return attrs[name]
    for suffix in _UNIT_SUFFIXES:
        old = f"{name}_{suffix}"
        if old in attrs:
            return attrs[old]
    return default
