"""LFP recorder against closed forms and independent implementations (LFPykit, LFPy)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import neuron_geometry, record_imem, user_segments
from numpy.testing import assert_allclose

import signals
from signals.recorders import LFP

PROBE = signals.electrodes.laminar(x=[30, 60, -40, 25], y=[0, 10, 5, -20], z=[-50, 100, 250, 500])


def _run(cells, recorders, path, tstop=30.0, **kw):
    """Record ``cells`` with signals and, independently, every segment's current (nA)."""
    table = signals.network.from_neuron(cells)
    ref = record_imem(user_segments(cells))
    signals.record(table, recorders, tstop=tstop, path=path, progress=False, **kw)
    imem, t = ref()
    return signals.open_run(path), imem, t


@pytest.mark.parametrize("method", ["linesource", "pointsource", "root_as_point"])
def test_lfp_equals_lfpykit_on_recorded_currents(ball_and_stick, tmp_path, method):
    import lfpykit

    cell = ball_and_stick()
    ds, imem, t = _run([cell], [LFP(PROBE, method=method, sigma=0.3)], tmp_path / "run.nc",
                       chunk_samples=97)
    geometry = neuron_geometry([cell])
    if method == "root_as_point":  # LFPykit's own default: the first segment (soma) is the root
        model = lfpykit.RecExtElectrode(geometry, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3,
                                        method="root_as_point")
    else:
        model_cls = {"linesource": lfpykit.LineSourcePotential,
                     "pointsource": lfpykit.PointSourcePotential}[method]
        model = model_cls(geometry, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3)
    expected = (model.get_transformation_matrix() @ imem).T
    assert np.abs(expected).max() > 1e-4  # the cell is active: a real comparison
    assert ds.sizes["time"] == t.size
    assert_allclose(ds["time"].values, t, rtol=0, atol=1e-9)
    err = np.abs(ds["lfp"].values - expected).max() / np.abs(expected).max()
    assert err < 1e-10


def test_point_source_closed_form(ball_and_stick, tmp_path):
    """phi = I / (4 pi sigma r): with nA, µm and S/m the result is in mV."""
    cell = ball_and_stick()
    sigma = 0.33
    ds, imem, _ = _run([cell], [LFP(PROBE, method="pointsource", sigma=sigma)], tmp_path / "r.nc")
    geometry = neuron_geometry([cell])
    mid = np.column_stack([geometry.x.mean(1), geometry.y.mean(1), geometry.z.mean(1)])
    r = np.linalg.norm(PROBE.positions[:, None, :] - mid[None, :, :], axis=2)
    expected = imem.T @ (1.0 / (4 * np.pi * sigma * r)).T
    assert_allclose(ds["lfp"].values, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_membrane_currents_sum_to_zero(ball_and_stick, tmp_path):
    """Without electrode current, the total membrane current is zero at every step."""

    class TotalCurrent(signals.Recorder):
        name = "total"

        def variables(self):
            return {"i_total": signals.VariableSpec(("time",), "nA", "sum of membrane currents"),
                    "i_abs": signals.VariableSpec(("time",), "nA", "sum of |membrane current|")}

        def on_chunk(self, chunk):
            return {"i_total": chunk.imem.sum(0), "i_abs": np.abs(chunk.imem).sum(0)}

    cells = [ball_and_stick(i, origin=(100.0 * i, 0, 0)) for i in range(3)]
    table = signals.network.from_neuron(cells)
    signals.record(table, [TotalCurrent()], tstop=40, path=tmp_path / "r.nc", progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    scale = ds["i_abs"].values.max()
    assert scale > 0.1  # nA: the cells spike
    assert np.abs(ds["i_total"].values).max() < 1e-9 * scale


def test_per_population_contributions_and_total_equal_lfpykit(ball_and_stick, tmp_path):
    """Each population's LFP, and the total, equal LFPykit on that population's own currents."""
    import lfpykit

    cells = [ball_and_stick(i, origin=(60.0 * i, 20.0 * i, 0), population=("A", "B", "C")[i % 3],
                            start=1.0 + i) for i in range(6)]
    ds, imem, _ = _run(cells, [LFP(PROBE, per_population=True)], tmp_path / "r.nc")
    per_pop = ds["lfp_population"]
    assert list(per_pop["population"].values) == ["A", "B", "C"]
    seg_pop = np.array([c.population for c in cells for _ in user_segments([c])])

    def lfpykit_lfp(members):
        M = lfpykit.LineSourcePotential(neuron_geometry(members), x=PROBE.x, y=PROBE.y, z=PROBE.z,
                                        sigma=0.3).get_transformation_matrix()
        rows = np.isin(seg_pop, [c.population for c in members])
        return (M @ imem[rows]).T

    for p in "ABC":
        expected = lfpykit_lfp([c for c in cells if c.population == p])
        assert np.abs(expected).max() > 1e-5  # every population contributes
        assert_allclose(per_pop.sel(population=p).values, expected, rtol=1e-10,
                        atol=1e-12 * np.abs(expected).max())
    expected = lfpykit_lfp(cells)
    assert_allclose(ds["lfp"].values, expected, rtol=1e-10, atol=1e-12 * np.abs(expected).max())


def test_disc_electrode_averages_points(ball_and_stick, tmp_path):
    """A contact disc averages the point potential over its surface; tiny discs → point."""
    cell = ball_and_stick()
    pos = [[40.0, 0, 100], [40.0, 0, 300]]
    tiny = signals.electrodes.points(pos, radius=1e-6, normal=(1, 0, 0))
    point = signals.electrodes.points(pos)
    big = signals.electrodes.points(pos, radius=20.0, normal=(1, 0, 0), n_points=200)
    ds, _, _ = _run([cell], [LFP(tiny, name="tiny"), LFP(point, name="point"),
                            LFP(big, name="big")], tmp_path / "r.nc")
    assert_allclose(ds["tiny"].values, ds["point"].values, rtol=1e-6,
                    atol=1e-9 * np.abs(ds["point"].values).max())
    diff = np.abs(ds["big"].values - ds["point"].values).max()
    assert 0 < diff < 0.5 * np.abs(ds["point"].values).max()


def test_electrode_inside_segment_warns(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    with pytest.warns(UserWarning, match=r"inside segments .*'e00': '1 segment\(s\), 1 of them in a soma'"):
        signals.record(table, [LFP([[0.0, 0.0, 0.0]])], tstop=5, path=tmp_path / "r.nc",
                       progress=False)


def test_matches_lfpy_recextelectrode(tmp_path):
    """Same cell, same run: signals' LFP equals LFPy's own RecExtElectrode."""
    LFPy = pytest.importorskip("LFPy")
    from neuron import h

    morph = tmp_path / "cell.hoc"
    morph.write_text(
        "create soma, dend\nconnect dend(0), soma(1)\n"
        "soma { pt3dclear() pt3dadd(0, 0, -10, 20) pt3dadd(0, 0, 10, 20) }\n"
        "dend { pt3dclear() pt3dadd(0, 0, 10, 2) pt3dadd(20, 0, 200, 1.5) pt3dadd(0, 0, 400, 1) }\n"
    )
    cell = LFPy.Cell(morphology=str(morph), passive=True, nsegs_method="fixed_length",
                     max_nsegs_length=40, dt=0.025, tstart=0, tstop=30, v_init=-65,
                     delete_sections=True)
    syn = LFPy.Synapse(cell, idx=cell.get_closest_idx(0, 0, 350), syntype="ExpSyn", weight=0.05,
                       tau=2, record_current=False)
    syn.set_spike_times(np.array([2.0, 9.0, 16.0]))
    electrode = LFPy.RecExtElectrode(cell, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3,
                                     method="linesource")
    table = signals.network.from_lfpy(cell)
    assert len(table) == cell.totnsegs
    # geometry: our interpolation of the 3-D points equals LFPy's
    for ours, theirs in ((table.x, cell.x), (table.y, cell.y), (table.z, cell.z)):
        assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    assert_allclose(table.diam, cell.d, rtol=1e-12)
    session = signals.attach(table, [LFP(PROBE, method="linesource", sigma=0.3)],
                             path=tmp_path / "r.nc")
    try:
        cell.simulate(probes=[electrode])
    finally:
        session.close()
    ds = signals.open_run(tmp_path / "r.nc")
    theirs = electrode.data.T  # (time, electrode), mV
    assert np.abs(theirs).max() > 1e-4
    # LFPy advances while t < tstop, so round-off gives it one extra step that it does not store
    n = theirs.shape[0]
    assert ds.sizes["time"] in (n, n + 1)
    assert_allclose(ds["time"].values[:n], cell.tvec, rtol=0, atol=1e-9)
    # At t = 0 LFPy calls h.fcurrent(): ionic currents without the capacitive part (they do not
    # sum to zero); NEURON and signals have i_membrane_ = 0 there. Compare from the first step.
    assert_allclose(ds["lfp"].values[1:n], theirs[1:], rtol=1e-6, atol=1e-6 * np.abs(theirs).max())
    # The morphology file made top-level hoc sections, which outlive the LFPy cell; later tests
    # take every section that exists, so delete them once LFPy has let go of its recordings.
    syn = electrode = None
    cell.__del__()
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)
    assert not list(h.allsec())


@pytest.mark.parametrize("method", ["linesource", "pointsource", "root_as_point"])
def test_transfer_matrix_kernel_equals_lfpykit(method):
    """The block-wise kernel against LFPykit's own RecExtElectrode on awkward geometry:
    contacts inside segments, on a segment's axis beyond either end, at a segment's end point."""
    import lfpykit
    from lfpykit.lfpcalc import return_dist_from_segments

    from signals.network import SegmentTable
    from signals.recorders.lfp import inside_segments, transfer_matrix

    rng = np.random.default_rng(0)
    n = 3 * 1170 + 37  # several blocks (1170 segments for 28 contacts) and a ragged last one
    start = rng.uniform(-300, 300, (n, 3))
    end = start + rng.normal(0, 20, (n, 3))
    diam = rng.uniform(0.5, 8, n)
    root = np.zeros(n, dtype=bool)
    root[[0, 5, 600, n - 1]] = True
    contacts = np.vstack([
        rng.uniform(-300, 300, (20, 3)),
        start[:3] + 0.1,                                   # inside segments
        end[3] + 2 * (end[3] - start[3]),                  # on the axis, beyond the end
        start[4] - 3 * (end[4] - start[4]),                # on the axis, before the start
        end[6],                                            # at an end point
        (start[5] + end[5]) / 2,                           # inside a root segment
    ])
    seg = SegmentTable(
        gid=np.zeros(n, dtype=np.int64), population=np.zeros(n, dtype=np.int64),
        populations=("all",), section=np.array(["s"] * n, dtype=object),
        x=np.c_[start[:, 0], end[:, 0]], y=np.c_[start[:, 1], end[:, 1]],
        z=np.c_[start[:, 2], end[:, 2]], diam=diam, area=np.ones(n), root=root,
        cell_gid=np.zeros(1, dtype=np.int64), cell_population=np.zeros(1, dtype=np.int64),
        cell_position=np.zeros((1, 3)))
    electrodes = signals.electrodes.points(contacts)
    geometry = lfpykit.CellGeometry(x=seg.x, y=seg.y, z=seg.z, d=diam)
    kwargs = {"rootinds": np.flatnonzero(root)} if method == "root_as_point" else {}
    reference = lfpykit.RecExtElectrode(geometry, x=contacts[:, 0], y=contacts[:, 1],
                                        z=contacts[:, 2], sigma=0.3, method=method,
                                        **kwargs).get_transformation_matrix()
    M = transfer_matrix(seg, electrodes, method=method, sigma=0.3)
    assert np.isfinite(reference).all()
    assert np.abs(M - reference).max() <= 1e-14 * np.abs(reference).max()
    assert np.array_equal(transfer_matrix(seg, electrodes, method=method, sigma=0.3, threads=3), M)
    # contacts inside segments: as LFPykit's distance to each segment says
    inside = inside_segments(seg, electrodes)
    for name, pos in zip(electrodes.names, contacts, strict=True):
        dist, _ = return_dist_from_segments(seg.x[:, 0], seg.y[:, 0], seg.z[:, 0],
                                            seg.x[:, 1], seg.y[:, 1], seg.z[:, 1], pos)
        n_in = int(np.count_nonzero(dist < diam / 2))
        assert (name in inside) == (n_in > 0)
        if n_in:
            assert inside[name].startswith(f"{n_in} segment(s)")
    assert "of them in a soma" in inside[electrodes.names[-1]]


def test_contact_surfaces_are_averaged_block_by_block(ball_and_stick):
    """With surface points the (points x segments) matrix is never built whole: the block-wise
    mean equals LFPykit's matrix of every point averaged per contact, in f8 and in f4."""
    import lfpykit

    from signals.recorders.lfp import _contact_points, transfer_matrix

    cells = [ball_and_stick(gid=g, origin=(60.0 * g, 0, 0)) for g in range(3)]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.points([[30.0, 10.0, z] for z in (-50.0, 100.0, 250.0, 400.0)],
                                      radius=8.0, normal=(1, 0, 0), n_points=40)
    pts = _contact_points(probe, seed=0)
    geometry = lfpykit.CellGeometry(x=table.x, y=table.y, z=table.z, d=table.diam)
    every = lfpykit.RecExtElectrode(geometry, sigma=0.3, method="linesource", x=pts[:, 0].copy(),
                                    y=pts[:, 1].copy(), z=pts[:, 2].copy())
    expected = every.get_transformation_matrix().reshape(len(probe), 40, -1).mean(axis=1)
    M = transfer_matrix(table, probe)
    assert M.shape == (4, len(table))
    assert_allclose(M, expected, rtol=1e-12, atol=1e-15 * np.abs(expected).max())
    with pytest.raises(ValueError, match="dtype"):
        transfer_matrix(table, probe, dtype="f2")
    M4 = transfer_matrix(table, probe, dtype="f4")
    assert M4.dtype == np.float32
    assert_allclose(M4, expected, rtol=1e-6, atol=1e-7 * np.abs(expected).max())


def test_medium_matrix_contact_groups_give_the_same_matrix(ball_and_stick, monkeypatch):
    """LFPykit's matrix in groups of contacts (bounded memory) equals it in one piece."""
    from signals.recorders import lfp

    cells = [ball_and_stick(gid=g, origin=(60.0 * g, 0, 0)) for g in range(2)]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.points([[30.0, 10.0, z] for z in (-50.0, 100.0, 250.0)],
                                      radius=8.0, normal=(1, 0, 0), n_points=20)
    whole = lfp.medium_matrix(table, probe, sigma=(0.3, 0.2, 0.4))
    monkeypatch.setattr(lfp, "_GROUP_BYTES", 1)  # one contact per group
    grouped = lfp.medium_matrix(table, probe, sigma=(0.3, 0.2, 0.4))
    assert np.abs(whole).max() > 0
    assert_allclose(grouped, whole, rtol=1e-13, atol=0)
