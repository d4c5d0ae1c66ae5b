"""What averaging the currents over each sampling interval costs, against point sampling.

Not a test: runs the demo network bare, then with LFP (32 contacts) + dipole sampled at
``record_dt = k * dt`` with ``sampling="point"`` and ``sampling="mean"``, each variant in a
fresh process (so that NEURON starts clean; ``harness.spawn``), alternating the variants over
the repeats (``harness.run_plan``), and prints CPU-time ratios to the bare run (min and median
over the repeats; CPU time is steadier than wall time on a shared machine) as a Markdown table.
``benchmarks/aliasing.py`` gives what the averaging buys.

Usage::

    python benchmarks/sampling_cost.py                  # scale 2 (about 10k segments), k = 4
    python benchmarks/sampling_cost.py --k 4 20 --repeat 5 --tstop 500
    python benchmarks/sampling_cost.py --quick          # scale 0.5, 50 ms, once
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harness
import numpy as np

VARIANTS = ("bare", "point", "mean")


def run_child(variant: str, k: int, tstop: float, scale: float) -> dict:
    """One run in this process: CPU and wall time of the run alone (after initialisation)."""
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Dipole

    net = build_network(seed=1, scale=scale)
    cells = [c for members in net.populations.values() for c in members]
    h.load_file("stdrun.hoc")
    h.dt = 0.025
    with tempfile.TemporaryDirectory() as tmp:
        if variant == "bare":
            h.cvode.use_fast_imem(1)  # the currents any LFP needs: not part of the sampling cost
            h.finitialize(-65)
            with harness.Stopwatch() as sw:
                h.continuerun(tstop)
            n = sum(1 for s in h.allsec() for _ in s)
        else:
            table = signals.network.from_neuron(cells)
            n = len(table)
            probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-1000, 200, 32))
            session = signals.Session(table, [LFP(probe), Dipole()], path=Path(tmp) / "r.nc",
                                      record_dt=k * h.dt, sampling=variant)
            with session:
                session.initialize(-65)
                with harness.Stopwatch() as sw:
                    session.run(tstop, progress=False)
    return {"cpu": sw.cpu, "wall": sw.wall, "segments": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[4])
    parser.add_argument("--tstop", type=float, default=None, help="ms (default 300; 50 with --quick)")
    parser.add_argument("--scale", type=float, default=None, help="default 2; 0.5 with --quick")
    parser.add_argument("--repeat", type=int, default=None, help="default 3; 1 with --quick")
    parser.add_argument("--quick", action="store_true", help="smoke run: a small network, once")
    parser.add_argument("--variant", choices=VARIANTS, help="(internal) run one variant, print JSON")
    args = parser.parse_args(argv)
    tstop = args.tstop or (50.0 if args.quick else 300.0)
    scale = args.scale or (0.5 if args.quick else 2.0)
    repeat = args.repeat or (1 if args.quick else 3)
    if args.variant:
        return harness.child(lambda: run_child(args.variant, args.k[0], tstop, scale),
                             variant=args.variant, k=args.k[0])

    def spawn(key):
        variant, k = key
        return harness.spawn(harness.script_command(__file__, "--variant", variant, "--k", k,
                                                    "--tstop", tstop, "--scale", scale))

    t_start = time.perf_counter()
    for k in args.k:
        res = harness.run_plan([((v, k), repeat) for v in VARIANTS], spawn,
                               describe=lambda key, r: f"cpu {r['cpu']:.2f} s  wall {r['wall']:.2f} s "
                                                       f"(load {r['load1']:.2f})",
                               label=lambda key: f"{key[0]:<5} k = {key[1]}")
        for line in res.failures:
            print(f"failed run: {line}")
        if not res.runs.get(("bare", k)):
            continue
        n = max(r["segments"] for r in res.records())
        bare_min, bare_med = res.best(("bare", k), "cpu"), res.median(("bare", k), "cpu")
        rows = []
        for variant in VARIANTS:
            ts = res.values((variant, k), "cpu")
            if ts:
                med = statistics.median(ts)
                rows.append([variant, f"{min(ts):.2f}", f"{med:.2f}", f"{min(ts) / bare_min:.3f}",
                             f"{med / bare_med:.3f}"])
        harness.print_table(["variant", "min s", "median s", "min ratio", "median ratio"], rows,
                            title=f"{n} segments, {tstop:g} ms, record_dt = {k} x 0.025 ms, "
                                  f"{repeat} repeats (CPU s; ratio to bare)")
        line = harness.load_summary(res)
        if line:
            print(line)
    print(f"total benchmark time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
