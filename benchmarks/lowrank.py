"""Does a compressed transfer matrix cut the per-step cost of a large probe? A measured answer.

Not a test. A column of ~100k segments (copies of LFPy's shipped L2/3 pyramidal morphology
``L23E_p23.hoc``, rotated about z and spread over a disc of 500 µm radius) and a 384-contact
Neuropixels 1.0 probe (MEAutility's layout) through its centre. The transfer matrix ``M``
(384 × segments) is compressed block by block, one block per cell, in the spirit of fast
multipole methods: each block is replaced by its truncated SVD ``U_r S_r V_r^T`` with the
smallest rank ``r`` whose spectral error is at most ``tol`` times the block's norm (blocks of
``--group`` neighbouring cells). Printed per
tolerance: the multiply-adds per sample (``sum_c r_c (384 + n_c)`` against ``384 n``), the
measured time of the products on a chunk of 500 samples, and the relative error of the LFP of
realistic currents — membrane currents recorded from a simulation of one such cell with
synaptic input, placed in every copy with a random time shift.

Usage::

    python benchmarks/lowrank.py [--cells 150] [--tol 1e-3 1e-4 1e-5]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def one_cell():
    """Geometry (µm) and 200 ms of membrane currents (nA) of the L2/3 cell, from LFPy."""
    import LFPy

    import signals
    from signals.recorders import MembraneCurrents

    cell = LFPy.Cell(morphology=str(Path(LFPy.__file__).parent / "test" / "L23E_p23.hoc"),
                     passive=True, nsegs_method="fixed_length", max_nsegs_length=10, dt=2**-3,
                     tstart=0, tstop=200, v_init=-65, delete_sections=True)
    rng = np.random.default_rng(0)
    syns = []
    for idx in rng.choice(cell.totnsegs, min(40, cell.totnsegs), replace=False):
        syn = LFPy.Synapse(cell, idx=int(idx), syntype="ExpSyn", weight=0.005, tau=2)
        syn.set_spike_times(np.sort(rng.uniform(0, 200, 8)))
        syns.append(syn)
    table = signals.network.from_lfpy(cell)
    with tempfile.TemporaryDirectory() as tmp:
        with signals.attach(table, [MembraneCurrents()], path=Path(tmp) / "c.nc"):
            cell.simulate()
        with signals.open_run(Path(tmp) / "c.nc") as ds:
            imem = ds["imem"].values[1:]
    return table, imem


def column(table, n_cells: int, rng: np.random.Generator):
    """``n_cells`` rotated, shifted copies of ``table`` as one SegmentTable."""
    import signals

    n = len(table)
    soma = table.cell_position[0]
    parts = {k: [] for k in ("x", "y", "z")}
    positions = []
    for _ in range(n_cells):
        a = rng.uniform(0, 2 * np.pi)
        r = 500 * np.sqrt(rng.uniform())
        shift = np.array([r * np.cos(a), r * np.sin(a), rng.normal(0, 50)]) - soma
        c, s = np.cos(a), np.sin(a)
        for end in range(2):
            p = np.column_stack([table.x[:, end], table.y[:, end], table.z[:, end]]) - soma
            p = p @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T + soma + shift
            for k, axis in enumerate("xyz"):
                parts[axis].append((end, p[:, k]))
        positions.append(soma + shift)
    xyz = {axis: np.column_stack([np.concatenate([v for e, v in parts[axis] if e == end])
                                  for end in range(2)]) for axis in "xyz"}
    gid = np.repeat(np.arange(n_cells), n)
    return signals.network.SegmentTable(
        gid=gid, population=np.zeros(gid.size, dtype=int), populations=("L23E",),
        section=np.tile(table.section, n_cells), **xyz, diam=np.tile(table.diam, n_cells),
        area=np.tile(table.area, n_cells), root=np.tile(table.root, n_cells),
        cell_gid=np.arange(n_cells), cell_population=np.zeros(n_cells, dtype=int),
        cell_position=np.array(positions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--group", type=int, default=10,
                        help="neighbouring cells per compressed block")
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-3, 1e-4, 1e-5])
    args = parser.parse_args()

    import MEAutility

    import signals
    from signals.recorders.lfp import transfer_matrix

    cell, imem = one_cell()
    rng = np.random.default_rng(1)
    net = column(cell, args.cells, rng)
    mea = MEAutility.return_mea("Neuropixels-384")
    pos = mea.positions.copy()  # in the y-z plane, along z
    pos[:, 2] -= pos[:, 2].mean() + 200
    probe = signals.electrodes.points(pos)
    t0 = time.perf_counter()
    M = transfer_matrix(net, probe)
    t_matrix = time.perf_counter() - t0
    n_seg, n_el = len(net), len(probe)
    chunk = 500
    # realistic currents: the recorded cell's, each copy shifted in time
    shifts = rng.integers(0, imem.shape[0] - chunk, args.cells)
    currents = np.concatenate([imem[s:s + chunk].T for s in shifts])  # (n_seg, chunk) nA
    exact = M @ currents

    def timed(fn, repeat=5):
        best = np.inf
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return best

    t_full = timed(lambda: M @ currents)
    print(f"{args.cells} cells x {len(cell)} segments = {n_seg} segments, {n_el} contacts "
          f"(matrix {t_matrix:.1f} s, {M.nbytes / 2**20:.0f} MiB); products on {chunk} samples")
    print(f"blocks of {args.group} cells ({len(cell) * args.group} segments)")
    print("| tol (per block) | mean rank | multiply-adds vs full | product time vs full | "
          "LFP error / peak |")
    print("|---|---|---|---|---|")
    print(f"| full | {n_el} | 1.00 | 1.00 ({t_full * 1e3:.0f} ms) | 0 |")
    # blocks of --group neighbouring cells (by angle around the probe): bigger blocks amortise
    # the per-block overhead
    cells = net.cell_slices()
    order = np.argsort(np.arctan2(net.cell_position[:, 1], net.cell_position[:, 0]))
    keep = np.concatenate([np.arange(cells[i].start, cells[i].stop) for i in order])
    M, currents, exact = M[:, keep], currents[keep], exact
    n_per = len(cell) * args.group
    slices = [slice(a, min(a + n_per, n_seg)) for a in range(0, n_seg, n_per)]
    svds = [np.linalg.svd(M[:, sl], full_matrices=False) for sl in slices]
    for tol in args.tol:
        blocks, ranks = [], []
        for (u, s, vt), sl in zip(svds, slices, strict=True):
            r = max(1, int(np.searchsorted(-s, -tol * s[0])))  # s descending: s[r] <= tol s[0]
            blocks.append((u[:, :r] * s[:r], np.ascontiguousarray(vt[:r]), sl))
            ranks.append(r)

        def compressed(blocks=blocks):
            out = np.zeros((n_el, chunk))
            for us, vt, sl in blocks:
                out += us @ (vt @ currents[sl])
            return out

        t_c = timed(compressed)
        err = np.abs(compressed() - exact).max() / np.abs(exact).max()
        madds = sum(r * (n_el + (sl.stop - sl.start)) for r, (_, _, sl) in zip(ranks, blocks,
                                                                                 strict=True))
        print(f"| {tol:g} | {np.mean(ranks):.1f} | {madds / (n_el * n_seg):.3f} | "
              f"{t_c / t_full:.2f} | {err:.1e} |")


if __name__ == "__main__":
    main()
