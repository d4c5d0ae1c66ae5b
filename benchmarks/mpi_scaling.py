"""MPI scaling of a recorded run: 1 vs 2 ranks, bare vs recorded, both MPI backends of signals.

Not a test: a script that launches every configuration as its own job (``mpiexec -n 2`` or a
plain serial process), collects one JSON record from rank 0 (which gathers every rank's own
numbers) and prints Markdown tables (the README's "How it works, and what it costs"); the
machinery is ``harness.py``, the probe and the NetPyNE network ``peers.py``.

Network: ``signals.demo.build_network(scale=4)`` (480 cells, ~5,600 segments), cells
distributed round-robin over the ranks by gid; dt = 0.025 ms.

Configurations:

``bare``
    ``pc.set_maxstep(10)``, ``h.finitialize`` and ``pc.psolve(tstop)``, no recording (1 and 2 ranks).
``signals``
    ``LFP`` (32-contact probe, as in record_overhead.py) + ``Dipole()`` (total and per
    population) + ``Spikes()`` through :class:`signals.Session` (the body of
    :func:`signals.record`, split so that the recorder setup is timed apart from the run): one
    serial run, and under 2 ranks once per MPI backend, ``mpi_backend="mpi4py"`` (buffer
    ``Reduce``) and ``mpi_backend="neuron"`` (``ParallelContext.py_gather`` of pickles). The
    serial run and the mpi4py 2-rank run also with ``pipeline=True`` (the products on a worker
    thread; on 2 cores it has a core of its own serially and shares one with a rank under 2
    ranks).
    The cost split per rank comes from :attr:`signals.Session.timings`: the per-sample gather,
    the recorders' ``on_chunk``, the per-chunk agreement across ranks (``agree``: errors and
    termination signals, gathered and broadcast), the reduction to rank 0 (``reduce``) and
    ``RunWriter.append`` (``write``: on rank 0 the append, on the other ranks the wait for
    rank 0's verdict on it). The session's collectives at setup are not counted.
``netpyne_bare`` / ``netpyne_lfp`` (2 ranks)
    The same-sized NetPyNE network (``peers.py``'s NetPyNE version of the demo) run bare and
    with ``cfg.recordLFP`` on the 32 contacts sampled every step, with NetPyNE 1.1.1's
    ``setupRecordLFP`` re-defined for NEURON 9 (its ``ptr_update_callback`` call made a no-op),
    over a short tstop: its LFP is ~20-100x slower. Timed: ``sim.runSim()`` and then
    ``sim.gatherData()`` (its pickled gather of every rank's data to rank 0).

"run s" is the wall time of the run loop on rank 0 between barriers (initialise, run, last
flush and file close; never the network build or the recorder setup), the minimum over the
repeats (the machine is shared). Peak RSS is each rank's own ``ru_maxrss`` at the end of its
run. The script also checks that the 1-rank and 2-rank run files are the same (lfp, dipole,
dipole_population relative to the 1-rank range; spikes exactly).

Usage::

    python benchmarks/mpi_scaling.py             # full run (~4-6 min on 2 cores)
    python benchmarks/mpi_scaling.py --quick     # ~1 min
    python benchmarks/mpi_scaling.py --quick --json runs.json   # keep every record
    mpiexec -n 2 python benchmarks/mpi_scaling.py --child signals --backend neuron --tstop 100 --out r.nc
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
import numpy as np
import peers
from peers import DT, V_INIT

BIN = Path(sys.executable).parent
DEFAULT_SCALE = 4.0  # 480 cells
BACKENDS = ("mpi4py", "neuron")
COMPARED = ("lfp", "dipole", "dipole_population")


# -- the child (one rank of one job) ----------------------------------------------------------


def _timed(pc, nhost: int, run, res: dict, key: str) -> None:
    """``res[key]``: wall time of ``run()`` between barriers (all ranks start and end together);
    ``res[key + "_cpu"]``: this rank's CPU time over it (MPI waits busy-poll, so they count too)."""
    if nhost > 1:
        pc.barrier()
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    if nhost > 1:
        pc.barrier()
    res[key] = time.perf_counter() - t0
    res[key + "_cpu"] = time.process_time() - c0


def _child_demo(mode: str, tstop: float, scale: float, backend: str, out: str | None,
                pc, nhost: int) -> dict:
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Dipole, Spikes

    h.load_file("stdrun.hoc")
    t0 = time.perf_counter()
    net = build_network(scale=scale)
    cells = [c for members in net.populations.values() for c in members]
    table = signals.network.from_neuron(cells)
    build_s = time.perf_counter() - t0
    h.dt = DT
    res = {"segments": len(table), "cells": len(cells), "build_s": build_s}
    if mode == "bare":
        pc.set_maxstep(10)

        def run():
            h.finitialize(V_INIT)
            pc.psolve(tstop)

        _timed(pc, nhost, run, res, "sim_s")
    else:
        recorders = [LFP(signals.electrodes.points(peers.probe_positions())), Dipole(), Spikes()]
        t0 = time.perf_counter()
        # "<backend>" or "<backend>,on" / ",off": the worker-thread pipeline forced on or off
        backend, _, pipe = backend.partition(",")
        session = signals.Session(table, recorders, path=out, mpi_backend=backend,
                                  pipeline={"on": True, "off": False}.get(pipe),
                                  attrs={"tstop": tstop, "v_init": V_INIT})
        res["pipeline"] = session.pipeline
        res["setup_s"] = time.perf_counter() - t0
        res["chunk_samples"] = session.chunk_samples
        res["comm"] = "serial" if session.comm.nhost == 1 else (
            "mpi4py" if session.comm._mpi is not None else "neuron")
        if nhost > 1:
            pc.set_maxstep(10)  # as signals.record does

        def run():
            with session:
                session.initialize(V_INIT)
                session.run(tstop, progress=False)
                res["timings_run"] = dict(session.timings)

        _timed(pc, nhost, run, res, "sim_s")
        res["timings"] = dict(session.timings)
    if abs(h.t - tstop) >= DT:
        raise RuntimeError(f"the run stopped at t = {h.t} ms, not {tstop} ms")
    return res


def _child_netpyne(mode: str, tstop: float, scale: float, pc, nhost: int) -> dict:
    from neuron import h

    record_lfp = mode == "netpyne_lfp"
    res = peers.netpyne_create(tstop, scale, record_lfp)  # raises harness.Skip without NetPyNE
    from netpyne import sim

    _timed(pc, nhost, lambda: sim.runSim(skipPreRun=True), res, "sim_s")
    if abs(h.t - tstop) >= DT:
        raise RuntimeError(f"NetPyNE stopped at t = {h.t} ms, not {tstop} ms")
    if record_lfp:
        res["n_samples"] = peers.netpyne_lfp_samples()
    res["peak_run_mb"] = harness.peak_rss_mb()
    _timed(pc, nhost, sim.gatherData, res, "gather_s")
    return res


def _child_reduce(chunk: int, n_iter: int, nhost: int, pc) -> dict:
    """Pure cost of the per-chunk collectives of each backend (ranks synchronised first).

    The arrays have the shapes and reductions of the recorded runs' chunks (LFP 32 contacts,
    dipole, dipole per population (4), ~20 spikes per rank); each call is preceded by a barrier,
    so the time is the communication itself, not waiting for a slower rank.
    """
    from signals.engine.parallel import Comm

    rng = np.random.default_rng(int(pc.id()))
    outputs = {"lfp": rng.standard_normal((chunk, 32)), "dipole": rng.standard_normal((chunk, 3)),
               "dipole_population": rng.standard_normal((chunk, 4, 3)),
               "spike_time": np.sort(rng.uniform(0, 12.5, 20)),
               "spike_gid": rng.integers(0, 480, 20)}
    ops = {"lfp": "sum", "dipole": "sum", "dipole_population": "sum", "spike_time": "gather",
           "spike_gid": "gather"}
    res: dict = {}
    for backend in BACKENDS:
        comm = Comm.from_neuron(backend)
        times: dict[str, list[float]] = {"any_error": [], "reduce_outputs": []}
        for _ in range(n_iter):
            for name, call in (("any_error", lambda c=comm: c.any_error(None)),
                               ("reduce_outputs", lambda c=comm: c.reduce_outputs(outputs, ops))):
                pc.barrier()
                t0 = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - t0)
        res[backend] = {k: {"min_ms": min(v) * 1e3, "median_ms": statistics.median(v) * 1e3}
                        for k, v in times.items()}
    return {"collectives": res, "chunk_samples": chunk, "n_iter": n_iter, "sim_s": 0.0}


def run_child(args) -> None:
    from signals.engine.parallel import init_mpi_if_launched

    nhost = init_mpi_if_launched()
    from neuron import h

    pc = h.ParallelContext()
    rank = int(pc.id())
    res: dict = {"mode": args.child, "backend": args.backend, "nhost": nhost, "tstop": args.tstop}
    try:
        if args.child == "reduce":
            res.update(_child_reduce(500, 300, nhost, pc))
        elif args.child.startswith("netpyne"):
            res.update(_child_netpyne(args.child, args.tstop, args.scale, pc, nhost))
        else:
            res.update(_child_demo(args.child, args.tstop, args.scale, args.backend, args.out,
                                   pc, nhost))
    except harness.Skip as err:
        res["skipped"] = str(err)
    res["peak_rss_mb"] = harness.peak_rss_mb()
    res["rank"] = rank
    per_rank = pc.py_gather(res, 0) if nhost > 1 else [res]
    if rank == 0:
        ranks = list(per_rank)
        out = dict(ranks[0])
        out["ranks"] = ranks
        harness.emit(out)
    if nhost > 1:
        pc.barrier()


# -- the parent -------------------------------------------------------------------------------


def _spawn(nranks: int, mode: str, backend: str, tstop: float, scale: float, out: Path | None,
           timeout: float, mpiexec: str | None) -> dict:
    cmd = harness.script_command(__file__, "--child", mode, "--backend", backend, "--tstop", tstop,
                                 "--scale", scale)
    if out is not None:
        cmd += ["--out", str(out)]
    if nranks > 1:
        cmd = [mpiexec, "-n", str(nranks), *cmd]
    info = {"mode": mode, "backend": backend, "nranks": nranks, "tstop": tstop}
    res = harness.spawn(cmd, timeout=timeout, env=harness.mpi_env(), **info)
    if "error" not in res and "skipped" not in res and res.get("nhost") != nranks:
        return {**info, "error": f"ran on {res.get('nhost')} ranks, expected {nranks}"}
    return res


def _compare(ref_path: Path, path: Path) -> dict:
    """How far a 2-rank run file is from the 1-rank one."""
    import signals

    one, two = signals.open_run(ref_path), signals.open_run(path)
    try:
        out = {"time_equal": bool(np.array_equal(one["time"].values, two["time"].values))}
        for name in COMPARED:
            a, b = one[name].values, two[name].values
            out[name] = (float(np.max(np.abs(a - b)) / np.ptp(a)) if a.shape == b.shape
                         else f"shapes differ {a.shape} vs {b.shape}")
        st = (one["spike_time"].values, two["spike_time"].values)
        sg = (one["spike_gid"].values, two["spike_gid"].values)
        out["n_spikes"] = (int(st[0].size), int(st[1].size))
        out["spikes_equal"] = bool(np.array_equal(*st) and np.array_equal(*sg))
        out["mpi_ranks"] = (int(one.attrs["mpi_ranks"]), int(two.attrs["mpi_ranks"]))
    finally:
        one.close()
        two.close()
    return out


def _rank_split(r: dict) -> list[list[str]]:
    """Per-rank cost split of one signals run (``Session.timings``): table rows."""
    rows = []
    steps = round(r["tstop"] / DT)
    for rk in r["ranks"]:
        split = harness.cost_split(rk["timings_run"], rk["timings"])
        chunks = max(split["chunks"], 1)
        on_chunk = sum(v for k, v in split.items() if k.startswith("on_chunk "))
        total = split["gather"] + on_chunk + split["agree"] + split["reduce"] + split["write"] \
            + split["start"]
        rows.append([f"rank {rk['rank']}", f"{split['gather'] / steps * 1e6:.1f}",
                     f"{split['gather']:.2f}", f"{on_chunk / chunks * 1e3:.2f}",
                     f"{split['agree'] / chunks * 1e3:.2f}", f"{split['reduce'] / chunks * 1e3:.2f}",
                     f"{split['write'] / chunks * 1e3:.2f}", f"{total:.2f}", f"{rk['sim_s']:.2f}",
                     split["chunks"]])
    return rows


RANK_SPLIT_HEADER = ["rank", "gather µs/step", "gather s", "on_chunk ms/chunk", "agree ms/chunk",
                     "reduce ms/chunk", "write ms/chunk", "recording total s", "run s", "chunks"]


def _label(key) -> str:
    nranks, mode, backend = key
    return f"{nranks} rank{'s' if nranks > 1 else ' '} {mode:<13} {backend:<10}"


def _describe(key, res: dict) -> str:
    if key[1] == "reduce":
        return (f"collectives micro-benchmark  (process {res['process_s']:.1f} s, "
                f"load {res['load1']:.2f})")
    return (f"tstop {res['tstop']:6g} ms  run {res['sim_s']:7.2f} s  cpu "
            + " / ".join(f"{x['sim_s_cpu']:.2f}" for x in res["ranks"]) + " s  peak RSS "
            + " / ".join(f"{x['peak_rss_mb']:.0f}" for x in res["ranks"])
            + f" MB  (process {res['process_s']:.1f} s, load {res['load1']:.2f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="~1 min: short tstops, one repeat")
    ap.add_argument("--repeats", type=int, default=None, help="runs per configuration (default 5; 1 quick)")
    ap.add_argument("--tstop", type=float, default=None,
                    help="tstop (ms) of the signals/bare runs (default 1000; 100 with --quick)")
    ap.add_argument("--netpyne-tstop", type=float, default=None,
                    help="tstop (ms) of the NetPyNE runs (default 50; 5 with --quick)")
    ap.add_argument("--netpyne-repeats", type=int, default=None, help="default 2; 1 with --quick")
    ap.add_argument("--no-netpyne", action="store_true", help="skip the NetPyNE runs")
    ap.add_argument("--scale", type=float, default=DEFAULT_SCALE,
                    help=f"demo network scale (120 cells per 1.0; default {DEFAULT_SCALE})")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-job time limit (s)")
    ap.add_argument("--json", metavar="FILE", help="also write every job's record to FILE (JSON)")
    ap.add_argument("--child", choices=("bare", "signals", "reduce", "netpyne_bare", "netpyne_lfp"),
                    help="(internal) run one configuration on this rank")
    ap.add_argument("--backend", default="auto", help="(internal) mpi_backend of --child signals")
    ap.add_argument("--out", help="(internal) run file of --child signals")
    args = ap.parse_args(argv)
    if args.child:
        if args.tstop is None or (args.child == "signals" and not args.out):
            ap.error("--child needs --tstop (and --out for signals)")
        run_child(args)
        return 0

    repeats = args.repeats or (1 if args.quick else 5)
    tstop = args.tstop or (100.0 if args.quick else 1000.0)
    np_tstop = args.netpyne_tstop or (5.0 if args.quick else 50.0)
    np_repeats = args.netpyne_repeats or (1 if args.quick else 2)
    mpiexec = shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")
    harness.print_header("mpi_scaling", ("neuron", "neuro-signals", "netpyne", "mpi4py", "mpich",
                                          "numpy", "netCDF4"), blas=False)
    print(f"  mpiexec: {mpiexec or 'not found'}; MPI_LIB_NRN_PATH="
          f"{harness.mpi_env().get('MPI_LIB_NRN_PATH', '-')}")
    print(f"  network: signals.demo.build_network(scale={args.scale}), dt = {DT} ms; recorded: "
          f"LFP (32 contacts) + Dipole() + Spikes(), every step; tstop {tstop:g} ms")
    configs = [(1, "bare", "-"), (1, "signals", "auto"), (1, "signals", "auto,on")]
    if mpiexec is None:
        print("  2 ranks skipped: mpiexec not found (install the `mpi` extra: mpich, mpi4py)")
    else:
        configs += ([(2, "bare", "-")] + [(2, "signals", b) for b in BACKENDS]
                    + [(2, "signals", "mpi4py,on"), (2, "reduce", "-")])
    np_configs = [] if args.no_netpyne or mpiexec is None else [
        (2, "netpyne_bare", "-"), (2, "netpyne_lfp", "-")]
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="signals-mpi-") as tmp:
        tstops = {c: tstop for c in configs} | {c: np_tstop for c in np_configs}

        def out_path(key) -> Path | None:
            nranks, mode, backend = key
            return (Path(tmp) / f"{nranks}-{backend.replace(',', '-')}.nc" if mode == "signals"
                    else None)

        def spawn(key):
            nranks, mode, backend = key
            return _spawn(nranks, mode, backend, tstops[key], args.scale, out_path(key),
                          args.timeout, mpiexec)

        plan = [(c, repeats) for c in configs] + [(c, np_repeats) for c in np_configs]
        res = harness.run_plan(plan, spawn, describe=_describe, group=lambda key: key[1],
                               label=_label)
        files = {(k[0], k[2]): out_path(k) for k in res.runs if k[1] == "signals"}
        comparisons = {}
        ref = files.get((1, "auto"))
        for backend in BACKENDS:
            if ref is not None and (2, backend) in files:
                comparisons[backend] = _compare(ref, files[(2, backend)])
    if args.json:
        harness.save(args.json, res, argv=sys.argv, scale=args.scale)
    runs, skipped = res.runs, res.skipped

    def best_s(key) -> float | None:
        return res.best(key)

    print()
    print("run s = min over the runs of rank 0's wall time of initialise + run + last flush "
          "(between barriers); ratio = recorded / bare with the same ranks; speed-up = 1 rank / 2 ranks")
    rows = []
    for key in configs:
        rs = runs.get(key)
        if not rs or key[1] == "reduce":
            continue
        nranks, mode, backend = key
        b = res.fastest(key)
        bare = best_s((nranks, "bare", "-"))
        ratio = None if mode == "bare" else harness.ratio(b["sim_s"], bare)
        one = best_s((1, mode, "auto" if mode == "signals" else "-"))
        speed = harness.ratio(one, b["sim_s"]) if nranks > 1 else None
        rss = [max(x["ranks"][k]["peak_rss_mb"] for x in rs) if k < nranks else None for k in range(2)]
        pipe = "pipeline" if b.get("pipeline") else "no pipeline"
        name = "bare (pc.psolve)" if mode == "bare" else (
            f"signals serial, {pipe}" if nranks == 1 else f"signals {backend.split(',')[0]}, {pipe}")
        loads = [x["load1"] for x in rs]
        rows.append([name, nranks, "/".join(str(x["segments"]) for x in b["ranks"]),
                     f"{b['sim_s']:.2f}", f"{res.median(key):.2f}", len(rs), harness.fmt(ratio),
                     harness.fmt(speed, ".2f"), f"{rss[0]:.1f}", harness.fmt(rss[1], ".1f"),
                     harness.fmt(b.get("setup_s"), ".2f"), f"{min(loads):.2f}-{max(loads):.2f}"])
    harness.print_table(["configuration", "ranks", "segments/rank", "run s", "median", "runs",
                         "ratio", "speed-up", "RSS r0 MB", "RSS r1 MB", "setup s", "load"], rows)
    for mode, why in skipped.items():
        print(f"{mode} skipped: {why}")
    for line in res.failures:
        print(f"failed run (not in the table): {line}")

    for key in configs:
        b = res.fastest(key)
        if b and key[1] == "signals":
            harness.print_table(
                RANK_SPLIT_HEADER, _rank_split(b),
                title=f"cost split, {key[0]} rank{'s' if key[0] > 1 else ''}, backend "
                      f"{b.get('comm')}, pipeline {'on' if b.get('pipeline') else 'off'} "
                      "(fastest run; per rank, from Session.timings)")
            write = b["ranks"][0]["timings"].get("write", 0.0)
            bare = best_s((key[0], "bare", "-"))
            if bare:
                note = (" (not parallel: the other ranks wait for it at the next spike exchange)"
                        if key[0] > 1 else "")
                print(f"RunWriter.append on rank 0 alone: {write:.2f} s = "
                      f"{100 * write / bare:.1f} % of the {key[0]}-rank bare run{note}")
    print()
    m4, nr = best_s((2, "signals", "mpi4py")), best_s((2, "signals", "neuron"))
    if m4 and nr:
        faster, slower = ("mpi4py", "neuron") if m4 <= nr else ("neuron", "mpi4py")
        print(f"2 ranks: backend {faster} is faster: {min(m4, nr):.2f} s vs {max(m4, nr):.2f} s "
              f"({max(m4, nr) / min(m4, nr):.3f} ×, {abs(nr - m4):.2f} s over the run)")
        for backend in BACKENDS:
            rs = runs[(2, "signals", backend)]
            red = [x["ranks"][0]["timings"].get("reduce", 0.0)
                   + x["ranks"][0]["timings"].get("agree", 0.0) for x in rs]
            print(f"  {backend}: reduce + agree on rank 0: min {min(red):.3f} s, median "
                  f"{statistics.median(red):.3f} s per run; run s median "
                  f"{res.median((2, 'signals', backend)):.2f}")
    micro = runs.get((2, "reduce", "-"))
    if micro:
        rows = []
        for backend in BACKENDS:
            row = [backend]
            for name in ("any_error", "reduce_outputs"):
                row += [f"{min(m['collectives'][backend][name]['min_ms'] for m in micro):.3f}",
                        f"{min(m['collectives'][backend][name]['median_ms'] for m in micro):.3f}"]
            rows.append(row)
        harness.print_table(
            ["backend", "any_error min ms", "any_error median ms", "reduce_outputs min ms",
             "reduce_outputs median ms"], rows,
            title="collectives alone, 2 ranks synchronised by a barrier before each call (rank 0, "
                  f"ms per chunk of {micro[0]['chunk_samples']} samples; min / median of "
                  f"{micro[0]['n_iter']} calls, best of {len(micro)} jobs)")

    print()
    if comparisons:
        print("rank invariance: 2-rank run file vs 1-rank run file (max |diff| / range of the 1-rank values)")
        for backend, c in comparisons.items():
            vals = ", ".join(f"{name} {c[name]:.2e}" if isinstance(c[name], float) else f"{name} {c[name]}"
                             for name in COMPARED)
            print(f"  {backend}: {vals}; time equal: {c['time_equal']}; spikes equal: "
                  f"{c['spikes_equal']} ({c['n_spikes'][0]} vs {c['n_spikes'][1]}); mpi_ranks attr "
                  f"{c['mpi_ranks'][0]} vs {c['mpi_ranks'][1]}")
        worst = max(c[n] for c in comparisons.values() for n in COMPARED if isinstance(c[n], float))
        ok = worst <= 1e-10 and all(c["spikes_equal"] and c["time_equal"] for c in comparisons.values())
        print(f"  rank-invariant: {'yes' if ok else 'NO'} (worst {worst:.2e}, tolerance 1e-10)")
    else:
        print("rank invariance: not checked (no 1-rank and 2-rank run files)")

    print()
    nb, nl = res.fastest((2, "netpyne_bare", "-")), res.fastest((2, "netpyne_lfp", "-"))
    if "netpyne_bare" in skipped or "netpyne_lfp" in skipped:
        print(f"NetPyNE recordLFP under 2 ranks: skipped: "
              f"{skipped.get('netpyne_lfp') or skipped.get('netpyne_bare')}")
    elif args.no_netpyne or mpiexec is None:
        print("NetPyNE recordLFP under 2 ranks: skipped: "
              + ("--no-netpyne" if args.no_netpyne else "mpiexec not found"))
    elif nb and nl:
        n_cells = sum(x["cells"] for x in nb["ranks"])
        n_segs = sum(x["segments"] for x in nb["ranks"])
        print(f"NetPyNE under 2 ranks, tstop {np_tstop:g} ms, {n_cells} cells, {n_segs} segments "
              f"(min of {len(runs[(2, 'netpyne_lfp', '-')])}):")
        for name, r in (("bare", nb), ("recordLFP", nl)):
            print(f"  {name:<10} runSim {r['sim_s']:7.2f} s, gatherData {r['gather_s']:6.2f} s, peak RSS "
                  + " / ".join(f"{x['peak_rss_mb']:.0f}" for x in r["ranks"]) + " MB (rank 0 / rank 1)")
        ratio = nl["sim_s"] / nb["sim_s"]
        ratio_g = (nl["sim_s"] + nl["gather_s"]) / (nb["sim_s"] + nb["gather_s"])
        line = (f"  NetPyNE recordLFP / bare under 2 ranks: {ratio:.1f} × (runSim), {ratio_g:.1f} × "
                "(runSim + gatherData)")
        s2 = [best_s((2, "signals", b)) for b in BACKENDS]
        b2 = best_s((2, "bare", "-"))
        if b2 and all(s2):
            line += (f"; signals LFP + dipole + spikes / bare under 2 ranks: {min(s2) / b2:.3f} × "
                     f"(tstop {tstop:g} ms, incl. reduction and file)")
        print(line)
    else:
        print("NetPyNE recordLFP under 2 ranks: no successful run (see the failures above)")
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s; "
          f"load average at end: {harness.load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
