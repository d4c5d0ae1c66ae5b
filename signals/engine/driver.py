"""The one chunk pipeline of every run file signals writes.

A live :class:`~signals.engine.session.Session`, :func:`signals.recompute` and the importers of
:mod:`signals.io` all build a run the same way: recorders are checked and their variables and
coordinates collected once (:func:`resolve_recorders`, :func:`collect_specs`,
:func:`merge_coords`); each chunk of samples goes through every recorder under a BLAS thread
limit and the outputs are checked against the declarations (:func:`run_recorders`); the run
file is appended chunk by chunk and closed with a status that says how the run ended
(:func:`write_run`). Chunks are sized by one rule (:func:`chunk_length`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from signals.recorder import Chunk, LinearRecorder, Recorder, VariableSpec, available
from signals.validation import check_name, ensure_int

__all__ = ["BUFFER_BYTES", "BlasLimit", "chunk_length", "collect_specs", "merge_coords",
           "provenance", "recorder_attrs", "resolve_recorders", "run_recorders", "sort_ragged",
           "write_run"]

#: Default upper bound of one chunk's samples (bytes); small enough to stay in a typical L3
#: cache (measured: 16 MiB chunks cost less than 64 MiB ones).
BUFFER_BYTES = 16 * 2**20
#: Most samples in one chunk by default.
MAX_CHUNK_SAMPLES = 500


def chunk_length(width: int, requested: int | None = None, *, itemsize: int = 8) -> int:
    """Samples per chunk: ``requested``, or up to 500 with at most :data:`BUFFER_BYTES` of
    samples of ``width`` values of ``itemsize`` bytes each."""
    if requested is not None:
        return ensure_int(requested, "chunk_samples", minimum=1)
    return int(np.clip(BUFFER_BYTES // (itemsize * max(int(width), 1)), 1, MAX_CHUNK_SAMPLES))


def provenance(*, tools: Sequence[tuple[str, str]] = (("neuron", "neuron_version"),
                                                       ("LFPykit", "lfpykit_version"))
               ) -> dict[str, Any]:
    """Versions: signals, the distributions ``tools`` ((name, attribute) pairs) and, when the
    model imported them, NetPyNE and LFPy."""
    out = {}
    used = [(dist, key) for dist, key, module in (("netpyne", "netpyne_version", "netpyne"),
                                                  ("LFPy", "lfpy_version", "LFPy"))
            if module in sys.modules]  # not imported by the model: not part of this run
    for dist, key in (("neuro-signals", "signals_version"), *tools, *used):
        try:
            out[key] = version(dist)
        except PackageNotFoundError:
            out[key] = "unknown"
    return out


def recorder_attrs(recorders: Sequence[Recorder]) -> dict[str, str]:
    """``recorder_<name>``: each recorder's class and parameters as JSON (its provenance)."""
    return {f"recorder_{rec.name}": rec.describe() for rec in recorders}


def resolve_recorders(recorders: Recorder | str | Sequence[Recorder | str], *,
                      linear: bool = False) -> list[Recorder]:
    """Recorder instances from instances or registry names, checked and uniquely named.

    ``linear``: only :class:`~signals.recorder.LinearRecorder` instances, no names (what can be
    applied to saved membrane currents).
    """
    if isinstance(recorders, Recorder | str):
        recorders = [recorders]
    if not isinstance(recorders, Iterable):
        raise TypeError(f"recorders must be a sequence of Recorder instances or names, got "
                        f"{recorders!r}")
    out: list[Recorder] = []
    for rec in recorders:
        if isinstance(rec, str) and not linear:
            registry = available()
            if rec not in registry:
                raise ValueError(
                    f"unknown recorder {rec!r}; available: {', '.join(sorted(registry))}")
            try:
                rec = registry[rec]()
            except TypeError as err:
                raise ValueError(f"recorder {rec!r} needs parameters: pass an instance, e.g. "
                                 f"{registry[rec].__name__}(...) ({err})") from None
        if not isinstance(rec, Recorder):
            raise TypeError(f"recorders must be Recorder instances or names, got {rec!r}")
        if linear and not isinstance(rec, LinearRecorder):
            raise ValueError(
                f"recorder {rec!r} is not linear in the membrane currents (it reads the live "
                "NEURON network: spikes, traces, connections, concentrations); it cannot be "
                "recomputed from a run file — keep its data from the source run (see `keep`)")
        check_name(rec.name, f"recorder name (name= of {type(rec).__name__})")
        out.append(rec)
    if not out:
        raise ValueError("give at least one recorder")
    names = [r.name for r in out]
    if len(set(names)) != len(names):
        raise ValueError(f"recorder names must be unique (pass name=...): {names}")
    return out


def collect_specs(recorders: Sequence[Recorder]) -> dict[str, VariableSpec]:
    """Every recorder's output variables; a name may be written by one recorder only."""
    specs: dict[str, VariableSpec] = {}
    for rec in recorders:
        for name, spec in rec.variables().items():
            check_name(name, f"variable name of recorder {rec.name!r}")
            if name in specs or name == "time":
                raise ValueError(f"two recorders write a variable named {name!r}")
            specs[name] = spec
    return specs


def merge_coords(coords: Mapping, extra: Mapping, owner: str = "a recorder") -> dict:
    """``coords`` updated with ``extra``; a name defined twice must hold the same values."""
    out = dict(coords)
    for name, entry in extra.items():
        if name in out and not (tuple(out[name][0]) == tuple(entry[0]) and
                                np.array_equal(np.asarray(out[name][1]), np.asarray(entry[1]))):
            raise ValueError(f"{owner} defines coordinate {name!r} differently from another "
                             "recorder; give it another name")
        out[name] = entry
    return out


class BlasLimit:
    """Limits BLAS threads around the chunk products (``None``: leaves them alone).

    The library scan of threadpoolctl is done once; each limit is then cheap (measured: 0.6 ms
    per chunk with ``threadpool_limits``, a few µs with a reused controller).
    """

    def __init__(self, n: int | None) -> None:
        self.n = n
        self._controller = None
        if n is not None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()

    def __call__(self):
        if self._controller is None:
            return contextlib.nullcontext()
        return self._controller.limit(limits=self.n, user_api="blas")


def run_recorders(recorders: Sequence[Recorder], chunk: Chunk, specs: Mapping[str, VariableSpec],
                  blas: BlasLimit, *, timings: dict[str, float] | None = None
                  ) -> dict[str, np.ndarray]:
    """Every recorder's outputs for ``chunk``, checked against the declared variables.

    ``timings``: seconds spent in each recorder are added to its ``on_chunk <name>`` entry.
    """
    outputs: dict[str, np.ndarray] = {}
    with blas():
        for rec in recorders:
            t0 = time.perf_counter()
            outputs.update(rec.on_chunk(chunk))
            if timings is not None:
                key = f"on_chunk {rec.name}"
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - t0
    if set(outputs) != set(specs):
        raise ValueError(f"recorders returned {sorted(outputs)} but declared {sorted(specs)}")
    return outputs


def sort_ragged(outputs: dict[str, np.ndarray], specs: Mapping[str, VariableSpec]):
    """Order gathered event variables (e.g. spikes) by their values, in declaration order.

    Ranks deliver events in rank order; sorting by (first variable, second, ...) makes the
    file independent of the number of ranks.
    """
    ragged: dict[str, list[str]] = {}
    for name, spec in specs.items():
        if spec.reduce == "gather" and outputs[name].ndim == 1:
            ragged.setdefault(spec.dims[0], []).append(name)
    for names in ragged.values():
        order = np.lexsort([outputs[n] for n in reversed(names)])
        for n in names:
            outputs[n] = outputs[n][order]
    return outputs


def write_run(path: str | Path, *, coords: Mapping[str, tuple],
              variables: Mapping[str, VariableSpec], attrs: Mapping[str, Any], chunk_len: int,
              chunks: Iterable[tuple[np.ndarray, Mapping[str, np.ndarray]]],
              compression: int | None = None) -> Path:
    """Write a run file from ``chunks`` of (sample times in ms, outputs by variable).

    The file is closed whatever happens: ``complete`` after the last chunk, ``incomplete``
    with the error if one is raised (by the chunks' producer too), and the error re-raised.
    """
    from signals.store import RunWriter

    writer = RunWriter(Path(path), coords=dict(coords), variables=dict(variables),
                       attrs=dict(attrs), chunk_len=chunk_len, compression=compression)
    error = None
    try:
        for t, outputs in chunks:
            writer.append(t, outputs)
    except BaseException as err:
        error = err
        raise
    finally:
        writer.close(error=error, attrs={"n_samples": writer.n_samples})
    return Path(path)
