"""EEG and MEG recorders: head models against closed forms and each other."""

from __future__ import annotations

import numpy as np
import pytest
from lfpykit.eegmegcalc import FourSphereVolumeConductor, InfiniteVolumeConductor
from numpy.testing import assert_allclose

import signals
from signals.head import FourSphere, InfiniteHead, NYHead, placement, sensors_1020
from signals.recorders import EEG, MEG, Dipole

ORIGINS = np.array([(40.0 * i, -30.0 * i, -300.0) for i in range(4)])  # soma midpoints (µm)
CENTER = ORIGINS.mean(axis=0)  # the network centre EEG/MEG place under the sensor


def _network(ball_and_stick):
    cells = [ball_and_stick(i, origin=ORIGINS[i], population="EI"[i % 2], start=1.0 + i)
             for i in range(4)]
    return cells, signals.network.from_neuron(cells)


def test_eeg_is_head_model_times_recorded_dipole(ball_and_stick, tmp_path):
    """EEG = T(head) · R · p, with p the dipole about the network centre (same run)."""
    cells, table = _network(ball_and_stick)
    center = CENTER
    head = FourSphere()
    eeg = EEG(head, per_population=True)
    signals.record(table, [eeg, Dipole(origin=center, per_population=False)], tstop=25,
                   path=tmp_path / "e.nc", progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    assert ds["eeg"].attrs["units"] == "mV"
    assert list(ds["eeg_sensor"].values) == list(eeg.sensor_names)
    assert_allclose(np.linalg.norm(np.c_[ds.eeg_sensor_x, ds.eeg_sensor_y, ds.eeg_sensor_z], axis=1),
                    head.scalp_radius)
    p_head = ds["dipole"].values @ eeg.placement.rotation.T
    T = FourSphereVolumeConductor(eeg.sensor_positions * (1 - 1e-10), radii=list(head.radii),
                                  sigmas=list(head.sigmas)).get_transformation_matrix(
        eeg.placement.location)
    expected = p_head @ T.T
    assert np.abs(expected).max() > 1e-9  # mV: a real signal
    assert_allclose(ds["eeg"].values, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    assert_allclose(ds["eeg_population"].sum("population").values, ds["eeg"].values,
                    rtol=1e-9, atol=1e-12 * np.abs(expected).max())
    # a radial dipole under Cz is seen most strongly at Cz
    cz = list(ds["eeg_sensor"].values).index("Cz")
    peak = np.abs(ds["eeg"].values).max(axis=0)
    assert peak.argmax() == cz


def _homogeneous_sphere(sensors, location, p, sigma):
    """Surface potential (mV) of a dipole p (nA µm) in an insulated homogeneous sphere (S/m, µm).

    Frank (1952) / Brody et al. (1973), as in Mosher et al. (1999) IEEE TBME 46:245, eq. 5:
    V = [2 d·p/d³ + (r d + |r| d_vec)·p / (|r| d (|r| d + r·d_vec))] / (4πσ).
    """
    out = []
    for r in sensors:
        d = r - location
        dn, rn = np.linalg.norm(d), np.linalg.norm(r)
        out.append((2 * (d @ p) / dn**3 + ((r * dn + rn * d) @ p) / (rn * dn * (rn * dn + r @ d)))
                   / (4 * np.pi * sigma))
    return np.array(out)


def test_four_sphere_with_equal_conductivities():
    """Equal σ in all four shells is one homogeneous sphere: the closed form holds at the scalp.

    It is *not* the infinite medium there: the insulating scalp boundary raises surface
    potentials by about half (measured 53 %). Near the dipole, deep in the brain, the two agree.
    """
    sigma = 0.33
    four = FourSphere(sigmas=(sigma,) * 4)
    inf = InfiniteHead(sigma=sigma)
    _, sensors = sensors_1020(radius=four.scalp_radius * (1 - 1e-10))
    rng = np.random.default_rng(0)
    for under in ("Cz", "T7", "O1"):
        loc = placement(four, under=under, depth=1500).location
        p = rng.normal(size=3) * 1e4  # nA µm
        phi4 = four.transfer(sensors, loc) @ p
        closed = _homogeneous_sphere(sensors, loc, p, sigma)
        assert np.abs(phi4 - closed).max() < 1e-5 * np.abs(closed).max()
        assert np.abs(inf.transfer(sensors, loc) @ p - closed).max() > 0.3 * np.abs(closed).max()
        # 0.5-1.5 mm from the dipole, inside the brain, the boundary hardly matters (< 1 %);
        # LFPykit wants the points farther from the centre than the dipole
        u = loc / np.linalg.norm(loc)
        near = loc + np.outer(rng.uniform(500, 1400, 20), u) + rng.normal(size=(20, 3)) * 300.0
        phi4_near = FourSphereVolumeConductor(near, radii=list(four.radii), sigmas=[sigma] * 4
                                              ).get_transformation_matrix(loc) @ p
        phi_inf_near = InfiniteVolumeConductor(sigma).get_transformation_matrix(near - loc) @ p
        assert np.abs(phi4_near - phi_inf_near).max() < 0.01 * np.abs(phi_inf_near).max()


def test_four_sphere_is_rotation_invariant():
    """Rotating dipole, its location and the sensors together leaves the potentials unchanged."""
    from scipy.spatial.transform import Rotation

    head = FourSphere()
    _, sensors = sensors_1020(radius=head.scalp_radius)
    loc = placement(head, under="C3", depth=2000).location
    p = np.array([[3e4], [-1e4], [2e4]])
    Q = Rotation.from_euler("xyz", [0.3, -1.1, 2.0]).as_matrix()
    before = head.transfer(sensors, loc) @ p
    after = head.transfer(sensors @ Q.T, Q @ loc) @ (Q @ p)
    assert np.abs(before).max() > 0
    assert_allclose(after, before, rtol=1e-6, atol=1e-9 * np.abs(before).max())


def test_meg_matches_biot_savart_closed_form(ball_and_stick, tmp_path):
    """Infinite medium: B = µ0/(4π) p × R / R³, checked in fT against the recorded dipole."""
    cells, table = _network(ball_and_stick)
    center = CENTER
    sensors = np.array([[0, 0, 100000.0], [30000, 0, 95000], [0, -40000, 90000]])
    meg = MEG(sensors, model="infinite")
    sphere = MEG(sensors, model="sphere", name="meg_sphere")
    signals.record(table, [meg, sphere, Dipole(origin=center, per_population=False)], tstop=25,
                   path=tmp_path / "m.nc", progress=False)
    ds = signals.open_run(tmp_path / "m.nc")
    assert ds["meg"].attrs["units"] == "fT" and ds["meg"].dims == ("time", "meg_sensor", "component")
    p = ds["dipole"].values @ meg.placement.rotation.T * 1e-9 * 1e-6  # nA µm -> A m
    R = (sensors - meg.placement.location) * 1e-6  # m
    mu0 = 4e-7 * np.pi
    expected = np.stack([mu0 / (4 * np.pi) * np.cross(p, r) / np.linalg.norm(r) ** 3
                         for r in R], axis=1) * 1e15  # T -> fT
    assert np.abs(expected).max() > 1e-6
    assert_allclose(ds["meg"].values, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())
    # In a spherical conductor a radial dipole is silent: our network sits radially under Cz,
    # so the sphere model's field is much weaker than the infinite-medium field.
    assert np.abs(ds["meg_sphere"].values).max() < 0.5 * np.abs(expected).max()


def test_to_mne_round_trip(ball_and_stick, tmp_path):
    mne = pytest.importorskip("mne")
    from signals.io import to_mne

    _, table = _network(ball_and_stick)
    signals.record(table, [EEG()], tstop=10, path=tmp_path / "e.nc", progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    raw = to_mne(ds)
    assert isinstance(raw, mne.io.RawArray)
    assert raw.ch_names == list(ds["eeg_sensor"].values)
    assert raw.info["sfreq"] == pytest.approx(1000.0 / ds.attrs["record_dt"])
    assert_allclose(raw.get_data(), ds["eeg"].values.T * 1e-3, rtol=1e-12)  # mV -> V
    pos = raw.get_montage().get_positions()["ch_pos"]
    assert_allclose(pos["Cz"], np.array([float(ds.eeg_sensor_x.sel(eeg_sensor="Cz")),
                                         float(ds.eeg_sensor_y.sel(eeg_sensor="Cz")),
                                         float(ds.eeg_sensor_z.sel(eeg_sensor="Cz"))]) * 1e-6)


def test_head_bad_input(tmp_path):
    with pytest.raises(ValueError, match="increasing"):
        FourSphere(radii=(79000, 78000, 85000, 90000))
    with pytest.raises(ValueError, match="conductivities"):
        FourSphere(sigmas=(0.3, 0.0, 0.015, 0.3))
    with pytest.raises(ValueError, match="inside the brain"):
        EEG(sensors=[[0, 0, 50000.0]])
    with pytest.raises(ValueError, match="inside the brain"):
        MEG([[0, 0, 1000.0]])
    with pytest.raises(FileNotFoundError, match="never downloads"):
        NYHead(tmp_path / "sa_nyhead.mat")
    with pytest.raises(ValueError, match="not 10-20"):
        EEG(sensors=["Cz", "Xx9"])
    with pytest.raises(ValueError, match="depth"):
        EEG(depth=-5)
    assert not (tmp_path / "sa_nyhead.mat").exists()


def test_head_plots_render_with_units(ball_and_stick, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from signals.plots import plot_eeg_topomap, plot_sensors

    _, table = _network(ball_and_stick)
    signals.record(table, [EEG(per_population=True), Dipole()], tstop=15, path=tmp_path / "e.nc",
                   progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    figs = {"topomap": plot_eeg_topomap(ds, t=10.0), "sensors": plot_sensors(ds)}
    assert "(mm)" in figs["sensors"].axes[0].get_xlabel()
    assert "10 ms" in figs["topomap"].axes[0].get_title()
    for name, fig in figs.items():
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
    with pytest.raises(KeyError, match="MEG|EEG"):
        plot_sensors(ds, variable="meg")


def _cz_direction():
    """Cz's direction in MNE's own 10-20 montage (independent of signals' placement code)."""
    import mne

    kind = "colin27_1020" if "colin27_1020" in mne.channels.get_builtin_montages() else "standard_1020"
    cz = np.asarray(mne.channels.make_standard_montage(kind).get_positions()["ch_pos"]["Cz"])
    return cz / np.linalg.norm(cz)


def test_distal_epsp_dipole_points_down_and_cz_goes_negative(ball_and_stick, tmp_path):
    """Known sign: an EPSP at the apical tip is a sink above a source, so p points from the tip
    to the soma (-z). Under Cz, with the cell's +z radial, the scalp above it goes negative."""
    cell = ball_and_stick(weight=0.004)  # subthreshold: EPSPs only
    eeg = EEG(FourSphere())
    assert_allclose(eeg.placement.rotation @ [0, 0, 1], _cz_direction(), atol=1e-12)
    signals.record(signals.network.from_neuron([cell]), [eeg, Dipole(per_population=False)],
                   tstop=15, path=tmp_path / "e.nc", progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    k = int(np.argmax(np.abs(ds["dipole"].sel(component="z").values)))
    assert ds["dipole"].sel(component="z").values[k] < -1.0  # nA µm
    eeg_k = ds["eeg"].values[k]
    assert eeg_k[list(eeg.sensor_names).index("Cz")] < 0
    assert eeg.sensor_names[int(np.argmin(eeg_k))] == "Cz"  # the most negative sensor


def _sarvas(sensors, r_q, q):
    """Sarvas (1987) field (T) of a current dipole q (A m) at r_q (m) in a spherical conductor."""
    out = []
    for r in sensors:
        a_vec = r - r_q
        a, rn = np.linalg.norm(a_vec), np.linalg.norm(r)
        F = a * (rn * a + rn**2 - r_q @ r)
        grad = (a**2 / rn + a_vec @ r / a + 2 * a + 2 * rn) * r - (a + 2 * rn + a_vec @ r / a) * r_q
        qxr = np.cross(q, r_q)
        out.append(4e-7 * np.pi / (4 * np.pi * F**2) * (F * qxr - (qxr @ r) * grad))
    return np.array(out)


def test_sphere_meg_equals_sarvas_closed_form(ball_and_stick, tmp_path):
    """Cells under Cz, one lying tangentially: the sphere model equals Sarvas' formula."""
    cells = [ball_and_stick(0, direction=(1, 0, 0.2)), ball_and_stick(1, origin=(0, 300, 0))]
    sensors = _cz_direction() * 110000.0 + np.array([[0, 0, 0], [20000, 0, 0], [0, -25000, 0]])
    meg = MEG(sensors, model="sphere", depth=1500.0)
    signals.record(signals.network.from_neuron(cells),
                   [meg, Dipole(per_population=False)], tstop=20,
                   path=tmp_path / "m.nc", progress=False)
    ds = signals.open_run(tmp_path / "m.nc")
    # location and frame from MNE's Cz and the head's brain radius, not from signals' placement
    r_q = _cz_direction() * (FourSphere().brain_radius - 1500.0) * 1e-6  # m
    rotation = meg.placement.rotation
    assert_allclose(rotation @ [0, 0, 1], _cz_direction(), atol=1e-12)
    assert_allclose(rotation.T @ rotation, np.eye(3), atol=1e-12)
    p = ds["dipole"].values  # nA µm about the network centre, network frame
    expected = np.stack([_sarvas(sensors * 1e-6, r_q, rotation @ pk * 1e-15) for pk in p]) * 1e15
    assert np.abs(expected).max() > 1e-3  # fT
    assert_allclose(ds["meg"].values, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max())


def test_eeg_from_each_cells_dipole_at_its_own_place(ball_and_stick, tmp_path):
    """dipoles="cell": the sum over cells of LFPykit's four-sphere potential of each cell's
    dipole at its own head position; one cell at the centre gives the network dipole's EEG."""
    from signals.recorders import MembraneCurrents

    cells = [ball_and_stick(gid=0, origin=(-3000.0, 0.0, 0.0)),
             ball_and_stick(gid=1, origin=(3000.0, 500.0, 0.0), start=4.0)]
    table = signals.network.from_neuron(cells)
    signals.record(table, [EEG(dipoles="cell", name="eeg_cells"), EEG(), MembraneCurrents()],
                   tstop=15, path=tmp_path / "e.nc", progress=False)
    ds = signals.open_run(tmp_path / "e.nc")
    head = FourSphere()
    pl = placement(head, under="Cz", depth=1000.0)
    _, sensors = sensors_1020(list(signals.head.CLASSIC_1020), radius=head.scalp_radius)
    r = np.linalg.norm(sensors, axis=1, keepdims=True)
    sensors = np.where(r > head.radii[-1] * (1 - 1e-10), sensors * (head.radii[-1] * (1 - 1e-10) / r),
                       sensors)
    model = FourSphereVolumeConductor(sensors, radii=list(head.radii), sigmas=list(head.sigmas))
    center = table.cell_position.mean(axis=0)
    imem = ds["imem"].values
    expected = 0
    for rows, soma in zip(table.cell_slices(), table.cell_position, strict=True):
        p = imem[:, rows] @ (table.midpoints[rows] - soma)  # (time, 3) nA µm, network frame
        loc = pl.location + pl.rotation @ (soma - center)
        expected = expected + (model.get_transformation_matrix(loc) @ (pl.rotation @ p.T)).T
    peak = np.abs(expected).max()
    assert peak > 0
    assert_allclose(ds["eeg_cells"].values, expected, rtol=0, atol=1e-9 * peak)
    # 6 mm apart under the vertex: far from one dipole at the centre
    assert np.abs(ds["eeg"].values - expected).max() > 0.01 * peak


def test_eeg_cell_dipoles_of_one_central_cell_equal_the_network_dipole(ball_and_stick, tmp_path):
    table = signals.network.from_neuron([ball_and_stick()])
    signals.record(table, [EEG(dipoles="cell", name="a"), EEG(name="b")], tstop=10,
                   path=tmp_path / "o.nc", progress=False)
    ds = signals.open_run(tmp_path / "o.nc")
    peak = np.abs(ds["b"].values).max()
    assert peak > 0
    assert_allclose(ds["a"].values, ds["b"].values, rtol=0, atol=1e-9 * peak)
    import h5py

    with h5py.File(tmp_path / "sa_nyhead.mat", "w"):
        pass  # an HDF5 file: NYHead checks no more before it is loaded
    with pytest.raises(ValueError, match="spherical head"):
        EEG(signals.head.NYHead(tmp_path / "sa_nyhead.mat"), dipoles="cell")
