"""How much a coarse ``record_dt`` aliases spike energy into the LFP band, and what averaging saves.

Not a test: records the demo network's LFP (and the dipole) at every time step, then builds
the two ways a coarser sampling interval can be had from the same run:

``pick``
    every k-th step, which is what ``record_dt = k * dt`` records today;
``mean``
    the mean of the k steps of each sampling interval (a box filter before sampling: one
    running sum of the currents per step, one matrix product per sample);

and compares both with the reference, the every-step signal low-passed by a zero-phase FIR
filter at 80 % of the new Nyquist frequency, sampled at the interval ends (``pick``) or
centres (``mean``, whose value belongs to the interval's centre).
Printed per k (a Markdown table, ``harness.markdown_table``): the relative RMS error of each
variant against the reference, and the relative error of its Welch PSD in bands up to the new
Nyquist frequency.

Usage::

    python benchmarks/aliasing.py                 # demo network, 1000 ms, k = 2, 4, 8, 20
    python benchmarks/aliasing.py --tstop 2000 --scale 1.0
    python benchmarks/aliasing.py --quick         # 200 ms of a scale 0.2 network
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import harness
import numpy as np


def band_errors(x: np.ndarray, ref: np.ndarray, fs: float, bands) -> list[float]:
    """Relative error of the Welch PSD of ``x`` against ``ref``'s, summed over each band."""
    from scipy.signal import welch

    f, px = welch(x, fs=fs, nperseg=min(len(x), int(fs * 0.25)), axis=0)
    _, pr = welch(ref, fs=fs, nperseg=min(len(ref), int(fs * 0.25)), axis=0)
    out = []
    for lo, hi in bands:
        sel = (f >= lo) & (f < hi)
        out.append(float(np.abs(px[sel].sum(0) - pr[sel].sum(0)).max() / pr[sel].sum(0).max()))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tstop", type=float, default=None, help="ms (default 1000; 200 with --quick)")
    parser.add_argument("--scale", type=float, default=None,
                        help="demo network scale (default 0.5; 0.2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: a short run of a small network")
    args = parser.parse_args(argv)
    args.tstop = args.tstop or (200.0 if args.quick else 1000.0)
    args.scale = args.scale or (0.2 if args.quick else 0.5)

    from scipy.signal import filtfilt, firwin

    import signals
    from signals.demo import build_network
    from signals.recorders import LFP, Dipole

    dt = 0.025
    net = build_network(seed=3, scale=args.scale)
    cells = [c for members in net.populations.values() for c in members]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.linspace(-1000, 200, 13))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "full.nc"
        signals.record(table, [LFP(probe), Dipole(per_population=False)], tstop=args.tstop,
                       dt=dt, path=path, progress=False)
        ds = signals.open_run(path)
        full = {"lfp": ds["lfp"].values[1:], "dipole": ds["dipole"].values[1:]}  # from 1st step
        ds.close()
    print(f"demo network ({len(table)} segments), {args.tstop:g} ms at dt = {dt} ms; reference: "
          "zero-phase FIR low-pass at 0.8 x the new Nyquist frequency, then sampled")
    rows = []
    for k in (2, 4, 8, 20):
        fs = 1000.0 / (k * dt)  # Hz
        nyq = fs / 2
        bands = [(1, 30), (30, 100), (100, min(300, 0.8 * nyq))]
        for name, x in full.items():
            n = (len(x) // k) * k
            x = x[:n]
            pick = x[k - 1::k]  # the sample at the end of each interval, as record_dt takes it
            mean = x.reshape(-1, k, x.shape[1]).mean(axis=1)  # belongs to the interval's centre
            taps = firwin(8 * k + 1, 0.8 / k)  # low-pass at 80 % of the new Nyquist frequency
            smooth = filtfilt(taps, 1.0, x, axis=0)
            ref = smooth[k - 1::k]
            ref_centre = (smooth[(k - 1) // 2::k] + smooth[k // 2::k]) / 2
            scale = np.sqrt(np.mean(ref**2))
            rms = [np.sqrt(np.mean((v - r) ** 2)) / scale for v, r in ((pick, ref), (mean, ref_centre))]
            errs = [band_errors(v, r, fs, bands) for v, r in ((pick, ref), (mean, ref_centre))]
            text = "  ".join(f"{lo:g}-{hi:g}: {a:.1e} / {b:.1e}"
                             for (lo, hi), a, b in zip(bands, *errs, strict=True))
            rows.append([k, f"{k * dt:.3f} ms", name, f"{rms[0]:.2e}", f"{rms[1]:.2e}", text])
    harness.print_table(["k", "record_dt", "signal", "RMS pick", "RMS mean",
                         "PSD error pick / mean in bands (Hz)"], rows, align="rrlrrl")


if __name__ == "__main__":
    main()
