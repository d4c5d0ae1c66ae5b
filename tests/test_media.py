"""Anisotropic media and slices on MEAs against closed forms and LFPy; per-cell LFP."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

import signals
from signals.media import Slice
from signals.recorders import LFP, MembraneCurrents
from signals.recorders.lfp import medium_matrix, transfer_matrix


def _short_segment(x=0.0, y=0.0, z=150.0, length=0.2, diam=0.2):
    """One section of one segment, short enough to be a point source at (x, y, z) µm."""
    from neuron import h

    sec = h.Section(name="tiny")
    sec.pt3dadd(x, y, z - length / 2, diam)
    sec.pt3dadd(x, y, z + length / 2, diam)
    return sec, signals.network.from_neuron([[sec]])


def test_anisotropic_point_source_is_the_closed_form():
    """φ = I / (4π sqrt(σy σz x² + σx σz y² + σx σy z²)) for a point source (mV per nA)."""
    sec, table = _short_segment(z=0.0)
    sx, sy, sz = 0.3, 0.1, 0.05
    contacts = np.array([[50.0, 0, 0], [0, 50, 0], [0, 0, 50], [30, -40, 20], [-70, 10, -90]])
    M = medium_matrix(table, signals.electrodes.points(contacts), method="pointsource",
                      sigma=(sx, sy, sz))
    x, y, z = contacts.T
    expected = 1 / (4 * np.pi * np.sqrt(sy * sz * x**2 + sx * sz * y**2 + sx * sy * z**2))
    assert_allclose(M[:, 0], expected, rtol=1e-12)
    # along x the potential is that of an isotropic medium of sqrt(σy σz) (not of σx)
    assert M[0, 0] > 1 / (4 * np.pi * sx * 50)


def test_isotropic_triple_equals_the_scalar_conductivity(ball_and_stick):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    probe = signals.electrodes.laminar(x=40.0, y=0.0, z=np.linspace(-200, 400, 7))
    for method in ("linesource", "pointsource", "root_as_point"):
        ours = transfer_matrix(table, probe, method=method, sigma=0.3)
        aniso = medium_matrix(table, probe, method=method, sigma=(0.3, 0.3, 0.3))
        assert_allclose(aniso, ours, rtol=1e-10, err_msg=method)


def _image_series(contact, source, *, h, st, ss, sg, terms=400):
    """The potential (mV per nA) of a point source in a slice: the method of images written
    out (Ness et al. 2015): images at z' ± 2nh and the mirrored 2(n+1)h - z', -2nh - z'."""
    wts, wtg = (st - ss) / (st + ss), (st - sg) / (st + sg)
    rho2 = np.sum((contact[:2] - source[:2]) ** 2)
    z, zs = contact[2], source[2]

    def inv(dz):
        return 1 / np.sqrt(rho2 + dz * dz)

    phi = inv(z - zs) + wts * inv(z + zs - 2 * h) + wtg * inv(z + zs)
    for n in range(1, terms):
        f = (wts * wtg) ** n
        phi += f * (wts * inv(z + zs - 2 * (n + 1) * h) + wtg * inv(z + zs + 2 * n * h)
                    + inv(z - zs + 2 * n * h) + inv(z - zs - 2 * n * h))
    return phi / (4 * np.pi * st)


@pytest.mark.parametrize("sg", [0.0, 0.2])
def test_slice_point_source_is_the_image_series(sg):
    source = np.array([10.0, -20.0, 120.0])
    sec, table = _short_segment(*source)
    contacts = np.array([[0.0, 0, 0], [100, 0, 0], [-50, 80, 0], [0, 0, 60], [40, 40, 250]])
    probe = signals.electrodes.points(contacts)
    h, st, ss = 300.0, 0.3, 1.5
    expected = np.array([_image_series(c, source, h=h, st=st, ss=ss, sg=sg) for c in contacts])
    converged = medium_matrix(table, probe, method="pointsource",
                              slice=Slice(thickness=h, sigma_glass=sg, steps=400))[:, 0]
    assert_allclose(converged, expected, rtol=1e-10)
    default = medium_matrix(table, probe, method="pointsource",
                            slice=Slice(thickness=h, sigma_glass=sg))[:, 0]
    assert_allclose(default, expected, rtol=2e-3)  # 20 terms: |W_TS W_TG|^20 < 3e-4


def test_slice_limits_are_the_half_space_and_the_infinite_medium(ball_and_stick):
    """σ_saline = σ_tissue: an insulating plate doubles the potential on it; with a plate of
    the tissue's conductivity too the slice is the infinite medium."""
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    lo = table.z.min()
    # off the soma axis: on it the two LFPykit line sources floor the distance differently
    plane = signals.electrodes.grid(x=np.linspace(-100, 100, 5), y=[20.0, 50.0], z=lo - 30.0)
    half = Slice(thickness=5000.0, sigma_saline=0.3, bottom=lo - 30.0)
    for method in ("linesource", "pointsource", "root_as_point"):
        ours = medium_matrix(table, plane, method=method, slice=half)
        assert_allclose(ours, 2 * transfer_matrix(table, plane, method=method), rtol=1e-9,
                        err_msg=method)
    infinite = Slice(thickness=5000.0, sigma_saline=0.3, sigma_glass=0.3, bottom=lo - 30.0)
    above = signals.electrodes.laminar(x=30.0, y=0.0, z=np.linspace(lo + 10, lo + 400, 5))
    assert_allclose(medium_matrix(table, above, method="pointsource", slice=infinite),
                    transfer_matrix(table, above, method="pointsource"), rtol=1e-9)


def test_slice_checks_its_input(ball_and_stick):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    probe = signals.electrodes.points([[0.0, 0, 0]])
    with pytest.raises(ValueError, match="MEA plane"):
        LFP(signals.electrodes.points([[0.0, 0, 50]]), slice=Slice())
    with pytest.raises(ValueError, match="sigma_glass = 0"):
        LFP(probe, slice=Slice(sigma_glass=0.1))
    with pytest.raises(ValueError, match="in the Slice"):
        LFP(probe, sigma=0.3, slice=Slice())
    with pytest.raises(ValueError, match="squeeze"):
        Slice(squeeze=1.5)
    with pytest.raises(ValueError, match="three"):
        LFP(probe, sigma=(0.3, 0.3))
    with pytest.raises(ValueError, match="outside the slice"):
        medium_matrix(table, probe, slice=Slice(thickness=10.0))


# -- against LFPy, attached to LFPy's own run ---------------------------------------------------


@pytest.fixture
def lfpy_cell():
    from neuron import h

    LFPy = pytest.importorskip("LFPy")
    made = []

    def make(morphology: str, z: float):
        cell = LFPy.Cell(morphology=str(Path(LFPy.__file__).parent / "test" / morphology),
                         passive=True, nsegs_method="lambda_f", lambda_f=500, dt=2**-4,
                         tstart=0, tstop=20, v_init=-65, delete_sections=True)
        cell.set_pos(0.0, 0.0, z)
        idx = cell.get_closest_idx(*(cell.somapos + [0, 0, 40]))
        syn = LFPy.Synapse(cell, idx=int(idx), syntype="ExpSyn", weight=0.02, tau=2)
        syn.set_spike_times(np.array([2.0, 9.0]))
        made.append((cell, syn))
        return LFPy, cell

    yield make
    made.clear()  # the LFPy cells go first: deleting their sections under them crashes NEURON
    import gc

    gc.collect()
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)


@pytest.mark.parametrize("method", ["linesource", "pointsource", "root_as_point"])
def test_slice_lfp_equals_lfpy_rec_mea_electrode(lfpy_cell, method, tmp_path):
    LFPy, cell = lfpy_cell("ball_and_sticks.hoc", z=100.0)
    table = signals.network.from_lfpy(cell)
    assert 0 < cell.z.min() and cell.z.max() < 300  # inside the slice: nothing squeezed
    x, y = np.meshgrid(np.linspace(-150, 150, 4), np.linspace(-100, 100, 3))
    mea = signals.electrodes.points(np.column_stack([x.ravel(), y.ravel(), np.zeros(x.size)]))
    theirs = LFPy.RecMEAElectrode(cell, sigma_T=0.3, sigma_S=1.5, sigma_G=0.0, h=300.0,
                                  x=mea.x, y=mea.y, z=mea.z, method=method)
    with signals.attach(table, [LFP(mea, method=method, slice=Slice(thickness=300.0))],
                        path=tmp_path / "r.nc"):
        cell.simulate(probes=[theirs])
    ds = signals.open_run(tmp_path / "r.nc")
    n = cell.tvec.size
    ref = theirs.data.T[1:]
    assert np.abs(ref).max() > 1e-5
    err = np.abs(ds["lfp"].values[1:n] - ref).max() / np.abs(ref).max()
    assert err < 1e-6, f"{err:.2e} of the peak"
    assert ds["lfp"].attrs["slice_thickness"] == 300.0
    assert ds["lfp"].attrs["slice_thickness_units"] == "um"


def test_squeezed_cell_equals_lfpy_and_is_counted(lfpy_cell, tmp_path):
    """A pyramidal cell taller than the slice: squeezed about its soma, as LFPy squeezes it."""
    LFPy, cell = lfpy_cell("L23E_p23.hoc", z=150.0)
    table = signals.network.from_lfpy(cell)
    assert cell.z.max() - cell.z.min() > 300  # it does cross the slice
    factor = 1 - 0.9 * 150 / max(cell.z.max() - 150, 150 - cell.z.min())
    # off every segment's axis: on it LFPykit's slice line source is 0/0 (see the next test)
    mea = signals.electrodes.points([[5.0, 3, 0], [60, 0, 0], [0, 80, 0], [-120, -40, 0]])
    theirs = LFPy.RecMEAElectrode(cell, h=300.0, x=mea.x, y=mea.y, z=mea.z,
                                  squeeze_cell_factor=factor)
    with pytest.warns(UserWarning, match=r"segment\(s\) of 1 cell\(s\) that cross the slice"):
        session = signals.attach(table, [LFP(mea, slice=Slice(thickness=300.0, squeeze=factor))],
                                 path=tmp_path / "r.nc")
    with session, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell.simulate(probes=[theirs])
    ds = signals.open_run(tmp_path / "r.nc")
    ref = theirs.data.T[1:]
    assert np.isfinite(ref).all()
    err = np.abs(ds["lfp"].values[1:cell.tvec.size] - ref).max() / np.abs(ref).max()
    assert err < 1e-6, f"{err:.2e} of the peak"


def test_contact_on_a_segment_axis_in_a_slice_is_finite(lfpy_cell):
    """LFPy gives NaN there; signals takes the point source for those pairs, and says so."""
    LFPy, cell = lfpy_cell("L23E_p23.hoc", z=150.0)
    table = signals.network.from_lfpy(cell)
    sl = Slice(thickness=300.0, squeeze=0.6)
    on_axis = signals.electrodes.points([[0.0, 0, 0]])  # below the vertical apical trunk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        theirs = LFPy.RecMEAElectrode(cell, h=300.0, x=on_axis.x, y=on_axis.y, z=on_axis.z,
                                      squeeze_cell_factor=0.6).get_transformation_matrix()
    assert np.isnan(theirs).any()
    with pytest.warns(UserWarning, match="on the segment's axis"):
        ours = medium_matrix(table, on_axis, slice=sl)
    assert np.isfinite(ours).all()
    point = medium_matrix(table, on_axis, method="pointsource", slice=sl)
    bad = np.isnan(theirs)
    assert_allclose(ours[bad], point[bad], rtol=1e-12)
    assert_allclose(ours[~bad], theirs[~bad], rtol=1e-9)


def test_anisotropic_lfp_equals_lfpy(lfpy_cell, tmp_path):
    LFPy, cell = lfpy_cell("ball_and_sticks.hoc", z=0.0)
    table = signals.network.from_lfpy(cell)
    probe = signals.electrodes.laminar(x=50.0, y=20.0, z=np.linspace(-100, 500, 6))
    sigma = (0.3, 0.2, 0.1)
    theirs = {m: LFPy.RecExtElectrode(cell, x=probe.x, y=probe.y, z=probe.z, sigma=list(sigma),
                                      method=m) for m in ("linesource", "pointsource")}
    recs = [LFP(probe, method=m, sigma=sigma, name=f"lfp_{m}") for m in theirs]
    with signals.attach(table, recs, path=tmp_path / "r.nc"):
        cell.simulate(probes=list(theirs.values()))
    ds = signals.open_run(tmp_path / "r.nc")
    for m, electrode in theirs.items():
        ref = electrode.data.T[1:]
        err = np.abs(ds[f"lfp_{m}"].values[1:cell.tvec.size] - ref).max() / np.abs(ref).max()
        assert err < 1e-6, f"{m}: {err:.2e} of the peak"


# -- per-cell LFP -------------------------------------------------------------------------------


def test_per_cell_lfp_sums_to_the_total_and_is_each_cells_own(ball_and_stick, tmp_path):
    cells = [ball_and_stick(gid=g, origin=(120.0 * g, 0.0, 0.0)) for g in range(3)]
    table = signals.network.from_neuron(cells)
    probe = signals.electrodes.laminar(x=60.0, y=0.0, z=[-100.0, 100.0, 300.0])
    signals.record(table, [LFP(probe, cells=[0, 1, 2]), MembraneCurrents()], tstop=15,
                   path=tmp_path / "c.nc", progress=False)
    ds = signals.open_run(tmp_path / "c.nc")
    per_cell = ds["lfp_per_cell"]
    assert per_cell.dims == ("time", "lfp_cell", "electrode")
    assert per_cell.attrs["units"] == "mV"
    total = ds["lfp"].values
    assert_allclose(per_cell.values.sum(axis=1), total, rtol=0, atol=1e-12 * np.abs(total).max())
    M = transfer_matrix(table, probe)
    imem = ds["imem"].values
    for k, rows in enumerate(table.cell_slices()):
        expected = imem[:, rows] @ M[:, rows].T
        assert np.abs(expected).max() > 1e-6
        assert_allclose(per_cell.values[:, k], expected, rtol=0,
                        atol=1e-12 * np.abs(expected).max())
    with pytest.raises(ValueError, match="not in the network"):
        signals.record(table, [LFP(probe, cells=[7])], tstop=1, path=tmp_path / "x.nc",
                       progress=False)


def test_medium_matrix_checks_its_input(ball_and_stick):
    table = signals.network.from_neuron([ball_and_stick()])
    probe = signals.electrodes.points([[50.0, 0, 0]])
    with pytest.raises(ValueError, match="sigma"):
        medium_matrix(table, probe)
    with pytest.raises(ValueError, match="method"):
        medium_matrix(table, probe, sigma=(0.3, 0.3, 0.3), method="cable")
    with pytest.raises(TypeError, match="Electrodes"):
        medium_matrix(table, [[50.0, 0, 0]], sigma=(0.3, 0.3, 0.3))
    with pytest.raises(ValueError, match="> 0"):
        medium_matrix(table, probe, sigma=(0.3, -1.0, 0.3))
