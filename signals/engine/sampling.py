"""The sample buffers of a session: what NEURON's pointers hold, one row per sample.

Every local ``i_membrane_`` is read once per sample into a row of a chunk buffer, in the
segments' order and the buffer's precision: on NEURON 9 by one copy of the node storage column
that holds them and a fixed permutation (:class:`NodeColumn`), elsewhere by one ``PtrVector``
gather. One ``PtrVector`` per pointer group a recorder requested
(:meth:`signals.Context.add_pointers`) is gathered into its own buffer; groups of state-phase
variables (gates, concentrations) are read one callback later, when NEURON has updated them to
the sample's time.

The buffers come in one set, or two with the session's worker-thread pipeline: while the
recorders work on the chunk of one set beside NEURON, NEURON's samples go into the other
(:meth:`Sampler.hand_over` swaps them). The permutation is done per sample, while the row is
in cache, so that the worker gets a chunk ready for its products (which release the GIL)
and no per-chunk loop of its own (which would hold it while NEURON's callbacks wait).

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
    storage; ``Vector.from_double`` copies a contiguous range of it, and a fixed permutation
    (:attr:`index`) puts it in the segments' order. Measured
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
        #: Values copied per read (the storage range from the first to the last segment's node).
        self.width = int(rows.max()) - lo + 1
        self._column = h.Vector(self.width)
        self._view = self._column.as_numpy()
        #: Position of each segment's value in the copied range.
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

    def read_raw(self) -> np.ndarray:
        """Every node's ``i_membrane_`` (nA) in the copied storage range, in storage order (a
        view valid until the next read; :attr:`index` picks the segments)."""
        self._column.from_double(self.width, self._first)
        return self._view

    def read(self, out: np.ndarray) -> np.ndarray:
        """The segments' ``i_membrane_`` (nA) into ``out`` (double), in segment order."""
        # mode="clip": no copy of the output (the indices are valid by construction)
        return np.take(self.read_raw(), self.index, out=out, mode="clip")

    def check(self, values: np.ndarray) -> None:
        """Raise if ``values`` (just read) differ from what the gather reads now."""
        self._ptr.gather(self._vec)
        if not np.array_equal(self._vec_view, values):
            raise RuntimeError("NEURON's node storage was rearranged during the run (the copy of "
                               "i_membrane_ no longer matches its pointers); recording stopped "
                               "rather than write wrong currents")


@dataclass
class Batch:
    """A handed-over chunk: ``n`` samples of the currents (segment order) and of each group."""

    n: int
    imem: np.ndarray  # (chunk, n_seg)
    groups: list[np.ndarray]  # per pointer group, (chunk, n_ptr), in request order

    def currents(self) -> np.ndarray:
        """The currents (n_seg, n), nA."""
        return self.imem[:self.n].T

    def pointers(self) -> list[np.ndarray]:
        """Each group (n_ptr, n), in request order."""
        return [g[:self.n].T for g in self.groups]


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
        Type of the current buffer (pointer groups stay double; interval sums are double).
    sets : {1, 2}
        Buffer sets: 2 when a handed-over chunk may still be in use while new samples arrive
        (the session's worker thread), 1 when each chunk is done before the next sample.
    """

    def __init__(self, segments: list, groups: Sequence[PointerGroup], chunk_samples: int, *,
                 defer_rows: bool, every: int = 1, mode: str = "point", dtype: str = "f8",
                 sets: int = 2) -> None:
        from neuron import h

        n = len(segments)
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
        # mean sampling sums the rows as read (storage order on NEURON 9) and puts only the
        # mean in segment order: per step a copy and an add, no permutation
        self._acc = np.zeros(self._column.width if self._column is not None else n)
        self._imem_vec = h.Vector(max(n, 1))
        self._imem_view = self._imem_vec.as_numpy()[:n]  # once: as_numpy leaks per call (NEURON 9)
        self._current_imem = np.empty(n)  # one step's currents, in double
        self._groups = []  # (PtrVector, Vector, its numpy view), in request order
        for segs, var, _ in groups:
            ptr = h.PtrVector(len(segs))
            for i, seg in enumerate(segs):
                ptr.pset(i, getattr(seg, "_ref_" + var))
            vec = h.Vector(len(segs))
            self._groups.append((ptr, vec, vec.as_numpy()))
        self._current = [j for j, g in enumerate(groups) if not g.state]
        self._state = [j for j, g in enumerate(groups) if g.state]
        self._sets = [Batch(0, np.empty((self.chunk_samples, n), dtype=dtype),
                            [np.full((self.chunk_samples, len(g.segments)), np.nan)
                             for g in groups])
                      for _ in range(sets)]
        self._set_index = 0
        self._set = self._sets[0]
        self.pending: int | None = None
        self.fill = 0

    @property
    def full(self) -> bool:
        """Every row holds a complete sample: time to flush."""
        return self.fill == self.chunk_samples and self.pending is None and self._awaiting is None

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
        x = self._read_raw()
        edge = self._even and abs(d) == self._half
        if edge:
            self._acc += 0.5 * x
            self._weight += 0.5
        else:
            self._acc += x
            self._weight += 1.0
        if d == self._half:
            if self._column is not None and self._awaiting == self.chunk_samples - 1:
                self._column.check(x[self._column.index])  # once per chunk: copy == gather
            self._emit(x if edge else None)

    def _store_mean(self) -> None:
        """The mean of the summed interval, in segment order, into the awaiting row."""
        acc = self._acc
        if self._column is not None:
            acc = np.take(acc, self._column.index, out=self._current_imem, mode="clip")
        np.divide(acc, self._weight, out=self._set.imem[self._awaiting])

    def _emit(self, shared: np.ndarray | None) -> None:
        """The averaged interval is complete: its mean goes into its row."""
        if self._awaiting is not None and self._weight:
            self._store_mean()
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
                self._store_mean()
            self._awaiting = None

    def sample(self, imem: np.ndarray | None = None) -> None:
        """Read the membrane currents (or take ``imem``, nA) and current-phase groups into a row.

        NEURON calls back after it has updated v and the currents of a step but before it
        updates channel states and concentrations; those are read at the next callback
        (:meth:`complete_pending`), when they hold this sample's values.
        """
        k = self.fill
        buffers = self._set
        if self.mean and imem is None:
            self._awaiting = k  # its mean is final k // 2 steps later (see step)
        elif imem is not None:
            buffers.imem[k] = imem
        elif self._imem_ptr is not None:
            row = buffers.imem[k]
            direct = self._column is not None and row.dtype == np.float64  # straight into it
            values = self._read_imem(check=k == self.chunk_samples - 1,
                                     out=row if direct else None)
            if not direct:
                row[:] = values
        for j in self._current:
            ptr, vec, view = self._groups[j]
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
        for j in self._state:
            ptr, vec, view = self._groups[j]
            if valid:
                ptr.gather(vec)
                self._set.groups[j][k] = view
            else:
                self._set.groups[j][k] = np.nan

    def _read_raw(self) -> np.ndarray:
        """This step's membrane currents (nA, double) as read: storage order on NEURON 9,
        segment order from the gather; a view valid until the next read."""
        if self._column is None:
            self._imem_ptr.gather(self._imem_vec)
            return self._imem_view
        return self._column.read_raw()

    def _read_imem(self, check: bool = False, out: np.ndarray | None = None) -> np.ndarray:
        """This step's membrane currents (nA, double) in segment order, into ``out`` (double)
        if given, else a view valid until the next read."""
        if self._column is None:
            return self._read_raw()
        values = self._column.read(self._current_imem if out is None else out)
        if check:  # once per chunk: the copy still equals the gather
            self._column.check(values)
        return values

    @property
    def contiguous(self) -> bool:
        """Whether the currents are read by one copy of the node storage (NEURON 9)."""
        return self._column is not None

    def hand_over(self) -> Batch:
        """The samples taken so far; new samples go into the next set, which must no longer
        be in use (its chunk done)."""
        batch = self._set
        batch.n = self.fill
        self._set_index = (self._set_index + 1) % len(self._sets)
        self._set = self._sets[self._set_index]
        self.fill = 0
        return batch
