"""Per-chunk reduction of partial outputs to rank 0 and the single writer, for S1-sized outputs.

Not a test: a micro-benchmark of the part of a recorded MPI run that does not shrink with the
number of ranks. Every chunk, every rank hands its partial outputs to rank 0 and rank 0 alone
writes them; the other ranks wait for its verdict on the write (the session's ``_flush``).
This script replays those steps with :class:`signals.engine.parallel.Comm` exactly as the
session calls it, on arrays of the shapes an S1-style recording produces, and times them on
rank 0:

``agree`` (ms per chunk)
    ``comm.broadcast(comm.gather_objects((message, signal)))``: every rank's error and
    termination state, gathered and broadcast (the collective that stops all ranks together).
``reduce`` (ms per chunk)
    ``comm.reduce_outputs(outputs, ops)`` (mpi4py buffer ``Reduce`` for the summed arrays, or
    NEURON's ``ParallelContext.py_gather`` of pickles summed on rank 0; spikes gathered as
    objects either way), then ``signals.engine.driver.sort_ragged`` of the spikes on rank 0.
``write`` (ms per chunk)
    ``signals.store.RunWriter.append`` of the reduced chunk on rank 0 (uncompressed, one
    ``sync`` per chunk, the package default), then ``comm.broadcast`` of its verdict.

Every call is preceded by a barrier, so the times are the communication and the write
themselves, not a wait for a slower rank. The same ``RunWriter.append`` also runs alone in a
serial process (no MPI): the write throughput of this machine's disk (through the page cache:
``sync`` flushes HDF5 to the operating system, it does not ``fsync``).

Outputs per chunk of ``L`` samples (float64, as the run file declares them), from the real
recorders' ``variables()`` and ``coords()``:

- ``lfp`` (L, 416): one :class:`~signals.recorders.LFP` on a 384-contact + a 32-contact probe
  (one recorder: LFP recorders share the ``electrode`` dim, so two probes are one list of
  contacts; the bytes are the same as two recorders),
- ``dipole`` (L, 3) and ``dipole_population`` (L, 10, 3): :class:`~signals.recorders.Dipole`
  with 10 populations,
- ``eeg`` (L, S): :class:`~signals.recorders.EEG`, four-sphere head, S = 64 sensors (BioSemi
  64 names, ``--sensors 21`` for the classic 10-20 set),
- ``spike_time``, ``spike_gid`` (gathered): 31,000 cells at ``--rate`` Hz (default 5) over the
  chunk's model time at ``record_dt = 0.1`` ms, split evenly over the ranks.

Chunk lengths ``L``: the default ``chunk_samples`` of an S1 run (10 M segments) on 64 ... 1024
ranks, ``signals.engine.driver.chunk_length(10e6 / ranks, itemsize=8 or 4)`` (one 16 MiB
buffer: with one core per rank there is no worker-thread pipeline and its second buffer;
rank 0's width decides; f4 buffers hold twice the samples): 13, 26, 53, 107, 214 and 429
samples.

Per simulated second: ``chunks = ceil(samples / L)`` with 10,000 samples at ``record_dt =
0.1`` ms and 40,000 when sampling every step (dt = 0.025 ms); "s per sim s" is ``chunks *
(agree + reduce + write)``: time on rank 0 per second of model time, on the critical path of
every rank. MB/s is the reduced chunk's bytes (decimal MB) over that time.

Configurations: serial (write only), ``mpiexec -n 2`` (this machine has 2 cores), ``mpiexec -n
4`` (oversubscribed: 4 ranks on 2 cores; MPICH's busy-polling ranks then share cores, so its
numbers show a trend at best, not 4-rank performance; fewer calls there). Jobs run round-robin
over the repeats (``harness.run_plan``). The machine is shared: tables give each phase as the
median over a job's calls (minimum over jobs) and the total both as the fastest call ("min":
the machine's floor) and as that median ("med": what a loaded machine gave).

Usage::

    python benchmarks/reduce_write.py                 # ~3 min: serial and 2 ranks 5 jobs, 4 ranks 1
    python benchmarks/reduce_write.py --ranks 2 --repeats 2 --json rw.json
    python benchmarks/reduce_write.py --quick         # one job each, few calls
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
import numpy as np

BIN = Path(sys.executable).parent
BACKENDS = ("mpi4py", "neuron")
DT = 0.025  # ms
RECORD_DT = 0.1  # ms
S1_SEGMENTS = 10_000_000  # segments of the S1 network
S1_CELLS = 31_000  # cells of the S1 network
S1_RANKS = (64, 128, 256, 512, 1024)  # MPI rank counts of the S1 tables
N_POPULATIONS = 10
CONTACTS = (384, 32)  # contacts of the two probes
PHASES = ("agree", "reduce", "write")  # rank 0's parts of a chunk (see the module docstring)


def s1_chunk_length(ranks: int, itemsize: int = 8, segments: int = S1_SEGMENTS) -> int:
    """Default ``chunk_samples`` of an S1 run on ``ranks`` ranks (segments split evenly)."""
    from signals.engine.driver import chunk_length

    return chunk_length(math.ceil(segments / ranks), itemsize=itemsize)


def default_lengths() -> list[int]:
    """The S1 default chunk lengths (samples) on :data:`S1_RANKS`, float64 and float32."""
    return sorted({s1_chunk_length(p, k) for p in S1_RANKS for k in (8, 4)})


def samples_per_sim_s(record_dt: float) -> int:
    """Samples in one second of model time at ``record_dt`` (ms)."""
    return round(1000.0 / record_dt)


# -- the outputs of one chunk -----------------------------------------------------------------


def s1_recorders(sensors: int, *, z_top: float = 0.0, spikes: bool = True) -> list:
    """The S1 recorders: a 384-contact probe (10 µm pitch) and a 32-contact one (50 µm pitch,
    300 µm beside it) ending at ``z_top`` (µm) as one LFP, Dipole(), EEG(), Spikes()."""
    import signals
    from signals.recorders import EEG, LFP, Dipole, Spikes

    z = z_top + np.concatenate([np.linspace(-3830, 0, CONTACTS[0]),
                                np.linspace(-1550, 0, CONTACTS[1])])
    x = np.concatenate([np.zeros(CONTACTS[0]), np.full(CONTACTS[1], 300.0)])
    probe = signals.electrodes.points(np.column_stack([x, np.zeros_like(x), z]))
    if sensors == 21:
        names = None
    else:
        import mne

        names = mne.channels.make_standard_montage("biosemi64").ch_names[:sensors]
    return [LFP(probe), Dipole(), EEG(sensors=names)] + ([Spikes()] if spikes else [])


def s1_layout(sensors: int) -> tuple[dict, dict]:
    """``(coords, variables)`` of a RunWriter for the S1 outputs (the recorders' own)."""
    from signals.recorder import Context

    ctx = Context(segments=None, populations=tuple(f"pop{k}" for k in range(N_POPULATIONS)))
    coords, variables = {}, {}
    for rec in s1_recorders(sensors):
        variables.update(rec.variables())
        coords.update(rec.coords(ctx))
    return coords, variables


def chunk_outputs(variables: dict, coords: dict, length: int, n_spikes: int,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One rank's partial outputs of one chunk of ``length`` samples (random values)."""
    sizes = {d: np.shape(v)[k] for dims, v, _ in coords.values() for k, d in enumerate(dims)}
    out = {}
    for name, spec in variables.items():
        if spec.dims[0] == "spike":
            out[name] = (np.sort(rng.uniform(0, length * RECORD_DT, n_spikes))
                         if np.dtype(spec.dtype).kind == "f"
                         else rng.integers(0, S1_CELLS, n_spikes).astype(spec.dtype))
        else:
            shape = (length, *[sizes[d] for d in spec.dims[1:]])
            out[name] = rng.standard_normal(shape).astype(spec.dtype)
    return out


def spikes_per_chunk(length: int, rate: float) -> int:
    """Spikes of the whole network in one chunk (``rate`` Hz, ``record_dt`` = 0.1 ms)."""
    return round(S1_CELLS * rate * length * RECORD_DT / 1000.0)


# -- the child ----------------------------------------------------------------------------------


def _stats(times: list[float]) -> dict:
    """Minimum and median (ms) of call times (s)."""
    return {"min_ms": min(times) * 1e3, "median_ms": statistics.median(times) * 1e3}


def _run_lengths(comm, pc, lengths, n_iter, warmup, sensors, rate, tmp: Path, tag: str) -> dict:
    """Time agree, reduce and write for every chunk length (rank 0's numbers)."""
    from signals.engine.driver import sort_ragged
    from signals.store import RunWriter

    coords, variables = s1_layout(sensors)
    ops = {k: v.reduce for k, v in variables.items()}
    rank, nhost = comm.rank, comm.nhost
    rng = np.random.default_rng(rank)
    res = {}
    for length in lengths:
        n_spikes = spikes_per_chunk(length, rate)
        local = n_spikes // nhost + (rank < n_spikes % nhost)
        outputs = chunk_outputs(variables, coords, length, local, rng)
        writer = None
        if rank == 0:
            writer = RunWriter(tmp / f"{tag}-{length}.nc", coords=coords, variables=variables,
                               attrs={}, chunk_len=length)
        times = {p: [] for p in PHASES}
        nbytes = 0
        for k in range(warmup + n_iter):
            t = (k * length + np.arange(length)) * RECORD_DT
            if nhost > 1:
                pc.barrier()
            t0 = time.perf_counter()
            if nhost > 1:
                comm.broadcast(comm.gather_objects((None, None)))
            t1 = time.perf_counter()
            reduced = comm.reduce_outputs(outputs, ops)
            if reduced is not None:
                reduced = sort_ragged(reduced, variables)
            t2 = time.perf_counter()
            if writer is not None:
                writer.append(t, reduced)
                nbytes = t.nbytes + sum(v.nbytes for v in reduced.values())
            if nhost > 1:
                comm.broadcast(None)
            t3 = time.perf_counter()
            if k >= warmup:
                for p, dt in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                    times[p].append(dt)
        if writer is not None:
            writer.close()
            (tmp / f"{tag}-{length}.nc").unlink()
        total = [a + b + c for a, b, c in zip(*times.values(), strict=True)]
        res[str(length)] = {**{p: _stats(v) for p, v in times.items()},
                            "total": _stats(total), "bytes": nbytes,
                            "spikes": n_spikes}
    return res


def run_child(args) -> None:
    """One job (one rank of it): every backend and chunk length; rank 0 emits the record."""
    from signals.engine.parallel import Comm, init_mpi_if_launched

    nhost = init_mpi_if_launched()  # h.nrnmpi_init() under mpiexec, before anything else
    from neuron import h

    pc = h.ParallelContext()
    rank = int(pc.id())
    lengths = [int(x) for x in args.lengths]
    res: dict = {"nhost": nhost, "n_iter": args.n_iter}
    tmp = Path(tempfile.mkdtemp(prefix="signals-rw-")) if rank == 0 else None
    try:
        backends = BACKENDS if nhost > 1 else ("serial",)
        for backend in backends:
            comm = Comm() if backend == "serial" else Comm.from_neuron(backend)
            if nhost > 1 and (comm._mpi is None) != (backend == "neuron"):
                raise RuntimeError(f"backend {backend} not in use (mpi4py missing?)")
            res[backend] = _run_lengths(comm, pc, lengths, args.n_iter, args.warmup,
                                        args.sensors, args.rate, tmp, backend)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    if rank == 0:
        harness.emit(res)
    pc.barrier()
    h.quit()


# -- the parent ---------------------------------------------------------------------------------


def find_mpiexec() -> str | None:
    """The venv's ``mpiexec`` (the mpich wheel's), else the one on ``PATH``."""
    return shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")


def oversubscribed(nranks: int) -> bool:
    """Whether ``nranks`` ranks are more than this machine's cores."""
    return nranks > (os.cpu_count() or 1)


def measure(ranks: list[int], repeats: int, lengths: list[int], n_iter: int, warmup: int,
            sensors: int, rate: float, *, repeats_over: int = 1, n_iter_over: int = 8,
            timeout: float = 600.0) -> harness.Results:
    """Run the jobs (``1`` in ``ranks``: the serial write-only job) round-robin over repeats.

    Oversubscribed jobs (more ranks than cores) get ``repeats_over`` jobs of ``n_iter_over``
    calls: each of their collectives waits for descheduled ranks, a job takes minutes.
    """
    mpiexec = find_mpiexec()

    def spawn(nranks: int) -> dict:
        calls = n_iter_over if oversubscribed(nranks) else n_iter
        cmd = harness.script_command(__file__, "--child", "--lengths", *lengths, "--n-iter",
                                     calls, "--warmup", warmup, "--sensors", sensors,
                                     "--rate", rate)
        if nranks > 1:
            if mpiexec is None:
                return {"skipped": "mpiexec not found (pip install mpich mpi4py)"}
            cmd = [mpiexec, "-n", str(nranks), *cmd]
        res = harness.spawn(cmd, timeout=timeout, env=harness.mpi_env(), nranks=max(nranks, 1))
        if "error" not in res and res.get("nhost") != max(nranks, 1):
            return {"error": f"ran on {res.get('nhost')} ranks, expected {nranks}"}
        return res

    def describe(key, rec) -> str:
        return f"(process {rec['process_s']:.1f} s, load {rec['load1']:.2f})"

    plan = [(n, repeats_over if oversubscribed(n) else repeats) for n in ranks]
    return harness.run_plan(plan, spawn, describe=describe,
                            label=lambda n: "serial write" if n <= 1 else f"{n} ranks")


def summarise(res: harness.Results) -> dict:
    """``{config: {L: {"agree"|"reduce"|"write"|"total": ms, "<phase>_min": ms, "bytes": B}}}``.

    Per phase: the median over a job's calls, the minimum over jobs; ``<phase>_min``: the
    minimum over every call of every job. Configs: ``serial``, ``<n> <backend>``.
    """
    out: dict = {}
    for nranks, recs in res.runs.items():
        backends = ("serial",) if nranks <= 1 else BACKENDS
        for backend in backends:
            name = "serial" if backend == "serial" else f"{nranks} {backend}"
            per = out.setdefault(name, {})
            for length in recs[0][backend]:
                rows = [r[backend][length] for r in recs]
                per[int(length)] = {
                    **{p: min(x[p]["median_ms"] for x in rows) for p in (*PHASES, "total")},
                    **{f"{p}_min": min(x[p]["min_ms"] for x in rows) for p in (*PHASES, "total")},
                    "bytes": rows[0]["bytes"], "spikes": rows[0]["spikes"], "jobs": len(rows),
                    "calls": recs[0].get("n_iter")}
    return out


def per_sim_s(ms_per_chunk: float, length: int, record_dt: float) -> float:
    """Seconds on rank 0 per second of model time: chunks per second times the chunk's cost."""
    return math.ceil(samples_per_sim_s(record_dt) / length) * ms_per_chunk / 1e3


def print_tables(summary: dict) -> None:
    """One Markdown table per configuration of :func:`summarise` (ms, MB, MB/s, s per sim s)."""
    for name, per in summary.items():
        rows = []
        for length, m in sorted(per.items()):
            ranks = [f"{p} f8" for p in S1_RANKS if s1_chunk_length(p, 8) == length]
            ranks += [f"{p} f4" for p in S1_RANKS if s1_chunk_length(p, 4) == length]
            lo, med = m["total_min"], m["total"]
            rows.append([length, ", ".join(ranks) or "-", f"{m['bytes'] / 1e6:.3f}",
                         f"{m['agree']:.3f}", f"{m['reduce']:.3f}", f"{m['write']:.3f}",
                         f"{lo:.3f}", f"{med:.3f}", f"{m['bytes'] / 1e3 / lo:.0f}",
                         f"{m['bytes'] / 1e3 / med:.0f}",
                         f"{per_sim_s(lo, length, RECORD_DT):.3f} / {per_sim_s(med, length, RECORD_DT):.3f}",
                         f"{per_sim_s(lo, length, DT):.3f} / {per_sim_s(med, length, DT):.3f}"])
        nranks, _, backend = name.partition(" ")
        config = ("serial process: RunWriter.append alone (no agree, no reduction)"
                  if name == "serial" else f"mpiexec -n {nranks}, backend {backend}"
                  + (" (OVERSUBSCRIBED: more ranks than the machine's cores)"
                     if oversubscribed(int(nranks)) else ""))
        first = next(iter(per.values()))
        harness.print_table(
            ["L samples", "S1 ranks (dtype)", "MB/chunk", "agree ms", "reduce ms", "write ms",
             "total min ms", "total med ms", "MB/s min", "MB/s med",
             "s/sim s, 0.1 ms (min / med)", "s/sim s, every step (min / med)"],
            rows, title=f"{config}; rank 0, per chunk; phases: median over {first['calls']} "
                        f"calls, min over {first['jobs']} jobs; total min: the fastest call")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one job per configuration, few calls")
    ap.add_argument("--ranks", type=int, nargs="+", default=None,
                    help="MPI rank counts (default 2 4); the serial write job always runs")
    ap.add_argument("--repeats", type=int, default=None, help="jobs per configuration (default 5)")
    ap.add_argument("--lengths", nargs="+", default=None,
                    help="chunk lengths (samples; default: the S1 defaults on 64-1024 ranks)")
    ap.add_argument("--n-iter", type=int, default=None, help="timed calls per length (default 40)")
    ap.add_argument("--repeats-over", type=int, default=1,
                    help="jobs per oversubscribed configuration (default 1)")
    ap.add_argument("--n-iter-over", type=int, default=8,
                    help="timed calls per length in oversubscribed jobs (default 8)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls first (default 3)")
    ap.add_argument("--sensors", type=int, default=64, choices=(21, 64), help="EEG sensors")
    ap.add_argument("--rate", type=float, default=5.0, help="mean firing rate (Hz) of the spikes")
    ap.add_argument("--json", metavar="FILE", help="also write the summary and records (JSON)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.lengths = args.lengths or default_lengths()
    args.n_iter = args.n_iter or (10 if args.quick else 40)
    if args.child:
        run_child(args)
        return 0
    repeats = args.repeats or (1 if args.quick else 5)
    ranks = args.ranks or [2, 4]
    harness.print_header("reduce_write", ("neuron", "neuro-signals", "mpi4py", "mpich", "numpy",
                                           "netCDF4"), blas=False)
    print(f"  mpiexec: {find_mpiexec() or 'not found'}; outputs: LFP {sum(CONTACTS)} contacts, "
          f"dipole + {N_POPULATIONS} populations, EEG {args.sensors} sensors, spikes of "
          f"{S1_CELLS} cells at {args.rate:g} Hz; {args.n_iter} calls per length")
    t_start = time.perf_counter()
    res = measure([1, *ranks], repeats, args.lengths, args.n_iter, args.warmup, args.sensors,
                  args.rate, repeats_over=args.repeats_over, n_iter_over=args.n_iter_over)
    summary = summarise(res)
    print_tables(summary)
    for line in res.failures:
        print(f"failed job (not in the tables): {line}")
    for key, why in res.skipped.items():
        print(f"{key} skipped: {why}")
    if args.json:
        harness.save(args.json, res, argv=sys.argv, summary={k: {str(n): v for n, v in per.items()}
                                                             for k, per in summary.items()})
    print(f"\ntotal benchmark time {time.perf_counter() - t_start:.0f} s; load average at end: "
          f"{harness.load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
