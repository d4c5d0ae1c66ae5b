"""Recording overhead and peak memory: signals vs a bare run vs NetPyNE ``recordLFP`` vs LFPy.

Not a test: a script that times variants side by side in one run and prints ratios
(the README's "How it works, and what it costs"). Every (variant, tstop) runs in a fresh
subprocess so that its peak RSS is its own; the parent collects one JSON record per run and
prints Markdown tables (the machinery is ``harness.py``; the network, probe and peers are
``peers.py``).

Variants (all on the same >= 10,000-segment network, dt = 0.025 ms, sampling every step):

``bare``
    ``signals.demo.build_network`` run with ``h.finitialize`` + ``h.continuerun``, no recording.
``bare_fast_imem``
    The same with ``h.cvode.use_fast_imem(1)``: the part of the recording cost that is NEURON
    computing ``i_membrane_``, which any LFP recorder needs.
``signals``
    LFP on a 32-contact laminar probe through :class:`signals.Session` (the body of
    :func:`signals.record`, split so that the recorder setup is timed apart from the run), with
    the default ``blas_threads=1``.
``signals_lfp_dipole_eeg``
    LFP (32 contacts) + ``Dipole()`` (total and per population) + ``EEG()`` (four-sphere head,
    the 21 classic 10-20 sensors): the design target, "LFP + dipoles <= 1.10 x bare".
``signals_record_dt_0.1``
    LFP (32 contacts) sampled with ``record_dt = 0.1`` ms, i.e. one sample per 4 steps of dt =
    0.025 ms, with the session's default ``sampling`` (``"mean"``: the currents averaged over
    the 4 steps; ``sampling_cost.py`` compares it with ``"point"``).
``signals_pipeline``, ``signals_lfp_dipole_eeg_pipeline``, ``signals_record_dt_0.1_pipeline``
    The same three with ``Session(pipeline=True)``: the products on a worker thread while
    NEURON integrates the next chunk (the default runs them on the main thread between two
    steps; the worker slows NEURON's per-step callback, see ``gil_release.py``).
``signals_chunk_200``
    LFP + dipole + EEG as above with ``chunk_samples=200``: a (200 x 10,500) float64 buffer
    (17 MB) that stays in this machine's 32 MB L3 cache across the recorders' GEMMs. The default
    is now chosen for a buffer of at most 16 MiB, 199 samples on this network, so this variant
    is the default within a sample; it was added when the default was 500 (42 MB).
``signals_blas_default``
    LFP with ``blas_threads=None`` (BLAS left at its default thread count).
``signals_profile``
    (cost split, not in the ratio table) where the time of the LFP + dipole + EEG runs goes, from
    :attr:`signals.Session.timings`, which every session keeps: the sampling (every segment's
    ``i_membrane_`` read into the chunk buffer), each recorder's ``on_chunk``, ``RunWriter.append``
    (``timings["write"]``), the per-chunk agreement and reduction, the pointer set-up at
    ``finitialize`` and ``session.close()`` apart from its last flush. The table is made from the
    ``signals_lfp_dipole_eeg`` runs at the largest tstop, so no extra run is needed; ``--variant
    signals_profile`` runs the same thing alone. What the timings cannot split (unlike the
    earlier timers wrapped around the session's private methods): the BLAS thread limit and the
    output checks around the recorders, the chunk assembly, the per-step bookkeeping outside the
    sampling (dt check, completing deferred rows) and ``RunWriter.close`` apart from the rest of
    ``close()``; they are in "unaccounted", or in the close row.
``store_append``
    (micro-benchmark, not in the ratio table) ``signals.store.RunWriter.append`` on the chunks of a
    real LFP + dipole + EEG recording (recorded by a short run, read back from its file and
    replayed to fresh files with the same variables and coordinates), as the package writes them
    (uncompressed, ``sync`` after every chunk), with zlib level 1 + shuffle, without the
    per-chunk ``sync`` (a ``netCDF4.Dataset`` subclass swapped in for the writer's
    construction), and with neither; plus the cost of the session's BLAS limit (reused
    ``ThreadpoolController.limit``, ``signals.engine.driver.BlasLimit``) against a fresh
    ``threadpool_limits`` per chunk.
``netpyne_bare`` / ``netpyne_lfp``
    The same-sized network (same cells, segments, populations, connection rules and background
    drive) built with NetPyNE, run bare and with ``cfg.recordLFP`` on 32 contacts and
    ``recordStep = dt`` (``peers.py``, with NetPyNE 1.1.1's ``setupRecordLFP`` re-defined for
    NEURON 9 there, never in the package).
``lfpy_bare`` / ``lfpy_lfp``
    The demo network's sections wrapped in one ``LFPy.Cell`` (``delete_sections=False``, no
    re-segmentation), run with ``cell.simulate()`` and with ``cell.simulate(probes=[electrode])``,
    an ``LFPy.RecExtElectrode`` on the same 32 contacts (LFPy's in-loop electrode).

The signals variants use ``signals.Session`` with its defaults (``chunk_samples``: up to 500, at
most 16 MiB of samples: 199 on this network, one chunk per ~5 ms of model time when sampling
every step).

"sim s" is the wall time of the simulation loop only (initialisation, run, last flush), never
the network build or the recorder setup. The table shows the minimum over the repeats (the
least-disturbed run: the machine is shared), plus the median. "cpu s" is the process CPU time
(all threads) of the same interval, min over the repeats: on a loaded machine it is far less
disturbed by other processes than wall time, so its ratio is the steadier estimate of the
recording cost (for ``signals_blas_default`` it adds the BLAS threads' time); "cpu ratio med"
is the ratio of the medians. Peak RSS is the peak of the run's own process up to the end of the
run (imports, network, recorder setup and run; checks made after the run are excluded); "ΔRSS
sim" is the peak RSS during the run (Linux ``VmHWM``, reset just before it) minus the RSS just
before it: what the run and its recording add.

Usage::

    python benchmarks/record_overhead.py            # full run (~12-15 min on 2 cores, ~4 of them peers)
    python benchmarks/record_overhead.py --quick    # smoke run
    python benchmarks/record_overhead.py --no-peers --tstops 200 --json runs.json   # keep the records
    python benchmarks/record_overhead.py --variant signals --tstop 200   # one child run (JSON)
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
import numpy as np
import peers
from peers import DT, N_CONTACTS, V_INIT

DEFAULT_SCALE = 7.5  # demo network scale: 900 cells, 10,500 segments
RECORD_DT = 0.1  # ms, the subsampled variant (every 4th step)
STORE_CAPTURE_MS = 60.0  # ms recorded to capture real chunks for the store micro-benchmark

MAIN_VARIANTS = ("bare", "bare_fast_imem", "signals", "signals_lfp_dipole_eeg", "signals_record_dt_0.1",
                 "signals_pipeline", "signals_lfp_dipole_eeg_pipeline",
                 "signals_record_dt_0.1_pipeline", "signals_chunk_200", "signals_blas_default")
PEER_VARIANTS = ("netpyne_bare", "netpyne_lfp", "lfpy_bare", "lfpy_lfp")
AUX_VARIANTS = ("signals_profile", "store_append")  # cost split and micro-benchmark: own tables
VARIANTS = MAIN_VARIANTS + PEER_VARIANTS + AUX_VARIANTS
#: the runs the cost split is made from (their Session.timings)
PROFILED = "signals_lfp_dipole_eeg"
#: what each signals variant records
LABELS = {
    "signals": "LFP (32 contacts), every step",
    "signals_lfp_dipole_eeg": "LFP + Dipole() + EEG() (four-sphere, 21 sensors), every step",
    "signals_record_dt_0.1": f"LFP, record_dt = {RECORD_DT} ms (one sample per "
                             f"{round(RECORD_DT / DT)} steps, default sampling)",
    "signals_pipeline": "LFP, every step, pipeline=True (products on a worker thread)",
    "signals_lfp_dipole_eeg_pipeline": "LFP + Dipole() + EEG(), every step, pipeline=True",
    "signals_record_dt_0.1_pipeline": f"LFP, record_dt = {RECORD_DT} ms, pipeline=True",
    "signals_chunk_200": "LFP + Dipole() + EEG(), every step, chunk_samples=200",
    "signals_blas_default": "LFP, every step, blas_threads=None",
}
#: variant → the bare run it is compared with
REFERENCE = {
    "bare": None,
    "bare_fast_imem": "bare",
    "signals": "bare",
    "signals_lfp_dipole_eeg": "bare",
    "signals_record_dt_0.1": "bare",
    "signals_pipeline": "bare",
    "signals_lfp_dipole_eeg_pipeline": "bare",
    "signals_record_dt_0.1_pipeline": "bare",
    "signals_chunk_200": "bare",
    "signals_blas_default": "bare",
    "netpyne_bare": "bare",
    "netpyne_lfp": "netpyne_bare",
    "lfpy_bare": "bare",
    "lfpy_lfp": "lfpy_bare",
}


# -- the child runs -------------------------------------------------------------------------------


def _run_bare(tstop: float, scale: float, fast_imem: bool = False) -> dict:
    from neuron import h

    net, build_s = peers.build_demo(scale)
    h.dt = DT
    h.cvode.use_fast_imem(int(fast_imem))
    with harness.SimMemory() as mem:
        t0 = time.perf_counter()
        h.finitialize(V_INIT)
        h.continuerun(tstop)
        sim_s = time.perf_counter() - t0
    if abs(h.t - tstop) >= DT:
        raise RuntimeError(f"the run stopped at t = {h.t} ms, not {tstop} ms")
    return {"segments": peers.n_segments(), "cells": len(net.cells), "build_s": build_s,
            "sim_s": sim_s, **mem.result()}


def _recorders(kind: str) -> list:
    """The recorders of a signals variant: ``"lfp"`` or ``"lfp_dipole_eeg"``."""
    import signals
    from signals.recorders import EEG, LFP, Dipole

    recs = [LFP(signals.electrodes.points(peers.probe_positions()))]
    if kind == "lfp_dipole_eeg":
        recs += [Dipole(), EEG()]
    return recs


def _run_signals(tstop: float, scale: float, blas_threads: int | None, kind: str = "lfp",
                 record_dt: float | None = None, chunk_samples: int | None = None,
                 keep: Path | None = None, pipeline: bool = False) -> dict:
    """One recorded run; ``keep``: copy the run file there (the store micro-benchmark's data)."""
    from neuron import h

    import signals

    net, build_s = peers.build_demo(scale)
    table = signals.network.from_neuron(populations=net.populations)
    h.dt = DT
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        path = keep or Path(tmp) / "run.nc"
        t0 = time.perf_counter()
        # the body of signals.record(), split so that the recorder setup (transfer matrix, file
        # creation) is timed apart from the run
        session = signals.Session(table, _recorders(kind), path=path, blas_threads=blas_threads,
                                  record_dt=record_dt, chunk_samples=chunk_samples,
                                  pipeline=pipeline, attrs={"tstop": tstop, "v_init": V_INIT})
        setup_s = time.perf_counter() - t0
        run = harness.run_session(session, tstop, V_INIT)
        ds = signals.open_run(path)
        n_samples = int(ds.sizes["time"])
        file_mb = path.stat().st_size / 2**20
        ds.close()
    expected = round(tstop / (record_dt or DT)) + 1
    if n_samples != expected:
        raise RuntimeError(f"run file has {n_samples} samples, expected {expected}")
    return {"segments": len(table), "cells": len(net.cells), "build_s": build_s, "setup_s": setup_s,
            "n_samples": n_samples, "chunk_samples": session.chunk_samples, "file_mb": file_mb,
            "pipeline": session.pipeline, **run}


def _writer_args(path: Path) -> tuple[dict, dict]:
    """``coords`` and ``variables`` of ``RunWriter`` for a file like the run file at ``path``."""
    import netCDF4

    from signals.recorder import VariableSpec

    coords, variables = {}, {}
    with netCDF4.Dataset(path) as nc:
        for name, var in nc.variables.items():
            attrs = {a: var.getncattr(a) for a in var.ncattrs()}
            if name == "time":
                continue
            if var.dimensions[0] == "time":
                spec_attrs = {k: v for k, v in attrs.items()
                              if k not in ("units", "long_name", "coordinates")}
                variables[name] = VariableSpec(var.dimensions, attrs.get("units", "1"),
                                               attrs.get("long_name", name), attrs=spec_attrs)
            else:
                coords[name] = (var.dimensions, np.asarray(var[:]), attrs)
    return coords, variables


def _read_chunks(path: Path, chunk_len: int) -> list[tuple[np.ndarray, dict]]:
    """The full chunks of a run file, as ``RunWriter.append`` received them."""
    import netCDF4

    chunks = []
    with netCDF4.Dataset(path) as nc:
        names = [n for n, v in nc.variables.items() if n != "time" and v.dimensions[0] == "time"]
        t = np.asarray(nc["time"][:])
        data = {n: np.asarray(nc[n][:]) for n in names}
    # the first chunk holds the t = 0 sample too: chunks start at 0, chunk_len, 2 chunk_len, ...
    for k0 in range(0, t.size - chunk_len + 1, chunk_len):
        sl = slice(k0, k0 + chunk_len)
        chunks.append((t[sl], {n: v[sl] for n, v in data.items()}))
    return chunks


def _run_store_append(tstop: float, scale: float, n_chunks: int = 64, repeats: int = 3) -> dict:
    """Micro-benchmark of ``RunWriter.append`` (see the module docstring, ``store_append``)."""
    import netCDF4

    from signals.engine.driver import BlasLimit
    from signals.store import RunWriter

    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        capture = Path(tmp) / "capture.nc"
        run = _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg", keep=capture)
        chunk_len = run["chunk_samples"]
        coords, variables = _writer_args(capture)
        full = _read_chunks(capture, chunk_len)
    if not full:
        raise RuntimeError(f"no full chunk of {chunk_len} samples in a {tstop} ms run")

    original = netCDF4.Dataset

    class NoSync(original):
        """No flush to disk after each chunk (the file is flushed once, at close)."""

        def sync(self):
            pass

    # mode -> (RunWriter compression level, Dataset class)
    modes = {"no compression (package default)": (None, original), "zlib 1 + shuffle": (1, original),
             "no compression, no sync": (None, NoSync), "zlib 1, no sync": (1, NoSync)}
    res: dict = {}
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        for r in range(repeats):
            for k_mode, (mode, (level, dataset_cls)) in enumerate(modes.items()):
                path = Path(tmp) / f"{r}-{k_mode}.nc"
                netCDF4.Dataset = dataset_cls  # looked up by RunWriter.__init__
                try:
                    writer = RunWriter(path, coords=coords, variables=variables, attrs={},
                                       chunk_len=chunk_len, compression=level)
                finally:
                    netCDF4.Dataset = original
                t_now = 0.0
                t0 = time.perf_counter()
                for k in range(n_chunks):
                    t, outputs = full[k % len(full)]
                    writer.append(t_now + (t - t[0]), outputs)
                    t_now += t.size * DT
                append_s = time.perf_counter() - t0
                t0 = time.perf_counter()
                writer.close()
                close_s = time.perf_counter() - t0
                entry = res.setdefault(mode, {"append_s": [], "close_s": [], "file_mb": 0.0})
                entry["append_s"].append(append_s)
                entry["close_s"].append(close_s)
                entry["file_mb"] = path.stat().st_size / 2**20
                path.unlink()
                del writer  # free subclassed Datasets now: at interpreter exit they complain
                gc.collect()
    raw_mb = sum(v.nbytes for v in full[0][1].values()) / 2**20 * n_chunks
    # the BLAS thread limit around each chunk's GEMMs: reused controller vs threadpool_limits
    from threadpoolctl import threadpool_limits

    limit = BlasLimit(1)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        with limit():
            pass
    reused_ms = (time.perf_counter() - t0) / n * 1e3
    t0 = time.perf_counter()
    for _ in range(n):
        with threadpool_limits(limits=1, user_api="blas"):
            pass
    fresh_ms = (time.perf_counter() - t0) / n * 1e3
    return {"segments": run["segments"], "cells": run["cells"], "chunk_samples": chunk_len,
            "n_chunks": n_chunks, "raw_mb": raw_mb, "modes": res,
            "variables": {k: list(v.shape) for k, v in full[0][1].items()},
            "blas_limit_reused_ms": reused_ms, "blas_limit_fresh_ms": fresh_ms}


def run_child(variant: str, tstop: float, scale: float) -> dict:
    """Run one variant in this process and return its measurements."""
    if variant == "bare":
        return _run_bare(tstop, scale)
    if variant == "bare_fast_imem":
        return _run_bare(tstop, scale, fast_imem=True)
    pipeline = variant.endswith("_pipeline")
    variant = variant.removesuffix("_pipeline")
    if variant == "signals":
        return _run_signals(tstop, scale, blas_threads=1, pipeline=pipeline)
    if variant in ("signals_lfp_dipole_eeg", "signals_profile"):
        return _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg", pipeline=pipeline)
    if variant == "signals_record_dt_0.1":
        return _run_signals(tstop, scale, blas_threads=1, record_dt=RECORD_DT, pipeline=pipeline)
    if variant == "signals_chunk_200":
        return _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg", chunk_samples=200)
    if variant == "store_append":
        return _run_store_append(tstop, scale)
    if variant == "signals_blas_default":
        return _run_signals(tstop, scale, blas_threads=None)
    if variant in ("netpyne_bare", "netpyne_lfp"):
        return peers.run_netpyne(tstop, scale, record_lfp=variant == "netpyne_lfp")
    if variant in ("lfpy_bare", "lfpy_lfp"):
        return peers.run_lfpy(tstop, scale, record_lfp=variant == "lfpy_lfp")
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


# -- the parent: tables ---------------------------------------------------------------------------


def _print_main_table(res: harness.Results) -> None:
    order = {v: i for i, v in enumerate(VARIANTS)}
    rows = []
    for (variant, tstop), rs in sorted(res.runs.items(), key=lambda kv: (kv[0][1], order[kv[0][0]])):
        if variant in AUX_VARIANTS:
            continue
        key, ref = (variant, tstop), REFERENCE[variant]
        rkey = (ref, tstop)
        sim = res.values(key, "sim_s")
        cpu = res.best(key, "sim_cpu_s")
        dsim = max(max(0.0, (x["peak_sim_mb"] or x["peak_rss_mb"]) - x["rss_before_sim_mb"])
                   for x in rs)
        rows.append([
            variant, rs[0]["segments"], f"{tstop:g}", f"{min(sim):.2f}",
            f"{statistics.median(sim):.2f}", len(rs),
            harness.fmt(harness.ratio(min(sim), res.best(rkey)) if ref else None),
            ref or "", f"{cpu:.2f}",
            harness.fmt(harness.ratio(cpu, res.best(rkey, "sim_cpu_s")) if ref else None),
            harness.fmt(harness.ratio(res.median(key, "sim_cpu_s"), res.median(rkey, "sim_cpu_s"))
                        if ref else None),
            f"{max(x['peak_rss_mb'] for x in rs):.1f}", f"{dsim:.1f}",
            harness.fmt(res.best(key, "setup_s"), ".2f"),
        ])
    print()
    print("sim s = min over the runs (wall time of initialise + run + last flush; no build/setup); "
          "cpu s = min over the runs of the\nprocess CPU time (all threads) of the same interval: "
          "less sensitive to other load on a shared machine than wall time; cpu ratio med = "
          "ratio of the medians")
    harness.print_table(["variant", "segments", "tstop ms", "sim s", "median s", "runs", "ratio",
                         "vs", "cpu s", "cpu ratio", "cpu ratio med", "peak RSS MB", "ΔRSS sim MB",
                         "rec setup s"], rows, align="lrrrrrrlrrrrrr")
    for variant, why in res.skipped.items():
        print(f"{variant} skipped: {why}")
    for line in res.failures:
        print(f"failed run (not in the table): {line}")
    line = harness.load_summary(res)
    if line:
        print(line)


def _print_profile(rs: list[dict] | None, bare_s: float | None, fast_s: float | None,
                   tstop: float) -> None:
    """Where the recording time goes (the least-disturbed LFP + dipole + EEG run)."""
    if not rs:
        return
    r = min(rs, key=lambda x: x["sim_s"])
    split = harness.cost_split(r["timings_run"], r["timings"])
    steps = round(tstop / DT)
    n_chunks = split["chunks"]
    rows = []  # (part, total s, calls, per-call unit)
    beside = r.get("pipeline", False)  # on the worker thread, beside NEURON: not in the sum
    where = " [worker thread]" if beside else ""
    if bare_s and fast_s:
        rows.append(("h.cvode.use_fast_imem(1) (bare_fast_imem - bare)", fast_s - bare_s, steps, "step"))
    rows.append(("sampling: i_membrane_ read into the buffer", split["gather"], steps, "step"))
    for key, v in split.items():
        if key.startswith("on_chunk "):
            rows.append((f"{key.split(' ', 1)[1]}.on_chunk (GEMMs){where}", v, n_chunks, "chunk"))
    if beside:
        rows.append(("main thread waiting for the worker", split["wait"], n_chunks, "chunk"))
    rows.append(("RunWriter.append (uncompressed, sync)", split["write"], n_chunks, "chunk"))
    rows.append(("agree + reduce (checks across ranks, ragged sort)",
                 split["agree"] + split["reduce"], n_chunks, "chunk"))
    rows.append(("pointer setup at finitialize (Sampler)", split["start"], 1, "once"))
    rows.append(("session.close() apart from its last flush (RunWriter.close)",
                 max(0.0, r["close_s"] - split["last_flush"]), 1, "once"))
    table = []
    accounted = 0.0
    for name, total, n, unit in rows:
        if not name.endswith("[worker thread]"):
            accounted += total
        per = (f"{total / max(n, 1) * 1e6:.1f} µs/step" if unit == "step"
               else f"{total / max(n, 1) * 1e3:.2f} ms/{unit}" if unit == "chunk"
               else f"{total * 1e3:.1f} ms")
        pct = f"{100 * total / bare_s:.1f}%" if bare_s else "-"
        table.append([name, f"{total:.3f}", per, pct])
    if bare_s:
        other = r["sim_s"] - bare_s - accounted
        table.append(["unaccounted (run loop, output checks, the worker's share of the cores "
                      "and memory bandwidth, noise)" if beside else
                      "unaccounted (run loop, BLAS limit, output checks, noise)", f"{other:.3f}",
                      "", f"{100 * other / bare_s:.1f}%"])
    harness.print_table(
        ["part", "total s", "per call", "% of bare"], table,
        title=f"cost split of signals LFP + dipole + EEG at tstop {tstop:g} ms, {r['segments']} "
              f"segments, from Session.timings (the fastest of {len(rs)} runs: sim "
              f"{r['sim_s']:.2f} s" + (f", {r['sim_s'] / bare_s:.3f} × bare {bare_s:.2f} s)"
                                      if bare_s else ")"))
    print(f"({steps} steps, {n_chunks} chunks of up to {r['chunk_samples']} samples; "
          "ms/chunk is the mean over the chunks)")


def _print_store(r: dict | None, bare_step_s: float | None, tstop: float) -> None:
    """The RunWriter.append micro-benchmark table."""
    if not r:
        return
    n, chunk = r["n_chunks"], r["chunk_samples"]
    shapes = ", ".join(f"{k} {tuple(v)}" for k, v in r["variables"].items())
    chunk_s = None if bare_step_s is None else bare_step_s * chunk
    rows = []
    for mode, m in r["modes"].items():
        per = min(m["append_s"]) / n
        rows.append([mode, f"{per * 1e3:.2f}", f"{min(m['close_s']) * 1e3:.2f}",
                     f"{m['file_mb']:.2f}", f"{m['file_mb'] / r['raw_mb']:.3f}",
                     "-" if chunk_s is None else f"{100 * per / chunk_s:.1f}%"])
    harness.print_table(
        ["writer", "ms/chunk", "close ms", "file MB", "vs raw", "% of bare chunk"], rows,
        title=f"RunWriter.append micro-benchmark: {n} chunks of {chunk} samples ({shapes}; float64, "
              f"{r['raw_mb']:.1f} MB raw), data of a real LFP + dipole + EEG run, min of "
              f"{len(next(iter(r['modes'].values()))['append_s'])}")
    if chunk_s is not None:
        print(f"(bare simulation time of one {chunk}-sample chunk at tstop {tstop:g} ms: "
              f"{chunk_s * 1e3:.1f} ms)")
    print(f"BLAS limit per chunk: reused ThreadpoolController.limit {r['blas_limit_reused_ms'] * 1e3:.1f} "
          f"µs; fresh threadpool_limits {r['blas_limit_fresh_ms'] * 1e3:.1f} µs")


def _print_summary(res: harness.Results, tstops: list[float], peer_tstops: dict) -> None:
    def best(variant: str, tstop: float, key: str = "sim_s") -> float | None:
        return res.best((variant, tstop), key)

    print()
    for tstop in tstops:
        b, s = best("bare", tstop), best("signals", tstop)
        for variant, label in LABELS.items():
            v = best(variant, tstop)
            if b and v and variant != "signals_blas_default":
                verdict = "OK" if v / b <= 1.10 else "ABOVE TARGET"
                cv, cb = best(variant, tstop, "sim_cpu_s"), best("bare", tstop, "sim_cpu_s")
                print(f"{variant} [{label}] at tstop {tstop:g} ms: {v / b:.3f} × bare wall "
                      f"(target <= 1.10): {verdict}; CPU time {cv / cb:.3f} × bare")
        bf = best("bare_fast_imem", tstop)
        if b and bf and s:
            print(f"  of which h.cvode.use_fast_imem(1) alone: {bf / b:.3f} × bare; signals' own "
                  f"gather + GEMM + store: {s / bf:.3f} × bare_fast_imem")
        sb = best("signals_blas_default", tstop)
        if s and sb:
            med = [res.median((v, tstop)) for v in ("signals_blas_default", "signals")]
            print(f"  BLAS default threads vs 1 thread at tstop {tstop:g} ms: {sb / s:.3f} × (min), "
                  f"{med[0] / med[1]:.3f} × (median; contention depends on the machine's other load)")
    if len(tstops) >= 2:
        lo, hi = min(tstops), max(tstops)
        for variant in MAIN_VARIANTS:
            a, b = res.runs.get((variant, lo)), res.runs.get((variant, hi))
            if a and b:
                pa = max(x["peak_rss_mb"] for x in a)
                pb = max(x["peak_rss_mb"] for x in b)
                print(f"peak RSS {variant}: {pa:.1f} MB at {lo:g} ms, {pb:.1f} MB at {hi:g} ms "
                      f"(Δ {pb - pa:+.1f} MB, {100 * (pb - pa) / pa:+.1f} %)")
    for peer, label in (("netpyne", "NetPyNE recordLFP"), ("lfpy", "LFPy RecExtElectrode")):
        t = peer_tstops[peer]
        p, pb = best(f"{peer}_lfp", t), best(f"{peer}_bare", t)
        s, b = best("signals", t), best("bare", t)
        if p and pb:
            line = f"{label}: {p / pb:.2f} × its own bare run at tstop {t:g} ms"
            if s and b:
                line += f"; signals LFP: {s / b:.2f} × bare; signals' loop is {p / s:.1f} × faster"
            print(line)


def _describe(key, rec: dict) -> str:
    if key[0] == "store_append":
        return f"(process {rec['process_s']:.1f} s, load {rec['load1']:.2f})"
    return (f"sim {rec['sim_s']:7.2f} s  cpu {rec['sim_cpu_s']:7.2f} s  peak RSS "
            f"{rec['peak_rss_mb']:7.1f} MB  (process {rec['process_s']:.1f} s, load {rec['load1']:.2f})")


def _label(key) -> str:
    variant, tstop = key
    if variant == "store_append":
        return f"{variant:<22} capture {tstop:g} ms"
    return f"{variant:<22} tstop {tstop:6g} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: short tstops, one repeat")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per (variant, tstop) for signals/bare (default 3; 1 with --quick)")
    ap.add_argument("--peer-repeats", type=int, default=None,
                    help="runs per peer (NetPyNE/LFPy) variant (default 2; 1 with --quick)")
    ap.add_argument("--tstops", type=float, nargs="+", default=None,
                    help="tstop values (ms) for bare/signals (default 200 800; 20 60 with --quick)")
    ap.add_argument("--netpyne-tstop", type=float, default=None,
                    help="tstop (ms) of the NetPyNE variants: its recordLFP is ~100x slower than bare "
                         "(default 25; 5 with --quick)")
    ap.add_argument("--lfpy-tstop", type=float, default=None,
                    help="tstop (ms) of the LFPy variants (default: the smallest of --tstops)")
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                    help=f"demo network scale (~1400 segments per 1.0; default {DEFAULT_SCALE})")
    ap.add_argument("--no-peers", action="store_true", help="skip the NetPyNE and LFPy variants")
    ap.add_argument("--no-profile", action="store_true",
                    help="skip the cost split (signals_profile) and the store micro-benchmark")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-run time limit (s)")
    ap.add_argument("--json", metavar="FILE", help="also write every run's record to FILE (JSON)")
    ap.add_argument("--variant", choices=VARIANTS, help="(internal) run one variant, print JSON")
    ap.add_argument("--tstop", type=float, help="(internal) tstop (ms) of --variant")
    args = ap.parse_args(argv)

    if args.variant:
        if args.tstop is None:
            ap.error("--variant needs --tstop")
        return harness.child(lambda: run_child(args.variant, args.tstop, args.scale),
                             variant=args.variant, tstop=args.tstop)

    repeats = args.repeats or (1 if args.quick else 3)
    peer_repeats = args.peer_repeats or (1 if args.quick else 2)
    tstops = args.tstops or ([20.0, 60.0] if args.quick else [200.0, 800.0])
    peer_tstops = {"netpyne": args.netpyne_tstop or (5.0 if args.quick else 25.0),
                   "lfpy": args.lfpy_tstop or min(tstops)}
    plan: list[tuple[tuple[str, float], int]] = [((v, t), repeats) for t in tstops
                                                 for v in MAIN_VARIANTS]
    if not args.no_peers:
        for peer, tstop in peer_tstops.items():
            if tstop not in tstops:  # signals and bare side by side at the peer's tstop
                plan += [((v, tstop), peer_repeats) for v in ("bare", "signals")]
            plan += [((f"{peer}_bare", tstop), peer_repeats), ((f"{peer}_lfp", tstop), peer_repeats)]
    profile_tstop = max(tstops)
    if not args.no_profile:  # the cost split comes from the PROFILED runs' Session.timings
        plan += [(("store_append", STORE_CAPTURE_MS), 1)]
    harness.print_header("record_overhead", ("neuron", "neuro-signals", "LFPykit", "netpyne",
                                              "LFPy", "numpy"))
    print(f"  network: signals.demo.build_network(scale={args.scale}), dt = {DT} ms, "
          f"{N_CONTACTS} contacts, sampling every step")
    t_start = time.perf_counter()

    def spawn(key):
        variant, tstop = key
        return harness.spawn(harness.script_command(__file__, "--variant", variant, "--tstop",
                                                    tstop, "--scale", args.scale),
                             timeout=args.timeout, variant=variant, tstop=tstop)

    res = harness.run_plan(plan, spawn, describe=_describe, group=lambda key: key[0], label=_label)
    if args.json:
        harness.save(args.json, res, argv=sys.argv, scale=args.scale)
    _print_main_table(res)
    _print_summary(res, tstops, peer_tstops)
    if not args.no_profile:
        _print_profile(res.runs.get((PROFILED, profile_tstop)), res.best(("bare", profile_tstop)),
                       res.best(("bare_fast_imem", profile_tstop)), profile_tstop)
        store = res.runs.get(("store_append", STORE_CAPTURE_MS))
        b = res.best(("bare", profile_tstop))
        _print_store(store[0] if store else None,
                     None if b is None else b / (profile_tstop / DT), profile_tstop)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s; "
          f"load average at end: {harness.load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
