"""Recording overhead and peak memory: signals vs a bare run vs NetPyNE ``recordLFP`` vs LFPy.

Not a test: a script that times variants side by side in one run and prints ratios
(DESIGN.md, "Performance"). Every (variant, tstop) runs in a fresh subprocess so that its peak
RSS is its own; the parent collects one JSON record per run and prints a table.

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
``signals_blas_default``
    The same with ``blas_threads=None`` (BLAS left at its default thread count).
``netpyne_bare`` / ``netpyne_lfp``
    The same-sized network (same cells, segments, populations, connection rules and background
    drive) built with NetPyNE, run bare and with ``cfg.recordLFP`` on 32 contacts and
    ``recordStep = dt``. NetPyNE 1.1.1 calls ``PtrVector.ptr_update_callback``, which NEURON 9
    removed; here (never in the package) ``setupRecordLFP`` is re-defined from its own source with
    that call replaced by a no-op. NetPyNE re-sets every pointer at every sample anyway, so its
    results are unaffected.
``lfpy_bare`` / ``lfpy_lfp``
    The demo network's sections wrapped in one ``LFPy.Cell`` (``delete_sections=False``, no
    re-segmentation), run with ``cell.simulate()`` and with ``cell.simulate(probes=[electrode])``,
    an ``LFPy.RecExtElectrode`` on the same 32 contacts (LFPy's in-loop electrode).

"sim s" is the wall time of the simulation loop only (initialisation, run, last flush), never
the network build or the recorder setup. The table shows the minimum over the repeats (the
least-disturbed run: the machine is shared), plus the median. Peak RSS is the peak of the run's
own process up to the end of the run (imports, network, recorder setup and run; checks made after
the run are excluded); "ΔRSS sim" is the peak RSS during the run (Linux ``VmHWM``, reset just
before it) minus the RSS just before it: what the run and its recording add.

Usage::

    python benchmarks/record_overhead.py            # full run (~5-8 min on 2 cores)
    python benchmarks/record_overhead.py --quick    # smoke run
    python benchmarks/record_overhead.py --variant signals --tstop 200   # one child run (JSON)
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DT = 0.025  # ms
V_INIT = -65.0  # mV
N_CONTACTS = 32
DEFAULT_SCALE = 7.5  # demo network scale: 900 cells, 10,500 segments
MARKER = "RECORD_OVERHEAD_JSON:"

MAIN_VARIANTS = ("bare", "bare_fast_imem", "signals", "signals_blas_default")
PEER_VARIANTS = ("netpyne_bare", "netpyne_lfp", "lfpy_bare", "lfpy_lfp")
VARIANTS = MAIN_VARIANTS + PEER_VARIANTS
#: variant → the bare run it is compared with
REFERENCE = {
    "bare": None,
    "bare_fast_imem": "bare",
    "signals": "bare",
    "signals_blas_default": "bare",
    "netpyne_bare": "bare",
    "netpyne_lfp": "netpyne_bare",
    "lfpy_bare": "bare",
    "lfpy_lfp": "lfpy_bare",
}


class Skip(Exception):
    """A variant that cannot run here (missing package, incompatible version, ...)."""


# -- helpers used in the child processes --------------------------------------------------------


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_rss_mb() -> float:
    # Linux: ru_maxrss in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _SimMemory:
    """RSS before the run and peak RSS during it (Linux: VmHWM reset through clear_refs)."""

    def __enter__(self):
        self.rss_before = _rss_mb()
        self.peak_before = _peak_rss_mb()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(self, *exc):
        self.peak_sim = None
        if self.reset:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_sim = int(line.split()[1]) / 1024
        # clear_refs may also have reset ru_maxrss: the process peak is the larger of the phases
        self.peak_total = max(_peak_rss_mb(), self.peak_before, self.peak_sim or 0.0)
        return False

    def result(self) -> dict:
        return {"rss_before_sim_mb": self.rss_before, "peak_before_sim_mb": self.peak_before,
                "peak_sim_mb": self.peak_sim, "peak_rss_mb": self.peak_total}


def _probe_positions() -> np.ndarray:
    """32 contacts (µm) on a vertical line through the demo network's column (z is depth)."""
    z = np.linspace(-1100.0, -20.0, N_CONTACTS)
    return np.column_stack([np.full(N_CONTACTS, 5.0), np.full(N_CONTACTS, 5.0), z])


def _n_segments() -> int:
    from neuron import h

    return int(sum(sec.nseg for sec in h.allsec()))


def _build_demo(scale: float):
    from neuron import h

    from signals.demo import build_network

    h.load_file("stdrun.hoc")
    t0 = time.perf_counter()
    net = build_network(scale=scale)
    return net, time.perf_counter() - t0


def _run_bare(tstop: float, scale: float, fast_imem: bool = False) -> dict:
    from neuron import h

    net, build_s = _build_demo(scale)
    h.dt = DT
    h.cvode.use_fast_imem(int(fast_imem))
    with _SimMemory() as mem:
        t0 = time.perf_counter()
        h.finitialize(V_INIT)
        h.continuerun(tstop)
        sim_s = time.perf_counter() - t0
    assert abs(h.t - tstop) < DT, h.t
    return {"segments": _n_segments(), "cells": len(net.cells), "build_s": build_s,
            "sim_s": sim_s, **mem.result()}


def _run_signals(tstop: float, scale: float, blas_threads: int | None) -> dict:
    from neuron import h

    import signals
    from signals.recorders import LFP

    net, build_s = _build_demo(scale)
    table = signals.network.from_neuron(populations=net.populations)
    probe = signals.electrodes.points(_probe_positions())
    h.dt = DT
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        path = Path(tmp) / "run.nc"
        t0 = time.perf_counter()
        # the body of signals.record(), split so that the recorder setup (transfer matrix, file
        # creation) is timed apart from the run
        session = signals.Session(table, [LFP(probe)], path=path, blas_threads=blas_threads,
                                  attrs={"tstop": tstop, "v_init": V_INIT})
        setup_s = time.perf_counter() - t0
        with _SimMemory() as mem:
            t0 = time.perf_counter()
            with session:
                session.initialize(V_INIT)
                session.run(tstop, progress=False)
            sim_s = time.perf_counter() - t0
        ds = signals.open_run(path)
        n_samples = int(ds.sizes["time"])
        chunk = session.chunk_samples
        ds.close()
    expected = round(tstop / DT) + 1
    if n_samples != expected:
        raise RuntimeError(f"run file has {n_samples} samples, expected {expected}")
    return {"segments": len(table), "cells": len(net.cells), "build_s": build_s, "setup_s": setup_s,
            "sim_s": sim_s, "n_samples": n_samples, "chunk_samples": chunk, **mem.result()}


# NetPyNE version of signals.demo (same cells, segments, rules and drive).
_PYR_SECS = {  # name: (parent, parentX, L µm, diam µm, nseg)
    "basal": ("soma", 0.0, 150.0, 2.0, 3),
    "apic0": ("soma", 1.0, 150.0, 3.0, 3),
    "apic1": ("apic0", 1.0, 150.0, 2.0, 3),
    "apic2": ("apic1", 1.0, 100.0, 1.5, 3),
}
_BAS_SECS = {f"dend{k}": ("soma", 0.5, 80.0, 1.0, 2) for k in range(4)}
#: background drive (fraction of 1000 Hz, weight µS, target section), if signals.demo lacks it
_BACKGROUND = {"E2": (1.0, 0.0012, "apic0"), "I2": (1.0, 0.0006, "soma"),
               "E5": (1.0, 0.0012, "apic0"), "I5": (1.0, 0.0006, "soma")}


def _patch_netpyne_recordlfp() -> None:
    """Re-define ``setupRecordLFP`` without the ``ptr_update_callback`` call NEURON 9 lacks."""
    import importlib

    from neuron import h

    if hasattr(h.PtrVector(1), "ptr_update_callback"):
        return  # NEURON 8: nothing to patch
    setup_mod = importlib.import_module("netpyne.sim.setup")
    src = inspect.getsource(setup_mod.setupRecordLFP)
    new, n = re.subn(r"cell\.imembPtr\.ptr_update_callback\(\s*cell\.setImembPtr\s*\)", "None", src)
    if n != 1:
        raise Skip("could not patch netpyne.sim.setup.setupRecordLFP for NEURON 9 "
                   f"(found {n} ptr_update_callback calls, expected 1)")
    exec(compile(new, setup_mod.__file__, "exec"), setup_mod.__dict__)
    from netpyne import sim

    sim.setupRecordLFP = setup_mod.setupRecordLFP


def _run_netpyne(tstop: float, scale: float, record_lfp: bool) -> dict:
    try:
        from netpyne import sim, specs
    except ImportError as err:
        raise Skip(f"netpyne not installed ({err}); pip install 'neuro-signals[netpyne]'") from err
    from neuron import h

    from signals import demo

    if record_lfp:
        _patch_netpyne_recordlfp()
    t0 = time.perf_counter()
    net = specs.NetParams()
    net.sizeX, net.sizeY, net.sizeZ = 400.0, 1100.0, 400.0
    pyr = {"secs": {"soma": {"geom": {"diam": 20.0, "L": 20.0, "Ra": 150.0, "cm": 1.0},
                             "mechs": {"hh": {}}}}}
    bas = {"secs": {"soma": {"geom": {"diam": 15.0, "L": 15.0, "Ra": 150.0, "cm": 1.0},
                             "mechs": {"hh": {}}}}}
    for cell, secs in ((pyr, _PYR_SECS), (bas, _BAS_SECS)):
        for name, (parent, px, length, diam, nseg) in secs.items():
            cell["secs"][name] = {
                "geom": {"diam": diam, "L": length, "Ra": 150.0, "cm": 1.0, "nseg": nseg},
                "topol": {"parentSec": parent, "parentX": px, "childX": 0.0},
                "mechs": {"pas": {"g": 1e-4, "e": -65.0}},
            }
    net.cellParams["PYR"] = pyr
    net.cellParams["BAS"] = bas
    for pop, (n, (zlo, zhi), kind) in demo.POPULATIONS.items():
        # NetPyNE's y is depth (down): demo z in [-1100, 0] µm → y = -z
        net.popParams[pop] = {"cellType": "PYR" if kind == "pyr" else "BAS",
                              "numCells": max(1, round(n * scale)),
                              "ynormRange": [-zhi / net.sizeY, -zlo / net.sizeY]}
    for (pre, post), (p, w, target, erev, tau) in demo._RULES.items():
        mech = f"syn_e{erev:g}_tau{tau:g}"
        net.synMechParams[mech] = {"mod": "ExpSyn", "e": erev, "tau": tau}
        net.connParams[f"{pre}->{post}"] = {
            "preConds": {"pop": pre}, "postConds": {"pop": post}, "probability": p,
            "weight": w, "delay": "1 + 2 * uniform(0, 1)", "synMech": mech, "sec": target,
            "loc": 0.5,
        }
    net.synMechParams["bkg"] = {"mod": "ExpSyn", "e": 0.0, "tau": getattr(demo, "_BACKGROUND_TAU", 2.0)}
    for pop, (frac, w, target) in getattr(demo, "_BACKGROUND", _BACKGROUND).items():
        net.stimSourceParams[f"bkg_{pop}"] = {"type": "NetStim", "rate": frac * 1000.0,
                                              "noise": 1.0, "start": 0.0}
        net.stimTargetParams[f"bkg_{pop}->{pop}"] = {
            "source": f"bkg_{pop}", "conds": {"pop": pop}, "weight": w, "delay": 0.0,
            "synMech": "bkg", "sec": target, "loc": 0.5,
        }
    cfg = specs.SimConfig()
    cfg.duration = tstop
    cfg.dt = DT
    cfg.recordStep = DT  # LFP sampled every step, like the signals variants
    cfg.verbose = False
    cfg.printRunTime = False
    cfg.printPopAvgRates = False
    cfg.oneSynPerNetcon = False  # one synapse per target and rule, as in signals.demo
    cfg.recordTraces = {}
    cfg.saveJson = cfg.savePickle = False
    cfg.analysis = {}
    if record_lfp:
        pos = _probe_positions()
        cfg.recordLFP = [[float(x), float(-z), float(y)] for x, y, z in pos]
    sim.create(netParams=net, simConfig=cfg, output=False)
    build_s = time.perf_counter() - t0
    cells = [c for c in sim.net.cells if getattr(c, "secs", None)]
    segments = sum(c.getNumberOfSegments() for c in cells)
    sim.preRun()
    with _SimMemory() as mem:
        t0 = time.perf_counter()
        sim.runSim(skipPreRun=True)  # h.finitialize + pc.psolve(duration)
        sim_s = time.perf_counter() - t0
    assert abs(h.t - tstop) < DT, h.t
    out = {"segments": segments, "cells": len(cells), "build_s": build_s,
           "sim_s": sim_s, "spikes": len(sim.simData.get("spkt", [])), **mem.result()}
    if record_lfp:
        lfp = np.asarray(sim.simData["LFP"])
        out["n_samples"] = int(lfp.shape[0])
        if not np.any(lfp):
            raise RuntimeError("NetPyNE recorded an all-zero LFP")
    return out


def _run_lfpy(tstop: float, scale: float, record_lfp: bool) -> dict:
    try:
        import LFPy
    except ImportError as err:
        raise Skip(f"LFPy not installed ({err}); pip install 'neuro-signals[lfpy]'") from err
    import warnings

    from neuron import h

    net, build_s = _build_demo(scale)
    t0 = time.perf_counter()
    secs = h.SectionList()
    for c in net.cells:
        for sec in c.all:
            secs.append(sec=sec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "N sections detected! Consider delete_sections=True"
        cell = LFPy.Cell(morphology=secs, delete_sections=False, nsegs_method=None, dt=DT,
                         tstart=0.0, tstop=tstop, v_init=V_INIT)
    probes = []
    if record_lfp:
        pos = _probe_positions()
        probes.append(LFPy.RecExtElectrode(cell, x=pos[:, 0], y=pos[:, 1], z=pos[:, 2], sigma=0.3,
                                           method="linesource"))
    build_s += time.perf_counter() - t0
    with _SimMemory() as mem:
        t0 = time.perf_counter()
        cell.simulate(probes=probes or None)
        sim_s = time.perf_counter() - t0
    out = {"segments": int(cell.totnsegs), "cells": len(net.cells), "build_s": build_s,
           "sim_s": sim_s, **mem.result()}
    if record_lfp:
        out["n_samples"] = int(probes[0].data.shape[1])
    return out


def run_child(variant: str, tstop: float, scale: float) -> dict:
    """Run one variant in this process and return its measurements."""
    if variant == "bare":
        res = _run_bare(tstop, scale)
    elif variant == "bare_fast_imem":
        res = _run_bare(tstop, scale, fast_imem=True)
    elif variant == "signals":
        res = _run_signals(tstop, scale, blas_threads=1)
    elif variant == "signals_blas_default":
        res = _run_signals(tstop, scale, blas_threads=None)
    elif variant in ("netpyne_bare", "netpyne_lfp"):
        res = _run_netpyne(tstop, scale, record_lfp=variant == "netpyne_lfp")
    elif variant in ("lfpy_bare", "lfpy_lfp"):
        res = _run_lfpy(tstop, scale, record_lfp=variant == "lfpy_lfp")
    else:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    res.update(variant=variant, tstop=tstop)
    return res


# -- the parent --------------------------------------------------------------------------------


def _spawn(variant: str, tstop: float, scale: float, timeout: float) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--variant", variant, "--tstop", str(tstop),
           "--scale", str(scale)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"variant": variant, "tstop": tstop, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            res = json.loads(line[len(MARKER):])
            res["process_s"] = wall
            return res
    tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or ["no output"])[-1]
    return {"variant": variant, "tstop": tstop, "error": f"exit code {proc.returncode}: {tail}"}


def _environment() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    from threadpoolctl import threadpool_info

    vers = []
    for dist in ("neuron", "neuro-signals", "LFPykit", "netpyne", "LFPy", "numpy"):
        try:
            vers.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            vers.append(f"{dist} -")
    blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads default, "
            f"{i.get('architecture')})" for i in threadpool_info() if i["user_api"] == "blas"]
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("OPENBLAS", "OMP_", "MKL_")) and k != "OPENBLAS_L2_SIZE"}
    return [
        f"python {platform.python_version()}; " + ", ".join(vers),
        f"CPU cores: {os.cpu_count()}; BLAS: {'; '.join(blas) or 'none found'}",
        f"BLAS/OpenMP environment: {env or 'none'}; load average at start: "
        + " ".join(f"{x:.2f}" for x in os.getloadavg()),
    ]


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


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
    ap.add_argument("--timeout", type=float, default=600.0, help="per-run time limit (s)")
    ap.add_argument("--variant", choices=VARIANTS, help="(internal) run one variant, print JSON")
    ap.add_argument("--tstop", type=float, help="(internal) tstop (ms) of --variant")
    args = ap.parse_args(argv)

    if args.variant:
        if args.tstop is None:
            ap.error("--variant needs --tstop")
        try:
            res = run_child(args.variant, args.tstop, args.scale)
        except Skip as err:
            res = {"variant": args.variant, "tstop": args.tstop, "skipped": str(err)}
        print(MARKER + json.dumps(res), flush=True)
        return 0

    repeats = args.repeats or (1 if args.quick else 3)
    peer_repeats = args.peer_repeats or (1 if args.quick else 2)
    tstops = args.tstops or ([20.0, 60.0] if args.quick else [200.0, 800.0])
    peer_tstops = {"netpyne": args.netpyne_tstop or (5.0 if args.quick else 25.0),
                   "lfpy": args.lfpy_tstop or min(tstops)}
    plan: list[tuple[str, float, int]] = [(v, t, repeats) for t in tstops for v in MAIN_VARIANTS]
    if not args.no_peers:
        for peer, tstop in peer_tstops.items():
            if tstop not in tstops:  # signals and bare side by side at the peer's tstop
                plan += [(v, tstop, peer_repeats) for v in ("bare", "signals")]
            plan += [(f"{peer}_bare", tstop, peer_repeats), (f"{peer}_lfp", tstop, peer_repeats)]
    print("record_overhead: " + " ".join([os.path.basename(sys.executable), *sys.argv]))
    for line in _environment():
        print("  " + line)
    print(f"  network: signals.demo.build_network(scale={args.scale}), dt = {DT} ms, "
          f"{N_CONTACTS} contacts, sampling every step")
    t_start = time.perf_counter()
    runs: dict[tuple[str, float], list[dict]] = {}
    skipped: dict[str, str] = {}
    failures: list[str] = []
    # round-robin over the repeats so that slow drifts of the (shared) machine hit every variant
    for r in range(max(n for *_, n in plan)):
        for variant, tstop, n in plan:
            if r >= n or variant in skipped:
                continue
            res = _spawn(variant, tstop, args.scale, args.timeout)
            if "skipped" in res:
                skipped[variant] = res["skipped"]
                print(f"  {variant:<22} tstop {tstop:6g} ms  skipped: {skipped[variant]}", flush=True)
                continue
            if "error" in res:  # e.g. a file edited while the benchmark runs: try the next repeat
                failures.append(f"{variant} tstop {tstop:g} ms run {r + 1}: {res['error']}")
                print(f"  run {r + 1}: {variant:<22} tstop {tstop:6g} ms  FAILED: {res['error']}",
                      flush=True)
                continue
            runs.setdefault((variant, tstop), []).append(res)
            print(f"  run {r + 1}: {variant:<22} tstop {tstop:6g} ms  sim {res['sim_s']:7.2f} s  "
                  f"peak RSS {res['peak_rss_mb']:7.1f} MB  (process {res['process_s']:.1f} s)",
                  flush=True)

    def best(variant: str, tstop: float) -> float | None:
        rs = runs.get((variant, tstop))
        return min(x["sim_s"] for x in rs) if rs else None

    header = (f"{'variant':<22} {'segments':>8} {'tstop ms':>8} {'sim s':>8} {'median s':>8} "
              f"{'runs':>4} {'ratio':>7} {'vs':<13} {'peak RSS MB':>11} {'ΔRSS sim MB':>11} "
              f"{'rec setup s':>11}")
    print()
    print("sim s = min over the runs (wall time of initialise + run + last flush; no build/setup)")
    print(header)
    print("-" * len(header))
    order = {v: i for i, v in enumerate(VARIANTS)}
    for (variant, tstop), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], order[kv[0][0]])):
        sim = [x["sim_s"] for x in rs]
        ref = REFERENCE[variant]
        ref_s = best(ref, tstop) if ref else None
        ratio = min(sim) / ref_s if ref_s else None
        peak = max(x["peak_rss_mb"] for x in rs)
        dsim = max(max(0.0, (x["peak_sim_mb"] or x["peak_rss_mb"]) - x["rss_before_sim_mb"]) for x in rs)
        setup = min(x["setup_s"] for x in rs) if "setup_s" in rs[0] else None
        print(f"{variant:<22} {rs[0]['segments']:>8} {tstop:>8g} {min(sim):>8.2f} "
              f"{statistics.median(sim):>8.2f} {len(rs):>4} {_fmt(ratio, '7.3f')} "
              f"{ref or '':<13} {peak:>11.1f} {dsim:>11.1f} {_fmt(setup, '11.2f')}")
    for variant, why in skipped.items():
        print(f"{variant:<22} skipped: {why}")
    for line in failures:
        print(f"failed run (not in the table): {line}")

    print()
    for tstop in tstops:
        b, s = best("bare", tstop), best("signals", tstop)
        if b and s:
            verdict = "OK" if s / b <= 1.10 else "ABOVE TARGET"
            print(f"signals LFP overhead at tstop {tstop:g} ms: {s / b:.3f} × bare "
                  f"(target <= 1.10): {verdict}")
        bf = best("bare_fast_imem", tstop)
        if b and bf and s:
            print(f"  of which h.cvode.use_fast_imem(1) alone: {bf / b:.3f} × bare; signals' own "
                  f"gather + GEMM + store: {s / bf:.3f} × bare_fast_imem")
        sb = best("signals_blas_default", tstop)
        if s and sb:
            med = [statistics.median(x["sim_s"] for x in runs[(v, tstop)])
                   for v in ("signals_blas_default", "signals")]
            print(f"  BLAS default threads vs 1 thread at tstop {tstop:g} ms: {sb / s:.3f} × (min), "
                  f"{med[0] / med[1]:.3f} × (median; contention depends on the machine's other load)")
    if len(tstops) >= 2:
        lo, hi = min(tstops), max(tstops)
        for variant in MAIN_VARIANTS:
            a, b = runs.get((variant, lo)), runs.get((variant, hi))
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
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s; "
          f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
