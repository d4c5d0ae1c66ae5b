"""What an S1-sized recorded run costs per rank on 64-1024 ranks: a model from measured unit costs.

Not a test: a script that measures, on this machine, the per-unit costs of a recorded run with
small real runs, then prints what they add up to for a somatosensory-cortex-sized network
(31,000 detailed cells, 10 M segments) recorded with a 384-contact and a 32-contact probe (one
:class:`~signals.recorders.LFP` of 416 contacts), :class:`~signals.recorders.Dipole` (total and
10 populations) and :class:`~signals.recorders.EEG` (four-sphere head, 64 sensors), ``record_dt
= 0.1`` ms (interval means) at dt = 0.025 ms, tstop = 1 s, on P = 64, 128, 256, 512, 1024 ranks.

Measured here (each in a fresh process, ``harness.spawn``, min over ``--repeats`` jobs):

``bare``, ``bare_fast_imem``
    ``b``: NEURON's cost per segment per step of an active cell, ``h.continuerun`` of
    ``--cells`` ball-and-stick cells (``setup_cost.build``: 100 segments each) with ``hh`` in
    every segment and a current clamp on every soma, with ``use_fast_imem`` off and on (s).
``record_f8``, ``record_f8_step``, ``record_f4``
    The same network recorded through :class:`signals.Session` (LFP 416 + Dipole + EEG 64) at
    ``record_dt = 0.1`` ms in float64, every step in float64, and at 0.1 ms in float32, with
    ``pipeline=False`` (a cluster rank has one core: no free core for the worker thread). From
    :attr:`signals.Session.timings`: ``s``, the sampling cost per segment per step (``sample``:
    NEURON 9's node-storage row copied every sample, with interval means the running sum every
    step; plus ``assemble``: the chunk put in segment order, once per chunk); ``d``, the
    Dipole + EEG products per segment per sample; the LFP product per (contact x segment) per
    sample at this network's chunk length (a check of ``g`` below). From the recorders'
    ``factors_`` and the session's chunk: ``m_A``, transfer-matrix bytes per segment, and the
    sample buffer.
``gemm``
    ``g(P)``: the LFP chunk product itself, ``M @ X`` with ``M`` (416 x N/P) and the chunk
    ``X`` (N/P x L(P)) as the session lays them out (a transposed C-ordered buffer), one BLAS
    thread, at the exact per-rank shapes of every P, in float64 and float32: ns per (contact x
    segment) per sample. At small L the product streams the whole matrix from memory once per
    chunk (hundreds of MB at P = 64), so ``g`` depends on P: it is measured, not scaled.
``setup``
    ``u``: the LFP recorder's set-up, ``signals.recorders.lfp.transfer_matrix`` (line source)
    + ``inside_segments``, one thread (one core per rank), ns per (contact x segment) entry;
    and the segment table (``signals.network.from_neuron``), ns per segment.
rank 0's reduction and write
    ``r(L)``: ``benchmarks/reduce_write.py`` under ``mpiexec -n 2`` (or ``--reduce-json`` of an
    earlier run): agree + reduce + ``RunWriter.append`` + verdict per chunk on rank 0 at the
    S1 chunk lengths, mpi4py backend.

The model (N = 10 M segments, N_r = N / P per rank, C = 416 contacts, steps = 40,000 and
samples S = 10,000 per simulated second, itemsize 8 or 4 bytes)::

    L(P)        = chunk_length(N_r) = clip(16 MiB // (itemsize * N_r), 1, 500)   (signals' rule)
    chunks      = ceil(S / L)
    bare        = b * N_r * steps                                       (hh: a lower bound)
    sampling    = s * N_r * steps
    products    = (g(P) * C + d) * N_r * S
    rank 0      = chunks * r(L)            (P = 2 measured, fastest call: "low")
                = chunks * ((agree + reduce)(L) * log2(P) + write(L))   (fastest calls of each
                  phase; a binomial tree whose every level carries the whole chunk: "high")
    memory      = m_A * N_r + L * N_r * itemsize + 16 * N_r   (matrices; the sample buffer,
                  one set with one core per rank; interval sums and one step's currents)
    LFP set-up  = u * C * N_r

Every rank waits for rank 0 once per chunk (the reduction is collective; the others wait for
its verdict on the write), so the time per rank is ``bare + sampling + products + rank 0``
(the segments on rank 0 itself are not reduced). Per-rank compute shrinks as 1/P; rank 0's
share per simulated second does not shrink: it falls only as far as L grows (fewer, larger
chunks), and with "high" it grows with log2 P.

Beyond 1024 ranks the script also finds the first power-of-two P at which rank 0's share
exceeds the per-rank recording and 10 % of the bare run (``g`` of 1024 ranks, rank 0's cost
fitted as ``a + c L`` over the measured L).

What is extrapolated: everything for P > 2 ranks. ``b``, ``s``, ``d`` are measured at
``--cells`` x 100 segments and scaled linearly in N_r (memory-streaming costs that hold once
the arrays exceed the cache); ``g`` is measured at every P's own shape; ``r(L)`` is measured on
2 ranks of one 2-core machine through shared memory, not a cluster's network; ``b`` is an
``hh`` ball-and-stick's cost, several times less per segment than a detailed cortical cell's
(more channels): recording overheads relative to bare are upper bounds.

Usage::

    python benchmarks/s1_scale.py                      # ~4 min on 2 cores
    python benchmarks/s1_scale.py --reduce-json rw.json   # reuse a reduce_write.py --json run
    python benchmarks/s1_scale.py --quick              # small runs, one job each
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import warnings
from pathlib import Path

import harness
import numpy as np
import reduce_write as rw
import setup_cost

DT = rw.DT  # ms
RECORD_DT = rw.RECORD_DT  # ms
TSTOP = 1000.0  # ms of the S1 run
V_INIT = -65.0  # mV
N_TOTAL = rw.S1_SEGMENTS
CONTACTS = sum(rw.CONTACTS)
SENSORS = 64
RANKS = rw.S1_RANKS
VARIANTS = ("bare", "bare_fast_imem", "record_f8", "record_f8_step", "record_f4", "gemm",
            "setup")


# -- the child runs -------------------------------------------------------------------------------


def build_hh(n_cells: int) -> tuple[list, list]:
    """``setup_cost.build`` cells with ``hh`` in every segment and a clamp on every soma."""
    from neuron import h

    h.load_file("stdrun.hoc")
    cells = setup_cost.build(n_cells)
    stims = []
    rng = np.random.default_rng(1)
    for soma, dend in cells:
        for sec in (soma, dend):
            sec.insert("hh")
        stim = h.IClamp(soma(0.5))
        stim.delay, stim.dur, stim.amp = rng.uniform(0, 5), 1e9, rng.uniform(0.2, 0.4)
        stims.append(stim)
    return cells, stims


def _run_bare(n_cells: int, tstop: float, fast_imem: bool) -> dict:
    """A bare run of ``tstop`` ms: wall and CPU time (s), ns per segment per step (CPU)."""
    from neuron import h

    cells, _stims = build_hh(n_cells)
    n = sum(sec.nseg for cell in cells for sec in cell)
    h.dt = DT
    h.cvode.use_fast_imem(int(fast_imem))
    h.finitialize(V_INIT)
    with harness.Stopwatch() as sw:
        h.continuerun(tstop)
    steps = round(tstop / DT)
    return {"segments": n, "steps": steps, "sim_s": sw.wall, "sim_cpu_s": sw.cpu,
            "ns_seg_step": sw.cpu / (n * steps) * 1e9,
            "rss_model_mb": harness.rss_mb()}


def _run_record(n_cells: int, tstop: float, dtype: str, record_dt: float | None) -> dict:
    """A recorded run of ``tstop`` ms (``record_dt`` in ms, None: every step): its
    ``Session.timings`` (s), matrix and buffer bytes, RSS growth (MiB)."""
    from neuron import h

    import signals

    rss0 = harness.rss_mb()
    cells, _stims = build_hh(n_cells)
    pops = {f"pop{k}": cells[k::rw.N_POPULATIONS] for k in range(rw.N_POPULATIONS)}
    t0 = time.perf_counter()
    table = signals.network.from_neuron(populations=pops)
    table_s = time.perf_counter() - t0
    n = len(table)
    rss1 = harness.rss_mb()
    h.dt = DT
    recorders = rw.s1_recorders(SENSORS, z_top=2300.0, spikes=False)
    with tempfile.TemporaryDirectory(prefix="signals-s1-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # contacts inside segments: irrelevant to the cost
        t0 = time.perf_counter()
        # pipeline off: one core per rank on a cluster leaves no core for the worker thread
        session = signals.Session(table, recorders, path=Path(tmp) / "run.nc",
                                  record_dt=record_dt, dtype=dtype, pipeline=False)
        setup_s = time.perf_counter() - t0
        rss2 = harness.rss_mb()
        with harness.SimMemory() as mem, session, harness.Stopwatch() as sw:
            session.initialize(V_INIT)
            session.run(tstop, progress=False)
    steps = round(tstop / DT)
    samples = round(tstop / (record_dt or DT)) + 1
    factors = {rec.name: int(sum(f.nbytes for f in rec.factors_)) for rec in recorders}
    itemsize = np.dtype(dtype).itemsize
    return {"segments": n, "steps": steps, "samples": samples, "sim_s": sw.wall,
            "sim_cpu_s": sw.cpu, "timings": dict(session.timings),
            "chunk_samples": session.chunk_samples, "table_s": table_s, "setup_s": setup_s,
            "factor_bytes": factors, "buffer_bytes": session.chunk_samples * n * itemsize,
            "rss_model_mb": rss1 - rss0, "rss_session_mb": rss2 - rss1,
            "rss_run_mb": None if mem.peak_sim is None else mem.peak_sim - mem.rss_before}


def _run_gemm(dtype: str, repeat: int) -> dict:
    """The LFP chunk product at every S1 rank count's per-rank shape, one BLAS thread."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    itemsize = np.dtype(dtype).itemsize
    out = {}
    with threadpool_limits(limits=1, user_api="blas"):
        for ranks in RANKS:
            n = math.ceil(N_TOTAL / ranks)
            length = rw.s1_chunk_length(ranks, itemsize)
            m = rng.standard_normal((CONTACTS, n), dtype=np.float32).astype(dtype)
            buf = rng.standard_normal((length, n), dtype=np.float32).astype(dtype)
            x = buf.T  # the session hands recorders the (segments x samples) view of its buffer
            best, _ = harness.best_of(lambda m=m, x=x: m @ x, repeat)
            out[str(ranks)] = {"segments": n, "chunk": length, "s": best,
                               "ns_entry_sample": best / (CONTACTS * n * length) * 1e9,
                               "matrix_mb": m.nbytes / 2**20}
            del m, buf, x
    return {"gemm": out, "dtype": dtype}


def _run_setup(n_cells: int, repeat: int) -> dict:
    """The LFP set-up (ns per contact x segment entry) and the segment table (ns per segment)."""
    import signals
    from signals.recorders.lfp import inside_segments, transfer_matrix

    cells = setup_cost.build(n_cells)
    t_table, table = harness.best_of(lambda: signals.network.from_neuron(cells), repeat)
    probe = rw.s1_recorders(21, z_top=2300.0, spikes=False)[0].electrodes
    t_matrix, _ = harness.best_of(lambda: transfer_matrix(table, probe, threads=1), repeat)
    t_inside, _ = harness.best_of(lambda: inside_segments(table, probe, threads=1), repeat)
    entries = len(table) * len(probe.positions)
    return {"segments": len(table), "contacts": len(probe.positions),
            "table_ns_seg": t_table / len(table) * 1e9,
            "matrix_ns_entry": t_matrix / entries * 1e9,
            "inside_ns_entry": t_inside / entries * 1e9}


def run_child(variant: str, n_cells: int, tstop: float, repeat: int) -> dict:
    """One variant's record (see the module docstring); ``tstop`` in ms."""
    if variant in ("bare", "bare_fast_imem"):
        return _run_bare(n_cells, tstop, variant == "bare_fast_imem")
    if variant == "record_f8":
        return _run_record(n_cells, tstop, "f8", RECORD_DT)
    if variant == "record_f8_step":
        return _run_record(n_cells, tstop, "f8", None)
    if variant == "record_f4":
        return _run_record(n_cells, tstop, "f4", RECORD_DT)
    if variant == "gemm":
        return {"f8": _run_gemm("f8", repeat), "f4": _run_gemm("f4", repeat)}
    if variant == "setup":
        return _run_setup(n_cells, repeat)
    raise ValueError(variant)


# -- the units ------------------------------------------------------------------------------------


def units(res: harness.Results) -> dict:
    """Per-unit costs from the fastest job of each variant (CPU time where it applies)."""
    out: dict = {}
    b = res.fastest("bare", "ns_seg_step")
    bf = res.fastest("bare_fast_imem", "ns_seg_step")
    out["b"] = b["ns_seg_step"] if b else None
    out["b_fast_imem"] = bf["ns_seg_step"] if bf else None
    out["n_measured"] = b["segments"] if b else None
    for variant in ("record_f8", "record_f8_step", "record_f4"):
        rs = res.runs.get(variant)
        if not rs:
            continue
        rows = []
        for r in rs:
            t, n = r["timings"], r["segments"]
            rows.append({
                "s": (t["sample"] + t.get("assemble", 0.0)) / (n * r["steps"]) * 1e9,
                "s_read": t["sample"] / (n * r["steps"]) * 1e9,
                "s_assemble": t.get("assemble", 0.0) / (n * r["samples"]) * 1e9,
                "d": (t.get("on_chunk dipole", 0.0) + t.get("on_chunk eeg", 0.0))
                / (n * r["samples"]) * 1e9,
                "g_run": t.get("on_chunk lfp", 0.0) / (CONTACTS * n * r["samples"]) * 1e9,
                "flush_ms": sum(t[k] for k in ("agree", "reduce", "write")) / t["chunks"] * 1e3})
        best = {k: min(x[k] for x in rows) for k in ("s", "s_read", "s_assemble", "d", "g_run",
                                                      "flush_ms")}
        r = rs[0]
        n = r["segments"]
        if out.get("b_fast_imem") is not None:
            # CPU time of the recorded run beyond the bare run's (fast_imem on), per segment and
            # step: the whole recording (sampling, products, file) as the CPU counts it
            best["cpu_extra"] = min(x["sim_cpu_s"] / (x["segments"] * x["steps"]) * 1e9
                                    for x in rs) - out["b_fast_imem"]
        best.update(chunk=r["chunk_samples"], matrix_bytes_seg=sum(r["factor_bytes"].values()) / n,
                    factor_bytes_seg={k: v / n for k, v in r["factor_bytes"].items()},
                    buffer_mb=r["buffer_bytes"] / 2**20,
                    rss_session_b_seg=min(x["rss_session_mb"] for x in rs) * 2**20 / n,
                    rss_run_b_seg=min((x["rss_run_mb"] for x in rs if x["rss_run_mb"] is not None),
                                      default=float("nan")) * 2**20 / n,
                    rss_model_b_seg=min(x["rss_model_mb"] for x in rs) * 2**20 / n,
                    sim_cpu_s=min(x["sim_cpu_s"] for x in rs), segments=n, steps=r["steps"])
        out[variant] = best
    g = res.runs.get("gemm")
    if g:
        out["g"] = {dt: {int(p): min(x[dt]["gemm"][p]["ns_entry_sample"] for x in g)
                         for p in g[0][dt]["gemm"]} for dt in ("f8", "f4")}
        out["gemm_shapes"] = g[0]["f8"]["gemm"]
    st = res.runs.get("setup")
    if st:
        out["setup"] = {k: min(x[k] for x in st) for k in ("table_ns_seg", "matrix_ns_entry",
                                                          "inside_ns_entry")}
    return out


def reduce_costs(summary: dict, config: str = "2 mpi4py") -> dict[int, dict]:
    """``{L: phases (ms), total_min (ms)}`` of rank 0 from a reduce_write summary."""
    per = summary.get(config) or {}
    return {int(k): v for k, v in per.items()}


# -- the S1 table ---------------------------------------------------------------------------------


def fit_rank0(red: dict[int, dict]):
    """Rank 0's cost per chunk (ms) as ``a + c * L`` fitted to the measured chunk lengths.

    Returns a function ``L -> (low, agree + reduce, write)``, for chunk lengths not measured
    (beyond 1024 ranks; extrapolated).
    """
    lengths = np.array(sorted(red), dtype=float)
    fits = {}
    for key in ("total_min", "agree_min", "reduce_min", "write_min"):
        y = np.array([red[k][key] for k in sorted(red)])
        fits[key] = np.polyfit(lengths, y, 1) if lengths.size > 1 else np.array([0.0, y[0]])

    def at(length: int) -> tuple[float, float, float]:
        v = {k: max(float(np.polyval(c, length)), 0.0) for k, c in fits.items()}
        return v["total_min"], v["agree_min"] + v["reduce_min"], v["write_min"]

    return at


#: the largest power-of-two rank count that still has a cell per rank (16,384 of 31,000 cells)
MAX_RANKS = 2 ** int(math.log2(rw.S1_CELLS))


def crossover(u: dict, red: dict[int, dict], dtype: str, record_dt: float,
              max_ranks: int = MAX_RANKS) -> dict:
    """Smallest power-of-two rank count at which rank 0's cost per simulated second exceeds
    the per-rank recording (sampling + products), and 10 % of the bare run (both models).

    Extrapolated: ``g`` of the largest measured P (cache-resident, the cheapest), rank 0's
    cost from :func:`fit_rank0`, N_r = N / P down to a few segments per rank.
    """
    itemsize = np.dtype(dtype).itemsize
    rec = u.get("record_f8" if dtype == "f8" else "record_f4") or u["record_f8"]
    s_unit = (u["record_f8"] if record_dt == RECORD_DT else u["record_f8_step"])["s"]
    g = u["g"][dtype][max(u["g"][dtype])]
    at = fit_rank0(red)
    steps, samples = round(TSTOP / DT), round(TSTOP / record_dt)
    found: dict = {}
    p = RANKS[0]
    while p <= max_ranks:
        n_r = math.ceil(N_TOTAL / p)
        length = rw.s1_chunk_length(p, itemsize)
        chunks = math.ceil(samples / length)
        low, collective, write = at(length)
        r0 = {"low": chunks * low / 1e3,
              "high": chunks * (collective * math.log2(p) + write) / 1e3}
        recording = (s_unit * steps + (g * CONTACTS + rec["d"]) * samples) * 1e-9 * n_r
        bare = u["b"] * 1e-9 * n_r * steps
        for model, t in r0.items():
            if t > recording:
                found.setdefault(f"{model} > recording", (p, n_r, t, recording, bare))
            if t > 0.1 * bare:
                found.setdefault(f"{model} > 10 % of bare", (p, n_r, t, recording, bare))
        p *= 2
    return found


def s1_rows(u: dict, red: dict[int, dict], dtype: str, record_dt: float) -> list[dict]:
    """The model of the module docstring, per rank count."""
    itemsize = np.dtype(dtype).itemsize
    rec = u.get("record_f8" if dtype == "f8" else "record_f4") or u["record_f8"]
    steps = round(TSTOP / DT)
    samples = round(TSTOP / record_dt)
    s_unit = (u["record_f8"] if record_dt == RECORD_DT else u["record_f8_step"])["s"]
    rows = []
    for p in RANKS:
        n_r = math.ceil(N_TOTAL / p)
        length = rw.s1_chunk_length(p, itemsize)
        chunks = math.ceil(samples / length)
        bare = u["b"] * 1e-9 * n_r * steps
        sampling = s_unit * 1e-9 * n_r * steps
        products = (u["g"][dtype][p] * CONTACTS + rec["d"]) * 1e-9 * n_r * samples
        r = red.get(length)
        if r is None:
            low = high = per_chunk_low = per_chunk_high = None
        else:
            per_chunk_low = r["total_min"]
            per_chunk_high = (r["agree_min"] + r["reduce_min"]) * math.log2(p) + r["write_min"]
            low, high = chunks * per_chunk_low / 1e3, chunks * per_chunk_high / 1e3
        matrices = rec["matrix_bytes_seg"] * n_r
        # the sample buffer (one set: no pipeline with one core per rank) + interval sums and
        # one step's currents
        buffer = length * n_r * itemsize + 16 * n_r
        rows.append({"ranks": p, "n_r": n_r, "chunk": length, "chunks": chunks,
                     "buffer_mib": buffer / 2**20, "matrices_mib": matrices / 2**20,
                     "bare": bare, "sampling": sampling, "products": products,
                     "r0_chunk_low": per_chunk_low, "r0_chunk_high": per_chunk_high,
                     "r0_low": low, "r0_high": high,
                     "setup_s": u["setup"]["matrix_ns_entry"] * 1e-9 * CONTACTS * n_r
                     if "setup" in u else None})
    return rows


def print_s1(rows: list[dict], title: str) -> None:
    """The S1 table (seconds per simulated second, MiB, ms per chunk) of :func:`s1_rows`."""
    table = []
    for x in rows:
        rec = x["sampling"] + x["products"]
        lo, hi = x["r0_low"], x["r0_high"]
        share = (None if lo is None else
                 f"{100 * lo / (x['bare'] + rec + lo):.2f}-{100 * hi / (x['bare'] + rec + hi):.2f}")
        table.append([x["ranks"], f"{x['n_r']:,}", x["chunk"], f"{x['buffer_mib']:.1f}",
                      f"{x['matrices_mib']:.0f}", f"{x['bare']:.1f}", f"{x['sampling']:.2f}",
                      f"{x['products']:.2f}", f"{100 * rec / x['bare']:.1f}",
                      harness.fmt(x["r0_chunk_low"], ".2f") + "-" + harness.fmt(x["r0_chunk_high"], ".2f"),
                      x["chunks"], harness.fmt(lo, ".2f") + "-" + harness.fmt(hi, ".2f"),
                      share, "rank 0" if lo is not None and lo > rec else
                      ("rank 0 (high)" if hi is not None and hi > rec else "per-rank")])
    harness.print_table(
        ["ranks", "segments/rank", "L", "buffer MiB", "matrices MiB", "bare s", "sampling s",
         "products s", "recording % of bare", "rank 0 ms/chunk", "chunks", "rank 0 s",
         "rank 0 % of run", "larger cost"], table, title=title)


# -- the parent -----------------------------------------------------------------------------------


def _describe(key, rec: dict) -> str:
    """Progress line of one job (wall times in s)."""
    extra = f"sim {rec['sim_s']:.2f} s  " if "sim_s" in rec else ""
    return f"{extra}(process {rec['process_s']:.1f} s, load {rec['load1']:.2f})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small runs, one job each")
    ap.add_argument("--cells", type=int, default=None,
                    help="ball-and-stick cells of the measured runs (100 segments each; default "
                         "390: the per-rank size of S1 on 256 ranks; 60 with --quick)")
    ap.add_argument("--tstop", type=float, default=None,
                    help="ms of the measured runs (default 50; 10 with --quick)")
    ap.add_argument("--repeats", type=int, default=None, help="jobs per variant (default 2)")
    ap.add_argument("--reduce-json", metavar="FILE",
                    help="rank 0's reduction and write from `reduce_write.py --json FILE` "
                         "(default: measured now, 2 ranks, 3 jobs)")
    ap.add_argument("--json", metavar="FILE", help="also write the units and the S1 rows (JSON)")
    ap.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    cells = args.cells or (60 if args.quick else 390)
    tstop = args.tstop or (10.0 if args.quick else 50.0)
    repeats = args.repeats or (1 if args.quick else 2)
    if args.variant:
        return harness.child(lambda: run_child(args.variant, cells, tstop, 1 if args.quick else 3),
                             variant=args.variant)

    harness.print_header("s1_scale", ("neuron", "neuro-signals", "LFPykit", "numpy", "mpi4py",
                                       "mpich"))
    print(f"  measured runs: {cells} hh ball-and-stick cells ({cells * 100:,} segments), dt = "
          f"{DT} ms, {tstop:g} ms; S1: {N_TOTAL:,} segments, LFP {CONTACTS} contacts, Dipole "
          f"+ {rw.N_POPULATIONS} populations, EEG {SENSORS} sensors, tstop {TSTOP:g} ms")
    t_start = time.perf_counter()

    def spawn(variant):
        return harness.spawn(harness.script_command(__file__, "--variant", variant, "--cells",
                                                    cells, "--tstop", tstop, *(["--quick"] if
                                                                               args.quick else [])),
                             timeout=900, variant=variant)

    res = harness.run_plan([(v, repeats) for v in VARIANTS], spawn, describe=_describe,
                           label=lambda v: f"{v:<16}")
    for line in res.failures:
        print(f"failed run (not used): {line}")
    if args.reduce_json:
        summary = json.loads(Path(args.reduce_json).read_text())["summary"]
        red_source = f"from {args.reduce_json}"
    else:
        print("\nrank 0's reduction and write (reduce_write.py, 2 ranks and serial):")
        rres = rw.measure([1, 2], 1 if args.quick else 3, rw.default_lengths(),
                          10 if args.quick else 30, 3, SENSORS, 5.0)
        summary = {k: {str(n): v for n, v in per.items()} for k, per in rw.summarise(rres).items()}
        red_source = "measured now"
    u = units(res)
    red = reduce_costs(summary)
    print_units(u, red, red_source)
    out_rows = {}
    for dtype, record_dt, label in (("f8", RECORD_DT, "float64, record_dt 0.1 ms"),
                                    ("f4", RECORD_DT, "float32, record_dt 0.1 ms"),
                                    ("f8", DT, "float64, every step (dt 0.025 ms)")):
        if "g" not in u or "record_f8" not in u or (record_dt == DT and "record_f8_step" not in u):
            break
        rows = s1_rows(u, red, dtype, record_dt)  # every step: the same chunks, 4x as many
        out_rows[label] = rows
        print_s1(rows, title=f"S1 per rank, {label}, tstop 1 s: seconds per simulated second "
                             "(bare: hh ball-and-stick cost; rank 0: low = 2-rank measured, high "
                             "= x log2(P) for agree + reduce)")
        found = crossover(u, red, dtype, record_dt)
        out_rows[label + " crossover"] = found
        print("extrapolated further (powers of 2 from 64 ranks; rank 0 fitted as a + c L):")
        for what in ("low > recording", "high > recording", "low > 10 % of bare",
                     "high > 10 % of bare"):
            if what in found:
                p, n_r, t, recording, bare = found[what]
                print(f"  rank 0 ({what}) from {p:,} ranks ({n_r:,} segments per rank): rank 0 "
                      f"{t:.2f} s, per-rank recording {recording:.2f} s, bare {bare:.2f} s per "
                      "simulated second")
            else:
                print(f"  rank 0 ({what}): not up to {MAX_RANKS:,} ranks (the largest power "
                      f"of two with a cell per rank)")
    if args.json:
        Path(args.json).write_text(json.dumps({"units": u, "reduce": summary, "s1": out_rows},
                                              indent=1, default=str))
    print(f"\ntotal benchmark time {time.perf_counter() - t_start:.0f} s; load average at end: "
          f"{harness.load_text()}")
    return 0


def print_units(u: dict, red: dict, source: str) -> None:
    """The measured unit costs, each with its units and how it was measured."""
    rows = []

    def add(name, value, unit, how):
        rows.append([name, "-" if value is None else f"{value:.3g}", unit, how])

    n = u.get("n_measured")
    add("b: NEURON hh, use_fast_imem off", u.get("b"), "ns / segment / step",
        f"bare run, CPU time, {n} segments")
    add("b: NEURON hh, use_fast_imem on", u.get("b_fast_imem"), "ns / segment / step",
        "bare run with fast_imem")
    for variant, label in (("record_f8", "0.1 ms, mean, f8"), ("record_f8_step", "every step, f8"),
                           ("record_f4", "0.1 ms, mean, f4")):
        r = u.get(variant)
        if not r:
            continue
        add(f"s: sampling ({label})", r["s"], "ns / segment / step",
            "Session.timings 'sample' + 'assemble' over steps")
        add(f"  of which the per-step read ({label})", r["s_read"], "ns / segment / step",
            "Session.timings['sample']")
        add(f"  of which the per-chunk assembly ({label})", r["s_assemble"],
            "ns / segment / sample", "Session.timings['assemble']")
        add(f"d: Dipole + EEG products ({label})", r["d"], "ns / segment / sample",
            "Session.timings on_chunk dipole + eeg")
        add(f"LFP product in the run ({label}, L = {r['chunk']})", r["g_run"],
            "ns / (contact x segment) / sample", "Session.timings on_chunk lfp")
        add(f"whole recording, CPU ({label})", r.get("cpu_extra"), "ns / segment / step",
            "recorded run CPU - bare fast_imem CPU (cross-check of s + products)")
        add(f"transfer matrices ({label})", r["matrix_bytes_seg"], "bytes / segment",
            "recorders' factors_: " + ", ".join(f"{k} {v:.0f}" for k, v in
                                                  r["factor_bytes_seg"].items()))
        add(f"session set-up RSS ({label})", r["rss_session_b_seg"], "bytes / segment",
            "RSS after Session() - before (matrices, writer)")
        add(f"run RSS growth ({label})", r["rss_run_b_seg"], "bytes / segment",
            f"peak RSS of the run - RSS before (sample buffers; imem {r['buffer_mb']:.1f} MiB)")
    r = u.get("record_f8")
    if r:
        add("segment table + NEURON model RSS", r["rss_model_b_seg"], "bytes / segment",
            "RSS after build + from_neuron - before")
    for dt in ("f8", "f4"):
        for p, g in (u.get("g", {}).get(dt) or {}).items():
            shape = u["gemm_shapes"][str(p)]
            chunk = rw.s1_chunk_length(p, np.dtype(dt).itemsize)
            add(f"g: LFP product {dt}, {p} ranks (416 x {shape['segments']:,}) @ L = {chunk}", g,
                "ns / (contact x segment) / sample", "numpy matmul, 1 BLAS thread")
    st = u.get("setup")
    if st:
        add("u: LFP transfer matrix (line source)", st["matrix_ns_entry"],
            "ns / (contact x segment)", "transfer_matrix, 1 thread")
        add("LFP inside-segment check", st["inside_ns_entry"], "ns / (contact x segment)",
            "inside_segments, 1 thread")
        add("segment table", st["table_ns_seg"], "ns / segment", "signals.network.from_neuron")
    for length, m in sorted(red.items()):
        add(f"r: rank 0 agree + reduce + write, L = {length}", m["total_min"], "ms / chunk",
            f"2 ranks mpi4py, fastest call ({source}); agree {m['agree_min']:.3f}, reduce "
            f"{m['reduce_min']:.3f}, write {m['write_min']:.3f}; median {m['total']:.2f}")
    harness.print_table(["unit", "value", "units", "how (measured on this machine)"], rows,
                        title="measured unit costs (min over jobs)", align="lrll")


if __name__ == "__main__":
    sys.exit(main())
