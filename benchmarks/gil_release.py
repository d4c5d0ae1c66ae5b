"""Does NEURON let a worker thread run while it integrates? What the pipeline rests on.

Not a test. ``Session(pipeline=True)`` runs a chunk's products (BLAS) on a worker thread while
NEURON integrates the next chunk on the main thread, calling back into Python every step. Two
measurements:

1. **Overlap.** Each pair runs ``A`` on the main thread while a worker runs ``B``, and prints
   ``overlap = (A + B - together) / min(A, B)``: 1 when both ran at once, 0 when they took
   turns. Pairs: NEURON's ``continuerun`` of an hh cable network with a per-step Python
   callback (as a session installs) against a GEMM loop (one BLAS thread), against
   ``netCDF4`` appends of chunks, against a pure-Python loop (the control), and GEMM against
   GEMM.
2. **GIL hand-over.** How long a worker waits each time it needs the GIL back while NEURON
   integrates: a loop of ``time.sleep(0)`` (gives the GIL up and asks for it again) during
   ``continuerun``, with and without the per-step callback. NEURON holds the GIL while it
   integrates; a worker gets it only when the main thread is in Python (the callback) and
   Python's switch interval (``sys.getswitchinterval()``, 5 ms) has passed, so every hand-over
   can cost the worker up to that interval: the worker's chunk work must be a few large calls
   that release the GIL (BLAS, ``np.take(mode="clip")``), not many small ones.

Usage::

    python benchmarks/gil_release.py [--sections 200] [--tstop 40]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import harness
import numpy as np


def _network(n_sections: int):
    from neuron import h

    h.load_file("stdrun.hoc")
    secs = []
    for i in range(n_sections):
        sec = h.Section(name=f"cable{i}")
        sec.nseg, sec.L, sec.diam = 51, 500.0, 2.0
        sec.insert("hh")
        stim = h.IClamp(sec(0.0))
        stim.delay, stim.dur, stim.amp = 1.0, 1e9, 0.2
        secs.append((sec, stim))
    h.dt = 0.025
    h.cvode.use_fast_imem(1)
    counter = [0]

    def step():  # the cheapest per-step callback: what the session adds at least
        counter[0] += 1

    h.cvode.extra_scatter_gather(0, step)
    return secs, step


def _neuron_run(tstop: float):
    from neuron import h

    def run():
        h.finitialize(-65.0)
        h.continuerun(tstop)
    return run


def _gemm(seconds: float):
    a = np.random.default_rng(0).random((32, 20_000))
    b = np.random.default_rng(1).random((20_000, 400))
    reps = max(1, round(seconds / _time(lambda: a @ b)))

    def run():
        for _ in range(reps):
            a @ b
    return run


def _python(seconds: float):
    def loop(n):
        x = 0
        for i in range(n):
            x += i
        return x
    n = max(1, round(1e6 * seconds / (_time(lambda: loop(1_000_000)))))

    def run():
        loop(n)
    return run


def _netcdf(seconds: float, tmp: Path):
    import netCDF4

    chunk = np.random.default_rng(2).random((400, 416))

    def write(n_chunks):
        with netCDF4.Dataset(tmp / "gil.nc", "w") as nc:
            nc.createDimension("time", None)
            nc.createDimension("electrode", chunk.shape[1])
            var = nc.createVariable("lfp", "f8", ("time", "electrode"),
                                    chunksizes=chunk.shape)
            for k in range(n_chunks):
                var[k * chunk.shape[0]:(k + 1) * chunk.shape[0]] = chunk
                nc.sync()
    n = max(1, round(seconds / _time(lambda: write(20)) * 20))

    def run():
        write(n)
    return run


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def together(main, worker) -> tuple[float, float, float]:
    """Seconds of ``main`` alone, ``worker`` alone, and both at once (main on this thread)."""
    a = min(_time(main) for _ in range(2))
    b = min(_time(worker) for _ in range(2))
    best = float("inf")
    for _ in range(2):
        th = threading.Thread(target=worker)
        t0 = time.perf_counter()
        th.start()
        main()
        th.join()
        best = min(best, time.perf_counter() - t0)
    return a, b, best


def hand_over(tstop: float, callback: bool, n: int = 50) -> np.ndarray:
    """Milliseconds between a worker's ``time.sleep(0)`` calls while NEURON runs ``tstop``."""
    from neuron import h

    start = threading.Event()
    gaps: list[float] = []

    def worker():
        start.wait()
        last = time.perf_counter()
        for _ in range(n):
            time.sleep(0)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    steps = [0]

    def step():  # lets the worker start once NEURON is integrating
        steps[0] += 1
        if steps[0] == 20:
            start.set()

    if callback:
        h.cvode.extra_scatter_gather(0, step)
    else:
        start.set()
    th = threading.Thread(target=worker)
    th.start()
    h.finitialize(-65.0)
    h.continuerun(tstop)
    th.join()
    if callback:
        h.cvode.extra_scatter_gather_remove(step)
    return np.array(gaps) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=200, help="hh cables of 51 segments")
    parser.add_argument("--tstop", type=float, default=40.0, help="ms of NEURON per run")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")
    model = _network(args.sections)  # kept: NEURON deletes sections nobody references
    neuron_run = _neuron_run(args.tstop)
    seconds = _time(neuron_run)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="signals-gil-") as tmp:
        pairs = [("NEURON continuerun + per-step callback", "GEMM (1 BLAS thread)",
                  neuron_run, _gemm(seconds)),
                 ("NEURON continuerun + per-step callback", "netCDF4 appends + sync",
                  neuron_run, _netcdf(seconds, Path(tmp))),
                 ("NEURON continuerun + per-step callback", "pure-Python loop (control)",
                  neuron_run, _python(seconds)),
                 ("GEMM (1 BLAS thread)", "GEMM (1 BLAS thread)", _gemm(seconds),
                  _gemm(seconds))]
        for name_a, name_b, fa, fb in pairs:
            a, b, both = together(fa, fb)
            rows.append([name_a, name_b, f"{a:.2f}", f"{b:.2f}", f"{both:.2f}",
                         f"{(a + b - both) / min(a, b):.2f}"])
    from neuron import h

    h.cvode.extra_scatter_gather_remove(model[1])
    waits = []
    for callback in (True, False):
        g = hand_over(args.tstop, callback)
        waits.append(["yes" if callback else "no", f"{np.median(g):.3f}",
                      f"{np.percentile(g, 90):.3f}", f"{g.max():.1f}"])
    print("\n".join(harness.environment(["neuron", "numpy", "netCDF4"])))
    harness.print_table(["main thread (A)", "worker thread (B)", "A s", "B s", "together s",
                         "overlap"], rows,
                        title=f"{len(model[0])} hh cables x 51 segments, {args.tstop:g} ms, "
                              f"dt = {h.dt} ms; min of 2; load average {harness.load_text()}")
    harness.print_table(["per-step Python callback", "median ms", "p90 ms", "max ms"], waits,
                        title="a worker's wait for the GIL while NEURON integrates (50 hand-overs; "
                              f"switch interval {sys.getswitchinterval() * 1e3:g} ms; without a "
                              "callback the worker waits for the whole run)")


if __name__ == "__main__":
    main()
