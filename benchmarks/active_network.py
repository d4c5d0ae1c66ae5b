"""Recording overhead on a realistic network: >= 100,000 segments of active, spiking cells.

Not a test: the realistic companion of ``record_overhead.py``. That script measures the worst
case, a network of small cells (10,500 segments, passive dendrites) where NEURON's own work per
step is small and every per-segment cost of the recording shows. Here NEURON does what a
detailed model makes it do: every segment carries Hodgkin-Huxley channels, the cells receive
synaptic input and spike, and the network is ten times larger, so the transfer matrices, the
sample buffer and a 384-contact probe are at the sizes users meet.

The network (built in each child from files that ship with the installed wheels, never
downloaded): ``--cells`` (default 500) copies of LFPy's L2/3 pyramidal morphology
``LFPy/test/L23E_p23.hoc`` (soma, four oblique/basal dendrites, apical trunk: about 1 mm of
dendrite), each loaded through a hoc template wrapped around the file's own text, rotated at
random about the vertical (z) axis and placed in a column (somata in a disc of
:data:`COLUMN_RADIUS` µm radius, depths within +-:data:`SOMA_DEPTH_JITTER` µm). Segments of at
most ``--seg-length`` µm (fixed-length segmentation, odd ``nseg``; 5 µm gives 208 segments per
cell, 104,000 in all). Biophysics: ``Ra`` 150 ohm cm, ``cm`` 1 µF/cm²; ``hh`` with its default
densities in the soma; in the dendrites ``hh`` at a tenth of its sodium and potassium densities
(``gnabar`` 0.012, ``gkbar`` 0.0036 S/cm², its leak off) plus ``pas`` (1e-4 S/cm², -65 mV).
Input: each cell has :data:`EXC_SYNAPSES` excitatory ``Exp2Syn`` (0.3/3 ms, 0 mV) on random
dendritic segments, each driven by its own Poisson ``NetStim`` (25 Hz), and one inhibitory ``Exp2Syn``
(1/10 ms, -80 mV) on the soma driven by a Poisson ``NetStim`` (100 Hz); recurrence: each cell receives
:data:`RECURRENT_INPUTS` excitatory ``NetCon`` from random other cells (threshold -10 mV at the
soma, delay 1-5 ms). Spikes are counted by an ``APCount`` per soma; the children print the
rate, which is the same in every variant (recording does not change the simulation).
dt = 0.025 ms.

Variants, each in a fresh process (``harness.py``), repeated round-robin:

``bare``
    ``h.finitialize`` + ``h.continuerun``, no recording.
``bare_fast_imem``
    The same with ``h.cvode.use_fast_imem(1)``: NEURON's own cost of ``i_membrane_``.
``lfp``
    LFP on a 32-contact laminar probe (point contacts, 20 µm apart, along the column's axis)
    every step, through :class:`signals.Session` (the body of :func:`signals.record`, split so
    that the recorder set-up is timed apart from the run).
``lfp_dipole_eeg``
    That LFP + ``Dipole()`` (total and per population) + ``EEG()`` (four-sphere head, 21 10-20
    sensors), every step. Its ``Session.timings`` give the cost split (``harness.cost_split``).
``lfp_record_dt_0.1``
    The 32-contact LFP at ``record_dt = 0.1`` ms (interval means, the default sampling).
``npx_f8`` / ``npx_f4``
    A Neuropixels 1.0 probe (``signals.electrodes.probe("Neuropixels-384", n_points=None)``:
    MEAutility's 384 contacts, as point contacts at their centres) inserted along the
    column's axis with its tip 100 µm below the basal dendrites (most of its 3.8 mm lies
    above the column, as in a real insertion), at ``record_dt = 0.1`` ms, with ``dtype="f8"``
    and ``"f4"`` (sample buffer and transfer matrix in single precision). Its set-up is
    reported as seconds and as ns per transfer-matrix entry (384 x segments).
``npx_surface_setup`` (opt-in, ``--surface``, one run)
    The same probe with the contact surfaces averaged over 50 points each, ``probe()``'s
    default: the transfer matrix is computed for all 384 x 50 points before their mean, so at
    104,000 segments the set-up needs ~16 GB and minutes (measured once on the project's
    2-core machine: 308 s, peak RSS 15.9 GB). Not in the default plan.

Every variant runs at two tstops (default 5 and 30 ms; a bare 30 ms run takes ~10 s of CPU on
the project's machine, 8 ms per step): besides the ratios at each tstop, a table of the
marginal cost, CPU time at the longer tstop minus CPU time at the shorter one, in which the
fixed costs of a run (the pointer set-up at ``finitialize``, the t = 0 sample, closing the
file: about 2 s at 104,000 segments, Python loops over the segments) cancel. That is the
overhead of a run of seconds of model time, what users will see; the ratios at one tstop
include the fixed costs, which dominate short runs. The network needs ~10 ms to start firing
(about 6 Hz per cell over the first 30 ms; over 200 ms, measured on 100 cells, 23 Hz with
every cell firing).

The sample buffer is at most 16 MiB by default (``Session(chunk_samples=None)``): at 104,000
segments that is 20 samples per chunk in double precision, 40 in single; the tables show it.

Columns: "sim s" is the wall time of the simulation (initialise + run + the session's last
flush and close), never the network build or the recorder set-up; the minimum over the repeats
(the least-disturbed run on a shared machine) and the median. "cpu s" is the process CPU time
(all threads) of the same interval, min over the repeats: far less disturbed by other
processes than wall time, so its ratio to the bare run is the steadier estimate of the cost;
"cpu ratio med" is the ratio of the medians, "cpu vs fast_imem" the ratio to the
``bare_fast_imem`` run (signals' own part, NEURON's ``i_membrane_`` apart). "rec setup s" is
``signals.Session(...)`` (transfer matrices, run file), after
``signals.network.from_neuron`` (its own column in the set-up table). Peak RSS is the child
process's peak up to the end of the run; "ΔRSS sim" is the peak during the run (Linux
``VmHWM``, reset just before it) minus the RSS just before it: what the run and its recording
add. The cost splits (``harness.cost_split`` of ``Session.timings``, wall time) are those of
the ``lfp_dipole_eeg`` and ``npx_f8`` runs with the least CPU time at the longest tstop,
against bare's CPU time.

Usage::

    python benchmarks/active_network.py            # full run (~10 min on 2 cores)
    python benchmarks/active_network.py --quick    # smoke run (~2 min)
    python benchmarks/active_network.py --json runs.json --repeats 5
    python benchmarks/active_network.py --from-json runs.json    # the tables again
    python benchmarks/active_network.py --variant lfp --tstop 100   # one child run (JSON)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import harness
import numpy as np

DT = 0.025  # ms
V_INIT = -65.0  # mV
RECORD_DT = 0.1  # ms
N_CONTACTS = 32
DEFAULT_CELLS = 500
DEFAULT_SEG_LENGTH = 5.0  # µm
DEFAULT_TSTOPS = (5.0, 30.0)  # ms: the marginal cost is their difference
QUICK_TSTOPS = (2.0, 6.0)  # ms
COLUMN_RADIUS = 250.0  # µm
SOMA_DEPTH_JITTER = 50.0  # µm
PROBE_CLEARANCE = 25.0  # µm: no soma this close to the probes' axis
EXC_SYNAPSES = 10  # per cell, each with its own Poisson NetStim
EXC_RATE = 25.0  # Hz per excitatory NetStim
EXC_WEIGHT = 0.004  # µS
INH_RATE = 100.0  # Hz
INH_WEIGHT = 0.004  # µS
RECURRENT_INPUTS = 10  # per cell
RECURRENT_WEIGHT = 0.002  # µS
SEED = 1
SURFACE_POINTS = 50  # signals.electrodes.probe's default

VARIANTS = ("bare", "bare_fast_imem", "lfp", "lfp_dipole_eeg", "lfp_record_dt_0.1", "npx_f8",
            "npx_f4", "lfp_dipole_eeg_pipeline", "npx_f8_pipeline")
#: opt-in (``--surface``): the Neuropixels set-up with contact surfaces averaged over 50 points
OPT_IN = ("npx_surface_setup",)
LABELS = {
    "bare": "no recording",
    "bare_fast_imem": "h.cvode.use_fast_imem(1) alone",
    "lfp": f"LFP, {N_CONTACTS} contacts, every step",
    "lfp_dipole_eeg": "LFP + Dipole() + EEG(), every step",
    "lfp_record_dt_0.1": f"LFP, {N_CONTACTS} contacts, record_dt {RECORD_DT} ms",
    "npx_f8": f"Neuropixels 384, record_dt {RECORD_DT} ms, f8",
    "npx_f4": f"Neuropixels 384, record_dt {RECORD_DT} ms, f4",
    "lfp_dipole_eeg_pipeline": "LFP + Dipole() + EEG(), every step, pipeline=True",
    "npx_f8_pipeline": f"Neuropixels 384, record_dt {RECORD_DT} ms, f8, pipeline=True",
    "npx_surface_setup": f"Neuropixels 384, {SURFACE_POINTS} points per contact, record_dt "
                         f"{RECORD_DT} ms, f8",
}
#: the runs the cost split is made from (their Session.timings)
PROFILED = "lfp_dipole_eeg"


# -- the network ------------------------------------------------------------------------------


def _morphology() -> Path:
    try:
        import LFPy
    except ImportError as err:
        raise harness.Skip(f"LFPy not installed ({err}): its test morphologies are used") from err
    return Path(LFPy.__file__).parent / "test" / "L23E_p23.hoc"


def _define_template() -> None:
    """hoc template ``L23E`` around the text of ``L23E_p23.hoc`` (one cell per instance).

    The file creates its sections at the top level and ends with ``access soma`` and
    ``celldef()``; inside a template (those two lines dropped, ``celldef()`` called by
    ``init``) every instance gets its own sections and its ``all`` SectionList.
    """
    from neuron import h

    if hasattr(h, "L23E"):
        return
    lines = [line for line in _morphology().read_text().splitlines()
             if line.strip() not in ("access soma", "celldef()")]
    h("begintemplate L23E\npublic soma, dend, apic, all\n" + "\n".join(lines)
      + "\nproc init() { celldef() }\nendtemplate L23E\n")


def _place(cell, angle: float, shift: np.ndarray) -> None:
    """Rotate ``cell``'s 3-D points by ``angle`` about z (through its soma), then shift them."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    for sec in cell.all:
        pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)]
                        for i in range(int(sec.n3d()))])
        xyz = pts[:, :3] @ rot.T + shift
        sec.pt3dclear()
        for (x, y, z), d in zip(xyz, pts[:, 3], strict=True):
            sec.pt3dadd(x, y, z, d)


class Network:
    """The column of active L2/3 cells (see the module docstring); keeps every NEURON object."""

    def __init__(self, n_cells: int, seg_length: float, seed: int = SEED) -> None:
        from neuron import h

        h.load_file("stdrun.hoc")
        _define_template()
        rng = np.random.default_rng(seed)
        self.cells = [h.L23E() for _ in range(n_cells)]
        self.somata = []
        for cell in self.cells:
            while True:  # somata in a disc around the probe axis, clear of it
                r = COLUMN_RADIUS * np.sqrt(rng.uniform())
                if r >= PROBE_CLEARANCE:
                    break
            a = rng.uniform(0, 2 * np.pi)
            _place(cell, rng.uniform(0, 2 * np.pi),
                   np.array([r * np.cos(a), r * np.sin(a),
                             rng.uniform(-SOMA_DEPTH_JITTER, SOMA_DEPTH_JITTER)]))
            self.somata.append(cell.soma)
            for sec in cell.all:
                sec.nseg = max(1, int(np.ceil(sec.L / seg_length))) | 1
                sec.Ra, sec.cm = 150.0, 1.0
                sec.insert("hh")
                if sec == cell.soma:
                    continue
                sec.insert("pas")
                for seg in sec:
                    seg.hh.gnabar, seg.hh.gkbar, seg.hh.gl = 0.012, 0.0036, 0.0
                    seg.pas.g, seg.pas.e = 1e-4, V_INIT
        self.n_segments = sum(sec.nseg for cell in self.cells for sec in cell.all)
        self._connect(rng)

    def _connect(self, rng: np.random.Generator) -> None:
        from neuron import h

        self.objects: list = []  # synapses, NetStims, NetCons: alive as long as the network
        self.counters = []
        n = len(self.cells)
        recurrent = []
        for k, cell in enumerate(self.cells):
            dend = [seg for sec in cell.all if sec != cell.soma for seg in sec]
            for idx in rng.choice(len(dend), EXC_SYNAPSES, replace=False):
                syn = h.Exp2Syn(dend[idx])
                syn.tau1, syn.tau2, syn.e = 0.3, 3.0, 0.0
                self._drive(syn, EXC_RATE, EXC_WEIGHT, rng)
            inh = h.Exp2Syn(cell.soma(0.5))
            inh.tau1, inh.tau2, inh.e = 1.0, 10.0, -80.0
            self._drive(inh, INH_RATE, INH_WEIGHT, rng)
            rec = h.Exp2Syn(dend[rng.integers(len(dend))])
            rec.tau1, rec.tau2, rec.e = 0.3, 3.0, 0.0
            self.objects.append(rec)
            others = rng.choice(n - 1, RECURRENT_INPUTS, replace=False)
            recurrent.append((rec, np.where(others >= k, others + 1, others)))
            apc = h.APCount(cell.soma(0.5))
            apc.thresh = -10.0
            self.counters.append(apc)
        for rec, sources in recurrent:
            for src in sources:
                soma = self.cells[int(src)].soma
                nc = h.NetCon(soma(0.5)._ref_v, rec, sec=soma)
                nc.threshold, nc.delay, nc.weight[0] = -10.0, rng.uniform(1.0, 5.0), RECURRENT_WEIGHT
                self.objects.append(nc)

    def _drive(self, syn, rate: float, weight: float, rng: np.random.Generator) -> None:
        from neuron import h

        stim = h.NetStim()
        stim.interval, stim.number, stim.noise = 1000.0 / rate, 1e9, 1.0
        stim.start = rng.uniform(0.0, 1000.0 / rate)
        stim.noiseFromRandom123(SEED, len(self.objects), 0)
        nc = h.NetCon(stim, syn)
        nc.delay, nc.weight[0] = 0.0, weight
        self.objects += [syn, stim, nc]

    def spikes(self) -> int:
        return int(sum(apc.n for apc in self.counters))


def build(n_cells: int, seg_length: float) -> tuple[Network, float]:
    """The network and the seconds its build took."""
    t0 = time.perf_counter()
    net = Network(n_cells, seg_length)
    return net, time.perf_counter() - t0


# -- the child runs ---------------------------------------------------------------------------


def _firing(net: Network, tstop: float) -> dict:
    spikes = net.spikes()
    return {"spikes": spikes, "rate_hz": spikes / len(net.cells) / (tstop / 1000.0),
            "active_cells": int(sum(apc.n > 0 for apc in net.counters))}


def _run_bare(tstop: float, n_cells: int, seg_length: float, fast_imem: bool) -> dict:
    from neuron import h

    net, build_s = build(n_cells, seg_length)
    h.dt = DT
    h.cvode.use_fast_imem(int(fast_imem))
    with harness.SimMemory() as mem:
        t0 = time.perf_counter()
        h.finitialize(V_INIT)
        h.continuerun(tstop)
        sim_s = time.perf_counter() - t0
    if abs(h.t - tstop) >= DT:
        raise RuntimeError(f"the run stopped at t = {h.t} ms, not {tstop} ms")
    return {"segments": net.n_segments, "cells": len(net.cells), "build_s": build_s,
            "sim_s": sim_s, **_firing(net, tstop), **mem.result()}


def laminar_probe():
    """32 point contacts, 20 µm apart, along the column's axis (through basal and apical)."""
    import signals

    z = -150.0 + 20.0 * np.arange(N_CONTACTS)
    return signals.electrodes.laminar(x=0.0, y=0.0, z=z)


def neuropixels_probe(n_points: int | None = None):
    """Neuropixels 1.0 (384 contacts) along the column's axis, tip 100 µm below the basals.

    ``n_points``: points averaged over each 12 µm square (``signals.electrodes.probe``'s
    default is 50); None for point contacts at the centres.
    """
    import signals

    npx = signals.electrodes.probe("Neuropixels-384", n_points=None)
    tip = float(npx.positions[:, 2].min())
    return signals.electrodes.probe("Neuropixels-384", position=(0.0, 0.0, -250.0 - tip),
                                    n_points=n_points)


def _recorders(kind: str) -> list:
    from signals.recorders import EEG, LFP, Dipole

    if kind == "npx":
        return [LFP(neuropixels_probe())]
    if kind == "npx_surface":
        return [LFP(neuropixels_probe(n_points=SURFACE_POINTS))]
    recs = [LFP(laminar_probe())]
    if kind == "lfp_dipole_eeg":
        recs += [Dipole(), EEG()]
    return recs


def _run_signals(tstop: float, n_cells: int, seg_length: float, kind: str,
                 record_dt: float | None = None, dtype: str = "f8",
                 pipeline: bool = False) -> dict:
    from neuron import h

    import signals

    net, build_s = build(n_cells, seg_length)
    h.dt = DT
    with tempfile.TemporaryDirectory(prefix="signals-bench-") as tmp:
        path = Path(tmp) / "run.nc"
        recorders = _recorders(kind)
        n_contacts = len(recorders[0].electrodes)
        t0 = time.perf_counter()
        table = signals.network.from_neuron(populations={"L23E": net.cells})
        table_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a contact closer to a dendrite than its radius
            session = signals.Session(table, recorders, path=path, record_dt=record_dt,
                                      dtype=dtype, pipeline=pipeline,
                                      attrs={"tstop": tstop, "v_init": V_INIT})
        setup_s = time.perf_counter() - t0
        run = harness.run_session(session, tstop, V_INIT)
        with signals.open_run(path) as ds:
            n_samples = int(ds.sizes["time"])
            lfp_peak = float(abs(ds["lfp"]).max())
        file_mb = path.stat().st_size / 2**20
    expected = round(tstop / (record_dt or DT)) + 1
    if n_samples != expected:
        raise RuntimeError(f"run file has {n_samples} samples, expected {expected}")
    return {"segments": len(table), "cells": table.n_cells, "contacts": n_contacts,
            "build_s": build_s, "table_s": table_s, "setup_s": setup_s,
            "n_samples": n_samples, "chunk_samples": session.chunk_samples, "file_mb": file_mb,
            "lfp_peak_mv": lfp_peak, **run, **_firing(net, tstop)}


def run_child(variant: str, tstop: float, n_cells: int, seg_length: float) -> dict:
    if variant.endswith("_pipeline"):  # the worker-thread pipeline on (off by default)
        base = variant.removesuffix("_pipeline")
        kind, record_dt = ("npx", RECORD_DT) if base == "npx_f8" else (base, None)
        return _run_signals(tstop, n_cells, seg_length, kind, record_dt=record_dt, pipeline=True)
    if variant in ("bare", "bare_fast_imem"):
        return _run_bare(tstop, n_cells, seg_length, fast_imem=variant == "bare_fast_imem")
    if variant in ("lfp", "lfp_dipole_eeg"):
        return _run_signals(tstop, n_cells, seg_length, variant)
    if variant == "lfp_record_dt_0.1":
        return _run_signals(tstop, n_cells, seg_length, "lfp", record_dt=RECORD_DT)
    if variant in ("npx_f8", "npx_f4"):
        return _run_signals(tstop, n_cells, seg_length, "npx", record_dt=RECORD_DT,
                            dtype=variant[-2:])
    if variant == "npx_surface_setup":
        return _run_signals(tstop, n_cells, seg_length, "npx_surface", record_dt=RECORD_DT)
    raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")


# -- the parent: tables -----------------------------------------------------------------------


def _dram(rs: list[dict]) -> float:
    """ΔRSS of the run: peak during it minus RSS before it, the largest over the runs (MB)."""
    return max(max(0.0, (x["peak_sim_mb"] or x["peak_rss_mb"]) - x["rss_before_sim_mb"])
               for x in rs)


def _variants(res: harness.Results) -> list[str]:
    have = {v for v, _ in res.runs}
    return [v for v in (*VARIANTS, *OPT_IN) if v in have]


def _print_main_table(res: harness.Results, tstops: list[float]) -> None:
    rows = []
    for tstop in tstops:
        bare, fast = ("bare", tstop), ("bare_fast_imem", tstop)
        for variant in _variants(res):
            key = (variant, tstop)
            rs = res.runs.get(key)
            if not rs:
                continue
            ref = None if variant == "bare" else bare
            sim = res.values(key, "sim_s")
            cpu = res.best(key, "sim_cpu_s")
            r = rs[0]
            rows.append([
                variant, LABELS[variant], f"{tstop:g}", r.get("contacts", "-"),
                r.get("chunk_samples", "-"), f"{min(sim):.2f}", f"{statistics.median(sim):.2f}",
                len(rs), harness.fmt(harness.ratio(min(sim), res.best(ref)) if ref else None),
                f"{cpu:.2f}",
                harness.fmt(harness.ratio(cpu, res.best(ref, "sim_cpu_s")) if ref else None),
                harness.fmt(harness.ratio(res.median(key, "sim_cpu_s"),
                                          res.median(ref, "sim_cpu_s")) if ref else None),
                harness.fmt(harness.ratio(cpu, res.best(fast, "sim_cpu_s"))
                            if variant not in ("bare", "bare_fast_imem") else None),
                f"{max(x['peak_rss_mb'] for x in rs):.0f}", f"{_dram(rs):.1f}",
                harness.fmt(res.best(key, "setup_s"), ".2f"),
            ])
    print()
    print("sim s = min over the runs (wall time of initialise + run + last flush and close; no "
          "build/setup), median s its median; ratio = min / bare's min at the same tstop;\n"
          "cpu s = min over the runs of the process CPU time (all threads) of the same interval, "
          "cpu ratio = its ratio to bare's, cpu ratio med = ratio of the medians, cpu vs "
          "fast_imem = cpu s / bare_fast_imem's\n(signals' own part); chunk = chunk_samples")
    harness.print_table(["variant", "records", "tstop ms", "contacts", "chunk", "sim s",
                         "median s", "runs", "ratio", "cpu s", "cpu ratio", "cpu ratio med",
                         "cpu vs fast_imem", "peak RSS MB", "ΔRSS sim MB", "rec setup s"], rows,
                        align="llrrrrrrrrrrrrrr")
    for variant, why in res.skipped.items():
        print(f"{variant} skipped: {why}")
    for line in res.failures:
        print(f"failed run (not in the table): {line}")
    line = harness.load_summary(res)
    if line:
        print(line)


def _print_marginal(res: harness.Results, tstops: list[float], n_segments: int) -> None:
    """The cost of a longer run: CPU time between the shortest and the longest tstop.

    Fixed costs of a run (the pointer set-up at ``finitialize``, the t = 0 sample, closing the
    file) cancel, so this is the overhead of a run long enough for them not to matter.
    """
    lo, hi = min(tstops), max(tstops)
    if lo == hi:
        return
    steps = round((hi - lo) / DT)

    def delta(variant: str) -> float | None:
        a, b = res.best((variant, lo), "sim_cpu_s"), res.best((variant, hi), "sim_cpu_s")
        return None if a is None or b is None else b - a

    bare, fast = delta("bare"), delta("bare_fast_imem")
    rows = []
    for variant in _variants(res):
        d = delta(variant)
        if d is None:
            continue
        extra = None if bare is None or variant == "bare" else d - bare
        rows.append([variant, LABELS[variant], f"{d:.2f}",
                     harness.fmt(harness.ratio(d, bare) if variant != "bare" else None),
                     harness.fmt(harness.ratio(d, fast)
                                 if variant not in ("bare", "bare_fast_imem") else None),
                     harness.fmt(None if extra is None else extra / steps * 1e6, ".0f"),
                     harness.fmt(None if extra is None else extra / steps / n_segments * 1e9,
                                 ".1f")])
    harness.print_table(
        ["variant", "records", "Δcpu s", "Δcpu ratio", "Δcpu vs fast_imem", "extra µs/step",
         "extra ns/segment/step"], rows, align="llrrrrr",
        title=f"the cost of a longer run: min CPU time at tstop {hi:g} ms minus min CPU time at "
              f"{lo:g} ms ({steps} steps; the fixed costs of a run cancel), against bare's; "
              "extra = Δcpu - bare's Δcpu")


def _print_setup_table(res: harness.Results, tstop: float) -> None:
    """Recorder set-up: segment table, Session (transfer matrices, file), per matrix entry."""
    rows = []
    for variant in _variants(res):
        keys = [k for k in res.runs if k[0] == variant and "setup_s" in res.runs[k][0]]
        if not keys:
            continue
        rs = [x for k in keys for x in res.runs[k]]
        setups = [x["setup_s"] for x in rs]
        r = rs[0]
        entries = r["contacts"] * r["segments"]
        per = f"{min(setups) / entries * 1e9:.0f}" if r["contacts"] >= 100 else "-"
        at = res.runs.get((variant, tstop), rs)
        rows.append([variant, r["contacts"], len(rs), f"{entries / 1e6:.1f}",
                     f"{min(x['table_s'] for x in rs):.2f}", f"{min(setups):.2f}",
                     f"{statistics.median(setups):.2f}", per,
                     f"{max(x['peak_before_sim_mb'] for x in rs):.0f}",
                     f"{statistics.median(x['file_mb'] for x in at):.1f}"])
    harness.print_table(
        ["variant", "contacts", "runs", "LFP matrix entries (M)", "from_neuron s",
         "Session() s (min)", "Session() s (median)", "ns per LFP matrix entry",
         "peak RSS before run MB", f"file MB at {tstop:g} ms"], rows,
        title="recorder set-up (not in sim s), over the runs at every tstop: "
              "signals.network.from_neuron, then signals.Session(...) (transfer matrices, run "
              "file); ns per entry = Session() s / (contacts x segments), the whole set-up "
              "charged to the LFP matrix")


def _print_profile(res: harness.Results, variant: str, tstop: float) -> None:
    """Where the recording time of ``variant`` goes (its least-disturbed run's Session.timings).

    The run with the least CPU time is split; the parts are ``Session.timings`` (wall time,
    which on a quiet machine equals the CPU time of this single-threaded loop and exceeds it on
    a loaded one); the references, bare and ``use_fast_imem``, are CPU times (min over the
    runs), steadier than wall time on a shared machine, and "unaccounted" is the run's CPU
    time minus bare's minus the parts.
    """
    rs = res.runs.get((variant, tstop))
    bare_s = res.best(("bare", tstop), "sim_cpu_s")
    fast_s = res.best(("bare_fast_imem", tstop), "sim_cpu_s")
    if not rs:
        return
    r = min(rs, key=lambda x: x["sim_cpu_s"])
    split = harness.cost_split(r["timings_run"], r["timings"])
    steps = round(tstop / DT)
    n_chunks = split["chunks"]
    rows = []  # (part, total s, calls, per-call unit)
    if bare_s and fast_s:
        rows.append(("h.cvode.use_fast_imem(1) (bare_fast_imem - bare, CPU)", fast_s - bare_s,
                     steps, "step"))
    rows.append(("sampling: i_membrane_ read (and averaged) into the buffer", split["gather"],
                 steps, "step"))
    for key, v in split.items():
        if key.startswith("on_chunk "):
            rows.append((f"{key.split(' ', 1)[1]}.on_chunk (GEMMs)", v, n_chunks, "chunk"))
    rows.append(("RunWriter.append (uncompressed, sync)", split["write"], n_chunks, "chunk"))
    rows.append(("agree + reduce", split["agree"] + split["reduce"], n_chunks, "chunk"))
    rows.append(("pointer setup at finitialize", split["start"], 1, "once"))
    rows.append(("session.close() apart from its last flush",
                 max(0.0, r["close_s"] - split["last_flush"]), 1, "once"))
    run_s = r["sim_cpu_s"]
    table, accounted = [], 0.0
    for name, total, n, unit in rows:
        accounted += total
        per = (f"{total / max(n, 1) * 1e6:.1f} µs/step" if unit == "step"
               else f"{total / max(n, 1) * 1e3:.2f} ms/chunk" if unit == "chunk"
               else f"{total * 1e3:.0f} ms")
        pct = f"{100 * total / bare_s:.1f}%" if bare_s else "-"
        table.append([name, f"{total:.3f}", per, pct, f"{100 * total / run_s:.1f}%"])
    if bare_s:
        other = run_s - bare_s - accounted
        table.append(["unaccounted (t = 0 sample, run loop, output checks, noise)",
                      f"{other:.3f}", "", f"{100 * other / bare_s:.1f}%",
                      f"{100 * other / run_s:.1f}%"])
    harness.print_table(
        ["part", "total s", "per call", "% of bare", "% of this run"], table,
        title=f"cost split of {variant} [{LABELS[variant]}] at tstop {tstop:g} ms, "
              f"{r['segments']} segments, from Session.timings (wall) of the run with the least "
              f"CPU time of {len(rs)}: cpu {run_s:.2f} s (wall {r['sim_s']:.2f} s)"
              + (f", {run_s / bare_s:.3f} × bare's CPU {bare_s:.2f} s" if bare_s else ""))
    print(f"({steps} steps, {r['n_samples']} samples, {n_chunks} chunks of up to "
          f"{r['chunk_samples']} samples; ms/chunk is the mean over the chunks)")


def _print_network(res: harness.Results, tstop: float) -> None:
    recs = [x for (v, t), rs in res.runs.items() if t == tstop for x in rs]
    if not recs:
        return
    r = recs[0]
    spikes = sorted({x["spikes"] for x in recs})
    print()
    print(f"network: {r['cells']} cells, {r['segments']} segments "
          f"({r['segments'] / r['cells']:.0f} per cell), built in {r['build_s']:.1f} s; at tstop "
          f"{tstop:g} ms: {r['spikes']} spikes = {r['rate_hz']:.1f} Hz per cell, "
          f"{r['active_cells']} of {r['cells']} cells fired")
    if len(spikes) > 1:
        print(f"  spike counts DIFFER between the runs at {tstop:g} ms: {spikes}")
    else:
        print(f"  all {len(recs)} runs at {tstop:g} ms fired the same number of spikes: the "
              "recording does not change the simulation")


def _print_tables(res: harness.Results, tstops: list[float]) -> None:
    hi = max(tstops)
    _print_network(res, hi)
    _print_main_table(res, tstops)
    recs = res.records()
    if recs:
        _print_marginal(res, tstops, recs[0]["segments"])
    _print_setup_table(res, hi)
    for variant in (PROFILED, "npx_f8"):
        _print_profile(res, variant, hi)


def _describe(key, rec: dict) -> str:
    return (f"sim {rec['sim_s']:7.2f} s  cpu {rec['sim_cpu_s']:7.2f} s  setup "
            f"{harness.fmt(rec.get('setup_s'), '.2f'):>6} s  peak RSS {rec['peak_rss_mb']:6.0f} MB  "
            f"{rec['spikes']} spikes  (process {rec['process_s']:.1f} s, load {rec['load1']:.2f})")


def _label(key) -> str:
    variant, tstop = key
    return f"{variant:<18} tstop {tstop:4g} ms"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help=f"smoke run: tstops {' '.join(map(str, QUICK_TSTOPS))} ms, one repeat")
    ap.add_argument("--repeats", type=int, default=None, help="runs per (variant, tstop) "
                                                              "(default 3; 1 with --quick)")
    ap.add_argument("--tstops", type=float, nargs="+", default=None,
                    help=f"ms (default {' '.join(map(str, DEFAULT_TSTOPS))}: bare runs of ~2 "
                         "and ~10 s on this project's machine; the marginal table compares the "
                         "shortest with the longest)")
    ap.add_argument("--cells", type=int, default=DEFAULT_CELLS,
                    help=f"cells in the column (default {DEFAULT_CELLS})")
    ap.add_argument("--seg-length", type=float, default=DEFAULT_SEG_LENGTH,
                    help=f"longest segment, µm (default {DEFAULT_SEG_LENGTH:g}: 208 segments "
                         "per cell)")
    ap.add_argument("--variants", nargs="+", choices=VARIANTS, default=None,
                    help="only these variants (default: all; bare is always run)")
    ap.add_argument("--surface", action="store_true",
                    help=f"also run npx_surface_setup once at the longest tstop: the "
                         f"Neuropixels probe with {SURFACE_POINTS} points per contact. Its "
                         "set-up takes minutes and ~16 GB of memory at 104,000 segments")
    ap.add_argument("--timeout", type=float, default=900.0, help="per-run time limit (s)")
    ap.add_argument("--json", metavar="FILE", help="also write every run's record to FILE (JSON)")
    ap.add_argument("--from-json", metavar="FILE",
                    help="print the tables of the records a --json run saved, run nothing")
    ap.add_argument("--variant", choices=(*VARIANTS, *OPT_IN),
                    help="(internal) run one variant, print JSON")
    ap.add_argument("--tstop", type=float, help="(internal) tstop (ms) of --variant")
    args = ap.parse_args(argv)

    if args.variant:
        if args.tstop is None:
            ap.error("--variant needs --tstop")
        return harness.child(
            lambda: run_child(args.variant, args.tstop, args.cells, args.seg_length),
            variant=args.variant, tstop=args.tstop)

    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        res = harness.Results(skipped=data["skipped"], failures=data["failures"])
        for rec in data["records"]:
            res.runs.setdefault((rec["variant"], rec["tstop"]), []).append(rec)
        _print_tables(res, data["tstops"])
        return 0

    repeats = args.repeats or (1 if args.quick else 3)
    tstops = sorted(args.tstops or (QUICK_TSTOPS if args.quick else DEFAULT_TSTOPS))
    variants = list(args.variants or VARIANTS)
    if "bare" not in variants:
        variants.insert(0, "bare")
    plan = [((v, t), repeats) for t in tstops for v in variants]
    if args.surface:
        plan.append((("npx_surface_setup", max(tstops)), 1))
    harness.print_header("active_network", ("neuron", "neuro-signals", "LFPykit", "LFPy",
                                             "MEAutility", "numpy"))
    print(f"  network: {args.cells} x L23E_p23.hoc (LFPy's), segments <= {args.seg_length:g} µm, "
          f"hh + pas, dt = {DT} ms, tstops {' '.join(f'{t:g}' for t in tstops)} ms, {repeats} "
          "runs per variant and tstop")
    t_start = time.perf_counter()

    def spawn(key):
        variant, tstop = key
        return harness.spawn(harness.script_command(__file__, "--variant", variant, "--tstop",
                                                    tstop, "--cells", args.cells, "--seg-length",
                                                    args.seg_length),
                             timeout=args.timeout, variant=variant, tstop=tstop)

    res = harness.run_plan(plan, spawn, describe=_describe, group=lambda key: key[0],
                           label=_label)
    if args.json:
        harness.save(args.json, res, argv=sys.argv, cells=args.cells,
                     seg_length=args.seg_length, tstops=tstops)
    _print_tables(res, tstops)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s; "
          f"load average at end: {harness.load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
