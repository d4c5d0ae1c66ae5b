"""Recording overhead and peak memory: signals vs a bare run vs NetPyNE ``recordLFP`` vs LFPy.

Not a test: a script that times variants side by side in one run and prints ratios
(the README's "How it works, and what it costs"). Every (variant, tstop) runs in a fresh
subprocess so that its peak RSS is its own; the parent collects one JSON record per run and prints a table.

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
    LFP (32 contacts) sampled with ``record_dt = 0.1`` ms, i.e. every 4th step of dt = 0.025 ms.
``signals_chunk_200``
    LFP + dipole + EEG as above with ``chunk_samples=200`` instead of the default 500: a
    (200 x 10,500) float64 buffer (17 MB) stays in this machine's 32 MB L3 cache across the
    recorders' GEMMs; the default (500 x 10,500, 42 MB) does not.
``signals_blas_default``
    LFP with ``blas_threads=None`` (BLAS left at its default thread count).
``signals_profile``
    (cost split, not in the ratio table) LFP + dipole + EEG as above with timers wrapped around
    the session's own methods in the child process (no package file is edited): the per-step
    callback (``PtrVector.gather`` into the chunk buffer), each recorder's ``on_chunk``,
    ``RunWriter.append``, the pointer setup at ``finitialize`` and the final flush + close.
``store_append``
    (micro-benchmark, not in the ratio table) ``signals.store.RunWriter.append`` on the chunks of a
    real LFP + dipole + EEG recording (captured from a short run, replayed to fresh files), as
    the package writes them (zlib level 1 + shuffle, ``sync`` after every chunk), with
    compression off (a ``netCDF4.Dataset`` subclass swapped in for the writer's construction),
    without the per-chunk ``sync``, and with neither; plus the cost of the session's BLAS limit
    (reused ``ThreadpoolController.limit``) against a fresh ``threadpool_limits`` per chunk.
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

The signals variants use ``signals.Session`` with its defaults (``chunk_samples``: 500 here, i.e. one
chunk per 12.5 ms of model time when sampling every step).

"sim s" is the wall time of the simulation loop only (initialisation, run, last flush), never
the network build or the recorder setup. The table shows the minimum over the repeats (the
least-disturbed run: the machine is shared), plus the median. "cpu s" is the process CPU time
(all threads) of the same interval, min over the repeats: on a loaded machine it is far less
disturbed by other processes than wall time, so its ratio is the steadier estimate of the
recording cost (for ``signals_blas_default`` it adds the BLAS threads' time). Peak RSS is the
peak of the run's own process up to the end of the run (imports, network, recorder setup and
run; checks made after the run are excluded); "ΔRSS sim" is the peak RSS during the run (Linux
``VmHWM``, reset just before it) minus the RSS just before it: what the run and its recording add.

Usage::

    python benchmarks/record_overhead.py            # full run (~12-15 min on 2 cores, ~4 of them peers)
    python benchmarks/record_overhead.py --quick    # smoke run
    python benchmarks/record_overhead.py --variant signals --tstop 200   # one child run (JSON)
"""

from __future__ import annotations

import argparse
import gc
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

RECORD_DT = 0.1  # ms, the subsampled variant (every 4th step)
STORE_CAPTURE_MS = 60.0  # ms recorded to capture real chunks for the store micro-benchmark

MAIN_VARIANTS = ("bare", "bare_fast_imem", "signals", "signals_lfp_dipole_eeg", "signals_record_dt_0.1",
                 "signals_chunk_200", "signals_blas_default")
PEER_VARIANTS = ("netpyne_bare", "netpyne_lfp", "lfpy_bare", "lfpy_lfp")
AUX_VARIANTS = ("signals_profile", "store_append")  # cost split and micro-benchmark: own tables
VARIANTS = MAIN_VARIANTS + PEER_VARIANTS + AUX_VARIANTS
#: what each signals variant records
LABELS = {
    "signals": "LFP (32 contacts), every step",
    "signals_lfp_dipole_eeg": "LFP + Dipole() + EEG() (four-sphere, 21 sensors), every step",
    "signals_record_dt_0.1": f"LFP, record_dt = {RECORD_DT} ms (every {round(RECORD_DT / DT)}th step)",
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
    "signals_chunk_200": "bare",
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
    """RSS before the run, peak RSS during it (Linux: VmHWM reset through clear_refs), CPU time."""

    def __enter__(self):
        self.cpu0 = time.process_time()
        self.rss_before = _rss_mb()
        self.peak_before = _peak_rss_mb()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(self, *exc):
        self.cpu = time.process_time() - self.cpu0  # CPU time of all threads of this process
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
                "peak_sim_mb": self.peak_sim, "peak_rss_mb": self.peak_total, "sim_cpu_s": self.cpu}


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


def _recorders(kind: str) -> list:
    """The recorders of a signals variant: ``"lfp"`` or ``"lfp_dipole_eeg"``."""
    import signals
    from signals.recorders import EEG, LFP, Dipole

    recs = [LFP(signals.electrodes.points(_probe_positions()))]
    if kind == "lfp_dipole_eeg":
        recs += [Dipole(), EEG()]
    return recs


class _Profile:
    """Wall-time accumulators wrapped around the session's methods (this process only)."""

    def __init__(self) -> None:
        self.total: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._in_step = False

    def _add(self, key: str, dt: float) -> None:
        self.total[key] = self.total.get(key, 0.0) + dt
        self.calls[key] = self.calls.get(key, 0) + 1

    def wrap(self, owner, attr: str, key: str) -> None:
        func = getattr(owner, attr)
        prof = self

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                prof._add(key, time.perf_counter() - t0)

        setattr(owner, attr, timed)

    def install(self, recorders: list) -> None:
        from signals import session as session_mod
        from signals.store import RunWriter

        prof = self
        on_step, flush = session_mod.Session._on_step, session_mod.Session._flush

        def timed_step(obj):
            prof._in_step = True
            t0 = time.perf_counter()
            try:
                return on_step(obj)
            finally:
                prof._in_step = False
                prof._add("step", time.perf_counter() - t0)

        def timed_flush(obj):
            t0 = time.perf_counter()
            try:
                return flush(obj)
            finally:
                prof._add("flush_in_step" if prof._in_step else "flush_at_close",
                          time.perf_counter() - t0)

        session_mod.Session._on_step = timed_step  # bound at attach(): patch before the Session
        session_mod.Session._flush = timed_flush
        self.wrap(session_mod.Session, "_start", "start")
        self.wrap(RunWriter, "append", "append")
        self.wrap(RunWriter, "close", "writer_close")
        for rec in recorders:  # instance attributes: one entry per recorder
            self.wrap(rec, "on_chunk", f"on_chunk {rec.name}")

    def result(self) -> dict:
        return {"profile": self.total, "profile_calls": self.calls}


def _run_signals(tstop: float, scale: float, blas_threads: int | None, kind: str = "lfp",
                 record_dt: float | None = None, profile: bool = False,
                 chunk_samples: int | None = None) -> dict:
    from neuron import h

    import signals

    net, build_s = _build_demo(scale)
    table = signals.network.from_neuron(populations=net.populations)
    recorders = _recorders(kind)
    prof = None
    if profile:
        prof = _Profile()
        prof.install(recorders)
    h.dt = DT
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        path = Path(tmp) / "run.nc"
        t0 = time.perf_counter()
        # the body of signals.record(), split so that the recorder setup (transfer matrix, file
        # creation) is timed apart from the run
        session = signals.Session(table, recorders, path=path, blas_threads=blas_threads,
                                  record_dt=record_dt, chunk_samples=chunk_samples,
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
        file_mb = path.stat().st_size / 2**20
        ds.close()
    expected = round(tstop / (record_dt or DT)) + 1
    if n_samples != expected:
        raise RuntimeError(f"run file has {n_samples} samples, expected {expected}")
    out = {"segments": len(table), "cells": len(net.cells), "build_s": build_s, "setup_s": setup_s,
           "sim_s": sim_s, "n_samples": n_samples, "chunk_samples": chunk, "file_mb": file_mb,
           **mem.result()}
    if prof is not None:
        out.update(prof.result())
    return out


def _run_store_append(tstop: float, scale: float, n_chunks: int = 64, repeats: int = 3) -> dict:
    """Micro-benchmark of ``RunWriter.append`` (see the module docstring, ``store_append``)."""
    import netCDF4
    from neuron import h

    import signals
    from signals import session as session_mod
    from signals.store import RunWriter

    captured: dict = {}
    chunks: list = []

    class CapturingWriter(RunWriter):
        def __init__(self, path, **kwargs):
            captured.update(kwargs)
            super().__init__(path, **kwargs)

        def append(self, t, outputs):
            chunks.append((np.array(t), {k: np.array(v) for k, v in outputs.items()}))
            super().append(t, outputs)

    net, _ = _build_demo(scale)
    table = signals.network.from_neuron(populations=net.populations)
    h.dt = DT
    session_mod.RunWriter = CapturingWriter  # this child process only
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        session = signals.Session(table, _recorders("lfp_dipole_eeg"), path=Path(tmp) / "capture.nc")
        chunk_len = session.chunk_samples
        with session:
            session.initialize(V_INIT)
            session.run(tstop, progress=False)
    session_mod.RunWriter = RunWriter
    full = [c for c in chunks if c[0].size == chunk_len]
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
                    writer = RunWriter(path, **{**captured, "compression": level})
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

    limit = session_mod._BlasLimit(1)
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
    return {"segments": len(table), "cells": len(net.cells), "chunk_samples": chunk_len,
            "n_chunks": n_chunks, "raw_mb": raw_mb, "modes": res,
            "variables": {k: list(v.shape) for k, v in full[0][1].items()},
            "blas_limit_reused_ms": reused_ms, "blas_limit_fresh_ms": fresh_ms}


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


def _netpyne_params(tstop: float, scale: float, record_lfp: bool):
    """NetPyNE ``(NetParams, SimConfig)`` of the demo network (also used by mpi_scaling.py)."""
    try:
        from netpyne import specs
    except ImportError as err:
        raise Skip(f"netpyne not installed ({err}); pip install 'neuro-signals[netpyne]'") from err

    from signals import demo

    if record_lfp:
        _patch_netpyne_recordlfp()
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
    return net, cfg


def _run_netpyne(tstop: float, scale: float, record_lfp: bool) -> dict:
    from neuron import h

    t0 = time.perf_counter()
    net, cfg = _netpyne_params(tstop, scale, record_lfp)
    from netpyne import sim

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
    elif variant == "signals_lfp_dipole_eeg":
        res = _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg")
    elif variant == "signals_record_dt_0.1":
        res = _run_signals(tstop, scale, blas_threads=1, record_dt=RECORD_DT)
    elif variant == "signals_chunk_200":
        res = _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg", chunk_samples=200)
    elif variant == "signals_profile":
        res = _run_signals(tstop, scale, blas_threads=1, kind="lfp_dipole_eeg", profile=True)
    elif variant == "store_append":
        res = _run_store_append(tstop, scale)
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
    load = os.getloadavg()[0]  # of the last minute, just before the run (the machine is shared)
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
            res["load1"] = load
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


def _print_profile(rs: list[dict] | None, bare_s: float | None, fast_s: float | None,
                   tstop: float) -> None:
    """Where the recording time goes (the least-disturbed signals_profile run)."""
    if not rs:
        return
    r = min(rs, key=lambda x: x["sim_s"])
    prof, calls = r["profile"], r["profile_calls"]
    steps = calls.get("step", 0)
    n_chunks = calls.get("flush_in_step", 0) + calls.get("flush_at_close", 0)
    on_chunk = {k: v for k, v in prof.items() if k.startswith("on_chunk ")}
    flush = prof.get("flush_in_step", 0.0) + prof.get("flush_at_close", 0.0)
    rows = []  # (part, total s, calls, per-call unit)
    if bare_s and fast_s:
        rows.append(("h.cvode.use_fast_imem(1) (bare_fast_imem - bare)", fast_s - bare_s, steps, "step"))
    rows.append(("per-step callback: PtrVector.gather + copy to buffer",
                 prof.get("step", 0.0) - prof.get("flush_in_step", 0.0), steps, "step"))
    for key, v in on_chunk.items():
        rows.append((f"{key.split(' ', 1)[1]}.on_chunk (GEMMs)", v, calls[key], "chunk"))
    rows.append(("RunWriter.append (uncompressed, sync)", prof.get("append", 0.0),
                 calls.get("append", 0), "chunk"))
    rows.append(("rest of _flush (BLAS limit, checks, ragged sort)",
                 flush - sum(on_chunk.values()) - prof.get("append", 0.0), n_chunks, "chunk"))
    rows.append(("pointer setup at finitialize (_start)", prof.get("start", 0.0), 1, "once"))
    rows.append(("RunWriter.close", prof.get("writer_close", 0.0), 1, "once"))
    print()
    print(f"cost split of signals LFP + dipole + EEG at tstop {tstop:g} ms, {r['segments']} segments "
          f"(the fastest of {len(rs)} instrumented runs: sim {r['sim_s']:.2f} s"
          + (f", {r['sim_s'] / bare_s:.3f} × bare {bare_s:.2f} s)" if bare_s else ")"))
    header = f"{'part':<56} {'total s':>8} {'per call':>14} {'% of bare':>9}"
    print(header)
    print("-" * len(header))
    accounted = 0.0
    for name, total, n, unit in rows:
        accounted += total
        per = (f"{total / max(n, 1) * 1e6:.1f} µs/step" if unit == "step"
               else f"{total / max(n, 1) * 1e3:.2f} ms/{unit}" if unit == "chunk"
               else f"{total * 1e3:.1f} ms")
        pct = f"{100 * total / bare_s:8.1f}%" if bare_s else "       -"
        print(f"{name:<56} {total:>8.3f} {per:>14} {pct}")
    if bare_s:
        other = r["sim_s"] - bare_s - accounted
        print(f"{'unaccounted (run loop, tqdm, noise)':<56} {other:>8.3f} {'':>14} "
              f"{100 * other / bare_s:8.1f}%")
    print(f"({steps} steps, {n_chunks} chunks of up to {r['chunk_samples']} samples; "
          "ms/chunk is the mean over the chunks)")


def _print_store(r: dict | None, bare_step_s: float | None, tstop: float) -> None:
    """The RunWriter.append micro-benchmark table."""
    if not r:
        return
    n, chunk = r["n_chunks"], r["chunk_samples"]
    shapes = ", ".join(f"{k} {tuple(v)}" for k, v in r["variables"].items())
    print()
    print(f"RunWriter.append micro-benchmark: {n} chunks of {chunk} samples ({shapes}; float64, "
          f"{r['raw_mb']:.1f} MB raw), data of a real LFP + dipole + EEG run, min of "
          f"{len(next(iter(r['modes'].values()))['append_s'])}")
    chunk_s = None if bare_step_s is None else bare_step_s * chunk
    header = (f"{'writer':<30} {'ms/chunk':>9} {'close ms':>9} {'file MB':>8} {'vs raw':>7} "
              f"{'% of bare chunk':>15}")
    print(header)
    print("-" * len(header))
    for mode, m in r["modes"].items():
        per = min(m["append_s"]) / n
        pct = "-" if chunk_s is None else f"{100 * per / chunk_s:.1f}%"
        print(f"{mode:<30} {per * 1e3:>9.2f} {min(m['close_s']) * 1e3:>9.2f} {m['file_mb']:>8.2f} "
              f"{m['file_mb'] / r['raw_mb']:>7.3f} {pct:>15}")
    if chunk_s is not None:
        print(f"(bare simulation time of one {chunk}-sample chunk at tstop {tstop:g} ms: "
              f"{chunk_s * 1e3:.1f} ms)")
    print(f"BLAS limit per chunk: reused ThreadpoolController.limit {r['blas_limit_reused_ms'] * 1e3:.1f} "
          f"µs; fresh threadpool_limits {r['blas_limit_fresh_ms'] * 1e3:.1f} µs")


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
    profile_tstop = max(tstops)
    if not args.no_profile:
        plan += [("signals_profile", profile_tstop, repeats), ("store_append", STORE_CAPTURE_MS, 1)]
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
            if variant == "store_append":
                print(f"  run {r + 1}: {variant:<22} capture {tstop:g} ms  (process "
                      f"{res['process_s']:.1f} s, load {res['load1']:.2f})", flush=True)
                continue
            print(f"  run {r + 1}: {variant:<22} tstop {tstop:6g} ms  sim {res['sim_s']:7.2f} s  "
                  f"cpu {res['sim_cpu_s']:7.2f} s  peak RSS {res['peak_rss_mb']:7.1f} MB  "
                  f"(process {res['process_s']:.1f} s, "
                  f"load {res['load1']:.2f})", flush=True)

    def best(variant: str, tstop: float, key: str = "sim_s") -> float | None:
        rs = runs.get((variant, tstop))
        return min(x[key] for x in rs) if rs else None

    header = (f"{'variant':<22} {'segments':>8} {'tstop ms':>8} {'sim s':>8} {'median s':>8} "
              f"{'runs':>4} {'ratio':>7} {'vs':<13} {'cpu s':>7} {'cpu ratio':>9} {'peak RSS MB':>11} "
              f"{'ΔRSS sim MB':>11} {'rec setup s':>11}")
    print()
    print("sim s = min over the runs (wall time of initialise + run + last flush; no build/setup); "
          "cpu s = min over the runs of the\nprocess CPU time (all threads) of the same interval: "
          "less sensitive to other load on a shared machine than wall time")
    print(header)
    print("-" * len(header))
    order = {v: i for i, v in enumerate(VARIANTS)}
    for (variant, tstop), rs in sorted(runs.items(), key=lambda kv: (kv[0][1], order[kv[0][0]])):
        if variant in AUX_VARIANTS:
            continue
        sim = [x["sim_s"] for x in rs]
        ref = REFERENCE[variant]
        ref_s = best(ref, tstop) if ref else None
        ratio = min(sim) / ref_s if ref_s else None
        cpu = min(x["sim_cpu_s"] for x in rs)
        ref_cpu = best(ref, tstop, "sim_cpu_s") if ref else None
        cpu_ratio = cpu / ref_cpu if ref_cpu else None
        peak = max(x["peak_rss_mb"] for x in rs)
        dsim = max(max(0.0, (x["peak_sim_mb"] or x["peak_rss_mb"]) - x["rss_before_sim_mb"]) for x in rs)
        setup = min(x["setup_s"] for x in rs) if "setup_s" in rs[0] else None
        print(f"{variant:<22} {rs[0]['segments']:>8} {tstop:>8g} {min(sim):>8.2f} "
              f"{statistics.median(sim):>8.2f} {len(rs):>4} {_fmt(ratio, '7.3f')} "
              f"{ref or '':<13} {cpu:>7.2f} {_fmt(cpu_ratio, '9.3f')} {peak:>11.1f} {dsim:>11.1f} "
              f"{_fmt(setup, '11.2f')}")
    for variant, why in skipped.items():
        print(f"{variant:<22} skipped: {why}")
    for line in failures:
        print(f"failed run (not in the table): {line}")

    loads = [x["load1"] for rs in runs.values() for x in rs]
    if loads:
        print(f"load average (1 min) before the runs: {min(loads):.2f} to {max(loads):.2f} "
              f"(median {statistics.median(loads):.2f}) on {os.cpu_count()} cores")

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
    if not args.no_profile:
        _print_profile(runs.get(("signals_profile", profile_tstop)), best("bare", profile_tstop),
                       best("bare_fast_imem", profile_tstop), profile_tstop)
        store = runs.get(("store_append", STORE_CAPTURE_MS))
        b = best("bare", profile_tstop)
        _print_store(store[0] if store else None,
                     None if b is None else b / (profile_tstop / DT), profile_tstop)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s; "
          f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
