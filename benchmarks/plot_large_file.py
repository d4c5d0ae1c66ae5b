"""Figures from a large run file: ``signals plot psd / spectrogram / csd`` time and peak memory.

Not a test: a script that writes a synthetic but valid run file of a long laminar recording
(``signals.store.RunWriter``, the writer of real runs: compressed netCDF, ``lfp`` (time,
electrode) in mV with ``electrode_x/y/z`` and ``sigma``), then runs the real console script on
it, each figure in a fresh process (``harness.run_process``), and reports wall time and that
process's peak RSS against the file's size. Analyses read the file in blocks (Welch
accumulated over time blocks; CSD of bin means): peak memory must stay far below the file size
and not grow with the duration.

The data: 64 contacts 50 µm apart sampled at 10 kHz; three current layers at different depths
(a 10 Hz rhythm, 40 Hz gamma bursts and slow 1/f-like noise) seen through the on-axis potential
of a disc source, plus independent contact noise.

Usage::

    python benchmarks/plot_large_file.py                 # 120 s of data (~0.6 GB)
    python benchmarks/plot_large_file.py --full          # 600 s (~3 GB, "an hour of data" size)
    python benchmarks/plot_large_file.py --seconds 30 --keep --out /tmp/bench
    python benchmarks/plot_large_file.py --quick         # 5 s of data, a smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import harness
import numpy as np

N_ELECTRODES = 64
FS = 10_000.0  # Hz
SPACING = 50.0  # µm
CHUNK = 10_000  # samples written at once (1 s)


def write_run(path: Path, seconds: float, seed: int = 0) -> float:
    """Write the synthetic run file chunk by chunk; return the time it took (s)."""
    from scipy.signal import lfilter

    from signals.recorder import VariableSpec
    from signals.store import RunWriter

    rng = np.random.default_rng(seed)
    z = -SPACING * np.arange(N_ELECTRODES)  # µm, surface first
    labels = np.array([f"e{i:02d}" for i in range(N_ELECTRODES)])
    coords = {
        "electrode": (("electrode",), labels, {"long_name": "electrode"}),
        "electrode_x": (("electrode",), np.zeros(N_ELECTRODES), {"units": "um"}),
        "electrode_y": (("electrode",), np.zeros(N_ELECTRODES), {"units": "um"}),
        "electrode_z": (("electrode",), z, {"units": "um"}),
    }
    spec = VariableSpec(("time", "electrode"), "mV", "extracellular potential",
                        attrs={"sigma": 0.3, "sigma_units": "S/m", "forward_model": "synthetic"})
    n_total = int(round(seconds * FS))
    writer = RunWriter(path, coords=coords, variables={"lfp": spec}, chunk_len=CHUNK,
                       attrs={"model": "synthetic laminar recording (benchmarks/plot_large_file.py)",
                              "record_dt": 1000.0 / FS, "dt": 1000.0 / FS, "t_start": 0.0,
                              "tstop": (n_total - 1) * 1000.0 / FS})
    # on-axis potential of disc sources (radius 300 µm) at three depths: (electrodes × sources)
    depths, radius = np.array([-400.0, -1200.0, -2400.0]), 300.0
    d = z[:, None] - depths[None, :]
    profile = (np.sqrt(d**2 + radius**2) - np.abs(d)) / radius
    profile -= profile.mean(axis=0)  # sinks and sources balance along the probe
    ar = np.zeros(3)  # state of the slow noise, continuous across chunks
    alpha = np.exp(-2 * np.pi * 5.0 / FS)  # AR(1): a 5 Hz corner
    start = time.perf_counter()
    for k0 in range(0, n_total, CHUNK):
        n = min(CHUNK, n_total - k0)
        t = (k0 + np.arange(n)) / FS  # s
        burst = 0.5 * (1 + np.sin(2 * np.pi * 0.5 * t))  # 40 Hz bursts every 2 s
        kicks = rng.normal(size=(n, 3)) * np.sqrt(1 - alpha**2)
        slow, ar = lfilter([1.0], [1.0, -alpha], kicks, axis=0, zi=alpha * ar[None, :])
        ar = slow[-1]
        sources = np.stack([0.04 * np.sin(2 * np.pi * 10.0 * t), 0.03 * burst * np.sin(2 * np.pi * 40.0 * t),
                            np.zeros(n)], axis=1) + 0.01 * slow  # mV
        lfp = sources @ profile.T + 0.002 * rng.normal(size=(n, N_ELECTRODES))
        writer.append(t * 1000.0, {"lfp": lfp})
    writer.close()
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="seconds of data (default 120)")
    parser.add_argument("--full", action="store_true", help="600 s of data (~3 GB)")
    parser.add_argument("--out", default=None,
                        help="folder for the run file and figures (default a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the run file")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 s of data")
    args = parser.parse_args(argv)
    seconds = 600.0 if args.full else 5.0 if args.quick else args.seconds

    import tempfile

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="signals_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    run = out / "large_run.nc"
    raw_mb = N_ELECTRODES * seconds * FS * 8 / 2**20
    print(f"writing {seconds:g} s × {N_ELECTRODES} electrodes × {FS / 1000:g} kHz "
          f"({raw_mb:.0f} MiB of float64) to {run} ...", flush=True)
    t_write = write_run(run, seconds)
    size_mb = run.stat().st_size / 2**20
    print(f"written in {t_write:.1f} s; file size {size_mb:.0f} MiB (compressed netCDF)\n", flush=True)

    script = str(Path(sys.executable).with_name("signals"))
    cases = {
        "baseline (plot electrodes)": ["electrodes"],
        "psd (64 electrodes, Welch)": ["psd"],
        "spectrogram (4 electrodes)": ["spectrogram"],
        "csd (64 contacts, 2000 bins)": ["csd"],
    }
    rows, failures = [], []
    for name, extra in cases.items():
        png = out / f"large_{extra[0]}.png"
        proc = harness.run_process([script, "plot", extra[0], str(run), "-o", str(png), *extra[1:]])
        if proc.returncode:
            failures.append(f"{name}: FAILED: {proc.stderr.strip()}")
        rows.append([name, f"{proc.wall_s:.1f}", f"{proc.peak_rss_mb:.0f}",
                     f"{proc.peak_rss_mb / size_mb:.2f}", "ok" if proc.returncode == 0 else "FAILED"])
        print(f"  {name}: {proc.wall_s:.1f} s", flush=True)
    harness.print_table(["figure", "wall s", "peak RSS MiB", "RSS / file", "status"], rows,
                        align="lrrrl")
    for line in failures:
        print(line)
    print(f"\nfigures in {out}")
    if not args.keep:
        run.unlink()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
