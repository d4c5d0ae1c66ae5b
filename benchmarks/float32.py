"""Single precision (``dtype="f4"``) against double: accuracy and cost of the chunk products.

Not a test: the demo network recorded twice, identically, with LFP (384 contacts by default),
dipole and EEG, once with ``Session(dtype="f8")`` and once with ``dtype="f4"``, each in a fresh
process (``harness.spawn``); prints the largest difference of each output relative to its peak,
the 1-100 Hz PSD difference of the LFP, and the seconds the recorders spent in their products
(``Session.timings``) and in the whole run (CPU time).

Usage::

    python benchmarks/float32.py [--scale 2] [--contacts 384] [--tstop 500]
    python benchmarks/float32.py --quick          # scale 0.5, 32 contacts, 50 ms
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import harness
import numpy as np


def run_child(dtype: str, path: str, scale: float, contacts: int, tstop: float) -> dict:
    from neuron import h

    import signals
    from signals.demo import build_network
    from signals.recorders import EEG, LFP, Dipole

    net = build_network(seed=1, scale=scale)
    table = signals.network.from_neuron(populations=net.populations)
    probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-1100, 100, contacts))
    h.load_file("stdrun.hoc")
    h.dt = 0.025
    session = signals.Session(table, [LFP(probe), Dipole(), EEG()], path=path, dtype=dtype)
    with session:
        session.initialize(-65)
        with harness.Stopwatch() as sw:
            session.run(tstop, progress=False)
    products = sum(v for k, v in session.timings.items() if k.startswith("on_chunk"))
    return {"cpu": sw.cpu, "products": products, "segments": len(table)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=None, help="default 2; 0.5 with --quick")
    parser.add_argument("--contacts", type=int, default=None, help="default 384; 32 with --quick")
    parser.add_argument("--tstop", type=float, default=None, help="ms (default 500; 50 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--child", nargs=2, metavar=("DTYPE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    scale = args.scale or (0.5 if args.quick else 2.0)
    contacts = args.contacts or (32 if args.quick else 384)
    tstop = args.tstop or (50.0 if args.quick else 500.0)
    if args.child:
        return harness.child(lambda: run_child(*args.child, scale, contacts, tstop))

    import signals
    from signals.analysis import psd

    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for dtype in ("f8", "f4"):
            path = Path(tmp) / f"{dtype}.nc"
            rec = harness.spawn(harness.script_command(
                __file__, "--child", dtype, path, "--scale", scale, "--contacts", contacts,
                "--tstop", tstop))
            if "error" in rec:
                print(f"{dtype} run failed: {rec['error']}")
                return 1
            runs[dtype] = (rec, signals.open_run(path))
        (t8, d8), (t4, d4) = runs["f8"], runs["f4"]
        rows = []
        for name in ("lfp", "dipole", "eeg"):
            a, b = d8[name].values, d4[name].values
            rows.append([name, f"{np.abs(a - b).max() / np.abs(a).max():.1e}"])
        p8, p4 = psd(d8["lfp"], fmin=1, fmax=100), psd(d4["lfp"], fmin=1, fmax=100)
        rows.append(["lfp PSD, 1-100 Hz", f"{float(np.abs(p4 - p8).max() / p8.max()):.1e}"])
        harness.print_table(["output", "largest difference / peak"], rows,
                            title=f"demo network, {t8['segments']} segments, {contacts} contacts, "
                                  f"{tstop:g} ms at dt = 0.025 ms")
        print(f"recorders' products: f8 {t8['products']:.2f} s, f4 {t4['products']:.2f} s "
              f"({harness.ratio(t8['products'], t4['products']):.2f}x); whole run CPU: "
              f"f8 {t8['cpu']:.2f} s, f4 {t4['cpu']:.2f} s")
        for _, ds in runs.values():
            ds.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
