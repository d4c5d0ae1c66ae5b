"""Real probe layouts (MEAutility's definitions) against LFPykit, and probeinterface exchange."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import neuron_geometry, record_imem, user_segments
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.electrodes import (
    from_probeinterface,
    from_run,
    points,
    probe,
    probe_names,
    rotation_matrix,
    to_probeinterface,
)
from signals.network import SegmentTable
from signals.recorders import LFP
from signals.recorders.lfp import transfer_matrix

mu = pytest.importorskip("MEAutility")
lfpykit = pytest.importorskip("lfpykit")


def _segments(start: np.ndarray, end: np.ndarray, diam: float = 2.0) -> SegmentTable:
    n = len(start)
    return SegmentTable(
        gid=np.zeros(n, dtype=np.int64), population=np.zeros(n, dtype=np.int64),
        populations=("all",), section=np.array(["dend"] * n, dtype=object),
        x=np.c_[start[:, 0], end[:, 0]], y=np.c_[start[:, 1], end[:, 1]],
        z=np.c_[start[:, 2], end[:, 2]], diam=np.full(n, diam), area=np.ones(n),
        root=np.zeros(n, dtype=bool), cell_gid=np.zeros(1, dtype=np.int64),
        cell_population=np.zeros(1, dtype=np.int64), cell_position=np.zeros((1, 3)))


def _dendrite_in_front(e, distance: float = 8.0) -> SegmentTable:
    """A wiggly 300 µm dendrite ``distance`` µm in front of a flat probe, across its contacts."""
    rng = np.random.default_rng(0)
    normal = e.normal[0]
    edge = e.edge[0] if e.edge is not None else signals.electrodes._in_plane(normal)
    other = np.cross(normal, edge)
    s = np.linspace(-150, 150, 31)
    pts = (e.positions.mean(axis=0) + np.outer(distance + rng.uniform(-1, 1, s.size), normal)
           + np.outer(rng.uniform(-30, 30, s.size), edge) + np.outer(s, other))
    seg = _segments(pts[:-1], pts[1:])
    seg.root[0] = True  # for root_as_point: LFPykit's rootinds=[0]
    return seg


def _geometry(seg):
    return lfpykit.CellGeometry(x=seg.x, y=seg.y, z=seg.z, d=seg.diam)


def _quadrature(seg, e, k: int = 100) -> np.ndarray:
    """Converged surface average: the midpoint rule on a k × k grid over each square or disc."""
    g = (np.arange(k) + 0.5) / k * 2 - 1
    a, b = (v.ravel() for v in np.meshgrid(g, g))
    if e.shape == "circle":
        keep = a * a + b * b < 1
        a, b = a[keep], b[keep]
    edge = e.edge if e.edge is not None else np.array([signals.electrodes._in_plane(v) for v in e.normal])
    other = np.cross(e.normal, edge)
    grid = e.positions[:, None, :] + e.radius * (a[None, :, None] * edge[:, None, :]
                                                 + b[None, :, None] * other[:, None, :])
    return transfer_matrix(seg, points(grid.reshape(-1, 3))).reshape(len(e), a.size, -1).mean(axis=1)


# -- layouts -------------------------------------------------------------------------------------


def test_probe_names_are_meautilitys():
    names = probe_names()
    assert {"Neuropixels-384", "Neuropixels2-384", "Neuropixels-24", "Neuronexus-32",
            "Neuroseeker-128", "SqMEA-10-15", "tetrode"} <= set(names)


@pytest.mark.parametrize("name", ["Neuropixels-384", "Neuropixels2-64", "Neuronexus-32",
                                  "Neuroseeker-128", "SqMEA-5-30", "tetrode", "tetrode-mea-d"])
def test_probe_layout_equals_meautility(name):
    mea = mu.return_mea(name)
    where = np.array([40.0, -20.0, 310.0])
    e = probe(name, position=where)
    info = mu.return_mea_info(name)
    assert len(e) == mea.number_electrodes
    assert e.shape == info["shape"] and e.radius == float(info["size"])
    centre = mea.positions.mean(axis=0)
    assert_allclose(e.positions, mea.positions - centre + where, rtol=0, atol=1e-12)
    normals = np.array([el.normal for el in mea.electrodes], dtype=float)
    assert_allclose(np.abs(np.sum(e.normal * normals, axis=1)), 1.0, rtol=0, atol=1e-12)
    if e.shape == "square":
        assert_allclose(e.edge, np.broadcast_to(mea.main_axes[0], e.edge.shape), atol=1e-12)


def test_neuropixels_contacts_are_12_um_squares_along_the_probe():
    e = probe("Neuropixels-384")
    assert (len(e), e.shape, e.radius) == (384, "square", 6.0)  # 12 µm side
    assert np.ptp(e.z) == pytest.approx(95 * 40 + 20)  # 4 staggered columns, rows 20 µm apart
    assert_allclose(np.abs(e.normal[:, 0]), 1.0)  # facing x, long axis z (MEAutility's frame)
    pts = signals.recorders.lfp._contact_points(e, seed=0).reshape(384, e.n_points, 3)
    off = pts - e.positions[:, None, :]
    assert np.abs(off[..., 0]).max() < 1e-12  # on the contact plane
    assert np.abs(off[..., 1:]).max() <= 6.0 and np.abs(off[..., 1:]).max() > 5.5  # the square


@pytest.mark.parametrize(("axis", "angle"), [("x", 90), ("y", 30), ((1, 1, 0), 45), ("z", -120)])
def test_rotation_equals_meautility_rotate(axis, angle):
    """``rotation_matrix(axis, angle)`` turns a probe as ``MEA.rotate(axis, angle)`` does (which
    rounds positions and axes to 1e-3 µm)."""
    mea = mu.return_mea("Neuropixels-64")
    mea.rotate(np.eye(3)["xyz".index(axis)] if isinstance(axis, str) else axis, angle)
    mea.move([10.0, 20.0, 30.0])
    e = probe("Neuropixels-64", position=(10.0, 20.0, 30.0), rotation=rotation_matrix(axis, angle))
    assert_allclose(e.positions, mea.positions, rtol=0, atol=1e-3)
    assert_allclose(e.edge, np.broadcast_to(mea.main_axes[0], e.edge.shape), rtol=0, atol=1e-3)
    R = rotation_matrix(axis, angle)
    assert_allclose(R @ R.T, np.eye(3), atol=1e-15)
    assert np.linalg.det(R) == pytest.approx(1.0, abs=1e-12)


def test_rotation_matrix_composes_and_long_axis_goes_where_told():
    flat = probe("Neuropixels-24")
    e = probe("Neuropixels-24", position=(0, -500, 0), rotation=rotation_matrix("x", 90))
    assert_allclose(e.y + 500, -flat.z, atol=1e-12)  # long axis z → -y: NetPyNE's depth axis
    assert_allclose(e.z, flat.y, atol=1e-12)  # the width y → z
    assert_allclose(e.positions.mean(axis=0), [0, -500, 0], atol=1e-12)
    R = rotation_matrix("y", 30) @ rotation_matrix("z", 90)
    assert_allclose(R @ [1, 0, 0], rotation_matrix("y", 30) @ [0, 1, 0], atol=1e-15)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"name": "Neuropixels-9999"}, "probe name"),
    ({"name": "Neuropixels-24", "rotation": np.diag([1.0, 1.0, -1.0])}, "rotation matrix"),
    ({"name": "Neuropixels-24", "rotation": np.eye(2)}, "3 x 3"),
    ({"name": "Neuropixels-24", "position": (0, 0)}, "position"),
    ({"name": "Neuropixels-24", "n_points": 1}, "n_points"),
])
def test_probe_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        probe(**kwargs)


def test_square_contact_input_checks():
    with pytest.raises(ValueError, match="parallel"):
        points([[0, 0, 0]], radius=5, shape="square", normal=(1, 0, 0), edge=(2, 0, 0))
    with pytest.raises(ValueError, match="shape='square'"):
        points([[0, 0, 0]], radius=5, edge=(0, 1, 0))
    with pytest.raises(ValueError, match="contact shape"):
        points([[0, 0, 0]], radius=5, shape="hexagon")
    sq = points([[0, 0, 0]], radius=5, shape="square", normal=(1, 0, 0), edge=(1, 1, 0))
    assert_allclose(sq.edge, [[0, 1, 0]])  # made perpendicular to the normal


def test_square_sampling_is_uniform_on_a_turned_square():
    """A probe turned 45° about its contacts' normal: the points fill each square, corners
    included (MEAutility's own sampler then covers an octagon: 0.9 % of its points in the
    corners beyond ±4.5 µm of a 14 µm square, 12.8 % expected)."""
    e = probe("tetrode-mea-s", rotation=rotation_matrix("x", 45), n_points=20_000)
    pts = signals.recorders.lfp._contact_points(e, seed=0).reshape(len(e), e.n_points, 3)
    off = pts[0] - e.positions[0]
    a, b = off @ e.edge[0], off @ np.cross(e.normal[0], e.edge[0])
    assert_allclose(e.edge[0], [0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)
    assert np.abs(off @ e.normal[0]).max() < 1e-12 and max(np.abs(a).max(), np.abs(b).max()) <= 7.0
    corners = np.mean((np.abs(a) > 4.5) & (np.abs(b) > 4.5))
    assert corners == pytest.approx((1 - 4.5 / 7) ** 2, abs=0.01)


# -- against LFPykit's RecExtElectrode(probe=...) ------------------------------------------------


@pytest.mark.parametrize("method", ["linesource", "pointsource", "root_as_point"])
@pytest.mark.parametrize("name", ["Neuropixels-24", "Neuronexus-32", "tetrode"])
def test_point_contacts_equal_lfpykit_with_the_meautility_probe(name, method):
    mea = mu.return_mea(name)
    where = np.array([-15.0, 4.0, 35.0])
    mea.move(where)
    e = probe(name, position=mea.positions.mean(axis=0), n_points=None)
    seg = _dendrite_in_front(probe(name, position=mea.positions.mean(axis=0)), distance=6.0)
    kwargs = {"rootinds": np.array([0])} if method == "root_as_point" else {}
    reference = lfpykit.RecExtElectrode(_geometry(seg), probe=mea, method=method,
                                        **kwargs).get_transformation_matrix()
    M = transfer_matrix(seg, e, method=method)  # the table's root: segment 0, as rootinds
    assert np.abs(M - reference).max() <= 1e-12 * np.abs(reference).max()


@pytest.mark.parametrize("name", ["tetrode-mea-s", "tetrode", "Neuropixels-24"])
def test_surface_average_converges_with_lfpykit(name):
    """Different random points: both averages against a converged one (midpoint rule on a
    100 × 100 grid over each contact), a dendrite 8 µm in front of the contacts."""
    e = probe(name)
    seg = _dendrite_in_front(e)
    ref = _quadrature(seg, e)
    scale = np.abs(ref).max()
    point = transfer_matrix(seg, probe(name, n_points=None))
    assert np.abs(point - ref).max() > 0.05 * scale  # the surface matters here (6.5-8.2 %)
    ours = transfer_matrix(seg, probe(name, n_points=10_000))
    assert np.abs(ours - ref).max() < 0.006 * scale  # measured 0.24-0.28 %
    n = 300 if name == "Neuropixels-24" else 1000
    np.random.seed(0)  # noqa: NPY002 (MEAutility draws LFPykit's points from the global generator)
    theirs = lfpykit.RecExtElectrode(_geometry(seg), probe=mu.return_mea(name), n=n,
                                     method="linesource").get_transformation_matrix()
    assert np.abs(theirs - ref).max() < 0.025 * scale  # measured 0.7-1.0 %; 2.2 % at n = 300
    default = transfer_matrix(seg, e)  # 50 points: measured 2.9-3.3 %
    assert np.abs(default - ref).max() < 0.06 * scale


def test_neuropixels_on_a_live_cell_equals_lfpykit(ball_and_stick, tmp_path):
    """Recorded with a Neuropixels probe 12 µm from a cell: LFPykit's probe model on the
    recorded currents (point contacts: exact); the run file keeps each variable's surfaces."""
    where = (12.0, 0.0, 150.0)
    mea = mu.return_mea("Neuropixels-24")
    mea.move(np.asarray(where) - mea.positions.mean(axis=0))
    cell = ball_and_stick()
    pointlike = probe("Neuropixels-24", position=where, n_points=None)
    squares = probe("Neuropixels-24", position=where)
    table = signals.network.from_neuron([cell])
    ref = record_imem(user_segments([cell]))
    signals.record(table, [LFP(pointlike), LFP(squares, name="lfp_squares")], tstop=15,
                   path=tmp_path / "run.nc", progress=False)
    imem, _ = ref()
    M = lfpykit.RecExtElectrode(neuron_geometry([cell]), probe=mea,
                                method="linesource").get_transformation_matrix()
    expected = (M @ imem).T
    with signals.open_run(tmp_path / "run.nc") as ds:
        assert np.abs(expected).max() > 1e-4
        assert np.abs(ds["lfp"].values - expected).max() <= 1e-10 * np.abs(expected).max()
        diff = np.abs(ds["lfp_squares"].values - ds["lfp"].values).max() / np.abs(expected).max()
        assert 1e-4 < diff < 0.1  # the squares average a little differently, 12 µm away
        assert from_run(ds, "lfp").radius is None and "contact_radius" not in ds["lfp"].attrs
        attrs = ds["lfp_squares"].attrs
        assert (attrs["contact_shape"], attrs["contact_radius"]) == ("square", 6.0)
        assert (attrs["contact_radius_units"], attrs["contact_points"]) == ("um", 50)
        assert ds["electrode_normal_x"].attrs["units"] == "1"
        for back in (from_run(ds, "lfp_squares"), from_run(ds["lfp_squares"])):
            assert (back.shape, back.radius, back.n_points) == ("square", 6.0, 50)
            assert_array_equal(back.positions, squares.positions)
            assert_allclose(back.normal, squares.normal, atol=1e-15)
            assert_allclose(back.edge, squares.edge, atol=1e-15)
            assert back.names == squares.names
        with pytest.raises(KeyError, match="no variable"):
            from_run(ds, "csd")


# -- probeinterface --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Neuropixels-128", "Neuronexus-32"])
def test_probeinterface_round_trip(name):
    import probeinterface

    e = probe(name, position=(5, 6, 7), rotation=rotation_matrix((1, 2, 3), 40), n_points=80)
    pr = to_probeinterface(e, name=name)
    assert pr.ndim == 3 and pr.si_units == "um"
    assert_array_equal(pr.contact_ids, e.names)
    assert_array_equal(pr.device_channel_indices, np.arange(len(e)))
    assert set(pr.contact_shapes) == {e.shape}
    key, size = ("width", 12.0) if e.shape == "square" else ("radius", 7.5)
    assert {p[key] for p in pr.contact_shape_params} == {size}
    assert_allclose(np.cross(pr.contact_plane_axes[:, 0], pr.contact_plane_axes[:, 1]), e.normal,
                    atol=1e-12)
    again = from_probeinterface(probeinterface.Probe.from_dict(pr.to_dict()))
    assert again.names == e.names and again.shape == e.shape and again.radius == e.radius
    assert again.n_points == 80
    for attr in ("positions", "normal", "edge"):
        if getattr(e, attr) is not None:
            assert_allclose(getattr(again, attr), getattr(e, attr), atol=1e-12)


def test_probeinterface_channel_map_and_2d_probes():
    import probeinterface

    pr = probeinterface.generate_linear_probe(num_elec=8, ypitch=20, contact_shapes="square",
                                              contact_shape_params={"width": 10})
    wiring = np.array([3, 2, 1, 0, 7, 6, 5, -1])  # contact 7 is wired to no channel
    pr.set_device_channel_indices(wiring)
    e = from_probeinterface(pr, position=(100, 0, -300))
    assert len(e) == 7
    assert e.names == ("3", "2", "1", "0", "6", "5", "4")  # contacts in channel order
    y2d = pr.contact_positions[:, 1]
    order = [3, 2, 1, 0, 6, 5, 4]
    assert_allclose(e.z - e.z.mean(), y2d[order] - y2d[order].mean())  # 2-D y → z (yz plane)
    assert_allclose(e.x, 100.0)
    assert e.shape == "square" and e.radius == 5.0
    pts = to_probeinterface(points([[0, 0, 0], [0, 0, 20]]))
    assert from_probeinterface(pts).radius is None  # point contacts stay points
    mixed = probeinterface.generate_linear_probe(num_elec=2)
    mixed.set_contacts(mixed.contact_positions, shapes=["circle", "square"],
                       shape_params=[{"radius": 5}, {"width": 10}])
    with pytest.raises(ValueError, match="one shape"):
        from_probeinterface(mixed)


def test_neuropixels_gallery_example_runs(tmp_path):
    """``examples/gallery/plot_neuropixels.py`` (sphinx-gallery) runs as the docs build runs it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    gallery = Path(__file__).resolve().parents[1] / "examples" / "gallery"
    env = {**os.environ, "SIGNALS_GALLERY_RUNS": str(tmp_path), "MPLBACKEND": "Agg",
           "NEURON_MODULE_OPTIONS": "-nogui", "PYTHONPATH": str(gallery)}
    res = subprocess.run([sys.executable, str(gallery / "plot_neuropixels.py")], capture_output=True,
                         text=True, timeout=600, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    assert "128 square contacts, side 12 µm" in res.stdout
    assert "inside segments" not in res.stderr
    with signals.open_run(tmp_path / "neuropixels.nc") as ds:
        assert ds.sizes["electrode"] == 128 and ds.sizes["spike"] > 0
