"""When one current dipole stops being enough: EEG of the network dipole vs each cell's own.

Not a test: networks of 100 ball-and-stick cells with random synaptic input, spread over a
square patch of cortex of growing width, recorded with ``EEG()`` (one dipole at the network
centre) and ``EEG(dipoles="cell")`` (each cell's dipole at its own place in the four-sphere
head). Printed per width: the relative RMS error of the single-dipole EEG over all 21
sensors, and its largest error on one sensor, both relative to the per-cell EEG's RMS.

Usage::

    python benchmarks/eeg_dipoles.py                      # widths 0.2 ... 10 mm
    python benchmarks/eeg_dipoles.py --cells 200 --tstop 200
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=100)
    parser.add_argument("--tstop", type=float, default=100.0)
    parser.add_argument("--widths", type=float, nargs="+",
                        default=[200, 500, 1000, 2000, 5000, 10000])
    args = parser.parse_args()

    from neuron import h

    import signals
    from signals.recorders import EEG

    print(f"{args.cells} cells, {args.tstop:g} ms, four-sphere head, network 1 mm under Cz")
    print("| patch width (mm) | RMS error of one dipole | largest sensor error |")
    print("|---|---|---|")
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
        print(f"| {width / 1000:g} | {err:.2%} | {worst:.2%} |")
        for sec in list(h.allsec()):
            h.delete_section(sec=sec)
        del cells, table


if __name__ == "__main__":
    main()
