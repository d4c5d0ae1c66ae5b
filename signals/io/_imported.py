"""A run assembled from another tool's files, and how it is written as a run file.

The importers (:mod:`signals.io.netpyne`, :mod:`signals.io.sonata`) fill an :class:`Imported`
with coordinates, time series and events built by :mod:`signals.schema`, then call
:meth:`Imported.finish`. The provenance attributes of imported runs live here; the chunk loop is the engine's
(:func:`signals.engine.driver.write_run`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from signals.recorder import VariableSpec


def provenance(fmt: str, path: Path) -> dict[str, Any]:
    """Global attributes of a run imported from ``path`` (format ``fmt``)."""
    import signals

    return {"signals_version": signals.__version__, "source_format": fmt,
            "source_file": str(path), "mpi_ranks": 1}


@dataclass
class Imported:
    """A run assembled from another tool's files, before it is written as a run file.

    Attributes
    ----------
    time : ndarray
        Sample times (ms).
    attrs : dict
        Global attributes.
    coords : dict
        Coordinates, name → (dims, values, attrs).
    series : dict
        Time series, name → (spec, array-like of shape (time, ...)); sliced a chunk at a time,
        so an HDF5 dataset is never read whole.
    events : dict
        Events along ``spike``, name → (spec, values), written with the first chunk.
    """

    time: np.ndarray
    attrs: dict[str, Any]
    coords: dict[str, tuple] = field(default_factory=dict)
    series: dict[str, tuple[VariableSpec, Any]] = field(default_factory=dict)
    events: dict[str, tuple[VariableSpec, np.ndarray]] = field(default_factory=dict)

    def write(self, path: Path) -> Path:
        """Write as a signals run file, chunk by chunk along time (the engine's chunk rule)."""
        from signals.engine.driver import chunk_length, write_run

        n_time = self.time.size
        width = sum(int(np.prod(np.shape(a)[1:])) for _, a in self.series.values()) or 1
        chunk = chunk_length(width)

        def chunks():
            pending = {k: a for k, (_, a) in self.events.items()}
            for k0 in range(0, max(n_time, 1), chunk):
                k1 = min(k0 + chunk, n_time)
                out = {k: np.asarray(a[k0:k1]) for k, (_, a) in self.series.items()}
                out.update(pending)
                pending = {}
                yield self.time[k0:k1], out

        return write_run(path, coords=self.coords, attrs=self.attrs, chunk_len=chunk,
                         variables={k: s for k, (s, _) in {**self.series, **self.events}.items()},
                         chunks=chunks())

    def finish(self, out: str | os.PathLike | None):
        """Write to ``out`` and open it lazily, or return the run loaded in memory."""
        from signals.store import open_run

        if out is not None:
            return open_run(self.write(Path(out)))
        with tempfile.TemporaryDirectory(prefix="signals-import-") as tmp:
            with open_run(self.write(Path(tmp) / "run.nc")) as ds:
                return ds.load()
