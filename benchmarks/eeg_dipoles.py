"""When one current dipole stops being enough: EEG of the network dipole vs each cell's own.

Not a test: networks of 100 ball-and-stick cells with random synaptic input, spread over a
square patch of cortex of growing width, recorded with ``EEG()`` (one dipole at the network
centre) and ``EEG(dipoles="cell")`` (each cell's dipole at its own place in the four-sphere
head). Printed per width: the relative RMS error of the single-dipole EEG over all 21
sensors, and its largest error on one sensor, both relative to the per-cell EEG's RMS (a
Markdown table, ``harness.print_table``).

Usage::

    python benchmarks/eeg_dipoles.py                      # widths 0.2 ... 10 mm
    python benchmarks/eeg_dipoles.py --cells 200 --tstop 200
    python benchmarks/eeg_dipoles.py --quick              # 20 cells, 20 ms, two widths
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import harness
import numpy as np


def build(n: int, width: float, rng: np.random.Generator) -> list:
    from neuron import h

    cells = []
    for gid in range(n):
        x, y = rng.uniform(-width / 2, width / 2, 2)
        soma = h.Section(name=f"soma{gid}")
        dend = h.Section(name=f"dend{gid}")
        dend.connect(soma(1))
        soma.pt3dadd(x, y, -10, 20)
        soma.pt3dadd(x, y, 10, 20)
        dend.pt3dadd(x, y, 10, 2)
        dend.pt3dadd(x, y, 510, 2)
        dend.nseg = 11
        soma.insert("hh")
        dend.insert("pas")
        syn = h.ExpSyn(dend(rng.uniform(0.3, 1.0)))
        stim = h.NetStim()
        stim.start, stim.number, stim.interval, stim.noise = rng.uniform(0, 5), 1e9, 5.0, 1.0
        stim.seed(gid + 1)
        nc = h.NetCon(stim, syn)
        nc.weight[0] = 0.01
        cells.append({"secs": [soma, dend], "keep": (syn, stim, nc)})
    return cells


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=None, help="default 100; 20 with --quick")
    parser.add_argument("--tstop", type=float, default=None, help="ms (default 100; 20 with --quick)")
    parser.add_argument("--widths", type=float, nargs="+", default=None,
                        help="patch widths (µm; default 200 500 1000 2000 5000 10000; 200 5000 "
                             "with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: few cells, short, two widths")
    args = parser.parse_args(argv)
    args.cells = args.cells or (20 if args.quick else 100)
    args.tstop = args.tstop or (20.0 if args.quick else 100.0)
    args.widths = args.widths or ([200.0, 5000.0] if args.quick else
                                  [200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0])

    from neuron import h

    import signals
    from signals.recorders import EEG

    rows = []
    for width in args.widths:
        cells = build(args.cells, width, np.random.default_rng(1))
        table = signals.network.from_neuron([c["secs"] for c in cells])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "e.nc"
            signals.record(table, [EEG(), EEG(dipoles="cell", name="eeg_cells")],
                           tstop=args.tstop, path=path, progress=False)
            with signals.open_run(path) as ds:
                one, many = ds["eeg"].values, ds["eeg_cells"].values
        rms = np.sqrt(np.mean(many**2))
        err = np.sqrt(np.mean((one - many) ** 2)) / rms
        worst = np.sqrt(np.mean((one - many) ** 2, axis=0)).max() / rms
        rows.append([f"{width / 1000:g}", f"{err:.2%}", f"{worst:.2%}"])
        for sec in list(h.allsec()):
            h.delete_section(sec=sec)
        del cells, table
    harness.print_table(["patch width (mm)", "RMS error of one dipole", "largest sensor error"],
                        rows, title=f"{args.cells} cells, {args.tstop:g} ms, four-sphere head, "
                                    "network 1 mm under Cz")


if __name__ == "__main__":
    main()
