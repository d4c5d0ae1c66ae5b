"""Which floor of the line source is right for contacts near a segment's extended axis.

Not a test. LFPykit's line source (and so signals') floors a contact's distance to a segment's
*infinite* axis at the segment radius, also beyond the segment's ends; NetPyNE's formula has no
floor. Two measurements decide between them:

1. Against the membrane current as it is, spread over the cylinder's lateral surface
   (2000 × 720 point sources on a 20 µm long, 20 µm thick soma), for contacts beyond its end
   at distance ``D`` along the axis and ``rho`` from it: the relative error of the floored
   line source (LFPykit) and of the exact line integral with no floor outside the segment.
2. On the demo network with a 20 µm-pitch laminar probe through the column, how many contacts
   outside every segment the two rules treat differently, and how far apart their LFPs are
   (relative to each contact's peak).

Both printed as Markdown tables (``harness.print_table``).

Usage::

    python benchmarks/line_source_floor.py
    python benchmarks/line_source_floor.py --quick   # the network recorded for 30 ms, not 300
"""

from __future__ import annotations

import argparse
import tempfile
import warnings
from pathlib import Path

import harness
import numpy as np

L, A, SIGMA = 20.0, 10.0, 0.3  # µm, µm, S/m


def cylinder_surface(contact: np.ndarray, ns: int = 2000, nphi: int = 720) -> float:
    """mV per nA of a unit current spread uniformly over the lateral surface."""
    s = (np.arange(ns) + 0.5) / ns * L
    phi = (np.arange(nphi) + 0.5) / nphi * 2 * np.pi
    S, P = np.meshgrid(s, phi)
    pts = np.column_stack([A * np.cos(P).ravel(), A * np.sin(P).ravel(), S.ravel()])
    return float(np.mean(1 / np.linalg.norm(pts - contact, axis=1)) / (4 * np.pi * SIGMA))


def line_source(contact: np.ndarray, floored: bool) -> float:
    """mV per nA of a uniform line current on the axis, distance floored at A or not."""
    rho2 = contact[0] ** 2 + contact[1] ** 2
    if floored:
        rho2 = max(rho2, A * A)
    z = contact[2]
    if rho2 == 0:
        value = np.log(z / (z - L))
    else:
        value = np.arcsinh(z / np.sqrt(rho2)) - np.arcsinh((z - L) / np.sqrt(rho2))
    return float(value / L / (4 * np.pi * SIGMA))


def network_effect(tstop: float = 300.0) -> None:
    import signals
    from signals.demo import build_network
    from signals.recorders import MembraneCurrents
    from signals.recorders.lfp import inside_segments, transfer_matrix

    net = build_network(seed=1, scale=1.0)
    cells = [c for members in net.populations.values() for c in members]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=0.0, y=0.0, z=np.arange(-1200.0, 301.0, 20.0))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.nc"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            signals.record(table, [MembraneCurrents()], tstop=tstop, path=path, progress=False)
        with signals.open_run(path) as ds:
            imem = ds["imem"].values
    floored = transfer_matrix(table, probe)
    # the line integral with no floor, by the midpoint rule along each segment's axis (valid for
    # contacts outside every segment, the only ones compared)
    n = 400
    f = (np.arange(n) + 0.5) / n
    exact = np.zeros_like(floored)
    start = np.column_stack([table.x[:, 0], table.y[:, 0], table.z[:, 0]])
    stop = np.column_stack([table.x[:, 1], table.y[:, 1], table.z[:, 1]])
    for i, c in enumerate(probe.positions):
        pts = start[:, None, :] + f[None, :, None] * (stop - start)[:, None, :]  # (seg, n, 3)
        exact[i] = np.mean(1 / np.linalg.norm(pts - c, axis=2), axis=1) / (4 * np.pi * SIGMA)
    inside = inside_segments(table, probe)
    keep = np.array([name not in inside for name in probe.names])
    a, b = imem @ floored.T, imem @ exact.T
    err = (np.abs(a - b).max(axis=0) / np.abs(a).max(axis=0))[keep]
    # entries more than 0.1 % apart (the midpoint rule itself is good to ~1e-5 here)
    changed = (np.abs(floored - exact) > 1e-3 * np.abs(exact)).any(axis=1)[keep]
    harness.print_table(
        ["contacts outside every segment", "treated differently", "largest LFP difference",
         "median difference"],
        [[keep.sum(), changed.sum(), f"{err.max():.1%}",
          f"{np.median(err[changed]) if changed.any() else 0:.2e}"]],
        title=f"demo network ({len(table)} segments, {tstop:g} ms), laminar probe of {len(probe)} "
              "contacts at 20 µm pitch; LFP differences relative to each contact's peak")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: a 30 ms network run")
    args = parser.parse_args(argv)
    rows = []
    for rho in (0.0, 3.0, 7.0, 9.5):
        for d in (2.0, 5.0, 15.0, 50.0, 200.0):
            c = np.array([rho, 0.0, L + d])
            ref = cylinder_surface(c)
            rows.append([f"{rho:g}", f"{d:g}", f"{line_source(c, True) / ref - 1:+.2e}",
                         f"{line_source(c, False) / ref - 1:+.2e}"])
    harness.print_table(["rho (µm)", "D (µm)", "floored (LFPykit)", "no floor outside the segment"],
                        rows, title="contact beyond the end of a 20 µm x 20 µm soma: error against "
                                    "the cylinder surface")
    network_effect(30.0 if args.quick else 300.0)


if __name__ == "__main__":
    main()
