"""Does a compressed transfer matrix cut the per-step cost of a large probe? A measured answer.

Not a test. A column of ~100k segments (copies of LFPy's shipped L2/3 pyramidal morphology
``L23E_p23.hoc``, rotated about z and spread over a disc of 500 µm radius) and a 384-contact
Neuropixels 1.0 probe (MEAutility's layout) through its centre. ``LFP(probe, compress=tol)``
(:func:`signals.recorders.lfp.compress_matrix`) replaces the transfer matrix ``M`` (384 ×
segments) block by block, one block per group of neighbouring cells, in the spirit of fast
multipole methods: each block by its truncated SVD ``U_r S_r V_r^T`` with the smallest rank
``r`` whose spectral error is at most ``tol`` times the block's norm.

Timed: the recorder's own ``on_chunk`` (what a session and ``signals.recompute`` call every
chunk), compressed against uncompressed, on chunks of 500 samples of realistic currents —
membrane currents recorded from a simulation of one such cell with synaptic input, placed in
every copy with a random time shift — with one BLAS thread (the session's default), in f8 and
f4; min and median of ``--repeat`` runs. Printed per tolerance: the mean rank, the multiply-adds
per sample against ``384 n``, the time ratio, the LFP error relative to the peak, and the
documented bound ``tol ||M||_F ||I||_2`` over the peak of ``||error||_2``. ``--blocks`` scans
the block size; ``--sparse`` also times ``W`` stored as scipy.sparse CSC (``U @ (W @ I)``);
``--splits`` times the per-population and per-cell outputs (10 cells) too.

Measured (2 cores shared with other jobs, OpenBLAS; ``--cells 1000 --blocks 256 512 2048 4096
--sparse --repeat 7``; on_chunk time over the plain matrix's, min / median):

========  ====  =========  ==============  =============  ===============  ============
dtype     tol   mean rank  multiply-adds   on_chunk       W as CSC         error / peak
========  ====  =========  ==============  =============  ===============  ============
f8        full  384        1               700 / 709 ms   --               0
f8        1e-3  11.0       0.042           0.13 / 0.13    0.26 / 0.26      2.1e-3
f8        1e-4  17.9       0.069           0.16 / 0.16    0.33 / 0.33      1.7e-4
f8        1e-5  26.1       0.100           0.19 / 0.19    0.44 / 0.44      1.7e-5
f4        full  384        1               344 / 350 ms   --               0
f4        1e-3  11.0       0.042           0.15 / 0.15    0.25 / 0.25      2.1e-3
f4        1e-4  17.9       0.069           0.18 / 0.18    0.35 / 0.36      1.7e-4
f4        1e-5  26.1       0.100           0.21 / 0.21    0.47 / 0.47      1.8e-5
========  ====  =========  ==============  =============  ===============  ============

128 blocks of <= 1024 segments; the error is 0.006-0.009 of the documented bound. Per-block
dense factors (what ``BlockLowRank`` stores) are twice as fast as ``W`` in scipy.sparse CSC.
At 1e-4, blocks of <= 512 and 2048 segments took 0.17, of 256 and 4096 0.18-0.19 (f8). Set-up
(transfer matrix, then the SVDs on two threads): 1.8 s plain, 3.6-4.4 s compressed.

Usage::

    python benchmarks/lowrank.py [--cells 1000] [--tol 1e-3 1e-4 1e-5] [--blocks 256 1024 4096]
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


def _timed(fn, repeat: int) -> tuple[float, float]:
    """Min and median seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def _sparse_w(op):
    """The right factor of a BlockLowRank as scipy.sparse CSC (identity blocks included)."""
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    for (c, w), a in zip(op.blocks, op.offsets[:-1], strict=True):
        idx = np.arange(op.n_columns)[c]
        if w is None:
            w = np.eye(idx.size)
        rr, cc = np.meshgrid(np.arange(a, a + w.shape[0]), idx, indexing="ij")
        rows.append(rr.ravel())
        cols.append(cc.ravel())
        vals.append(w.ravel())
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(op.U.shape[1], op.n_columns), dtype=op.dtype)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=1000)
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-3, 1e-4, 1e-5])
    parser.add_argument("--blocks", type=int, nargs="*", default=[],
                        help="also scan these block sizes (segments) at the first tolerance")
    parser.add_argument("--dtype", nargs="+", default=["f8", "f4"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--sparse", action="store_true", help="also time W as scipy.sparse CSC")
    parser.add_argument("--splits", action="store_true",
                        help="also time per_population=True and 10 cells=, at the first tolerance")
    args = parser.parse_args()

    import MEAutility
    from threadpoolctl import threadpool_limits

    import signals
    from signals.recorder import Chunk, Context
    from signals.recorders import LFP
    from signals.recorders.lfp import COMPRESS_BLOCK_SEGMENTS, compress_matrix, transfer_matrix

    cell, imem = one_cell()
    rng = np.random.default_rng(1)
    net = column(cell, args.cells, rng)
    mea = MEAutility.return_mea("Neuropixels-384")
    pos = mea.positions.copy()  # in the y-z plane, along z
    pos[:, 2] -= pos[:, 2].mean() + 200
    probe = signals.electrodes.points(pos)
    n_seg, n_el = len(net), len(probe)
    chunk = 500
    # realistic currents: the recorded cell's, each copy shifted in time
    shifts = rng.integers(0, imem.shape[0] - chunk, args.cells)
    currents = np.concatenate([imem[s:s + chunk].T for s in shifts])  # (n_seg, chunk) nA
    t = np.arange(chunk) * 0.025
    M = transfer_matrix(net, probe, threads=2)
    exact = M @ currents  # (n_el, chunk) mV
    peak = np.abs(exact).max()
    bound = np.linalg.norm(M) * np.linalg.norm(currents, axis=0)  # / tol: mV per sample
    print(f"{args.cells} cells x {len(cell)} segments = {n_seg} segments, {n_el} contacts, "
          f"blocks of <= {COMPRESS_BLOCK_SEGMENTS} segments; on_chunk on {chunk} samples, one "
          f"BLAS thread, min / median of {args.repeat}")
    print("| dtype | tol (per block) | blocks | mean rank | set-up (s) | multiply-adds vs full "
          "| on_chunk (ms) | time vs full (min / median) | LFP error / peak | error / bound |")
    print("|---|---|---|---|---|---|---|---|---|---|")

    for dtype in args.dtype:
        ctx = Context(segments=net, populations=("L23E",), dtype=dtype)
        data = Chunk(imem=currents.astype(dtype), t=t, start=0)
        full = LFP(probe)
        t0 = time.perf_counter()
        full.setup(ctx)
        t_setup = time.perf_counter() - t0
        with threadpool_limits(1, user_api="blas"):
            t_full = _timed(lambda full=full, data=data: full.on_chunk(data), args.repeat)
        print(f"| {dtype} | full | 1 | {n_el} | {t_setup:.1f} | 1.000 | {t_full[0] * 1e3:.0f} / "
              f"{t_full[1] * 1e3:.0f} | 1.00 | 0 | 0 |")
        for tol in args.tol:
            rec = LFP(probe, compress=tol)
            t0 = time.perf_counter()
            rec.setup(ctx)
            t_setup = time.perf_counter() - t0
            info = rec.compression_
            with threadpool_limits(1, user_api="blas"):
                t_c = _timed(lambda rec=rec, data=data: rec.on_chunk(data), args.repeat)
            y = rec.on_chunk(data)["lfp"].T
            err = np.abs(y - exact).max() / peak
            to_bound = (np.linalg.norm(y - exact, axis=0) / (tol * bound)).max()
            print(f"| {dtype} | {tol:g} | {info.rank.size} | {info.rank.mean():.1f} | "
                  f"{t_setup:.1f} | {info.ratio:.3f}{'' if info.used else ' (not used)'} | "
                  f"{t_c[0] * 1e3:.0f} / {t_c[1] * 1e3:.0f} | {t_c[0] / t_full[0]:.2f} / "
                  f"{t_c[1] / t_full[1]:.2f} | {err:.1e} | {to_bound:.1e} |")
            if args.sparse and info.used:
                op = rec.factors_[0]
                W = _sparse_w(op)
                x = data.imem
                with threadpool_limits(1, user_api="blas"):
                    t_s = _timed(lambda op=op, W=W, x=x: op.U @ (W @ x), args.repeat)
                err_s = np.abs(op.U @ (W @ x) - exact).max() / peak
                print(f"| {dtype} | {tol:g}, W sparse CSC | | | | | {t_s[0] * 1e3:.0f} / "
                      f"{t_s[1] * 1e3:.0f} | {t_s[0] / t_full[0]:.2f} / {t_s[1] / t_full[1]:.2f} "
                      f"| {err_s:.1e} | |")
        if args.splits:
            split = {"per_population": True, "cells": range(0, args.cells, args.cells // 10)}
            times = []
            for compress in (None, args.tol[0]):
                rec = LFP(probe, compress=compress, **split)
                rec.setup(ctx)
                with threadpool_limits(1, user_api="blas"):
                    times.append(_timed(lambda rec=rec, data=data: rec.on_chunk(data),
                                        args.repeat))
            (f_min, f_med), (c_min, c_med) = times
            print(f"| {dtype} | full, with the splits | | | | | {f_min * 1e3:.0f} / "
                  f"{f_med * 1e3:.0f} | | | |")
            print(f"| {dtype} | {args.tol[0]:g}, with the splits | | | | | {c_min * 1e3:.0f} / "
                  f"{c_med * 1e3:.0f} | {c_min / f_min:.2f} / {c_med / f_med:.2f} | | |")
        for size in args.blocks:
            tol = args.tol[0]
            op, info = compress_matrix(M, net, tol, block_segments=size, threads=2)
            if op is None:
                print(f"| {dtype} | {tol:g}, blocks of <= {size} | {info.rank.size} | "
                      f"{info.rank.mean():.1f} | | {info.ratio:.3f} (not used) | | | | |")
                continue
            op = op.astype(dtype)
            x = data.imem
            with threadpool_limits(1, user_api="blas"):
                t_b = _timed(lambda op=op, x=x: op @ x, args.repeat)
            err = np.abs(op @ x - exact).max() / peak
            print(f"| {dtype} | {tol:g}, blocks of <= {size} | {info.rank.size} | "
                  f"{info.rank.mean():.1f} | | {info.ratio:.3f} | {t_b[0] * 1e3:.0f} / "
                  f"{t_b[1] * 1e3:.0f} | {t_b[0] / t_full[0]:.2f} / {t_b[1] / t_full[1]:.2f} | "
                  f"{err:.1e} | |")


if __name__ == "__main__":
    main()
