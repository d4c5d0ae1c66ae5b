"""Start-up time of ``signals info`` and ``signals plot``: where a command's first second goes.

Not a test: a script that runs each command several times in fresh processes
(``harness.run_process``) and prints the median and minimum wall time and the peak RSS, then
splits one ``signals plot raster`` into its parts — imports (signals, xarray and pandas,
netCDF4, matplotlib), opening the run, drawing and saving — so that a change can be judged by
numbers. Run::

    python benchmarks/startup.py [--run RUN.nc] [--repeat 5]
    python benchmarks/startup.py --quick     # a 100 ms demo run, each command once

Without ``--run`` it records a 1000 ms demo run first (``signals demo``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import harness

BIN = Path(sys.executable).parent
ENV = {**os.environ, "NEURON_MODULE_OPTIONS": "-nogui", "MPLBACKEND": "Agg"}

COMMANDS = {
    "signals info": ["info", "{run}"],
    "signals plot raster": ["plot", "raster", "{run}", "-o", "{tmp}/raster.png"],
    "signals plot lfp": ["plot", "lfp", "{run}", "-o", "{tmp}/lfp.png"],
}

# one process: the parts of `signals plot raster`, timed in the order the command runs them
PARTS = r"""
import json, sys, time
t = {}
t0 = time.perf_counter(); import signals; t["import signals"] = time.perf_counter() - t0
t0 = time.perf_counter(); import xarray; t["import xarray (pandas)"] = time.perf_counter() - t0
t0 = time.perf_counter(); import netCDF4; t["import netCDF4"] = time.perf_counter() - t0
t0 = time.perf_counter(); import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
t["import matplotlib.pyplot"] = time.perf_counter() - t0
t0 = time.perf_counter(); from signals import plots; t["import signals.plots"] = time.perf_counter() - t0
t0 = time.perf_counter(); ds = signals.open_run(sys.argv[1]); t["open_run"] = time.perf_counter() - t0
t0 = time.perf_counter(); fig = plots.plot_raster(ds); t["plot_raster"] = time.perf_counter() - t0
t0 = time.perf_counter(); fig.savefig(sys.argv[2], dpi=120); t["savefig (PNG)"] = time.perf_counter() - t0
print(json.dumps(t))
"""


def run(args: list[str]) -> harness.ProcessResult:
    """One ``signals`` command in a fresh process: its wall time and peak RSS."""
    proc = harness.run_process([str(BIN / "signals"), *args], env=ENV)
    if proc.returncode:
        raise RuntimeError(f"signals {' '.join(args)} failed: {proc.last_error_line()}")
    return proc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run file to use (default: record a 1000 ms demo run)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs per command (median reported; default 5, 1 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: a 100 ms demo run (without --run), each command once")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        run_file = args.run
        if run_file is None:
            run(["demo", "--out", f"{tmp}/demo", "--tstop", "100" if args.quick else "1000"])
            run_file = f"{tmp}/demo/run.nc"
        rows = []
        for name, template in COMMANDS.items():
            cmd = [a.format(run=run_file, tmp=tmp) for a in template]
            procs = [run(cmd) for _ in range(repeat)]
            times = [p.wall_s for p in procs]
            rows.append([name, f"{statistics.median(times):.2f}", f"{min(times):.2f}",
                         f"{max(p.peak_rss_mb for p in procs):.0f}"])
        harness.print_table(["command", "median (s)", "min (s)", "peak RSS MiB"], rows,
                            title=f"{repeat} fresh processes each")
        out = subprocess.run([sys.executable, "-c", PARTS, run_file, f"{tmp}/parts.png"], check=True,
                             env=ENV, capture_output=True, text=True)
        parts = json.loads(out.stdout)
        rows = [[name, f"{seconds:.2f}"] for name, seconds in parts.items()]
        rows.append(["total", f"{sum(parts.values()):.2f}"])
        harness.print_table(["part", "s"], rows, title="one `signals plot raster`, in parts")


if __name__ == "__main__":
    main()
