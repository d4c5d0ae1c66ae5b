"""The chunked recording engine.

Every local ``i_membrane_`` is read once per sample inside ``h.cvode.extra_scatter_gather``
into a chunk buffer (:mod:`signals.engine.sampling`); when the buffer is full each recorder
turns it into partial results (one GEMM for the forward models), the partial results are
reduced across MPI ranks and rank 0 appends them to the run file. Memory is bounded by the
chunk length, never by ``tstop``.

With ``pipeline`` on (off by default: measured, it costs more than it saves), a chunk's
products run on one worker thread while NEURON integrates the next chunk into the other
buffer: the recorders that declare :attr:`Recorder.thread_safe` (every
:class:`~signals.recorder.LinearRecorder`, traces, membrane currents) go there, the others
(spikes: they read NEURON's vectors) run on the main thread when the chunk is handed over.
NEURON holds the GIL while it integrates and lets the worker in only inside its per-step
Python callback, which then waits for the worker; BLAS releases the GIL while it multiplies,
so what overlaps NEURON is the products (``benchmarks/gil_release.py``). Every MPI collective
(the per-chunk agreement, the reduction, the write-error broadcast) stays on the main thread,
in the same order on every rank: chunk ``k`` is completed at the flush of chunk ``k + 1``, and
the last one when the run ends.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from signals import schema
from signals.engine.driver import (
    BlasLimit,
    chunk_length,
    collect_specs,
    merge_coords,
    provenance,
    recorder_attrs,
    resolve_recorders,
    run_recorders,
    sort_ragged,
)
from signals.engine.initial import initial_membrane_currents
from signals.engine.interrupt import SignalGuard, describe
from signals.engine.parallel import Comm
from signals.engine.sampling import Sampler
from signals.network import SegmentTable, from_neuron
from signals.recorder import Chunk, Context, Recorder
from signals.store import RunWriter
from signals.validation import check_name, check_path, check_positive, ensure_int

__all__ = ["Session", "record", "attach"]

logger = logging.getLogger(__name__)
#: Largest sample buffer accepted (bytes): HDF5 refuses chunks of 4 GiB or more, and the file's
#: chunk along time has as many samples as the buffer.
_MAX_BUFFER_BYTES = 2**31


class Session:
    """Records a NEURON network into a run file while NEURON runs it.

    Use :func:`record` to let signals initialise and run the model, or :func:`attach` (or this
    class as a context manager) to record a run you drive yourself with ``h.finitialize`` and
    ``h.continuerun`` / ``pc.psolve`` / NetPyNE's ``sim.runSim()``.

    Parameters
    ----------
    network : SegmentTable or None
        The local segments (see :mod:`signals.network`); default: every section that exists.
    recorders : sequence of Recorder or str
        Recorder instances, or names of recorders that need no parameters (e.g. ``"spikes"``).
    path : str or Path
        Run file to write (netCDF4, overwritten). Only rank 0 writes.
    record_dt : float, optional
        Sampling interval (ms), an integer multiple of ``h.dt``; default: every time step.
    sampling : {"mean", "point"}
        With ``record_dt`` coarser than ``h.dt``: each sample of the membrane currents (and so
        of every forward model) is their mean over the sampling interval centred on it
        (``"mean"``, a box filter against aliasing; one running sum per step), or their value
        at the sample's step (``"point"``, what NEURON's ``Vector.record`` gives). Traces and
        concentrations are always point samples. See :mod:`signals.engine.sampling`.
    chunk_samples : int, optional
        Samples per chunk; default: up to 500, fewer when a buffer would exceed 16 MiB (there
        are two with ``pipeline``).
    dtype : {"f8", "f4"}
        Precision of the sample buffer and of the linear recorders' matrices. ``"f4"`` halves
        both and the products' cost; measured on the demo network (``benchmarks/float32.py``)
        the LFP then differs from double precision by ~1e-6 of its peak. Files keep their
        declared types.
    blas_threads : int or None
        BLAS threads allowed during the chunk GEMMs (1 by default: more threads fight NEURON for
        the cores); ``None`` leaves BLAS alone.
    attrs : mapping, optional
        Extra global attributes for provenance (model name, seeds, ...).
    compression : int or None
        zlib level (1-9) of the run file's data, or None (default: uncompressed, as appending
        compressed chunks costs ten times more for files about 20 % smaller).
    mpi_backend : {"auto", "mpi4py", "neuron"}
        How partial results reach rank 0 under MPI: mpi4py's buffer ``Reduce`` (default when
        installed) or NEURON's ``py_gather`` (pickles every rank's arrays to rank 0).
    pipeline : bool
        Run the thread-safe recorders' chunk products on a worker thread while NEURON
        integrates the next chunk (two sample buffers instead of one). NEURON holds Python's
        GIL while it integrates, so the worker gets it only inside NEURON's per-step callback,
        which then waits for the worker; only BLAS products overlap NEURON
        (``benchmarks/gil_release.py``). Measured, it pays for large probes on expensive steps
        (384 contacts on 104k active segments: 1.06 against 1.14 × bare,
        ``benchmarks/active_network.py``) and costs on cheap ones (the demo network: 1.54
        against 1.49 × serially, 1.75 against 1.61 × under 2 ranks on 2 cores,
        ``benchmarks/mpi_scaling.py``): off by default; on when a core per process is free.
    """

    def __init__(
        self,
        network: SegmentTable | None,
        recorders: Sequence[Recorder | str],
        *,
        path: str | os.PathLike,
        record_dt: float | None = None,
        sampling: str = "mean",
        chunk_samples: int | None = None,
        dtype: str = "f8",
        blas_threads: int | None = 1,
        attrs: Mapping[str, Any] | None = None,
        mpi_backend: str = "auto",
        compression: int | None = None,
        pipeline: bool = False,
    ) -> None:
        from neuron import h

        from signals.validation import check_option

        # arguments first, before anything touches NEURON, MPI or the disk
        path = check_path(path, "path")
        if blas_threads is not None:
            blas_threads = ensure_int(blas_threads, "blas_threads (None or a thread count)",
                                      minimum=1)
        if chunk_samples is not None:
            chunk_samples = ensure_int(chunk_samples, "chunk_samples", minimum=1)
        check_option(mpi_backend, "mpi_backend", ("auto", "mpi4py", "neuron"))
        self.sampling = check_option(sampling, "sampling", ("mean", "point"))
        self.dtype = check_option(dtype, "dtype", ("f8", "f4"))
        if compression is not None:
            compression = ensure_int(compression, "compression (zlib level)", minimum=1, maximum=9)
        if not isinstance(pipeline, bool):
            raise TypeError(f"pipeline must be True or False, got {pipeline!r}")
        if attrs is not None:
            if not isinstance(attrs, Mapping):
                raise TypeError(f"attrs must be a mapping of names to values, got "
                                f"{type(attrs).__name__}")
            for key in attrs:
                check_name(key, "attribute name in attrs", reserved=())
        h.load_file("stdrun.hoc")  # h.cvode and continuerun; NetPyNE does not load it
        self._h = h
        if int(h.ParallelContext().nthread()) > 1:
            # NEURON refuses extra_scatter_gather with threads and aborts the process
            raise ValueError(f"signals records with one NEURON thread per process, the model "
                             f"uses {int(h.ParallelContext().nthread())} (pc.nthread): call "
                             "pc.nthread(1) and run MPI ranks for parallelism")

        self.comm = Comm.from_neuron(mpi_backend)
        #: Whether chunks are processed on a worker thread (see the module docstring).
        self.pipeline = pipeline
        self.path = path
        self._blas_limit = BlasLimit(blas_threads)
        self.record_dt = None if record_dt is None else check_positive(record_dt, "record_dt (ms)")
        # Each stage ends with a check on every rank, so one rank's bad input stops all ranks
        # with the same error instead of leaving the others waiting in a collective call.
        self.recorders, self.network, self._specs = self._agree(
            lambda: self._local_inputs(network, recorders))
        # what may run beside NEURON, and what must run on the thread that drives it
        threaded = [r for r in self.recorders if self.pipeline and r.thread_safe]
        self._threaded = (threaded, collect_specs(threaded) if threaded else {})
        main = [r for r in self.recorders if r not in threaded]
        self._main = (main, collect_specs(main) if main else {})
        n_cells = self.comm.gather_objects(self.network.n_cells)
        if self.comm.broadcast(None if n_cells is None else sum(n_cells)) == 0:
            raise ValueError("the network has no cells on any rank")
        itemsize = np.dtype(self.dtype).itemsize
        chunk_samples = chunk_length(len(self.network), chunk_samples, itemsize=itemsize)
        # every rank must flush at the same samples: rank 0's choice holds
        self.chunk_samples = int(self.comm.broadcast(int(chunk_samples)))
        buffer_bytes = itemsize * self.chunk_samples * max(len(self.network), 1)
        if buffer_bytes > _MAX_BUFFER_BYTES:
            raise ValueError(
                f"chunk_samples = {self.chunk_samples} needs a {buffer_bytes / 2**30:.1f} GiB "
                f"sample buffer for {len(self.network)} segments; at most "
                f"{_MAX_BUFFER_BYTES // (itemsize * max(len(self.network), 1))} here (default: "
                "chosen for a 16 MiB buffer)")
        pos = self.network.cell_position
        totals = self.comm.gather_objects((pos.sum(axis=0), len(pos), len(self.network)))
        center, n_segments = None, None
        if totals is not None:
            center = sum(t[0] for t in totals) / sum(t[1] for t in totals)
            n_segments = sum(t[2] for t in totals)
        center, n_segments = self.comm.broadcast((center, n_segments))
        self.ctx = Context(
            segments=self.network,
            populations=self.comm.union_in_order(self.network.populations),
            rank=self.comm.rank,
            nhost=self.comm.nhost,
            network_center=np.asarray(center, dtype=float),
            n_segments_total=int(n_segments),
            dtype=self.dtype,
        )
        rec_coords, statics = self._agree(self._setup_recorders)
        # Rows with state-phase pointers are completed one callback later. Every rank must then
        # flush at that same callback, even one without such pointers (e.g. a rank that owns
        # none of the traced cells): flush collectives must not meet NEURON's spike exchange.
        flags = self.comm.gather_objects(any(g.state for g in self.ctx.pointer_groups))
        self._defer_rows = bool(self.comm.broadcast(None if flags is None else any(flags)))
        cells = self._network_cells()
        extent = self._network_extent()
        statics = self.comm.gather_objects(statics)
        self._writer: RunWriter | None = None

        def open_writer():
            # rank 0 alone checks and writes; _agree hands its errors to every rank
            if self.comm.rank == 0:
                gids = np.sort(cells[0])
                if np.unique(gids).size != gids.size:
                    repeated = np.unique(gids[np.flatnonzero(np.diff(gids) == 0)])[:5].tolist()
                    raise ValueError(f"cell gids repeat across ranks: {repeated}")
                coords = schema.cell_coords(*cells, self.ctx.populations)
                merged = merge_coords(merge_coords(coords, rec_coords), _concat_statics(statics))
                _warn_geometry(merged, *extent)
                global_attrs = {**provenance(), "mpi_ranks": self.comm.nhost,
                                "network_extent_min": extent[0], "network_extent_max": extent[1],
                                "network_extent_units": "um", **recorder_attrs(self.recorders),
                                **dict(attrs or {})}
                self._writer = RunWriter(self.path, coords=merged, variables=self._specs,
                                         attrs=global_attrs, chunk_len=self.chunk_samples,
                                         compression=compression)

        self._agree(open_writer)
        self._state = "created"
        self._error: BaseException | None = None  # raised once NEURON has returned
        self._stopped_by: BaseException | None = None  # why the run file is incomplete
        self._signal: int | None = None  # a termination signal agreed by every rank
        self._guard = SignalGuard()
        self._driving = False  # True while run() drives NEURON
        self._in_step = False
        self._in_callback = False
        self._stop_raised = False
        self._fih = None
        self._step_callback = None
        self._n_samples = 0  # samples written
        self._n_taken = 0  # samples handed to the recorders (written, or a chunk in flight)
        self._inflight: Future | None = None  # the chunk being processed on the worker
        self._worker: ThreadPoolExecutor | None = None
        self._gc = _CollectorPause()
        #: Seconds spent so far in each part of the recording (this rank): ``start`` (pointer
        #: set-up at finitialize), ``sample`` (reading the pointers every sample),
        #: ``on_chunk <recorder name>``
        #: (with ``pipeline`` partly on the worker thread, beside NEURON), ``wait`` (the main
        #: thread waiting for the worker: the products not hidden behind NEURON), ``agree``
        #: (the per-chunk check across ranks), ``reduce`` (to rank 0), ``write`` (the run
        #: file), and ``chunks`` (how many). What benchmarks/ reports as the cost split;
        #: reading the clock costs < 0.1 µs per sample.
        self.timings: dict[str, float] = {"start": 0.0, "sample": 0.0, "wait": 0.0,
                                          "agree": 0.0, "reduce": 0.0, "write": 0.0,
                                          "chunks": 0}

    def _agree(self, stage):
        """Run ``stage`` on every rank; if it fails anywhere, raise on every rank."""
        local_error, result = None, None
        try:
            result = stage()
        except Exception as err:
            local_error = err
        errors = self.comm.any_error(
            None if local_error is None else f"{type(local_error).__name__}: {local_error}")
        if local_error is not None:
            raise local_error
        if errors:
            raise RuntimeError("failed on another MPI rank: " + "; ".join(errors))
        return result

    def _local_inputs(self, network, recorders):
        recs = resolve_recorders(recorders)
        if network is None:
            network = from_neuron()  # under MPI every cell needs a registered gid
        if not isinstance(network, SegmentTable):
            raise TypeError(f"network must be a SegmentTable (signals.network), got {network!r}")
        moved = network.moved_cells()
        if moved:
            raise ValueError(moved)
        return recs, network, collect_specs(recs)

    def _setup_recorders(self) -> tuple[dict[str, tuple], dict[str, tuple]]:
        coords: dict[str, tuple] = {}
        statics: dict[str, tuple] = {}
        for rec in self.recorders:
            rec.setup(self.ctx)
            coords = merge_coords(coords, rec.coords(self.ctx), owner=rec.name)
            statics = merge_coords(statics, rec.static(self.ctx), owner=rec.name)
        return coords, statics

    def _network_cells(self) -> tuple[np.ndarray, list, np.ndarray] | None:
        """Every cell of the network on rank 0: gids, populations, soma positions (µm)."""
        net = self.network
        local = (net.cell_gid, [net.populations[i] for i in net.cell_population],
                 net.cell_position)
        parts = self.comm.gather_objects(local)
        if parts is None:
            return None
        return (np.concatenate([p[0] for p in parts]),
                [name for p in parts for name in p[1]],
                np.concatenate([p[2] for p in parts]).reshape(-1, 3))

    def _network_extent(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Bounding box (µm) of every segment on every rank, (min xyz, max xyz), on rank 0."""
        net = self.network
        local = None
        if len(net):
            local = (np.array([net.x.min(), net.y.min(), net.z.min()]),
                     np.array([net.x.max(), net.y.max(), net.z.max()]))
        parts = self.comm.gather_objects(local)
        if parts is None:
            return None
        parts = [p for p in parts if p is not None]
        return np.min([p[0] for p in parts], axis=0), np.max([p[1] for p in parts], axis=0)

    # -- NEURON hooks -------------------------------------------------------------------------

    def attach(self) -> Session:
        """Hook into NEURON: the next ``h.finitialize`` starts recording."""
        if self._state != "created":
            raise RuntimeError(f"session already {self._state}")
        h = self._h
        h.cvode.use_fast_imem(1)
        # Type 2 runs at the end of finitialize: pointers are valid only from then on.
        self._fih = h.FInitializeHandler(2, self._on_init)
        # NEURON removes the callback by identity: keep the one bound-method object.
        self._step_callback = self._on_step
        h.cvode.extra_scatter_gather(0, self._step_callback)
        self._state = "attached"
        self._guard.install()
        return self

    def _detach(self) -> None:
        # Removing the callback from inside itself would change NEURON's list while NEURON
        # walks it; a closed session's callback returns at once instead.
        if self._step_callback is not None and not (self._in_step or self._in_callback):
            self._h.cvode.extra_scatter_gather_remove(self._step_callback)
            self._step_callback = None
        self._fih = None
        self._inflight = None  # a chunk still in flight after a failure is dropped
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None

    def _fail(self, err: BaseException) -> None:
        """Stop recording after ``err``; it is raised once NEURON has returned."""
        if self._error is None:
            self._error = err
        self._state = "failed"
        # stdrun's continuerun (h.run, h.continuerun) stops after this step without an
        # exception, so NEURON prints no hoc stack; drivers that ignore stoprun see _RunStopped.
        self._h.stoprun = 1

    @property
    def _t_reached(self) -> float:
        """The time (ms) the run has reached; inside the step callback ``h.t`` still lags the
        sample being taken by one step, so the last sample's time counts too."""
        t = float(self._h.t)
        if self._state in ("recording", "interrupted", "failed", "stopped") and self._n_taken:
            t = max(t, self._t0 + (self._n_taken + self._sampler.fill - 1) * self._sdt)
        return t

    def _on_init(self) -> None:
        h = self._h
        if self._state == "attached":
            self._gc.pause()  # before the buffers are allocated, inside finitialize
        try:
            if self._state == "recording":
                t_last = self._t0 + (self._n_taken + self._sampler.fill - 1) * self._sdt
                self._stopped_by = RuntimeError(
                    f"h.finitialize was called again after the sample at t = {t_last:g} ms; "
                    "recording stopped there (use one session per run)")
                logger.warning("%s", self._stopped_by)
                self._complete_pending(valid=False)  # the states were just re-initialised
                self._flush(final=True)
                self._detach()
                self._state = "stopped"
                return
            if self._state != "attached":
                return
            if h.cvode.active():
                raise RuntimeError("variable time step (CVode) is not supported: signals samples "
                                   "on the fixed time grid; call h.cvode.active(0)")
            if not h.cvode.use_fast_imem():
                h.cvode.use_fast_imem(1)  # NetPyNE's run setup may have turned it off
            moved = self.network.moved_cells()
            if moved:
                raise ValueError(moved)
            self._start()
        except Exception as err:
            self._fail(err)
            if self.comm.nhost > 1:
                # one rank alone may fail here: without an abort the others would wait for it
                # in the first chunk's collectives forever
                raise
            # Serially nothing is raised into NEURON (it would print the traceback and wrap it
            # in hoc text): initialize() raises it when finitialize returns, and a run driven
            # by the user stops at its first step (see _on_step).

    def _start(self) -> None:
        h = self._h
        dt = float(h.dt)
        every = 1 if self.record_dt is None else round(self.record_dt / dt)
        if every < 1 or abs(every * dt - (self.record_dt or dt)) > 1e-9 * dt:
            raise ValueError(f"record_dt = {self.record_dt} ms is not a multiple of h.dt = {dt} ms")
        self._every = every
        self._dt = dt
        self._sdt = every * dt
        self._t0 = float(h.t)
        self._step_count = 0
        # NEURON's t and dt read through pointers: 0.03 µs per step against 1.7 µs for h.dt
        self._ref_t, self._ref_dt = h._ref_t, h._ref_dt
        n = len(self.network)
        # The t = 0 sample: not NEURON's i_membrane_ after finitialize (zero for a uniform
        # potential, an unphysical value otherwise) but the axial currents the initial potentials
        # drive into each segment (signals.engine.initial); zero for a uniform potential too.
        t0 = time.perf_counter()
        self._sampler = Sampler(self.network.segments, self.ctx.pointer_groups,
                                self.chunk_samples, defer_rows=self._defer_rows, every=every,
                                mode=self.sampling, dtype=self.dtype,
                                sets=2 if self.pipeline else 1)
        self.timings["start"] += time.perf_counter() - t0
        self._n_samples = self._n_taken = 0
        if self.pipeline:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="signals-chunks")
        if self._writer is not None:
            self._writer.set_attrs({"dt": dt, "record_dt": self._sdt, "t_start": self._t0,
                                    "sampling": "mean" if self._sampler.mean else "point",
                                    "membrane_current_read": "node storage copy"
                                    if self._sampler.contiguous else "pointer gather",
                                    "buffer_dtype": self.dtype,
                                    "pipeline": int(self.pipeline),
                                    **self._initial_v()})
        self._state = "recording"
        self._sample(imem=initial_membrane_currents(self.network.segments) if n else None)
        self._complete_pending()  # at initialisation the states are already final

    def _initial_v(self) -> dict[str, float]:
        """``v_init`` (mV) as NEURON initialised it, when every local segment has the same v.

        Read after ``finitialize`` (and any type-1 handlers that set v), so it is the initial
        potential of the run, whatever argument ``finitialize`` got.
        """
        segs = self.network.segments
        if not segs:
            return {}
        v = np.fromiter((seg.v for seg in segs), dtype=float, count=len(segs))
        if np.ptp(v) > 1e-9:
            return {"v_init_min": float(v.min()), "v_init_max": float(v.max())}
        return {"v_init": float(v[0])}

    def _sample(self, imem: np.ndarray | None = None) -> None:
        """Take a sample (see :meth:`Sampler.sample`); flush a full buffer."""
        self._sampler.sample(imem)
        if self._sampler.full:
            self._flush()

    def _complete_pending(self, valid: bool = True) -> None:
        """Complete the pending row's state-phase values; flush a full buffer."""
        self._sampler.complete_pending(valid)
        if self._sampler.full:
            self._flush()

    def _on_step(self) -> None:
        if self._state != "recording":
            if self._state == "failed" and self.comm.nhost == 1 and not self._stop_raised:
                # the driver ignored stoprun (e.g. pc.psolve): only an exception stops it
                self._stop_raised = True
                raise _RunStopped(f"signals stopped the run: {self._error}")
            return
        self._in_step = True
        try:
            if self._ref_dt[0] != self._dt:
                if self._ref_t[0] < self._t0:
                    return  # steady-state settling before the run (e.g. dt = 1e9 at t = -1e10)
                raise RuntimeError(f"h.dt changed from {self._dt} to {self._ref_dt[0]} ms during "
                                   "the run; samples lie on a fixed time grid: use one dt per run")
            if self._step_count == 0:
                self._anchor_clock()
            if self._defer_rows:
                self._complete_pending()
            self._step_count += 1
            sampler = self._sampler
            if sampler.mean:
                t0 = time.perf_counter()
                sampler.step(self._step_count)
                self.timings["sample"] += time.perf_counter() - t0
                if sampler.full:
                    self._flush()
            if self._step_count % self._every == 0:
                t0 = time.perf_counter()
                sampler.sample()
                self.timings["sample"] += time.perf_counter() - t0  # the reading alone
                if sampler.full:
                    self._flush()
        except Exception as err:
            # Nothing is raised into NEURON: under MPI an exception escaping a callback makes
            # NEURON call MPI_Abort, killing rank 0 before it can close the file; serially
            # NEURON wraps it in hoc text. Failures are agreed on by all ranks in _flush, every
            # rank stops recording here, and run()/close()/__exit__ raise the original error.
            self._fail(err)
        finally:
            self._in_step = False
        if self._state == "interrupted" and not self._driving:
            # The user drives NEURON: end the run file now, then obey the signal here.
            self._in_callback = True
            try:
                self.close()
            except BaseException as err:  # e.g. KeyboardInterrupt from SIGINT's handler
                self._error = err
                raise
            finally:
                self._in_callback = False

    def _anchor_clock(self) -> None:
        """Start the time axis where the run's first step really starts.

        A tool may move ``h.t`` between ``finitialize`` and the first step: LFPy initialises at
        t = 0, then sets ``h.t = tstart`` (e.g. -50 ms of settling) and integrates from there,
        taking the initialised state as the state at ``tstart``.
        """
        start = float(self._h.t)  # the callback of a step sees h.t before NEURON advances it
        if abs(start - self._t0) > 1e-6 * self._dt:
            self._t0 = start
            if self._writer is not None:
                self._writer.set_attrs({"t_start": start})

    def _flush(self, final: bool = False) -> None:
        """Hand the buffered samples to the recorders; complete the chunk before them.

        The main-thread recorders see the new chunk now (they may read NEURON's state at its
        end); with ``pipeline`` the others get it on the worker thread, and the previous chunk,
        whose products the worker has finished meanwhile, is completed: reduced and written.
        ``final``: the last call of a run; every chunk is completed before it returns, and it
        runs even without buffered samples, because event recorders (spikes) may hold events
        detected after the last sample.
        """
        self._sampler.finish()  # a run that ended inside an averaged interval
        n = self._sampler.fill
        if n == 0 and not final:
            return
        done = self._collect()  # frees the buffer set the next samples go into
        batch = self._sampler.hand_over()
        t = self._t0 + (self._n_taken + np.arange(n)) * self._sdt
        chunk = Chunk(imem=batch.currents(), t=t, start=self._n_taken, pointers=batch.pointers())
        self._n_taken += n
        outputs, error = {}, None
        recorders, specs = self._main
        if recorders:
            try:
                outputs = run_recorders(recorders, chunk, specs, self._blas_limit,
                                        timings=self.timings)
            except Exception as err:
                error = err
        if self._worker is None:  # nothing in flight: this chunk is done now
            self._complete(*self._process(chunk, outputs, error))
            return
        self._inflight = self._worker.submit(self._process, chunk, outputs, error)
        if done is not None:
            self._complete(*done)
        if final:
            self._drain()

    def _process(self, chunk: Chunk, outputs: dict, error: BaseException | None):
        """The thread-safe recorders' outputs for ``chunk``, with the main-thread ones' (on the
        worker thread with ``pipeline``: nothing here may touch NEURON or MPI)."""
        recorders, specs = self._threaded
        if error is None and recorders:
            try:
                outputs = {**outputs, **run_recorders(recorders, chunk, specs, self._blas_limit,
                                                      timings=self.timings)}
            except Exception as err:
                error = err
        return chunk.t, outputs, error

    def _collect(self):
        """Wait for the chunk in flight: ``(t, outputs, error)``, or None if there is none."""
        if self._inflight is None:
            return None
        future, self._inflight = self._inflight, None
        t0 = time.perf_counter()
        done = future.result()
        self.timings["wait"] += time.perf_counter() - t0
        return done

    def _drain(self) -> None:
        """Complete the chunk in flight, if any."""
        done = self._collect()
        if done is not None:
            self._complete(*done)

    def _complete(self, t: np.ndarray, outputs: dict, local_error: BaseException | None) -> None:
        """Agree on failures and signals across ranks, reduce to rank 0 and write the chunk."""
        timings = self.timings
        t0 = time.perf_counter()
        # Collective on every chunk so that a failure or a termination signal on one rank ends
        # all ranks at this same chunk, not a hang.
        message = None if local_error is None else f"{type(local_error).__name__}: {local_error}"
        states = [(message, self._guard.received)]
        if self.comm.nhost > 1:
            states = self.comm.broadcast(self.comm.gather_objects(states[0]))
        errors = [f"rank {i}: {m}" if self.comm.nhost > 1 else m
                  for i, (m, _) in enumerate(states) if m]
        if local_error is not None:
            raise local_error
        if errors:
            raise RuntimeError("recording failed on another rank: " + "; ".join(errors))
        t1 = time.perf_counter()
        reduced = self.comm.reduce_outputs(outputs, {k: v.reduce for k, v in self._specs.items()})
        if reduced is not None:
            reduced = sort_ragged(reduced, self._specs)
        t2 = time.perf_counter()
        timings["agree"] += t1 - t0
        timings["reduce"] += t2 - t1
        write_error = None
        if self._writer is not None:
            try:
                self._writer.append(t, reduced, t_reached=self._t_reached)
            except OSError as err:
                write_error = err
        if self.comm.nhost > 1:  # rank 0's write failure stops every rank at this chunk
            failed = self.comm.broadcast(None if write_error is None else str(write_error))
            if failed and write_error is None:
                write_error = RuntimeError(f"rank 0 could not write the run file: {failed}")
        if write_error is not None:
            raise write_error
        timings["write"] += time.perf_counter() - t2
        timings["chunks"] += 1
        self._n_samples += t.size
        signums = [sig for _, sig in states if sig is not None]
        if signums and self._signal is None:
            self._signal = signums[0]
            self._stopped_by = self._interruption()
            if self._state == "recording":
                self._state = "interrupted"
                self._h.stoprun = 1

    def _interruption(self) -> _Interrupted:
        """Why the file ends where it does after the agreed termination signal."""
        t_last = self._t0 + (self._n_samples - 1) * self._sdt
        return _Interrupted(f"interrupted by {describe(self._signal)} at t = {t_last:g} ms: the "
                            f"{self._n_samples} samples up to there are in the file")

    def initialize(self, v_init: float = -65.0) -> None:
        """``h.finitialize(v_init)`` (mV), re-raising the session's own error if setup fails."""
        if self._state == "created":
            self.attach()
        try:
            self._h.finitialize(v_init)
        except Exception:
            if self._error is not None:
                raise self._error from None
            raise
        if self._error is not None:
            raise self._error

    # -- running ------------------------------------------------------------------------------

    def run(self, tstop: float, *, progress: bool | None = None) -> None:
        """Advance the initialised model to ``tstop`` (ms), in chunk-sized pieces.

        Uses ``pc.psolve`` under MPI, ``h.continuerun`` otherwise; shows a progress bar on the
        terminal for runs that take more than a few seconds (in a log, where stderr is not a
        terminal, a line per tenth of the run; ``progress=False`` hides it).
        """
        from signals.engine.progress import progress as progress_display

        h = self._h
        tstop = check_positive(tstop, "tstop (ms)")
        if self._state != "recording":
            raise RuntimeError("call h.finitialize() (after attach) before run()")
        piece = max(self.chunk_samples * self._sdt, 10 * float(h.dt))
        pc = h.ParallelContext() if self.comm.nhost > 1 else None
        show = self.comm.rank == 0 and progress is not False
        self._driving = True
        try:
            with progress_display(round(tstop - h.t, 6), show=show) as bar:
                while h.t < tstop - 0.5 * h.dt and self._state == "recording":
                    t_before = float(h.t)
                    target = min(t_before + piece, tstop)
                    try:
                        if pc is not None:
                            pc.psolve(target)
                        else:
                            h.continuerun(target)
                    except Exception as err:
                        if self._error is not None:
                            raise self._error from None
                        raise RuntimeError(f"NEURON failed at t = {h.t} ms: {err}") from err
                    if self._error is not None:
                        raise self._error
                    self._gc.collect_young()  # between pieces: NEURON is not inside a step
                    bar.update(round(float(h.t) - t_before, 6))
                    if h.t <= t_before:
                        break
        finally:
            self._driving = False
        if self._state == "interrupted":
            self.close()  # closes the file as incomplete, then re-raises the signal

    def close(self, error: BaseException | None = None) -> None:
        """Flush the last partial chunk, mark the file complete (or incomplete) and detach.

        ``error`` is an exception already on its way up (the file is marked incomplete). A
        failure that happened inside NEURON's callbacks and was not raised there (under MPI) is
        raised here, after the file is closed.
        """
        if self._state == "closed":
            return
        t_reached = self._t_reached
        pending = self._error if error is None else None
        # the session's own error, not NEURON's hoc wrapper of it
        error = self._error or error
        try:
            if error is None and self._state == "recording":
                self._complete_pending()  # the last step has finished: its states are final
                self._flush(final=True)
            elif error is None and self._state == "interrupted":
                self._drain()  # the chunk in flight when the signal was agreed
                self._stopped_by = self._interruption()
        except BaseException as err:
            error = err
            raise
        finally:
            state, self._state = self._state, "closed"
            self._detach()
            reason = error or self._stopped_by
            if reason is None and state == "attached":
                reason = RuntimeError("no samples: h.finitialize was never called after attach")
            if self._writer is not None:
                if isinstance(reason, _Interrupted):
                    reason = str(reason)  # the message alone: "interrupted by SIGTERM at ..."
                self._writer.close(error=reason, attrs={"n_samples": self._n_samples,
                                                        "tstop": t_reached})
            # No rank may leave before rank 0 has closed the file: mpiexec kills the whole job
            # when one rank exits with an error, which would leave a half-written file.
            self.comm.barrier()
            self._guard.restore()
            self._gc.resume()
        signum = self._signal or self._guard.received
        if signum is not None:
            self._guard.deliver(signum, exception_aborts=self._in_callback and self.comm.nhost > 1)
        if pending is not None:
            raise pending

    def __enter__(self) -> Session:
        if self._state == "created":
            self.attach()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # NEURON's hoc wrapper of an error raised in a callback (on 8.2 a bare
        # RuntimeError('hocobj_call error') even where NEURON 9 passes the error through): the
        # session kept its own exception; record that one in the file and raise it instead.
        own = self._error if isinstance(exc, Exception) and exc is not self._error else None
        self.close(error=own or exc)
        if own is not None:
            raise own from None


class _CollectorPause:
    """Python's cyclic garbage collector off from ``finitialize`` until the session closes.

    A collection may run in any callback or thread that allocates. If it frees a NEURON object
    (a cell of an earlier model kept in a reference cycle, e.g. one that refers to itself or
    holds a bound method of itself as a callback) while NEURON
    is inside ``finitialize`` or a step, NEURON 9 raises "acquire_owning_identifier() called on
    a frozen structure" through Python's frames and the process crashes (seen when the buffers
    were allocated inside ``finitialize``); on the worker thread it would free NEURON state
    while NEURON runs. Reference counting still frees everything not in a cycle; young cycles
    are collected between the pieces :meth:`Session.run` drives, and everything at close.
    """

    def __init__(self) -> None:
        self._paused = False

    def pause(self) -> None:
        if gc.isenabled():
            gc.disable()
            self._paused = True

    def collect_young(self) -> None:
        if self._paused:
            gc.collect(0)

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            gc.enable()


class _RunStopped(RuntimeError):
    """Raised into a NEURON driver that ignores ``stoprun`` after recording failed."""


class _Interrupted(RuntimeError):
    """Why a run file is incomplete after a termination signal (written, never raised)."""


def _warn_geometry(coords: Mapping[str, tuple], lo: np.ndarray, hi: np.ndarray) -> None:
    """Warn, once per run, about a degenerate network or a probe far from it (rank 0)."""
    import warnings

    from signals.sanity import geometry_warnings

    electrodes = None
    if "electrode_x" in coords:
        electrodes = np.column_stack([coords[f"electrode_{k}"][1] for k in "xyz"])
    pos = np.column_stack([coords[f"cell_{k}"][1] for k in "xyz"])
    for message in geometry_warnings(coords["cell"][1], pos, lo, hi, electrodes):
        warnings.warn(f"network geometry: {message}", stacklevel=4)


def _concat_statics(parts: list[dict[str, tuple]]) -> dict[str, tuple]:
    """Every rank's static arrays joined along their first dim; empty ones are left out."""
    out: dict[str, tuple] = {}
    for name in parts[0]:
        dims, _, attrs = parts[0][name]
        values = np.concatenate([np.asarray(p[name][1]) for p in parts], axis=0)
        if len(values):
            out[name] = (dims, values, attrs)
    return out


def attach(
    network: SegmentTable | None,
    recorders: Sequence[Recorder | str],
    *,
    path: str | os.PathLike,
    **kwargs: Any,
) -> Session:
    """Start recording the next run you drive yourself.

    Returns an attached :class:`Session`; call ``h.finitialize`` and ``h.continuerun`` (or
    NetPyNE's ``sim.runSim()``), then ``session.close()`` — or use it as a context manager.
    Keyword arguments are those of :class:`Session`.
    """
    return Session(network, recorders, path=path, **kwargs).attach()


def record(
    network: SegmentTable | None,
    recorders: Sequence[Recorder | str],
    *,
    tstop: float,
    path: str | os.PathLike,
    dt: float | None = None,
    v_init: float = -65.0,
    progress: bool | None = None,
    **kwargs: Any,
) -> Path:
    """Initialise and run the model, recording it into a run file.

    Parameters
    ----------
    network : SegmentTable or None
        Segments to record (see :mod:`signals.network`); ``None``: every section.
    recorders : sequence of Recorder or str
        What to record, e.g. ``[LFP(probe), Spikes()]``.
    tstop : float > 0
        Stop time (ms).
    path : str or Path
        Run file (netCDF4) to write.
    dt : float > 0, optional
        Time step (ms); default: the current ``h.dt``.
    v_init : float
        Initial membrane potential (mV) passed to ``h.finitialize``.
    progress : bool, optional
        Progress bar on the terminal (shown after a few seconds unless False).
    **kwargs
        ``record_dt``, ``sampling``, ``chunk_samples``, ``dtype``, ``blas_threads``, ``attrs``,
        ``compression``, ``mpi_backend``, ``pipeline``: see :class:`Session`.

    Returns
    -------
    Path
        The run file; open it with :func:`signals.open_run`.
    """
    from neuron import h

    tstop = check_positive(tstop, "tstop (ms)")
    if isinstance(v_init, bool) or not isinstance(v_init, int | float) or not np.isfinite(v_init):
        raise ValueError(f"v_init must be a finite membrane potential (mV), got {v_init!r}")
    h.load_file("stdrun.hoc")  # before setting dt: loading stdrun resets it
    if dt is not None:
        h.dt = check_positive(dt, "dt (ms)")
    if tstop < h.dt:
        raise ValueError(f"tstop = {tstop} ms is shorter than one time step (h.dt = {h.dt} ms)")
    record_dt = kwargs.get("record_dt")
    if record_dt is not None:
        every = check_positive(record_dt, "record_dt (ms)") / h.dt
        if round(every) < 1 or abs(every - round(every)) > 1e-9:
            raise ValueError(f"record_dt = {record_dt} ms is not a multiple of h.dt = {h.dt} ms")
        if record_dt > tstop:
            raise ValueError(f"record_dt = {record_dt} ms exceeds tstop = {tstop} ms: the run "
                             "would hold only the sample at t = 0")
    if network is not None and getattr(network, "run_note", ""):
        raise ValueError(f"signals.record cannot run this network itself: {network.run_note}")
    attrs = {"tstop_requested": tstop, "v_init": v_init, **dict(kwargs.pop("attrs", None) or {})}
    session = Session(network, recorders, path=path, attrs=attrs, **kwargs)
    if session.comm.nhost > 1:
        h.ParallelContext().set_maxstep(10)
    with session:
        session.initialize(v_init)
        session.run(tstop, progress=progress)
    return session.path
