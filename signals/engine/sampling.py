"""The sample buffers of a session: what NEURON's pointers hold, one row per sample.

Every local ``i_membrane_`` is read once per sample into a row of a chunk buffer: on NEURON 9 by
one copy of the node storage column that holds them (:class:`NodeColumn`, a row in storage
order), elsewhere by one ``PtrVector`` gather (a row in segment order). One ``PtrVector`` per
pointer group a recorder requested (:meth:`signals.Context.add_pointers`) is gathered into its
own buffer; groups of state-phase variables (gates, concentrations) are read one callback later,
when NEURON has updated them to the sample's time.

The buffers come in two sets: while the recorders work on the chunk of one set (possibly on a
worker thread, :mod:`signals.engine.session`), NEURON's samples go into the other.
:meth:`Sampler.hand_over` swaps them; :meth:`Sampler.assemble` puts a handed-over chunk's
currents in segment order and the buffer's precision — work done once per chunk, off the
per-step path.

With a sampling interval of ``k > 1`` steps, ``mean`` sampling gives each sample of the
membrane currents the mean over the interval centred on it (a box filter before sampling, so
that spike energy above the new Nyquist frequency does not alias into the LFP band; see
``benchmarks/aliasing.py``). The box spans ``k`` steps: for odd ``k`` the ``k`` steps nearest the
sample, for even ``k`` the ``k - 1`` nearest plus half of each next one (trapezoidal ends), so
the time axis stays ``t0 + j k dt``. A row's currents are final ``k // 2`` steps after its
time. The first sample (t0) is the initial state itself; the last averages only the steps
the run reached (the half interval before it). Pointer groups are always read at the
sample's own step.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from signals.recorder import PointerGroup

__all__ = ["Sampler", "NodeColumn", "Batch"]

#: How NEURON 9 prints a data handle into its node storage (the row of the segment's node).
_ROW = re.compile(r"Node::field::FastIMemSavRHS row=(\d+)/\d+")


class NodeColumn:
    """All local ``i_membrane_`` read with one copy of NEURON 9's node storage.

    NEURON 9 keeps every node's ``i_membrane_`` in one column of its structure-of-arrays node
    storage; ``Vector.from_double`` copies a contiguous range of it (a *raw* row, in storage
    order), and a fixed permutation (:attr:`index`) puts it in the segments' order. Measured
    (``benchmarks/gather_cost.py``): 2-4 ns per segment against 20-47 ns for ``PtrVector.gather``
    of the same pointers. The rows are read from the handles once, and the mapping is proven,
    not assumed: distinct values are written through the pointers and must come back in order
    (then the originals are restored). :meth:`check` compares a read with the gather again
    (every chunk).

    Raises
    ------
    ValueError
        Where the layout is not that (NEURON 8, an unknown print format, or a mapping the
        proof rejects); the session then keeps the gather.
    """

    def __init__(self, segments: list, ptr) -> None:
        from neuron import h

        rows = self._rows(segments)
        n = len(segments)
        lo = int(rows.min())
        self._first = segments[int(np.argmin(rows))]._ref_i_membrane_
        #: Values in one raw row (the storage range from the first to the last segment's node).
        self.width = int(rows.max()) - lo + 1
        self._column = h.Vector(self.width)
        self._view = self._column.as_numpy()
        #: Position of each segment's value in a raw row.
        self.index = rows - lo
        self._ptr = ptr
        self._vec = h.Vector(n)
        self._vec_view = self._vec.as_numpy()
        saved = h.Vector(n)
        ptr.gather(saved)
        try:
            ptr.scatter(h.Vector(np.arange(n, dtype=float) + 0.5))
            ok = np.array_equal(self.read(np.empty(n)), np.arange(n) + 0.5)
        finally:
            ptr.scatter(saved)
        if not ok:
            raise ValueError("node storage rows do not match the segments' pointers")

    @staticmethod
    def _rows(segments: list) -> np.ndarray:
        """The storage row of each segment: one printed handle per section, its segments
        following it (NEURON numbers a section's nodes consecutively; the proof checks it)."""
        rows = np.empty(len(segments), dtype=np.int64)
        sec, base, k = None, 0, 0
        for i, seg in enumerate(segments):
            if seg.sec != sec:
                match = _ROW.search(repr(seg._ref_i_membrane_))
                if match is None:
                    raise ValueError("not NEURON 9's node storage")
                sec, base, k = seg.sec, int(match.group(1)), 0
            rows[i] = base + k
            k += 1
        return rows

    def copy_into(self, vec) -> None:
        """Copy the raw row (storage order, nA) into the NEURON Vector ``vec``."""
        vec.from_double(self.width, self._first)

    def read(self, out: np.ndarray) -> np.ndarray:
        """The segments' ``i_membrane_`` (nA) into ``out``, in segment order."""
        self.copy_into(self._column)
        return np.take(self._view, self.index, out=out)

    def check(self, raw: np.ndarray) -> None:
        """Raise if the raw row ``raw`` (just read) differs from what the gather reads now."""
        self._ptr.gather(self._vec)
        if not np.array_equal(self._vec_view, raw[self.index]):
            raise RuntimeError("NEURON's node storage was rearranged during the run (the copy of "
                               "i_membrane_ no longer matches its pointers); recording stopped "
                               "rather than write wrong currents")


@dataclass
class _Buffers:
    """One set of chunk buffers: a NEURON Vector per row of currents, an array per group."""

    rows: list  # NEURON Vectors, one per sample (raw or segment order)
    views: list[np.ndarray]  # their numpy views, made once (as_numpy leaks per call, NEURON 9)
    groups: list[np.ndarray]  # per pointer group, (chunk, n_ptr), in request order


@dataclass
class Batch:
    """A handed-over chunk: its ``n`` samples sit in one buffer set until it is assembled."""

    n: int
    buffers: _Buffers


class Sampler:
    """Sets of buffers of ``chunk_samples`` rows for the membrane currents and each group.

    Parameters
    ----------
    segments : list of nrn.Segment
        This rank's segments (columns of the current buffer).
    groups : sequence of PointerGroup
        The recorders' pointer groups, in request order.
    chunk_samples : int
        Rows of each buffer.
    defer_rows : bool
        Whether a row is complete only after the next callback (some rank has state-phase
        groups: every rank must then flush at that same callback).
    every : int
        Steps per sample.
    mode : {"point", "mean"}
        Membrane currents at the sample's step, or their mean over the interval centred on it
        (see the module docstring). With ``every == 1`` both are the same.
    dtype : {"f8", "f4"}
        Type of the assembled currents (what recorders get; rows are read in double, interval
        sums are double, pointer groups stay double).
    sets : {1, 2}
        Buffer sets: 2 when a handed-over chunk may still be in use while new samples arrive
        (the session's worker thread), 1 when each chunk is done before the next sample.
    """

    def __init__(self, segments: list, groups: Sequence[PointerGroup], chunk_samples: int, *,
                 defer_rows: bool, every: int = 1, mode: str = "point", dtype: str = "f8",
                 sets: int = 2) -> None:
        from neuron import h

        n = len(segments)
        self.n_segments = n
        self.chunk_samples = int(chunk_samples)
        self.defer_rows = bool(defer_rows)
        self.every = int(every)
        self.mean = mode == "mean" and self.every > 1
        self._half = self.every // 2  # steps after a sample until its mean is final
        self._even = self.every % 2 == 0
        self._weight = 0.0
        self._next = 1  # index (since t0) of the sample whose interval is being summed
        self._awaiting: int | None = None  # buffer row still waiting for its mean currents
        self._imem_ptr = None  # a rank without segments (MPI) samples nothing: PtrVector(0) fails
        self._column: NodeColumn | None = None
        if n:
            self._imem_ptr = h.PtrVector(n)
            for i, seg in enumerate(segments):
                self._imem_ptr.pset(i, seg._ref_i_membrane_)
            try:
                self._column = NodeColumn(segments, self._imem_ptr)
            except ValueError:
                self._column = None  # NEURON 8, or a layout not proven: the pointer gather
        width = self._column.width if self._column is not None else n
        # each segment's place in a row as read: the storage order, or the gather's own
        self._index = self._column.index if self._column is not None else np.arange(n)
        self._scratch = h.Vector(max(width, 1))  # one step's row (mean sampling)
        self._scratch_view = self._scratch.as_numpy()[:width]
        self._acc = np.zeros(width)  # running sum of the interval being averaged (nA)
        self.imem = np.empty((self.chunk_samples, n), dtype=dtype)  # assembled, segment order
        self._sets = [self._buffers(width, groups) for _ in range(sets)]
        self._set = self._sets[0]
        self._groups = []  # (PtrVector, Vector, its numpy view, group index, state?)
        for j, (segs, var, state) in enumerate(groups):
            ptr = h.PtrVector(len(segs))
            for i, seg in enumerate(segs):
                ptr.pset(i, getattr(seg, "_ref_" + var))
            vec = h.Vector(len(segs))
            self._groups.append((ptr, vec, vec.as_numpy(), j, state))
        self._current = [g for g in self._groups if not g[4]]
        self._state = [g for g in self._groups if g[4]]
        self.pending: int | None = None
        self.fill = 0

    def _buffers(self, width: int, groups: Sequence[PointerGroup]) -> _Buffers:
        from neuron import h

        rows = [h.Vector(max(width, 1)) for _ in range(self.chunk_samples)]
        return _Buffers(rows, [r.as_numpy()[:width] for r in rows],
                        [np.full((self.chunk_samples, len(g.segments)), np.nan) for g in groups])

    @property
    def full(self) -> bool:
        """Every row holds a complete sample: time to flush."""
        return self.fill == self.chunk_samples and self.pending is None and self._awaiting is None

    def _read_into(self, vec) -> None:
        """This step's membrane currents (nA) into the NEURON Vector ``vec`` (a raw row)."""
        if self._column is None:
            self._imem_ptr.gather(vec)
        else:
            self._column.copy_into(vec)

    def step(self, count: int) -> None:
        """Add this step's currents to the interval mean (``mean`` sampling; every step).

        ``count`` is the number of steps since t0, this one included.
        """
        d = count - self._next * self.every  # steps from the sample being averaged
        if d < -self._half:
            return  # within the first sample's interval: that sample is the initial state
        if self._imem_ptr is None:
            if d == self._half:
                self._emit(None)
            return
        self._read_into(self._scratch)
        x = self._scratch_view
        edge = self._even and abs(d) == self._half
        if edge:
            self._acc += 0.5 * x
            self._weight += 0.5
        else:
            self._acc += x
            self._weight += 1.0
        if d == self._half:
            if self._column is not None and self._awaiting == self.chunk_samples - 1:
                self._column.check(x)  # once per chunk: the copy still equals the gather
            self._emit(x if edge else None)

    def _emit(self, shared: np.ndarray | None) -> None:
        """The averaged interval is complete: its mean goes into its row."""
        if self._awaiting is not None and self._weight:
            np.divide(self._acc, self._weight, out=self._set.views[self._awaiting])
        self._awaiting = None
        self._next += 1
        if shared is None:  # the edge step of an even interval starts the next one too
            self._acc[:] = 0.0
            self._weight = 0.0
        else:
            np.multiply(shared, 0.5, out=self._acc)
            self._weight = 0.5

    def finish(self) -> None:
        """The run ended inside an interval: its row gets the mean of the steps it reached."""
        if self._awaiting is not None:
            if self._weight:
                np.divide(self._acc, self._weight, out=self._set.views[self._awaiting])
            self._awaiting = None

    def sample(self, imem: np.ndarray | None = None) -> None:
        """Read the membrane currents (or take ``imem``, nA) and current-phase groups into a row.

        NEURON calls back after it has updated v and the currents of a step but before it
        updates channel states and concentrations; those are read at the next callback
        (:meth:`complete_pending`), when they hold this sample's values.
        """
        k = self.fill
        buffers = self._set
        if imem is not None:
            if self._column is None:
                buffers.views[k][:] = imem
            else:
                buffers.views[k][self._column.index] = imem
        elif self.mean:
            self._awaiting = k  # its mean is final k // 2 steps later (see step)
        elif self._imem_ptr is not None:
            self._read_into(buffers.rows[k])
            if self._column is not None and k == self.chunk_samples - 1:
                self._column.check(buffers.views[k])  # once per chunk: copy == gather
        for ptr, vec, view, j, _ in self._current:
            ptr.gather(vec)
            buffers.groups[j][k] = view
        self.fill += 1
        if self.defer_rows:
            self.pending = k

    def complete_pending(self, valid: bool = True) -> None:
        """Read the state-phase groups of the pending row (NaN if no longer knowable)."""
        k, self.pending = self.pending, None
        if k is None:
            return
        for ptr, vec, view, j, _ in self._state:
            if valid:
                ptr.gather(vec)
                self._set.groups[j][k] = view
            else:
                self._set.groups[j][k] = np.nan

    @property
    def contiguous(self) -> bool:
        """Whether the currents are read by one copy of the node storage (NEURON 9)."""
        return self._column is not None

    def hand_over(self) -> Batch:
        """The samples taken so far, as a :class:`Batch`; new samples go into the other set.

        The other set must no longer be in use (its batch assembled and its chunk done).
        """
        batch = Batch(self.fill, self._set)
        self._set = self._sets[-1] if self._set is self._sets[0] else self._sets[0]
        self.fill = 0
        return batch

    def assemble(self, batch: Batch) -> np.ndarray:
        """A batch's currents (n_seg, n), nA, in segment order and the buffer's precision.

        Touches no NEURON state: safe on a worker thread while NEURON runs. Valid until the
        next call.
        """
        n, buffers = batch.n, batch.buffers
        out = self.imem
        if self.n_segments:
            # mode="clip": no copy of the output (the indices are valid by construction), and
            # numpy releases the GIL in it, so NEURON's callbacks on the main thread need not
            # wait for this loop (a switch interval, 5 ms, per wait)
            if out.dtype == np.float64:
                for k in range(n):
                    np.take(buffers.views[k], self._index, out=out[k], mode="clip")
            else:  # a take that casts converts the whole row, other nodes' values too
                row = np.empty(self.n_segments)
                for k in range(n):
                    out[k] = np.take(buffers.views[k], self._index, out=row, mode="clip")
        return out[:n].T

    @staticmethod
    def groups(batch: Batch) -> list[np.ndarray]:
        """A batch's pointer groups, each (n_ptr, n), in request order."""
        return [g[:batch.n].T for g in batch.buffers.groups]
