"""Reading every segment's ``i_membrane_``: ``PtrVector.gather`` vs one copy of the node storage.

Not a test: 1000 ``hh`` sections of 99 segments (99,000 segments) with current clamps, after 40
steps; times per segment (min over the repeats) of the pointer gather, of
:class:`signals.engine.sampling.NodeColumn` (``Vector.from_double`` of NEURON 9's node storage
column, then a fixed ``numpy.take`` into the segments' order), and of one ``h.fadvance`` of
the same model, for scale. Also checks that both reads give the same values.

Printed as a Markdown table (``harness.print_table``).

Usage::

    python benchmarks/gather_cost.py [--sections 1000] [--repeat 5]
    python benchmarks/gather_cost.py --quick     # 100 sections, one repeat
"""

from __future__ import annotations

import argparse
import time

import harness
import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=None, help="default 1000; 100 with --quick")
    parser.add_argument("--repeat", type=int, default=None, help="default 5; 1 with --quick")
    parser.add_argument("--quick", action="store_true", help="smoke run: a small model, once")
    args = parser.parse_args(argv)
    args.sections = args.sections or (100 if args.quick else 1000)
    args.repeat = args.repeat or (1 if args.quick else 5)

    from neuron import h

    from signals.engine.sampling import NodeColumn

    h.load_file("stdrun.hoc")
    secs, stims = [], []
    for i in range(args.sections):
        sec = h.Section(name=f"s{i}")
        sec.nseg = 99
        sec.insert("hh")
        secs.append(sec)
        if i % 10 == 0:
            stim = h.IClamp(sec(0.5))
            stim.delay, stim.dur, stim.amp = 0.1, 5.0, 0.5
            stims.append(stim)
    h.cvode.use_fast_imem(1)
    h.finitialize(-65)
    segs = [seg for sec in secs for seg in sec]
    n = len(segs)
    ptr = h.PtrVector(n)
    for i, seg in enumerate(segs):
        ptr.pset(i, seg._ref_i_membrane_)
    t0 = time.perf_counter()
    column = NodeColumn(segs, ptr)
    setup = time.perf_counter() - t0
    for _ in range(40):
        h.fadvance()
    vec, out = h.Vector(n), np.empty(n)
    ptr.gather(vec)
    assert np.array_equal(column.read(out), vec.as_numpy()) and np.abs(out).max() > 0

    def best(fn, k=200):
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            for _ in range(k):
                fn()
            times.append((time.perf_counter() - t) / k / n * 1e9)
        return min(times)

    g = best(lambda: ptr.gather(vec))
    c = best(lambda: column.read(out))
    s = best(h.fadvance, 50)
    harness.print_table(["read", "ns per segment", "share of one hh step"],
                        [["PtrVector.gather", f"{g:.2f}", f"{g / s:.1%}"],
                         ["node storage copy + take", f"{c:.2f}", f"{c / s:.1%}"],
                         ["(one h.fadvance)", f"{s:.1f}", ""]],
                        title=f"{n} segments (NodeColumn set-up and proof {setup * 1e3:.0f} ms)")


if __name__ == "__main__":
    main()
