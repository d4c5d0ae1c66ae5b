"""The Recorder contract: the plugin point of signals.

A recorder turns chunks of membrane currents (or other sampled pointers) into arrays. It never
calls MPI and never writes files: the session reduces partial results across ranks (``sum`` for
anything linear in the currents, ``gather`` for ragged data such as spikes) and the store writes.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from importlib.metadata import entry_points
from typing import Any, Literal, NamedTuple

import numpy as np

from signals.network import SegmentTable

__all__ = ["Recorder", "LinearRecorder", "VariableSpec", "Context", "Chunk", "PointerGroup",
           "available", "cell_gids"]

#: Entry-point group of recorders; the built-ins are declared there too (pyproject.toml).
ENTRY_POINT_GROUP = "signals.recorders"


@dataclass(frozen=True)
class VariableSpec:
    """What a recorder's output variable is.

    Parameters
    ----------
    dims : tuple of str
        Dimension names; the first is ``"time"`` for sampled signals or ``"spike"`` for ragged
        event data, and grows chunk by chunk.
    units : str
        UDUNITS unit string, e.g. ``"mV"``, ``"nA um"``, ``"ms"``.
    long_name : str
        CF long name.
    reduce : {"sum", "gather", "concat"}
        How partial results of MPI ranks combine: ``sum`` (linear in the currents; a rank that
        does not own a row returns zeros there), ``gather`` (events: concatenate along the first
        dim, then sort) or ``concat`` (per-segment data: each rank returns only its own columns,
        joined along the second dim in rank order).
    dtype : str
        netCDF/numpy dtype.
    attrs : dict
        Extra attributes (e.g. conductivity in S/m).
    """

    dims: tuple[str, ...]
    units: str
    long_name: str
    reduce: Literal["sum", "gather", "concat"] = "sum"
    dtype: str = "f8"
    attrs: dict[str, Any] = field(default_factory=dict)


class PointerGroup(NamedTuple):
    """NEURON variables a recorder asked the session to sample (:meth:`Context.add_pointers`)."""

    segments: list
    variable: str
    state: bool


@dataclass
class Context:
    """What a recorder may use in :meth:`Recorder.setup`.

    Attributes
    ----------
    segments : SegmentTable
        This rank's segments (rows = rows of ``chunk.imem``).
    populations : tuple of str
        Population names across all ranks, in a fixed order.
    rank, nhost : int
        MPI rank and number of ranks (0 and 1 when serial).
    network_center : ndarray, shape (3,)
        Mean soma position of all cells on all ranks (µm).
    n_segments_total : int
        Number of segments on all ranks (the size of a per-segment dimension whose rows each
        rank contributes with ``reduce="concat"``).
    dtype : {"f8", "f4"}
        Floating-point type of ``chunk.imem``; linear recorders compute in it.
    """

    segments: SegmentTable
    populations: tuple[str, ...]
    rank: int = 0
    nhost: int = 1
    network_center: np.ndarray = field(default_factory=lambda: np.zeros(3))
    n_segments_total: int = 0
    dtype: str = "f8"
    _groups: list[PointerGroup] = field(default_factory=list, repr=False)

    @property
    def pointer_groups(self) -> tuple[PointerGroup, ...]:
        """The groups requested so far, in request order (= order of ``chunk.pointers``)."""
        return tuple(self._groups)

    def add_pointers(self, segments: list, variable: str, *, state: bool = False) -> int:
        """Ask the session to sample ``variable`` (e.g. ``"v"``) of these segments every sample.

        The session takes the references (``seg._ref_v``) after ``h.finitialize``, when they
        are valid. Returns the index of this group in ``chunk.pointers``.

        Parameters
        ----------
        segments : list
            NEURON segments (or objects with a ``_ref_<variable>`` attribute).
        variable : str
            Name of the variable.
        state : bool
            True for variables NEURON updates in the state phase of a step, after the
            membrane potential and currents: channel gates (``m_hh``), ion concentrations
            (``cai``, rxd species). The session reads those one callback later so that every
            sample is the value at its stated time. ``v`` and currents/conductances are read
            with the membrane currents (``state=False``).
        """
        segments = list(segments)
        for seg in segments[:1]:
            if not hasattr(seg, "_ref_" + variable):
                raise ValueError(f"segment {seg} has no variable {variable!r}")
        self._groups.append(PointerGroup(segments, variable, bool(state)))
        return len(self._groups) - 1


@dataclass
class Chunk:
    """A block of consecutive samples.

    Attributes
    ----------
    imem : ndarray, shape (n_seg, n)
        Membrane currents of this rank's segments (nA); a view valid only during ``on_chunk``.
    t : ndarray, shape (n,)
        Sample times (ms).
    start : int
        Index of the first sample in the run.
    pointers : list of ndarray, shape (n_ptr, n)
        Samples of the groups requested with :meth:`Context.add_pointers`.
    """

    imem: np.ndarray
    t: np.ndarray
    start: int
    pointers: list[np.ndarray] = field(default_factory=list)


class Recorder:
    """Base class of recorders.

    Subclasses implement :meth:`variables`, :meth:`setup` and :meth:`on_chunk`; :meth:`coords`
    (static coordinates shared by all ranks, e.g. electrode positions) and :meth:`static`
    (per-rank static data, e.g. connections) are optional. ``__init__`` stores each parameter
    under its own name (what :meth:`get_params` reads, as in scikit-learn) and checks it;
    NEURON is touched in ``setup``, and state built there ends in ``_``. ``name`` is the name of
    the recorder's main variable in the run file (and the prefix of its others).
    """

    name: str = "recorder"
    #: Whether :meth:`on_chunk` reads only the chunk and the recorder's own arrays (never
    #: NEURON): the session may then run it on a worker thread while NEURON integrates the
    #: next chunk (``Session(pipeline=...)``). A recorder that reads NEURON's vectors or
    #: states in ``on_chunk`` (spikes, rxd snapshots) leaves it False and runs on the main
    #: thread when its chunk is handed over.
    thread_safe: bool = False

    def variables(self) -> dict[str, VariableSpec]:
        """Output variables: name → :class:`VariableSpec`."""
        raise NotImplementedError

    def coords(self, ctx: Context) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict]]:
        """Static coordinates: name → (dims, values, attrs). Same on every rank."""
        return {}

    def static(self, ctx: Context) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict]]:
        """Per-rank static data written once: name → (dims, values, attrs).

        Unlike :meth:`coords`, values differ between ranks and are concatenated along their
        first dim (e.g. each rank's connections). Called after :meth:`setup`.
        """
        return {}

    def setup(self, ctx: Context) -> None:
        """Prepare for a run (precompute transfer matrices, request pointers)."""

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        """Partial outputs for this chunk: name → array with the declared dims."""
        raise NotImplementedError

    @classmethod
    def _param_names(cls) -> list[inspect.Parameter]:
        params = inspect.signature(cls.__init__).parameters.values()
        return [p for p in list(params)[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters by name, as stored: ``type(r)(**r.get_params())``
        builds an equal recorder (scikit-learn's convention)."""
        out = {}
        for p in self._param_names():
            if not hasattr(self, p.name):
                raise AttributeError(f"{type(self).__name__} does not store its parameter "
                                     f"{p.name!r} under that name (needed by get_params)")
            out[p.name] = getattr(self, p.name)
        return out

    def describe(self) -> str:
        """JSON of the class and its parameters: the provenance a run file stores."""
        cls = type(self)
        return json.dumps({"class": f"{cls.__module__}.{cls.__qualname__}",
                           "params": _jsonable(self.get_params())}, sort_keys=True)

    def __repr__(self) -> str:
        # only parameters that differ from their defaults, as scikit-learn prints estimators
        defaults = {p.name: p.default for p in self._param_names()}
        shown = [f"{k}={v!r}" for k, v in self.get_params().items()
                 if defaults[k] is inspect.Parameter.empty or not _same(v, defaults[k])]
        return f"{type(self).__name__}({', '.join(shown)})"


class LinearRecorder(Recorder):
    """A recorder whose outputs are linear maps of the membrane currents: ``y = A @ I``.

    Subclasses give the map as factors (:meth:`transfer`), the channel dims and coords, and the
    units; this class computes every chunk, the per-population split (``per_population``: each
    population's contribution, summing to the total) and the per-cell split (``cells``), and is
    what :func:`signals.recompute` applies to saved membrane currents.

    Attributes a subclass sets in ``__init__``: ``name``, ``per_population`` (bool) and
    ``cells`` (sorted int64 gids or None).
    """

    #: Units and CF long name of the outputs.
    units: str = "1"
    long_name: str = "linear map of the membrane currents"
    thread_safe = True  # products of the chunk's currents only
    per_population: bool = False
    cells: np.ndarray | None = None

    def channel_dims(self) -> tuple[str, ...]:
        """Dims of one sample, e.g. ``("electrode",)``; their sizes (from
        :meth:`channel_coords`) multiply to the number of rows of the map."""
        raise NotImplementedError

    def transfer(self, ctx: Context) -> tuple[np.ndarray, ...]:
        """Factors ``(F_1, ..., F_k)`` of the map ``A = F_1 @ ... @ F_k``; ``F_k`` has one
        column per local segment. Factored maps (dipole, then head) cost less per chunk.
        A factor is an array or an object with ``astype(dtype)``, column selection
        ``F[:, rows]`` and ``F @ X`` (scipy.sparse, :class:`signals.recorders.lfp.BlockLowRank`)."""
        raise NotImplementedError

    def attrs(self) -> dict[str, Any]:
        """Attributes of every output variable (e.g. the conductivity and its units)."""
        return {}

    def variables(self) -> dict[str, VariableSpec]:
        dims = self.channel_dims()
        attrs = self.attrs()
        out = {self.name: VariableSpec(("time", *dims), self.units, self.long_name, attrs=attrs)}
        if self.per_population:
            out[f"{self.name}_population"] = VariableSpec(
                ("time", "population", *dims), self.units, f"{self.long_name} per population",
                attrs=attrs)
        if self.cells is not None:
            out[f"{self.name}_per_cell"] = VariableSpec(
                ("time", f"{self.name}_cell", *dims), self.units, f"{self.long_name} per cell",
                attrs=attrs)
        return out

    def coords(self, ctx: Context) -> dict:
        from signals import schema

        out = dict(self.channel_coords(ctx))
        if self.per_population:
            out.update(schema.population_coord(ctx.populations))
        if self.cells is not None:
            out.update(schema.gid_coord(f"{self.name}_cell", self.cells))
        return out

    def channel_coords(self, ctx: Context) -> dict:
        """Coordinates of the channel dims: name → (dims, values, attrs)."""
        return {}

    def setup(self, ctx: Context) -> None:
        seg = ctx.segments
        # the map in the chunk's precision: single-precision products cost half; a factor
        # that is not an array (scipy.sparse, a compressed map) casts itself
        self.factors_ = tuple(np.asarray(f, dtype=ctx.dtype) if not hasattr(f, "astype")
                              or isinstance(f, np.ndarray) else f.astype(ctx.dtype)
                              for f in self.transfer(ctx))
        coords = self.channel_coords(ctx)
        self.shape_ = tuple(len(coords[d][1]) for d in self.channel_dims())
        self.pop_rows_ = seg.population_rows(ctx.populations) if self.per_population else []
        self.cell_rows_ = []
        if self.cells is not None:
            local = dict(zip(seg.cell_gid.tolist(), seg.cell_slices(), strict=True))
            if ctx.nhost == 1 and not set(self.cells.tolist()) <= set(local):
                missing = sorted(set(self.cells.tolist()) - set(local))[:5]
                raise ValueError(f"{self.name}: cells not in the network: {missing}")
            self.cell_rows_ = [(k, local[g]) for k, g in enumerate(self.cells.tolist())
                               if g in local]

    def _apply(self, imem: np.ndarray, rows=slice(None)) -> np.ndarray:
        """(n, *channel sizes) for the segments ``rows``: the leftmost factors act on the
        product of the last one with the currents."""
        *outer, last = self.factors_
        y = last[:, rows] @ imem[rows]
        for f in reversed(outer):
            y = f @ y
        return y.T.reshape(imem.shape[1], *self.shape_)

    def on_chunk(self, chunk: Chunk) -> dict[str, np.ndarray]:
        n, shape = chunk.t.size, self.shape_
        if self.per_population:
            # every segment belongs to one population: their sum is the total, in one pass
            per_pop = np.empty((n, len(self.pop_rows_), *shape))
            for k, rows in enumerate(self.pop_rows_):
                per_pop[:, k] = self._apply(chunk.imem, rows)
            out = {self.name: per_pop.sum(axis=1), f"{self.name}_population": per_pop}
        else:
            out = {self.name: self._apply(chunk.imem)}
        if self.cells is not None:
            # zeros where another rank owns the cell: the sum over ranks is the cell's output
            per_cell = np.zeros((n, self.cells.size, *shape))
            for k, rows in self.cell_rows_:
                per_cell[:, k] = self._apply(chunk.imem, rows)
            out[f"{self.name}_per_cell"] = per_cell
        return out


def available() -> dict[str, type[Recorder]]:
    """Recorder classes by name: the built-ins, then those of installed plugins.

    All come from the entry-point group ``signals.recorders`` (built-ins are declared there by
    signals itself). A plugin that fails to load, or reuses a built-in's name, is skipped with
    a warning.
    """
    found: dict[str, type[Recorder]] = {}
    builtin, plugins = [], []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        (builtin if ep.value.startswith("signals.recorders.") else plugins).append(ep)
    for ep in builtin:
        found[ep.name] = ep.load()
    for ep in plugins:
        if ep.name in found:
            warnings.warn(f"recorder plugin {ep.value!r} reuses the name {ep.name!r}; the first "
                          "is used", stacklevel=2)
            continue
        try:
            cls = ep.load()
        except Exception as err:  # a broken plugin must not break signals
            warnings.warn(f"recorder plugin {ep.name!r} ({ep.value}) failed to load: {err}",
                          stacklevel=2)
            continue
        found[ep.name] = cls
    return found


def cell_gids(cells, what: str = "cells") -> np.ndarray | None:
    """``cells`` (an iterable of gids, or None) as sorted unique int64 gids; empty is refused."""
    from signals.validation import check_iterable, ensure_int

    if cells is None:
        return None
    out = np.array(sorted({ensure_int(g, f"{what} (gids)") for g in check_iterable(cells, what)}),
                   dtype=np.int64)
    if out.size == 0:
        raise ValueError(f"{what} is empty; pass None to store no per-cell outputs")
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except Exception:
        return a is b


def _jsonable(value: Any) -> Any:
    """Parameters as JSON values: arrays as lists, dataclasses as ``{"type", fields}``."""
    if isinstance(value, Recorder):
        return json.loads(value.describe())
    if is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__,
                **{f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}}
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
