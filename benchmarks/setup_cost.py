"""Set-up cost of a large probe on a large network: segment table and transfer matrices.

Not a test: builds N ball-and-stick cells (1 soma + a bent 99-segment dendrite each, 100
segments per cell) at random positions, then times, in one run,

- ``signals.network.from_neuron`` (the segment table, per segment),
- the LFP transfer matrix for a 384-contact laminar probe with signals' block-wise kernel (one
  and two threads) and with LFPykit's ``RecExtElectrode`` (per matrix entry; wall and CPU
  time), for the line source, point source and root-as-point methods, with the largest
  difference between the two,
- the inside-segment check (per contact and segment).

In-process timings (the minimum of ``--repeat`` calls, ``harness.best_of``), printed as a
Markdown table.

Usage::

    python benchmarks/setup_cost.py               # 1000 cells, 100k segments, 384 contacts
    python benchmarks/setup_cost.py --cells 4000 --contacts 384 --repeat 3
    python benchmarks/setup_cost.py --quick       # 50 cells, 64 contacts, once
"""

from __future__ import annotations

import argparse
import time

import harness
import numpy as np


def build(n_cells: int, seed: int = 0) -> list:
    from neuron import h

    rng = np.random.default_rng(seed)
    cells = []
    for _ in range(n_cells):
        o = rng.uniform(-500, 500, 3)
        soma, dend = h.Section(name="soma"), h.Section(name="dend")
        dend.connect(soma(1))
        soma.pt3dadd(*o, 20)
        soma.pt3dadd(*(o + [0, 0, 20]), 20)
        for k in range(11):
            dend.pt3dadd(*(o + [5 * np.sin(k), 0, 20 + 80 * k]), 2)
        dend.nseg = 99
        cells.append([soma, dend])
    return cells


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=None, help="default 1000; 50 with --quick")
    parser.add_argument("--contacts", type=int, default=None, help="default 384; 64 with --quick")
    parser.add_argument("--repeat", type=int, default=None, help="default 3; 1 with --quick")
    parser.add_argument("--quick", action="store_true", help="smoke run: a small network, once")
    args = parser.parse_args(argv)
    args.cells = args.cells or (50 if args.quick else 1000)
    args.contacts = args.contacts or (64 if args.quick else 384)
    args.repeat = args.repeat or (1 if args.quick else 3)

    import lfpykit

    import signals
    from signals.recorders.lfp import inside_segments, transfer_matrix

    cells = build(args.cells)
    t_table, table = harness.best_of(lambda: signals.network.from_neuron(cells), args.repeat)
    n = len(table)
    probe = signals.electrodes.laminar(x=0, y=0, z=np.linspace(-1000, 1000, args.contacts))
    entries = n * args.contacts
    print(f"{args.cells} cells, {n} segments, {args.contacts} contacts "
          f"(min of {args.repeat})")
    print(f"  segment table           {t_table:7.2f} s  {t_table / n * 1e9:7.0f} ns/segment")
    geometry = table.cell_geometry()
    rows = []
    for method in ("linesource", "pointsource", "root_as_point"):
        kwargs = {"rootinds": np.flatnonzero(table.root)} if method == "root_as_point" else {}

        def peer(method=method, kwargs=kwargs):
            return lfpykit.RecExtElectrode(geometry, x=probe.x, y=probe.y, z=probe.z, sigma=0.3,
                                           method=method, **kwargs).get_transformation_matrix()

        t_ours, ours = harness.best_of(
            lambda method=method: transfer_matrix(table, probe, method=method), args.repeat)
        t_two, _ = harness.best_of(
            lambda method=method: transfer_matrix(table, probe, method=method, threads=2),
            args.repeat)
        cpu = time.process_time()
        t_peer, theirs = harness.best_of(peer, 1)
        cpu_peer = time.process_time() - cpu
        cpu = time.process_time()
        transfer_matrix(table, probe, method=method)
        cpu_ours = time.process_time() - cpu
        diff = np.abs(ours - theirs).max() / np.abs(theirs).max()
        rows.append([method, f"{t_ours:.2f}", f"{t_ours / entries * 1e9:.1f}",
                     f"{t_two / entries * 1e9:.1f}", f"{t_peer:.2f}", f"{t_peer / entries * 1e9:.1f}",
                     f"{t_peer / t_ours:.1f}x", f"{cpu_peer / max(cpu_ours, 1e-9):.1f}x",
                     f"{diff:.1e}"])
    harness.print_table(["method", "signals s", "ns/entry", "2 threads ns/entry", "LFPykit s",
                         "LFPykit ns/entry", "ratio", "CPU time ratio", "max diff of peak"], rows,
                        title="LFP transfer matrix: signals' block-wise kernel vs LFPykit")
    print()
    t_inside, _ = harness.best_of(lambda: inside_segments(table, probe), args.repeat)
    print(f"  inside-segment check    {t_inside:7.2f} s  {t_inside / entries * 1e9:7.1f} ns/entry")
    total = t_table + harness.best_of(lambda: transfer_matrix(table, probe), 1)[0] + t_inside
    print(f"  LFP set-up (table + line-source matrix + check): {total:.2f} s "
          f"= {total / (n / 1e5):.2f} s per 100k segments")


if __name__ == "__main__":
    main()
