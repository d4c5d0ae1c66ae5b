"""The Recorder contract: the plugin point of signals.

A recorder turns chunks of membrane currents (or other sampled pointers) into arrays. It never
calls MPI and never writes files: the session reduces partial results across ranks (``sum`` for
anything linear in the currents, ``gather`` for ragged data such as spikes) and the store writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from signals.network import SegmentTable

__all__ = ["Recorder", "VariableSpec", "Context", "Chunk"]


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
    """

    segments: SegmentTable
    populations: tuple[str, ...]
    rank: int = 0
    nhost: int = 1
    network_center: np.ndarray = field(default_factory=lambda: np.zeros(3))
    n_segments_total: int = 0
    _pointer_groups: list[tuple[list, str, bool]] = field(default_factory=list, repr=False)

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
        self._pointer_groups.append((segments, variable, bool(state)))
        return len(self._pointer_groups) - 1


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

    Subclasses set ``name`` and implement :meth:`variables`, :meth:`setup` and
    :meth:`on_chunk`; :meth:`coords` (static coordinates shared by all ranks, e.g. electrode
    positions) and :meth:`static` (per-rank static data, e.g. connections) are optional.
    ``__init__`` stores and checks parameters only; NEURON is touched in ``setup``, and state
    built there ends in ``_``.
    """

    name: str = "recorder"
    description: str = ""
    #: True for recorders that read NEURON objects (spike detectors, pointers, NetCons) rather
    #: than only the membrane currents; those cannot be recomputed from a saved run.
    needs_neuron: bool = False

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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
