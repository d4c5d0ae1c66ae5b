"""Rank information and the per-chunk reduction of partial results.

Recorders return partial arrays; this module combines them on rank 0: ``sum`` for everything
linear in the membrane currents (potentials, dipoles, traces with zeros for cells a rank does not
own) and ``gather`` for ragged event data. mpi4py is used when importable (its buffer-based
``Reduce`` sends the arrays without pickling); otherwise NEURON's ``ParallelContext.py_gather``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

_LAUNCHER_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def init_mpi_if_launched() -> int:
    """Call ``h.nrnmpi_init()`` when this process was started by ``mpiexec``; return the rank count.

    NEURON needs ``MPI_LIB_NRN_PATH`` to find an MPI library from PyPI wheels (e.g.
    ``<venv>/lib/libmpi.so.12`` from the ``mpich`` package).
    """
    import os

    from neuron import h

    if any(int(os.environ.get(v, "1") or 1) > 1 for v in _LAUNCHER_VARS):
        h.nrnmpi_init()
    return int(h.ParallelContext().nhost())


@dataclass
class Comm:
    """The ranks of a NEURON run (``nhost == 1`` when serial)."""

    rank: int = 0
    nhost: int = 1
    _mpi: Any = None
    _pc: Any = None

    @classmethod
    def from_neuron(cls, backend: str = "auto") -> Comm:
        """Rank and size from NEURON's ``ParallelContext``.

        Parameters
        ----------
        backend : {"auto", "mpi4py", "neuron"}
            How partial results travel: ``mpi4py`` (buffer ``Reduce``, no pickling), NEURON's
            ``ParallelContext.py_gather`` (pickles, then sums on rank 0), or ``auto``: mpi4py
            when importable.
        """
        from neuron import h

        if backend not in ("auto", "mpi4py", "neuron"):
            raise ValueError(f"unknown MPI backend {backend!r}; expected 'auto', 'mpi4py' or 'neuron'")
        pc = h.ParallelContext()
        rank, nhost = int(pc.id()), int(pc.nhost())
        if nhost == 1:
            return cls()
        mpi = None
        if backend != "neuron":
            try:
                from mpi4py import MPI

                if MPI.COMM_WORLD.Get_size() == nhost:
                    mpi = MPI.COMM_WORLD
            except ImportError:
                if backend == "mpi4py":
                    raise ImportError("backend 'mpi4py' needs mpi4py: pip install "
                                      "'neuro-signals[mpi]'") from None
        return cls(rank, nhost, mpi, pc)

    def gather_objects(self, obj: Any) -> list[Any] | None:
        """Every rank's ``obj`` on rank 0 (None elsewhere)."""
        if self.nhost == 1:
            return [obj]
        if self._mpi is not None:
            return self._mpi.gather(obj, root=0)
        out = self._pc.py_gather(obj, 0)
        return None if out is None else list(out)

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank."""
        if self.nhost == 1:
            return obj
        if self._mpi is not None:
            return self._mpi.bcast(obj, root=0)
        return self._pc.py_broadcast(obj, 0)

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.nhost > 1:
            if self._mpi is not None:
                self._mpi.Barrier()
            else:
                self._pc.barrier()

    def union_in_order(self, names: Sequence[str]) -> tuple[str, ...]:
        """Names found on any rank, in order of first appearance by rank (same on all ranks)."""
        every = self.gather_objects(list(names))
        merged = None
        if self.rank == 0:
            merged = []
            for part in every:
                merged.extend(n for n in part if n not in merged)
        return tuple(self.broadcast(merged))

    def any_error(self, message: str | None) -> list[str]:
        """Every rank's error message (None where fine), the same list on all ranks."""
        if self.nhost == 1:
            return [message] if message else []
        every = self.broadcast(self.gather_objects(message))
        return [f"rank {i}: {m}" for i, m in enumerate(every) if m]

    def reduce_outputs(
        self, outputs: Mapping[str, np.ndarray], reduce_ops: Mapping[str, str]
    ) -> dict[str, np.ndarray] | None:
        """Combine per-rank partial outputs on rank 0 (None on other ranks).

        Every rank must pass the same names (in any order); ``reduce_ops[name]`` is ``"sum"``,
        ``"gather"`` or ``"concat"`` (see :class:`signals.VariableSpec`).
        """
        if self.nhost == 1:
            return dict(outputs)
        out: dict[str, np.ndarray] = {}
        for name in sorted(outputs):
            arr = np.ascontiguousarray(outputs[name])
            if reduce_ops[name] == "sum":
                if self._mpi is not None:
                    total = np.empty_like(arr) if self.rank == 0 else None
                    self._mpi.Reduce(arr, total, root=0)
                else:
                    parts = self._pc.py_gather(arr, 0)
                    total = None if parts is None else np.sum(list(parts), axis=0)
            else:  # gather: along the first (event) dim; concat: along the per-rank dim
                parts = self.gather_objects(arr)
                axis = 1 if reduce_ops[name] == "concat" else 0
                total = None if parts is None else np.concatenate(parts, axis=axis)
            if self.rank == 0:
                out[name] = total
        return out if self.rank == 0 else None
