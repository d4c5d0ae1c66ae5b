"""Start-up time of ``signals info`` and ``signals plot``: where a command's first second goes.

Not a test: a script that runs each command several times in fresh processes and prints the
median wall time, then splits one run of each into its parts — imports (``python -X
importtime``: signals, xarray and pandas, netCDF4, matplotlib), opening the run, drawing and
saving — so that a change can be judged by numbers. Run::

    python benchmarks/startup.py [--run RUN.nc] [--repeat 5]

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
import time
from pathlib import Path

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


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([str(BIN / "signals"), *args], check=True, env=ENV, capture_output=True)
    return time.perf_counter() - t0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="run file to use (default: record a 1000 ms demo run)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (median reported)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run
        if run is None:
            subprocess.run([str(BIN / "signals"), "demo", "--out", f"{tmp}/demo"], check=True, env=ENV,
                           capture_output=True)
            run = f"{tmp}/demo/run.nc"
        print(f"{'command':<22} {'median (s)':>10} {'min (s)':>8}   ({args.repeat} fresh processes each)")
        for name, template in COMMANDS.items():
            cmd = [a.format(run=run, tmp=tmp) for a in template]
            times = [wall(cmd) for _ in range(args.repeat)]
            print(f"{name:<22} {statistics.median(times):>10.2f} {min(times):>8.2f}")
        out = subprocess.run([sys.executable, "-c", PARTS, run, f"{tmp}/parts.png"], check=True, env=ENV,
                             capture_output=True, text=True)
        parts = json.loads(out.stdout)
        print("\none `signals plot raster`, in parts (s):")
        for name, seconds in parts.items():
            print(f"  {name:<26} {seconds:6.2f}")
        print(f"  {'total':<26} {sum(parts.values()):6.2f}")


if __name__ == "__main__":
    main()
