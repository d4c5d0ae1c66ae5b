"""Sampling coarser than dt: interval means of the membrane currents, or point samples."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import record_imem, user_segments
from numpy.testing import assert_allclose

import signals
from signals.recorders import LFP, MembraneCurrents, Traces


def box_means(x: np.ndarray, k: int) -> np.ndarray:
    """Reference: sample j (j >= 1) is the mean of steps j k - k//2 ... j k + k//2 with half
    weights at both ends for even k (k steps in all), cut at the last step; sample 0 is x[0]."""
    half = k // 2
    w = np.ones(2 * half + 1)
    if k % 2 == 0:
        w[0] = w[-1] = 0.5
    n_steps = len(x) - 1
    out = [x[0]]
    for j in range(1, n_steps // k + 1):
        idx = np.arange(j * k - half, j * k + half + 1)
        keep = idx <= n_steps
        out.append(w[keep] @ x[idx[keep]] / w[keep].sum())
    return np.array(out)


@pytest.mark.parametrize("k, chunk", [(2, 5), (3, 7), (4, 1), (4, 1000), (5, 3)])
def test_mean_sampling_is_the_centred_interval_mean(ball_and_stick, tmp_path, k, chunk):
    """Every sample of the currents (and of the LFP, linear in them) is the box mean of the
    steps around it, against Vector.record of every segment at every step."""
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    reference = record_imem(user_segments([cell]))
    v_ref = h.Vector().record(cell.soma(0.5)._ref_v)
    probe = signals.electrodes.laminar(x=30.0, y=0.0, z=[-100.0, 0.0, 200.0])
    dt, tstop = 0.025, 20.0
    signals.record(table, [MembraneCurrents(), LFP(probe), Traces([0])], tstop=tstop, dt=dt,
                   record_dt=k * dt, sampling="mean", path=tmp_path / "m.nc", progress=False,
                   chunk_samples=chunk)
    imem, t = reference()
    x = imem.T  # (steps + 1, segments) nA, from t = 0
    assert np.abs(x).max() > 0.1  # the cell spiked: the means are not of a flat signal
    ds = signals.open_run(tmp_path / "m.nc")
    expected = box_means(x, k)
    assert ds.attrs["sampling"] == "mean"
    assert ds.sizes["time"] == len(expected)
    assert_allclose(ds["time"].values, t[::k], rtol=0, atol=1e-9)
    scale = np.abs(expected).max()
    assert_allclose(ds["imem"].values, expected, rtol=0, atol=1e-12 * scale)
    # the LFP of the means is the mean of the LFP: the same transfer matrix applied to them
    from signals.recorders.lfp import transfer_matrix

    lfp = expected @ transfer_matrix(table, probe).T
    assert_allclose(ds["lfp"].values, lfp, rtol=0, atol=1e-12 * np.abs(lfp).max())
    # traces stay point samples
    np.testing.assert_array_equal(ds["v"].isel(v_cell=0).values, np.array(v_ref)[::k])


def test_mean_sampling_removes_what_point_sampling_aliases(ball_and_stick, tmp_path):
    """Point sampling equals Vector.record every k steps; the mean differs from it by the
    spike energy above the new Nyquist frequency."""
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    reference = record_imem(user_segments([cell]))
    dt, k = 0.025, 8
    signals.record(table, [MembraneCurrents()], tstop=20.0, dt=dt, record_dt=k * dt,
                   sampling="point", path=tmp_path / "p.nc", progress=False)
    imem, _ = reference()
    with signals.open_run(tmp_path / "p.nc") as ds:
        assert ds.attrs["sampling"] == "point"
        point = ds["imem"].values
    assert_allclose(point, imem.T[::k], rtol=0, atol=1e-12 * np.abs(imem).max())
    mean = box_means(imem.T, k)
    # a spike lasts ~1 ms: sampled every 0.2 ms its fast part is badly aliased
    assert np.abs(point - mean).max() > 0.05 * np.abs(mean).max()


def test_sampling_every_step_is_the_same_either_way(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    out = {}
    for mode in ("mean", "point"):
        signals.record(table, [MembraneCurrents()], tstop=5.0, dt=0.025, sampling=mode,
                       path=tmp_path / f"{mode}.nc", progress=False)
        with signals.open_run(tmp_path / f"{mode}.nc") as ds:
            out[mode] = ds["imem"].values
            assert ds.attrs["sampling"] == "point"  # one step per sample: nothing averaged
    np.testing.assert_array_equal(out["mean"], out["point"])


def test_sampling_option_is_checked(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    with pytest.raises(ValueError, match="sampling"):
        signals.record(table, [MembraneCurrents()], tstop=5.0, sampling="median",
                       path=tmp_path / "x.nc", progress=False)


@pytest.mark.parametrize("layout", ["plain", "cache_efficient"])
def test_currents_read_from_node_storage_equal_vector_record(ball_and_stick, tmp_path, layout):
    """On NEURON 9 the currents are one copy of the node storage, proven against the pointers;
    the values equal Vector.record of every segment, whatever NEURON's layout."""
    from conftest import NEURON_MAJOR
    from neuron import h

    cells = [ball_and_stick(gid=g, origin=(100.0 * g, 0, 0), start=1.0 + g) for g in range(3)]
    table = signals.network.from_neuron(cells)
    if layout == "cache_efficient":
        h.cvode.cache_efficient(1)
    try:
        h.cvode.use_fast_imem(1)
        # sec= ties each record to the section's thread (needed with two threads)
        vecs = [h.Vector().record(seg._ref_i_membrane_, sec=seg.sec)
                for seg in user_segments(cells)]
        signals.record(table, [MembraneCurrents()], tstop=15.0, dt=0.025,
                       path=tmp_path / "n.nc", progress=False, chunk_samples=50)
        imem = np.array([v.as_numpy() for v in vecs])
    finally:
        h.cvode.cache_efficient(0)
    with signals.open_run(tmp_path / "n.nc") as ds:
        expected = "node storage copy" if NEURON_MAJOR >= 9 else "pointer gather"
        assert ds.attrs["membrane_current_read"] == expected
        assert np.abs(imem).max() > 0.1
        np.testing.assert_array_equal(ds["imem"].values[1:], imem.T[1:])


def test_threads_are_refused_clearly(ball_and_stick, tmp_path):
    """NEURON aborts the process on extra_scatter_gather with threads: refused before."""
    from neuron import h

    table = signals.network.from_neuron([ball_and_stick()])
    pc = h.ParallelContext()
    pc.nthread(2)
    try:
        with pytest.raises(ValueError, match="pc.nthread"):
            signals.attach(table, [MembraneCurrents()], path=tmp_path / "t.nc")
        assert not (tmp_path / "t.nc").exists()  # refused before anything is written
    finally:
        pc.nthread(1)
