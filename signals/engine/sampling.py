"""The sample buffers of a session: what NEURON's pointers hold, one row per sample.

One ``PtrVector`` over every local ``i_membrane_`` is gathered once per sample into a
(chunk × segments) buffer, and one per pointer group a recorder requested
(:meth:`signals.Context.add_pointers`). Groups of state-phase variables (gates, concentrations)
are read one callback later, when NEURON has updated them to the sample's time.

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

from collections.abc import Sequence

import numpy as np

from signals.recorder import PointerGroup

__all__ = ["Sampler"]


class Sampler:
    """Buffers of ``chunk_samples`` rows for the membrane currents and each pointer group.

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
    """

    def __init__(self, segments: list, groups: Sequence[PointerGroup], chunk_samples: int, *,
                 defer_rows: bool, every: int = 1, mode: str = "point") -> None:
        from neuron import h

        n = len(segments)
        self.chunk_samples = int(chunk_samples)
        self.defer_rows = bool(defer_rows)
        self.every = int(every)
        self.mean = mode == "mean" and self.every > 1
        self._half = self.every // 2  # steps after a sample until its mean is final
        self._even = self.every % 2 == 0
        self._acc = np.zeros(n)  # running sum of the interval being averaged (nA)
        self._weight = 0.0
        self._next = 1  # index (since t0) of the sample whose interval is being summed
        self._awaiting: int | None = None  # buffer row still waiting for its mean currents
        self._imem_ptr = None  # a rank without segments (MPI) samples nothing: PtrVector(0) fails
        if n:
            self._imem_ptr = h.PtrVector(n)
            for i, seg in enumerate(segments):
                self._imem_ptr.pset(i, seg._ref_i_membrane_)
        self._imem_vec = h.Vector(max(n, 1))
        self._imem_view = self._imem_vec.as_numpy()[:n]  # once: as_numpy leaks per call (NEURON 9)
        self.imem = np.empty((self.chunk_samples, n))
        self._current = []  # (PtrVector, Vector, its numpy view, buffer); current-phase groups
        self._state = []  # the same for state-phase groups (read one callback later)
        self._is_state = [g.state for g in groups]
        for segs, var, state in groups:
            ptr = h.PtrVector(len(segs))
            for i, seg in enumerate(segs):
                ptr.pset(i, getattr(seg, "_ref_" + var))
            vec = h.Vector(len(segs))
            group = (ptr, vec, vec.as_numpy(), np.full((self.chunk_samples, len(segs)), np.nan))
            (self._state if state else self._current).append(group)
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
        self._imem_ptr.gather(self._imem_vec)
        x = self._imem_view
        edge = self._even and abs(d) == self._half
        w = 0.5 if edge else 1.0
        self._acc += w * x if edge else x
        self._weight += w
        if d == self._half:
            self._emit(x if edge else None)

    def _emit(self, shared: np.ndarray | None) -> None:
        """The averaged interval is complete: its mean goes into its row."""
        if self._awaiting is not None and self._weight:
            self.imem[self._awaiting] = self._acc / self._weight
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
                self.imem[self._awaiting] = self._acc / self._weight
            self._awaiting = None

    def sample(self, imem: np.ndarray | None = None) -> None:
        """Read the membrane currents (or take ``imem``, nA) and current-phase groups into a row.

        NEURON calls back after it has updated v and the currents of a step but before it
        updates channel states and concentrations; those are read at the next callback
        (:meth:`complete_pending`), when they hold this sample's values.
        """
        k = self.fill
        if self.mean and imem is None:
            self._awaiting = k  # its mean is final k // 2 steps later (see step)
        elif self._imem_ptr is not None:
            if imem is None:
                self._imem_ptr.gather(self._imem_vec)
            self.imem[k] = self._imem_view if imem is None else imem
        for ptr, vec, view, buf in self._current:
            ptr.gather(vec)
            buf[k] = view
        self.fill += 1
        if self.defer_rows:
            self.pending = k

    def complete_pending(self, valid: bool = True) -> None:
        """Read the state-phase groups of the pending row (NaN if no longer knowable)."""
        k, self.pending = self.pending, None
        if k is None:
            return
        for ptr, vec, view, buf in self._state:
            if valid:
                ptr.gather(vec)
                buf[k] = view
            else:
                buf[k] = np.nan

    def views(self, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """The first ``n`` rows: currents (n_seg, n) and each group (n_ptr, n), request order."""
        current, state = iter(self._current), iter(self._state)
        pointers = [(next(state) if is_state else next(current))[3][:n].T
                    for is_state in self._is_state]
        return self.imem[:n].T, pointers
