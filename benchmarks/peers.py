"""The network every benchmark records, and the same network in the peers: NetPyNE and LFPy.

Shared by ``record_overhead.py`` and ``mpi_scaling.py`` (``import peers``):

- :func:`build_demo` and :func:`probe_positions`: ``signals.demo.build_network`` and the
  32-contact laminar probe through its column, with :data:`DT` and :data:`V_INIT`;
- :func:`netpyne_params` / :func:`netpyne_create`: the same-sized network (same cells,
  segments, populations, connection rules and background drive) built with NetPyNE, optionally
  with ``cfg.recordLFP`` on the same contacts sampled every step. NetPyNE 1.1.1 calls
  ``PtrVector.ptr_update_callback``, which NEURON 9 removed; here (never in the package)
  ``setupRecordLFP`` is re-defined from its own source with that call replaced by a no-op.
  NetPyNE re-sets every pointer at every sample anyway, so its results are unaffected;
- :func:`run_netpyne` and :func:`run_lfpy`: one timed serial run of each peer, bare or with its
  LFP (LFPy: the demo network's sections wrapped in one ``LFPy.Cell`` with
  ``delete_sections=False`` and no re-segmentation, and an ``LFPy.RecExtElectrode`` on the same
  contacts, LFPy's in-loop electrode).

A peer that is not installed raises :class:`harness.Skip`.
"""

from __future__ import annotations

import inspect
import re
import time

import harness
import numpy as np

DT = 0.025  # ms
V_INIT = -65.0  # mV
N_CONTACTS = 32

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


def probe_positions() -> np.ndarray:
    """32 contacts (µm) on a vertical line through the demo network's column (z is depth)."""
    z = np.linspace(-1100.0, -20.0, N_CONTACTS)
    return np.column_stack([np.full(N_CONTACTS, 5.0), np.full(N_CONTACTS, 5.0), z])


def n_segments() -> int:
    """Segments of every section that exists."""
    from neuron import h

    return int(sum(sec.nseg for sec in h.allsec()))


def build_demo(scale: float):
    """``signals.demo.build_network(scale=scale)`` and the seconds it took."""
    from neuron import h

    from signals.demo import build_network

    h.load_file("stdrun.hoc")
    t0 = time.perf_counter()
    net = build_network(scale=scale)
    return net, time.perf_counter() - t0


# -- NetPyNE ---------------------------------------------------------------------------------


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
        raise harness.Skip("could not patch netpyne.sim.setup.setupRecordLFP for NEURON 9 "
                           f"(found {n} ptr_update_callback calls, expected 1)")
    exec(compile(new, setup_mod.__file__, "exec"), setup_mod.__dict__)
    from netpyne import sim

    sim.setupRecordLFP = setup_mod.setupRecordLFP


def netpyne_params(tstop: float, scale: float, record_lfp: bool):
    """NetPyNE ``(NetParams, SimConfig)`` of the demo network."""
    try:
        from netpyne import specs
    except ImportError as err:
        raise harness.Skip(f"netpyne not installed ({err}); pip install 'neuro-signals[netpyne]'"
                           ) from err

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
        cfg.recordLFP = [[float(x), float(-z), float(y)] for x, y, z in probe_positions()]
    return net, cfg


def netpyne_create(tstop: float, scale: float, record_lfp: bool) -> dict:
    """Build the NetPyNE network (``sim.create`` and ``sim.preRun``): its size and build time."""
    t0 = time.perf_counter()
    net, cfg = netpyne_params(tstop, scale, record_lfp)
    from netpyne import sim

    sim.create(netParams=net, simConfig=cfg, output=False)
    build_s = time.perf_counter() - t0
    cells = [c for c in sim.net.cells if getattr(c, "secs", None)]
    sim.preRun()
    return {"segments": sum(c.getNumberOfSegments() for c in cells), "cells": len(cells),
            "build_s": build_s}


def netpyne_lfp_samples() -> int:
    """Samples of this rank's NetPyNE LFP; raises if it is all zero."""
    from netpyne import sim

    lfp = np.asarray(sim.simData["LFP"])
    if not np.any(lfp):
        raise RuntimeError("NetPyNE recorded an all-zero LFP")
    return int(lfp.shape[0])


def run_netpyne(tstop: float, scale: float, record_lfp: bool) -> dict:
    """One serial NetPyNE run (``sim.runSim``), bare or with ``recordLFP``."""
    from neuron import h

    out = netpyne_create(tstop, scale, record_lfp)
    from netpyne import sim

    with harness.SimMemory() as mem:
        t0 = time.perf_counter()
        sim.runSim(skipPreRun=True)  # h.finitialize + pc.psolve(duration)
        sim_s = time.perf_counter() - t0
    if abs(h.t - tstop) >= DT:
        raise RuntimeError(f"NetPyNE stopped at t = {h.t} ms, not {tstop} ms")
    out.update(sim_s=sim_s, spikes=len(sim.simData.get("spkt", [])), **mem.result())
    if record_lfp:
        out["n_samples"] = netpyne_lfp_samples()
    return out


# -- LFPy ------------------------------------------------------------------------------------


def run_lfpy(tstop: float, scale: float, record_lfp: bool) -> dict:
    """One LFPy run (``cell.simulate``) of the demo network, bare or with ``RecExtElectrode``."""
    try:
        import LFPy
    except ImportError as err:
        raise harness.Skip(f"LFPy not installed ({err}); pip install 'neuro-signals[lfpy]'"
                           ) from err
    import warnings

    from neuron import h

    net, build_s = build_demo(scale)
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
        pos = probe_positions()
        probes.append(LFPy.RecExtElectrode(cell, x=pos[:, 0], y=pos[:, 1], z=pos[:, 2], sigma=0.3,
                                           method="linesource"))
    build_s += time.perf_counter() - t0
    with harness.SimMemory() as mem:
        t0 = time.perf_counter()
        cell.simulate(probes=probes or None)
        sim_s = time.perf_counter() - t0
    out = {"segments": int(cell.totnsegs), "cells": len(net.cells), "build_s": build_s,
           "sim_s": sim_s, **mem.result()}
    if record_lfp:
        out["n_samples"] = int(probes[0].data.shape[1])
    return out
