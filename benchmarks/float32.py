"""Single precision (``dtype="f4"``) against double: accuracy and cost of the chunk products.

Not a test: the demo network recorded twice, identically, with LFP (32 or 384 contacts), dipole
and EEG, once with ``Session(dtype="f8")`` and once with ``dtype="f4"``; prints the largest
difference of each output relative to its peak, the 1-100 Hz PSD difference of the LFP, and
the seconds the recorders spent in their products (``Session.timings``) and in the whole run
(CPU time), each variant in a fresh process.

Usage::

    python benchmarks/float32.py [--scale 2] [--contacts 384] [--tstop 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

CHILD = r"""
import json, sys, time
import numpy as np
from neuron import h
import signals
from signals.demo import build_network
from signals.recorders import EEG, LFP, Dipole

dtype, path = sys.argv[1], sys.argv[2]
scale, contacts, tstop = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
net = build_network(seed=1, scale=scale)
table = signals.network.from_neuron(populations=net.populations)
probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-1100, 100, contacts))
h.load_file("stdrun.hoc")
h.dt = 0.025
session = signals.Session(table, [LFP(probe), Dipole(), EEG()], path=path, dtype=dtype)
with session:
    session.initialize(-65)
    c0 = time.process_time()
    session.run(tstop, progress=False)
    cpu = time.process_time() - c0
products = sum(v for k, v in session.timings.items() if k.startswith("on_chunk"))
print(json.dumps({"cpu": cpu, "products": products, "segments": len(table)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=2.0)
    parser.add_argument("--contacts", type=int, default=384)
    parser.add_argument("--tstop", type=float, default=500.0)
    args = parser.parse_args()

    import signals
    from signals.analysis import psd

    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for dtype in ("f8", "f4"):
            path = Path(tmp) / f"{dtype}.nc"
            out = subprocess.run([sys.executable, "-c", CHILD, dtype, str(path), str(args.scale),
                                  str(args.contacts), str(args.tstop)],
                                 check=True, capture_output=True, text=True)
            runs[dtype] = (json.loads(out.stdout.strip().splitlines()[-1]), signals.open_run(path))
        (t8, d8), (t4, d4) = runs["f8"], runs["f4"]
        print(f"demo network, {t8['segments']} segments, {args.contacts} contacts, "
              f"{args.tstop:g} ms at dt = 0.025 ms")
        print("| output | largest difference / peak |")
        print("|---|---|")
        for name in ("lfp", "dipole", "eeg"):
            a, b = d8[name].values, d4[name].values
            print(f"| {name} | {np.abs(a - b).max() / np.abs(a).max():.1e} |")
        p8 = psd(d8["lfp"], fmin=1, fmax=100)
        p4 = psd(d4["lfp"], fmin=1, fmax=100)
        print(f"| lfp PSD, 1-100 Hz | {float(np.abs(p4 - p8).max() / p8.max()):.1e} |")
        print(f"\nrecorders' products: f8 {t8['products']:.2f} s, f4 {t4['products']:.2f} s "
              f"({t8['products'] / t4['products']:.2f}x); whole run CPU: f8 {t8['cpu']:.2f} s, "
              f"f4 {t4['cpu']:.2f} s")
        for _, ds in runs.values():
            ds.close()


if __name__ == "__main__":
    main()
