"""What averaging the currents over each sampling interval costs, against point sampling.

Not a test: runs the demo network bare, then with LFP (32 contacts) + dipole sampled at
``record_dt = k * dt`` with ``sampling="point"`` and ``sampling="mean"``, each variant in a
fresh process (so that NEURON starts clean), alternating the variants over the repeats, and
prints CPU-time ratios to the bare run (min and median over the repeats; CPU time is steadier
than wall time on a shared machine). ``benchmarks/aliasing.py`` gives what the averaging buys.

Usage::

    python benchmarks/sampling_cost.py                  # scale 2 (about 10k segments), k = 4
    python benchmarks/sampling_cost.py --k 4 20 --repeat 5 --tstop 500
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, tempfile, time
from pathlib import Path
import numpy as np
from neuron import h
import signals
from signals.demo import build_network
from signals.recorders import LFP, Dipole

variant, k, tstop, scale = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
net = build_network(seed=1, scale=scale)
cells = [c for members in net.populations.values() for c in members]
h.load_file("stdrun.hoc")
h.dt = 0.025
with tempfile.TemporaryDirectory() as tmp:
    if variant == "bare":
        h.cvode.use_fast_imem(1)  # the currents any LFP needs: not part of the sampling cost
        h.finitialize(-65)
        c0, w0 = time.process_time(), time.perf_counter()
        h.continuerun(tstop)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        n = sum(1 for s in h.allsec() for _ in s)
    else:
        table = signals.network.from_neuron(cells)
        n = len(table)
        probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-1000, 200, 32))
        session = signals.Session(table, [LFP(probe), Dipole()], path=Path(tmp) / "r.nc",
                                  record_dt=k * h.dt, sampling=variant)
        with session:
            session.initialize(-65)
            c0, w0 = time.process_time(), time.perf_counter()
            session.run(tstop, progress=False)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
print(json.dumps({"cpu": cpu, "wall": wall, "segments": n}))
"""


def run(variant: str, k: int, tstop: float, scale: float) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, variant, str(k), str(tstop), str(scale)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[4])
    parser.add_argument("--tstop", type=float, default=300.0)
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for k in args.k:
        times: dict[str, list[float]] = {"bare": [], "point": [], "mean": []}
        n = 0
        for _ in range(args.repeat):
            for variant in times:
                rec = run(variant, k, args.tstop, args.scale)
                times[variant].append(rec["cpu"])
                n = max(n, rec["segments"])
        bare_min, bare_med = min(times["bare"]), statistics.median(times["bare"])
        print(f"\n{n} segments, {args.tstop:g} ms, record_dt = {k} x 0.025 ms, "
              f"{args.repeat} repeats (CPU s; ratio to bare)")
        print("| variant | min s | median s | min ratio | median ratio |")
        print("|---|---|---|---|---|")
        for variant, ts in times.items():
            med = statistics.median(ts)
            print(f"| {variant} | {min(ts):.2f} | {med:.2f} | {min(ts) / bare_min:.3f} | "
                  f"{med / bare_med:.3f} |")


if __name__ == "__main__":
    main()
