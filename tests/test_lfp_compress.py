"""LFP(compress=tol): the compressed transfer matrix against the exact LFP of the same run.

A real NEURON network: copies of LFPy's shipped L2/3 pyramidal morphology ``L23E_p23.hoc``
(passive, synaptic input), rotated and spread around a two-column probe. The reference is an
independent matrix, LFPykit's own ``RecExtElectrode``, applied to the recorded membrane currents.
"""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.recompute import recompute
from signals.recorder import Chunk, Context
from signals.recorders import LFP, MembraneCurrents
from signals.recorders.lfp import BlockLowRank

LFPy = pytest.importorskip("LFPy")
MORPHOLOGY = Path(LFPy.__file__).parent / "test" / "L23E_p23.hoc"
N_CELLS = 32
TSTOP = 20.0  # ms
TOL = 1e-4
#: Two columns of 48 contacts, 20 µm apart along z (µm), along the column's axis.
PROBE = signals.electrodes.points(
    [[x, 0.0, z] for z in np.linspace(-300.0, 640.0, 48) for x in (-16.0, 16.0)])
CELLS = [0, 7]  # gids with their own outputs


def _shape():
    """Sections of the hoc morphology: (name, parent name, parent x, 3-D points (µm))."""
    from neuron import h

    before = {sec.name() for sec in h.allsec()}
    h.load_file(1, str(MORPHOLOGY))  # 1: load again if LFPy loaded it already; runs celldef()
    secs = [sec for sec in h.allsec() if sec.name() not in before]
    out = []
    for sec in secs:
        parent = sec.parentseg()
        pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i), sec.diam3d(i)]
                        for i in range(sec.n3d())])
        out.append((sec.name(), None if parent is None else parent.sec.name(),
                    None if parent is None else parent.x, pts))
    for sec in secs:
        h.delete_section(sec=sec)
    return out


class Pyramid:
    """One copy of the morphology: rotated about z by ``angle``, soma at ``origin`` (µm)."""

    def __init__(self, gid: int, shape, origin, angle: float, population: str,
                 rng: np.random.Generator) -> None:
        from neuron import h

        self.gid, self.population = gid, population
        c, s = np.cos(angle), np.sin(angle)
        rot = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        secs = {}
        for name, _, _, pts in shape:
            sec = secs[name] = h.Section(name=name.replace("[", "_").replace("]", ""), cell=self)
            for x, y, z, d in pts:
                sec.pt3dadd(*(rot @ [x, y, z] + origin), d)
        for name, parent, px, _ in shape:
            if parent is not None:
                secs[name].connect(secs[parent](px))
        for sec in secs.values():
            sec.nseg = 1 + 2 * int(sec.L / 20)  # ~10 µm segments
            sec.insert("pas")
            sec.e_pas, sec.g_pas = -65.0, 1e-4
        self.all = list(secs.values())
        segs = [seg for sec in self.all for seg in sec]
        self.syns, self.stims, self.ncs = [], [], []
        for k in rng.choice(len(segs), 4, replace=False):
            syn = h.ExpSyn(segs[k])
            syn.tau = 2.0
            stim = h.NetStim()
            stim.start, stim.number, stim.interval, stim.noise = rng.uniform(0, 5), 5, 3, 0.5
            stim.seed(gid * 10 + len(self.stims) + 1)
            nc = h.NetCon(stim, syn)
            nc.weight[0], nc.delay = 0.005, 0.0
            self.syns.append(syn)
            self.stims.append(stim)
            self.ncs.append(nc)


def _network():
    rng = np.random.default_rng(3)
    shape = _shape()
    cells = []
    for gid in range(N_CELLS):
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(60, 400)
        origin = np.array([r * np.cos(a), r * np.sin(a), rng.normal(0, 40)])
        cells.append(Pyramid(gid, shape, origin, rng.uniform(0, 2 * np.pi),
                             "E" if gid % 4 else "I", rng))
    return cells, signals.network.from_neuron(cells)


def _recorders():
    kw = {"per_population": True, "cells": CELLS}
    return [LFP(PROBE, name="exact", **kw), LFP(PROBE, compress=TOL, name="lfpc", **kw),
            LFP(PROBE, compress=1e-2, name="coarse", **kw)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The run file (membrane currents and three LFPs) and LFPykit's independent matrix."""
    import lfpykit
    from neuron import h

    path = tmp_path_factory.mktemp("compress") / "run.nc"
    cells, table = _network()
    signals.record(table, [MembraneCurrents(), *_recorders()], tstop=TSTOP, dt=0.025,
                   path=path, progress=False)
    reference = lfpykit.RecExtElectrode(table.cell_geometry(), x=PROBE.x, y=PROBE.y, z=PROBE.z,
                                        sigma=0.3, method="linesource")
    M = reference.get_transformation_matrix()  # mV/nA, LFPykit's loop over contacts
    del cells
    gc.collect()
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)
    with signals.open_run(path) as ds:
        yield ds.load(), M, table


def _bound(M, imem, tol):
    """Per sample: tol ||M||_F ||I(t)||_2 (mV), the documented bound on ||error(t)||_2."""
    return tol * np.linalg.norm(M) * np.linalg.norm(imem, axis=1)


def test_the_network_is_real_and_large_enough_to_compress(run):
    ds, M, table = run
    assert table.n_cells == N_CELLS and len(table) > 2500
    exact = ds["exact"].values
    # the uncompressed recorder is LFPykit's matrix applied to the recorded currents
    assert_allclose(exact, ds["imem"].values @ M.T, rtol=0, atol=1e-9 * np.abs(exact).max())
    assert np.abs(exact).max() > 1e-4  # mV: the synapses drive the cells
    assert ds["lfpc"].attrs["compress_tolerance"] == TOL
    assert "compress_tolerance" not in ds["exact"].attrs
    assert "exact_block_rank" not in ds


@pytest.mark.parametrize("name, tol", [("lfpc", TOL), ("coarse", 1e-2)])
def test_compressed_error_is_within_the_documented_bound(run, name, tol):
    ds, M, _ = run
    imem = ds["imem"].values  # (time, segment) nA
    exact, approx = ds["exact"].values, ds[name].values
    err = np.linalg.norm(approx - exact, axis=1)  # mV per sample
    assert np.all(err <= _bound(M, imem, tol) * (1 + 1e-9) + 1e-12)
    rel = np.abs(approx - exact).max() / np.abs(exact).max()
    assert rel > 1e-9, "nothing was compressed"
    assert rel <= 10 * tol, f"error {rel:.2e} of the peak at tolerance {tol:g}"
    factored = ds[f"{name}_block_factored"].values.astype(bool)
    assert factored.any()
    # the recorded per-block errors keep the tolerance
    norm, block_err = ds[f"{name}_block_norm"].values, ds[f"{name}_block_error"].values
    assert np.all(block_err[factored] <= tol * norm[factored] * (1 + 1e-12))
    assert np.all(block_err[~factored] == 0)
    assert ds[f"{name}_block_segments"].values.sum() == ds.sizes["segment"]
    assert ds[f"{name}_block_cells"].values.sum() == N_CELLS
    ratio = ds[f"{name}_block_rank"].attrs["multiply_adds_ratio"]
    madds = ds[f"{name}_block_multiply_adds"].values.sum()
    assert ratio == pytest.approx(madds / (len(PROBE) * ds.sizes["segment"]))
    assert ratio < 1 / 1.5


def test_a_smaller_tolerance_gives_a_smaller_error(run):
    ds, _, _ = run
    exact = ds["exact"].values
    fine, coarse = (np.abs(ds[n].values - exact).max() for n in ("lfpc", "coarse"))
    assert fine < coarse / 3
    assert (ds["lfpc_block_rank"].values.sum() > ds["coarse_block_rank"].values.sum())


def test_splits_sum_to_the_total_and_keep_the_bound(run):
    ds, M, table = run
    imem = ds["imem"].values
    lfpc = ds["lfpc"].values
    per_pop = ds["lfpc_population"]
    assert_allclose(per_pop.sum("population").values, lfpc, rtol=0,
                    atol=1e-12 * np.abs(lfpc).max())
    for k, rows in enumerate(table.population_rows(list(ds["population"].values))):
        cols = np.arange(len(table))[rows]
        err = np.linalg.norm(per_pop.values[:, k] - ds["exact_population"].values[:, k], axis=1)
        assert np.all(err <= _bound(M, imem[:, cols], TOL) * (1 + 1e-9) + 1e-12)
    slices = dict(zip(table.cell_gid.tolist(), table.cell_slices(), strict=True))
    for k, gid in enumerate(CELLS):
        cols = slices[gid]
        approx = ds["lfpc_per_cell"].values[:, k]
        exact = ds["exact_per_cell"].values[:, k]
        assert_allclose(exact, imem[:, cols] @ M[:, cols].T, rtol=0,
                        atol=1e-9 * np.abs(exact).max())
        err = np.linalg.norm(approx - exact, axis=1)
        assert np.all(err <= _bound(M, imem[:, cols], TOL) * (1 + 1e-9) + 1e-12)
        assert np.abs(approx).max() > 0


def test_recompute_applies_the_same_compression(run):
    ds, _, _ = run
    out = recompute(ds, [LFP(PROBE, compress=TOL, per_population=True, name="lfpc")],
                    chunk_samples=300)
    for name in ("lfpc", "lfpc_population"):
        scale = np.abs(ds[name].values).max()
        assert np.abs(out[name].values - ds[name].values).max() <= 1e-10 * scale
    np.testing.assert_array_equal(out["lfpc_block_rank"].values, ds["lfpc_block_rank"].values)
    assert out["lfpc"].attrs["compress_tolerance"] == TOL


def test_single_precision_chunks(run):
    """ctx.dtype "f4": the factors are cast; the error is the bound plus f4 round-off."""
    ds, M, table = run
    rec = LFP(PROBE, compress=TOL, per_population=True)
    rec.setup(Context(segments=table, populations=tuple(ds["population"].values.tolist()),
                      dtype="f4"))
    (factor,) = rec.factors_
    assert isinstance(factor, BlockLowRank) and factor.dtype == np.float32
    imem = ds["imem"].values
    out = rec.on_chunk(Chunk(imem=imem.T.astype("f4"), t=ds["time"].values, start=0))
    exact = ds["exact"].values
    err = np.linalg.norm(out["lfp"] - exact, axis=1)
    assert np.all(err <= _bound(M, imem, TOL) + 1e-5 * np.abs(exact).max())
    assert np.abs(out["lfp"] - exact).max() <= 10 * TOL * np.abs(exact).max()


def test_no_compression_where_it_does_not_pay(run):
    """Four contacts: factors cannot beat the dense columns; the plain matrix is used, exactly."""
    ds, _, table = run
    probe = signals.electrodes.points(PROBE.positions[::24])
    plain, rec = LFP(probe), LFP(probe, compress=TOL)
    ctx = Context(segments=table, populations=tuple(ds["population"].values.tolist()))
    plain.setup(ctx)
    rec.setup(ctx)
    assert isinstance(rec.factors_[0], np.ndarray)
    chunk = Chunk(imem=ds["imem"].values.T, t=ds["time"].values, start=0)
    np.testing.assert_array_equal(rec.on_chunk(chunk)["lfp"], plain.on_chunk(chunk)["lfp"])
    static = rec.static(ctx)
    assert not static["lfp_block_factored"][1].any()
    assert static["lfp_block_rank"][2]["multiply_adds_ratio"] == 1.0


@pytest.mark.parametrize("bad, error", [(-1e-4, ValueError), (0.0, ValueError), (1.0, ValueError),
                                        (2, ValueError), (float("nan"), ValueError),
                                        ("1e-4", TypeError), (True, TypeError),
                                        ([1e-4], TypeError)])
def test_bad_tolerance_is_refused(bad, error):
    with pytest.raises(error, match="compress"):
        LFP(PROBE, compress=bad)


def test_contract_and_provenance():
    from signals.testing import check_recorder

    rec = LFP(PROBE, compress=1e-3)
    check_recorder(rec)
    assert repr(rec).endswith("compress=0.001)")
    assert '"compress": 0.001' in rec.describe()
    assert LFP(PROBE).compress is None


def test_compress_matrix_checks_its_input(run):
    from signals.recorders.lfp import compress_matrix

    _, M, table = run
    for bad in (None, 0.0, 1.5):
        with pytest.raises(ValueError, match="tolerance|compress"):
            compress_matrix(M, table, bad)
    with pytest.raises(ValueError, match="one column per segment"):
        compress_matrix(M[:, :-1], table, 1e-4)
    with pytest.raises(ValueError, match="threads"):
        compress_matrix(M, table, 1e-4, threads=0)
