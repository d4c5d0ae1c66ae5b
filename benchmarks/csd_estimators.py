"""CSD estimators against the model's true CSD, on two networks.

Not a test. Each network is recorded with the LFP of a laminar probe and, on the same contacts,
the true CSD (:class:`signals.recorders.LaminarCSD`: the membrane currents in a cylinder around
each contact, over its volume). Every estimator of :func:`signals.analysis.csd.csd` (standard
with Vaknin padding, delta, step and spline iCSD, kCSD with cross-validated R and lambd) is
then scored by :func:`signals.analysis.csd.csd_error` at the contacts: the RMS error over time
at each depth over the truth's RMS over all depths and times, and the correlation.

1. ``demo``: the built-in demo network (:func:`signals.demo.build_network`, 120 cells in two
   layers, gamma rhythm), the demo's 10-contact probe (100 µm pitch).
2. ``layered``: two layers of ball-and-stick pyramidal cells with somata at known depths
   (L2/3 at 350 µm, L5 at 850 µm; apical dendrites up to 50 and 100 µm) and synaptic volleys
   onto known layers (L5 apical tufts at 100-200 µm at 20 ms; L2/3 basal dendrites at 420-470
   µm at 50 ms; both at 80 ms; repeated every 100 ms), with weak Poisson background; a
   20-contact probe (50 µm pitch). The cells are passive: the CSD is synaptic input and its
   return currents.

Cells are spread over a 400 × 400 µm square around the probe, so the true CSD is taken in
cylinders of radius 226 µm (the square's area) and the iCSD/kCSD source diameter is 452 µm.

Usage::

    python benchmarks/csd_estimators.py                    # both networks, table + figure
    python benchmarks/csd_estimators.py --tstop 1000 --networks layered --figure csd_benchmark.png
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Estimators compared (csd(method=...)).
METHODS = ("standard", "delta", "step", "spline", "kcsd")
#: Cells are spread over x, y in [-HALF, HALF] µm; the cylinder of the same area has RADIUS.
HALF = 200.0
RADIUS = float(np.sqrt((2 * HALF) ** 2 / np.pi).round())  # 226 µm
NETWORKS = ("demo", "layered")


# -- the layered network -------------------------------------------------------------------

class Pyramid:
    """Ball-and-stick pyramidal cell: soma, basal and apical dendrite along z (µm), passive.

    Passive, so that the CSD is the synaptic input and its return currents (no action
    potentials, whose soma currents no laminar estimator resolves). Segments are at most 20 µm
    long (finer than the probe pitch).
    """

    def __init__(self, gid: int, population: str, x: float, y: float, z: float, *, apical_top: float,
                 basal: float = 150.0) -> None:
        from neuron import h

        self.gid, self.population = gid, population
        self.soma = h.Section(name="soma", cell=self)
        self.basal = h.Section(name="basal", cell=self)
        self.apical = h.Section(name="apical", cell=self)
        self.basal.connect(self.soma(0))
        self.apical.connect(self.soma(1))
        for sec, pts in ((self.soma, [(z - 10, 20.0), (z + 10, 20.0)]),
                         (self.basal, [(z - 10, 2.0), (z - 10 - basal, 1.5)]),
                         (self.apical, [(z + 10, 3.0), (apical_top, 1.5)])):
            for zz, d in pts:
                sec.pt3dadd(x, y, zz, d)
            sec.nseg = max(1, int(np.ceil(sec.L / 20.0))) | 1
        self.all = [self.soma, self.basal, self.apical]
        for sec in self.all:
            sec.insert("pas")
            for seg in sec:
                seg.pas.g, seg.pas.e = 1e-4, -65.0
        for sec in self.all:
            sec.Ra, sec.cm = 150.0, 1.0

    def at_depth(self, z: float):
        """The segment of the basal or apical dendrite at height z (µm), nearest."""
        best = None
        for sec in (self.basal, self.apical):
            z0, z1 = sec.z3d(0), sec.z3d(int(sec.n3d()) - 1)
            if min(z0, z1) <= z <= max(z0, z1):
                best = sec((z - z0) / (z1 - z0))
        if best is None:
            raise ValueError(f"{self}: no dendrite at z = {z} µm")
        return best

    def __repr__(self) -> str:
        return f"{self.population}[{self.gid}]"


#: population → (cells, soma depth µm, apical top depth µm)
LAYERS = {"L23": (40, 350.0, 50.0), "L5": (40, 850.0, 100.0)}
#: volleys, repeated every PERIOD ms: (time ms, population, synapse depth range µm, weight µS)
VOLLEYS = [(20.0, "L5", (100.0, 200.0), 0.004), (50.0, "L23", (420.0, 470.0), 0.004),
           (80.0, "L5", (100.0, 200.0), 0.004), (80.0, "L23", (420.0, 470.0), 0.004)]
PERIOD = 100.0


def build_layered(tstop: float, seed: int = 0):
    """The layered network (volleys repeated every PERIOD ms up to ``tstop``): cells, and what
    keeps its synapses alive."""
    from neuron import h

    rng = np.random.default_rng(seed)
    cells, keep, gid = [], [], 0
    for pop, (n, depth, top) in LAYERS.items():
        for _ in range(n):
            x, y = rng.uniform(-HALF, HALF, 2)
            z = -(depth + rng.uniform(-25.0, 25.0))
            cells.append(Pyramid(gid, pop, x, y, z, apical_top=-top))
            gid += 1
    volleys = [(t0 + t, pop, depths, w) for t0 in np.arange(0.0, tstop, PERIOD)
               for t, pop, depths, w in VOLLEYS]
    for t, pop, (d0, d1), w in volleys:
        for cell in (c for c in cells if c.population == pop):
            for _ in range(3):  # three synapses per cell in the layer, jittered volley
                syn = h.ExpSyn(cell.at_depth(-rng.uniform(d0, d1)))
                syn.e, syn.tau = 0.0, 2.0
                stim = h.NetStim()
                stim.number, stim.start = 1, t + rng.normal(0.0, 1.0)
                nc = h.NetCon(stim, syn)
                nc.weight[0], nc.delay = w, 0.0
                keep += [syn, stim, nc]
    for cell in cells:  # weak Poisson background spread over the whole dendrite
        for sec in (cell.basal, cell.apical):
            syn = h.ExpSyn(sec(rng.uniform(0.1, 0.9)))
            syn.e, syn.tau = 0.0, 2.0
            stim = h.NetStim()
            stim.interval, stim.number, stim.start, stim.noise = 10.0, 1e9, 0.0, 1.0
            stim.noiseFromRandom123(cell.gid, 1 if sec is cell.basal else 2, seed)
            nc = h.NetCon(stim, syn)
            nc.weight[0], nc.delay = 0.0005, 0.0
            keep += [syn, stim, nc]
    return cells, keep


def record(network: str, path: Path, tstop: float) -> Path:
    """Record ``network`` into ``path``: LFP and the true CSD on one laminar probe."""
    from neuron import h

    import signals
    from signals.recorders import LFP, LaminarCSD

    if network == "demo":
        from signals.demo import build_network

        net = build_network(seed=1)
        cells = [c for members in net.populations.values() for c in members]
        probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-950, -50, 10))
    else:
        cells, net = build_layered(tstop)
        probe = signals.electrodes.laminar(x=0, y=0, z=np.arange(-975.0, -24.0, 50.0))
    h.dt = 0.025
    import warnings

    with warnings.catch_warnings():  # the demo's 50-150 µm compartments against a 100 µm pitch
        warnings.filterwarnings("ignore", "All compartments should be shorter", UserWarning)
        recorders = [LFP(probe), LaminarCSD(probe, radius=RADIUS)]
        return signals.record(signals.network.from_neuron(cells), recorders, tstop=tstop, path=path,
                              progress=False)


def record_in_subprocess(network: str, path: Path, tstop: float) -> Path:
    """:func:`record` in its own process (NEURON holds one model per process)."""
    env = {**os.environ, "NEURON_MODULE_OPTIONS": "-nogui"}
    subprocess.run([sys.executable, __file__, "--record", network, "--tstop", str(tstop), "--out", str(path)],
                   check=True, env=env, capture_output=True)
    return path


# -- evaluation ------------------------------------------------------------------------------

def evaluate(path: Path, *, skip: float = 10.0):
    """Every estimator against the true CSD of the run at ``path``, after ``skip`` ms.

    Returns
    -------
    errors : xarray.Dataset
        :func:`~signals.analysis.csd.csd_error` of each method, along an ``estimator`` dimension.
    estimates : dict of str to xarray.DataArray
        The estimates, and ``"truth"`` (on a ``depth`` dimension, µm).
    """
    import xarray as xr

    import signals
    from signals.analysis.csd import csd, csd_error

    with signals.open_run(path) as ds:
        lfp = ds["lfp"].sel(time=slice(skip, None)).load()
        truth = ds["csd_true"].sel(time=slice(skip, None)).load()
    estimates, errors = {}, []
    for method in METHODS:
        est = csd(lfp, method=method, diameter=2 * RADIUS)
        estimates[method] = est
        errors.append(csd_error(est, truth))
    depth = -truth["csd_true_depth"].values
    estimates["truth"] = truth.rename(csd_true_depth="depth").assign_coords(depth=depth)
    out = xr.concat(errors, dim=xr.DataArray(list(METHODS), dims="estimator"))
    del out.attrs["method"]
    kcsd = estimates["kcsd"].attrs
    out.attrs.update(kcsd_R=kcsd["R"], kcsd_R_units="um", kcsd_lambd=kcsd["lambd"])
    return out, estimates


def markdown_table(errors, title: str) -> str:
    """Relative RMS error per depth (rows) and estimator (columns), totals and correlation."""
    methods = list(errors["estimator"].values)
    lines = [f"**{title}** — relative RMS error per depth (RMS error over time / RMS of the true "
             "CSD over all depths and times)", "",
             "| depth (µm) | " + " | ".join(methods) + " |", "|---:|" + "---:|" * len(methods)]
    rel = errors["relative_error"].transpose("depth", "estimator").values
    for d, row in zip(errors["depth"].values, rel, strict=True):
        best = np.nanargmin(row)
        cells = [f"**{v:.2f}**" if k == best else f"{v:.2f}" for k, v in enumerate(row)]
        lines.append(f"| {d:.0f} | " + " | ".join(cells) + " |")
    tot, corr = errors["relative_error_total"].values, errors["correlation_total"].values
    lines.append("| all depths | " + " | ".join(f"**{v:.2f}**" if k == np.nanargmin(tot) else f"{v:.2f}"
                                               for k, v in enumerate(tot)) + " |")
    lines.append("| correlation | " + " | ".join(f"**{v:.2f}**" if k == np.nanargmax(corr) else f"{v:.2f}"
                                                for k, v in enumerate(corr)) + " |")
    return "\n".join(lines)


def plot(results: dict, *, window: dict | None = None):
    """Figure: per network, the true CSD, the best and worst estimates (image) and the relative
    error per depth of every estimator."""
    import matplotlib.pyplot as plt

    n = len(results)
    fig, axes = plt.subplots(n, 4, figsize=(15, 3.8 * n), squeeze=False, layout="constrained",
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.2]})
    colors = dict(zip(METHODS, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    for row, (name, (errors, estimates)) in enumerate(results.items()):
        truth = estimates["truth"]
        t0, t1 = (window or {}).get(name, (float(truth["time"][0]), float(truth["time"][-1])))
        tot = errors["relative_error_total"].to_series()
        best, worst = tot.idxmin(), tot.idxmax()
        lim = float(np.percentile(np.abs(truth.sel(time=slice(t0, t1)).values), 99.5)) or 1.0
        zt = np.sort(truth["depth"].values)
        ylim = (zt[-1] + (zt[1] - zt[0]) / 2, zt[0] - (zt[1] - zt[0]) / 2)
        for k, (key, label) in enumerate((("truth", "true CSD (LaminarCSD)"),
                                          (best, f"{best} (best, {tot[best]:.2f})"),
                                          (worst, f"{worst} (worst, {tot[worst]:.2f})"))):
            da = estimates[key].sel(time=slice(t0, t1))
            zdim = "depth" if "depth" in da.dims else "electrode"
            z = np.asarray(da["depth"].values, dtype=float)
            img = da.transpose(zdim, "time").values[np.argsort(z)]
            z = np.sort(z)
            dz = float(np.diff(z).mean())
            ax = axes[row, k]
            mesh = ax.imshow(img, origin="upper", aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim,
                             interpolation="nearest",
                             extent=(t0, t1, z[-1] + dz / 2, z[0] - dz / 2))
            ax.set_ylim(*ylim)
            ax.set_title(f"{name}: {label}", fontsize=9)
            ax.set_xlabel("time (ms)")
            if k == 0:
                ax.set_ylabel("depth (µm)")
        fig.colorbar(mesh, ax=axes[row, 2], label="CSD (µA/mm³)\nsink < 0 < source", extend="both")
        ax = axes[row, 3]
        for method in METHODS:
            e = errors.sel(estimator=method)
            ax.plot(e["relative_error"].values, e["depth"].values, "o-", ms=3, color=colors[method],
                    label=f"{method} ({float(e['relative_error_total']):.2f})")
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlabel("relative RMS error")
        ax.set_title(f"{name}: error per depth (all depths)", fontsize=9)
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    return fig


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=300.0, help="duration of each run (ms)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated: demo,layered")
    parser.add_argument("--figure", default="csd_benchmark.png", help="figure to write")
    parser.add_argument("--record", choices=NETWORKS, help=argparse.SUPPRESS)  # the subprocess
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.record:
        record(args.record, Path(args.out), args.tstop)
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.networks.split(","):
            path = record_in_subprocess(name, Path(tmp) / f"{name}.nc", args.tstop)
            results[name] = evaluate(path)
            errors = results[name][0]
            print(markdown_table(errors, f"{name} network ({args.tstop:g} ms)"))
            print(f"\nkCSD cross-validated: R = {errors.attrs['kcsd_R']:g} µm, "
                  f"lambd = {errors.attrs['kcsd_lambd']:g} (relative)\n")
    fig = plot(results)
    fig.savefig(args.figure, dpi=110, bbox_inches="tight")
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
