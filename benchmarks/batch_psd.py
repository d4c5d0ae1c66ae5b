"""PSD of a batch of run files bigger than memory: ``open_runs(..., chunks=)`` + ``psd``, time and peak RSS.

Not a test: a script that writes a batch of synthetic but valid run files (``RunWriter``, the
writer of real runs: ``lfp`` (time, electrode) in mV, 64 contacts at 10 kHz, each run with its
own ``drive`` attribute, which becomes the ``run`` coordinate), then, each in a fresh process,
opens the first 1, 2, 4, ... of them with ``signals.open_runs(paths, chunks={})`` (dask arrays
over the files' own chunks) and computes ``signals.analysis.psd`` of the stacked
``(run, time, electrode)`` LFP. It reports wall time and that process's peak RSS against the
total size of the files read. ``psd`` reads blocks of time across all runs (``block_bytes``,
32 MiB by default) and dask reads only the file chunks each block needs, so peak memory must
stay far below the data and not grow with it.

Usage::

    python benchmarks/batch_psd.py                       # 8 runs × 60 s (~2.5 GB in total)
    python benchmarks/batch_psd.py --runs 12 --seconds 60  # ~3.7 GB
    python benchmarks/batch_psd.py --runs 2 --seconds 10 --out /tmp/bench --keep

Measured on the project's 2-core machine (shared), ``--runs 12 --seconds 60``::

     runs  files GiB  open_runs s    psd s    MiB/s  process s  peak RSS MiB  RSS / files
        1       0.29          2.0      5.5       54        9.5           264        0.886
        2       0.58          1.9      8.1       74       11.0           282        0.474
        4       1.16          1.4     15.1       79       17.8           367        0.309
        8       2.32          2.8     28.8       83       32.9           527        0.221
       12       3.49          2.3     56.4       63       59.7           667        0.187

About 230 MiB is the interpreter and its imports; each run adds ~35 MiB (the file chunk being
read and a 4 MiB netCDF chunk cache), not its data.

With ``distributed`` installed, the same ``psd`` runs on a local cluster when a
``dask.distributed.Client`` exists in the process (see :mod:`signals.runs`).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_ELECTRODES = 64
FS = 10_000.0  # Hz
CHUNK = 10_000  # samples written at once (1 s): also the netCDF chunk length along time

MEASURE = """
import sys, time
import signals
from signals.analysis import psd
paths = sys.argv[1:]
start = time.perf_counter()
ds = signals.open_runs(paths, chunks={})
opened = time.perf_counter()
p = psd(ds.lfp, fmax=500)
assert p.dims == ("run", "electrode", "frequency"), p.dims
print(f"{time.perf_counter() - opened:.3f} {opened - start:.3f} {float(p.sum()):.6e}")
"""


def write_run(path: Path, seconds: float, seed: int, drive: float) -> float:
    """One synthetic run: a 10 Hz rhythm of depth-dependent sign, 40 Hz scaled by ``drive``, noise."""
    from signals.recorder import VariableSpec
    from signals.store import RunWriter

    rng = np.random.default_rng(seed)
    z = -50.0 * np.arange(N_ELECTRODES)  # µm
    coords = {
        "electrode": (("electrode",), np.array([f"e{i:02d}" for i in range(N_ELECTRODES)]), {}),
        "electrode_x": (("electrode",), np.zeros(N_ELECTRODES), {"units": "um"}),
        "electrode_y": (("electrode",), np.zeros(N_ELECTRODES), {"units": "um"}),
        "electrode_z": (("electrode",), z, {"units": "um"}),
    }
    spec = VariableSpec(("time", "electrode"), "mV", "extracellular potential")
    n_total = int(round(seconds * FS))
    writer = RunWriter(path, coords=coords, variables={"lfp": spec}, chunk_len=CHUNK,
                       attrs={"model": "synthetic batch (benchmarks/batch_psd.py)", "drive": drive,
                              "seed": seed, "record_dt": 1000.0 / FS, "dt": 1000.0 / FS,
                              "t_start": 0.0, "tstop": (n_total - 1) * 1000.0 / FS})
    profile = np.cos(np.pi * np.arange(N_ELECTRODES) / N_ELECTRODES)
    start = time.perf_counter()
    for k0 in range(0, n_total, CHUNK):
        n = min(CHUNK, n_total - k0)
        t = (k0 + np.arange(n)) / FS  # s
        lfp = (0.04 * np.sin(2 * np.pi * 10.0 * t)[:, None] * profile[None, :]
               + 0.01 * drive * np.sin(2 * np.pi * 40.0 * t)[:, None]
               + 0.005 * rng.standard_normal((n, N_ELECTRODES)))
        writer.append(t * 1000.0, {"lfp": lfp})
    writer.close()
    return time.perf_counter() - start


def measure(paths: list[Path]) -> tuple[float, float, float, float, int, str]:
    """PSD of ``paths`` in a fresh process: (wall s, psd s, open_runs s, peak RSS MiB, exit code, stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", MEASURE, *map(str, paths)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    psd_s, open_s = (float(v) for v in out.split()[:2]) if code == 0 and out.strip() else (np.nan, np.nan)
    return wall, psd_s, open_s, usage.ru_maxrss / 1024.0, code, err


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="run files in the batch (default 8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of data per run (default 60)")
    parser.add_argument("--out", default=None, help="folder for the run files (default a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the run files")
    args = parser.parse_args(argv)
    if args.runs < 1 or not args.seconds > 0:
        parser.error("--runs must be >= 1 and --seconds > 0")

    import tempfile

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="signals_batch_"))
    out.mkdir(parents=True, exist_ok=True)
    per_run = N_ELECTRODES * args.seconds * FS * 8 / 2**30
    print(f"writing {args.runs} runs × {args.seconds:g} s × {N_ELECTRODES} electrodes × {FS / 1000:g} kHz "
          f"({per_run:.2f} GiB of float64 each) to {out} ...", flush=True)
    paths, t_write = [], 0.0
    for i in range(args.runs):
        p = out / f"run{i:02d}.nc"
        t_write += write_run(p, args.seconds, seed=i, drive=1.0 + 0.5 * i)
        paths.append(p)
    print(f"written in {t_write:.0f} s\n", flush=True)

    counts = sorted({k for k in (1, 2, 4, 8, 16, 32) if k <= args.runs} | {args.runs})
    print(f"{'runs':>5} {'files GiB':>10} {'open_runs s':>12} {'psd s':>8} {'MiB/s':>8} {'process s':>10} "
          f"{'peak RSS MiB':>13} {'RSS / files':>12}")
    failed = False
    for k in counts:
        size = sum(p.stat().st_size for p in paths[:k]) / 2**30
        wall, psd_s, open_s, rss, code, err = measure(paths[:k])
        failed |= code != 0
        status = "" if code == 0 else f"  FAILED: {err.strip()[-500:]}"
        print(f"{k:>5} {size:>10.2f} {open_s:>12.1f} {psd_s:>8.1f} {size * 1024 / psd_s:>8.0f} {wall:>10.1f} "
              f"{rss:>13.0f} {rss / (size * 1024):>12.3f}{status}", flush=True)
    if not args.keep:
        for p in paths:
            p.unlink()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
