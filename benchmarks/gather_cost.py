"""Reading every segment's ``i_membrane_``: ``PtrVector.gather`` vs one copy of the node storage.

Not a test: 1000 ``hh`` sections of 99 segments (99,000 segments) with current clamps, after 40
steps; times per segment (min over the repeats) of the pointer gather, of
:class:`signals.engine.sampling.NodeColumn` (``Vector.from_double`` of NEURON 9's node storage
column, then a fixed ``numpy.take`` into the segments' order), and of one ``h.fadvance`` of
the same model, for scale. Also checks that both reads give the same values.

Usage::

    python benchmarks/gather_cost.py [--sections 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

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
    print(f"{n} segments (NodeColumn set-up and proof {setup * 1e3:.0f} ms)")
    print("| read | ns per segment | share of one hh step |")
    print("|---|---|---|")
    print(f"| PtrVector.gather | {g:.2f} | {g / s:.1%} |")
    print(f"| node storage copy + take | {c:.2f} | {c / s:.1%} |")
    print(f"| (one h.fadvance) | {s:.1f} | |")


if __name__ == "__main__":
    main()
