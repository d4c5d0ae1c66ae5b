"""Models signals did not write, in the order their own tools' examples use them.

Morphologies shipped inside the installed LFPy wheel (``LFPy/test/*.hoc``), LFPy cells moved
with ``set_pos``/``set_rotation`` (``pt3d`` False and True) against LFPy's own
``RecExtElectrode`` and ``CurrentDipoleMoment`` on the same run, plain NEURON models written
the usual ways (detached children, cells whose sections share names, ParallelContext cells
without ``gid`` attributes and with an axonal spike detector) against NEURON's own placement
and ``pc.spike_record``. References never come from signals' segment table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _mpi_ring import RingCell
from conftest import neuron_geometry, record_imem, user_segments
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.recorders import LFP, Connections, Dipole, Spikes

LFPy = pytest.importorskip("LFPy")
LFPY_TEST = Path(LFPy.__file__).parent / "test"
PROBE = signals.electrodes.points([[40.0, 10, 60], [-60, 30, 150], [25, -40, 300], [80, 0, -40]])


@pytest.fixture
def no_sections():
    """Deletes every section afterwards (hoc morphology files create top-level sections)."""
    from neuron import h

    yield
    for sec in list(h.allsec()):
        h.delete_section(sec=sec)


# -- NEURON's own placement ---------------------------------------------------------------------


def test_detached_child_is_placed_as_neuron_places_it():
    """A dendrite on soma(0.5) whose 3-D points start elsewhere: NEURON moves it (the issue's case)."""
    from neuron import h

    s = h.Section(name="s")
    d = h.Section(name="d")
    d.connect(s(0.5))
    s.pt3dadd(0, 0, 0, 10)
    s.pt3dadd(0, 10, 0, 10)
    d.pt3dadd(50, 50, 0, 1)
    d.pt3dadd(50, 150, 0, 1)
    table = signals.network.from_neuron()
    assert_allclose(table.x[1], [0, 0], atol=1e-9)  # moved to s(0.5) = (0, 5, 0) ...
    assert_allclose(table.y[1], [5, 105], atol=1e-5)  # ... keeping its shape
    reference = neuron_geometry([[s, d]])  # NEURON's 3-D points after h.define_shape()
    for ours, theirs in ((table.x, reference.x), (table.y, reference.y), (table.z, reference.z)):
        assert_allclose(ours, theirs, rtol=0, atol=1e-9)


def test_cells_whose_sections_share_names_stay_separate(tmp_path):
    """Three cells built with h.Section(name="soma") (no cell owner): three cells, three gids."""
    from neuron import h

    somas, dends, stims = [], [], []
    for i in range(3):
        soma, dend = h.Section(name="soma"), h.Section(name="dend")
        dend.connect(soma(1))
        soma.pt3dadd(100.0 * i, 0, 0, 20)
        soma.pt3dadd(100.0 * i, 0, 20, 20)
        dend.pt3dadd(100.0 * i, 0, 20, 2)
        dend.pt3dadd(100.0 * i, 0, 300, 2)
        dend.nseg = 5
        soma.insert("hh")
        dend.insert("pas")
        stim = h.IClamp(soma(0.5))
        stim.delay, stim.dur, stim.amp = 2.0 + 3 * i, 2.0, 1.0
        somas.append(soma)
        dends.append(dend)
        stims.append(stim)
    table = signals.network.from_neuron()
    assert table.n_cells == 3
    assert_array_equal(table.cell_gid, [0, 1, 2])
    assert_allclose(table.cell_position, [[100.0 * i, 0, 10] for i in range(3)], atol=1e-6)
    signals.record(table, [Spikes(), Dipole(cells=[0, 1, 2])], tstop=15, path=tmp_path / "r.nc",
                   progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    # one spike per cell, in the order the clamps fire
    assert_array_equal(ds["spike_gid"].values, [0, 1, 2])
    assert np.all(np.diff(ds["spike_time"].values) > 2.5)
    assert np.abs(ds["dipole_per_cell"].values).max(axis=(0, 2)).min() > 1.0  # nA µm each


# -- LFPy cells, LFPy's own geometry ----------------------------------------------------------

MORPHOLOGIES = ["stick.hoc", "ball_and_sticks.hoc", "sticks_not_connected_head_to_toe.hoc",
                "L23E_p23.hoc"]


def _lfpy_cell(morphology: str, pt3d: bool, moved: bool):
    cell = LFPy.Cell(morphology=str(LFPY_TEST / morphology), pt3d=pt3d, passive=True,
                     nsegs_method="lambda_f", lambda_f=500, dt=2**-4, tstart=0, tstop=25,
                     v_init=-65, delete_sections=True)
    if moved:
        cell.set_rotation(x=0.4, y=-0.7, z=1.1)
        cell.set_pos(120.0, -80.0, 45.0)
    idx = cell.get_closest_idx(*(cell.somapos + [0, 0, 150]))
    syn = LFPy.Synapse(cell, idx=int(idx), syntype="ExpSyn", weight=0.02, tau=2,
                       record_current=False)
    syn.set_spike_times(np.array([2.0, 7.5, 14.0]))
    return cell, syn


@pytest.mark.parametrize("moved", [False, True], ids=["in-place", "moved"])
@pytest.mark.parametrize("pt3d", [False, True], ids=["pt3d=False", "pt3d=True"])
@pytest.mark.parametrize("morphology", MORPHOLOGIES)
def test_lfpy_cell_equals_lfpy(morphology, pt3d, moved, tmp_path, no_sections):
    """LFP (three methods) and dipole of LFPy's own run, attached as LFPy's examples run it."""
    from lfpykit import CurrentDipoleMoment

    cell, syn = _lfpy_cell(morphology, pt3d, moved)
    table = signals.network.from_lfpy(cell)
    for ours, theirs in ((table.x, cell.x), (table.y, cell.y), (table.z, cell.z)):
        assert_allclose(ours, theirs, rtol=0, atol=1e-9)  # µm
    assert_allclose(table.diam, cell.d, rtol=1e-12)
    has_soma = cell.somaidx.size > 0
    methods = ["linesource", "pointsource"] + (["root_as_point"] if has_soma else [])
    electrodes = {m: LFPy.RecExtElectrode(cell, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3,
                                          method=m) for m in methods}
    cdm = CurrentDipoleMoment(cell)
    recs = [LFP(PROBE, method=m, sigma=0.3, name=f"lfp_{m}") for m in methods]
    with signals.attach(table, [*recs, Dipole(per_population=False)], path=tmp_path / "r.nc"):
        cell.simulate(probes=[*electrodes.values(), cdm])
    ds = signals.open_run(tmp_path / "r.nc")
    n = cell.tvec.size
    assert ds.sizes["time"] in (n, n + 1)  # LFPy stops one round-off step early at times
    assert_allclose(ds["time"].values[:n], cell.tvec, rtol=0, atol=1e-9)
    # From the first step on (at t = 0 LFPy reports h.fcurrent()'s ionic currents).
    for m, electrode in electrodes.items():
        theirs = electrode.data.T[1:]
        peak = np.abs(theirs).max()
        assert peak > 1e-5  # mV: the synapse drives the cell
        err = np.abs(ds[f"lfp_{m}"].values[1:n] - theirs).max() / peak
        assert err < 1e-6, f"{m}: {err:.2e} of the peak"
    theirs = cdm.data.T[1:]
    err = np.abs(ds["dipole"].values[1:n] - theirs).max() / np.abs(theirs).max()
    assert err < 1e-6


def test_record_refuses_lfpy_cells_with_pending_inputs(tmp_path, no_sections):
    cell, _ = _lfpy_cell("ball_and_sticks.hoc", pt3d=False, moved=False)
    with pytest.raises(ValueError, match=r"attach\(.*\n.*cell.simulate\(\)"):
        signals.record(signals.network.from_lfpy(cell), [LFP(PROBE)], tstop=5,
                       path=tmp_path / "r.nc", progress=False)
    assert not (tmp_path / "r.nc").exists()


def test_lfpy_network_populations_gids_spikes_and_lfp(tmp_path, no_sections):
    """An LFPy.Network as LFPy's own examples build it: populations, gids, spikes, LFP."""
    from neuron import h

    cell_args = dict(morphology=str(LFPY_TEST / "ball_and_sticks_w_lists.hoc"),
                     templatefile=str(LFPY_TEST / "ball_and_stick_template.hoc"),
                     templatename="ball_and_stick_template", templateargs=None, passive=False,
                     dt=2**-4, tstop=60, delete_sections=False)
    network = LFPy.Network(dt=2**-4, tstop=60, v_init=-65, celsius=6.3, OUTPUTPATH=str(tmp_path))
    for name, size in (("E", 4), ("I", 2)):
        network.create_population(name=name, POP_SIZE=size, Cell=LFPy.NetworkCell,
                                  cell_args=cell_args,
                                  pop_args=dict(radius=100, loc=0.0, scale=20.0),
                                  rotation_args=dict(x=0, y=0))
    for cell in network.populations["E"].cells + network.populations["I"].cells:
        for sec in cell.somalist:
            sec.insert("hh")
        syn = LFPy.Synapse(cell, idx=0, syntype="Exp2Syn", weight=0.02, tau1=0.5, tau2=2, e=0)
        syn.set_spike_times(np.array([5.0, 20.0 + cell.gid, 40.0]))
    connectivity = network.get_connectivity_rand(pre="E", post="I", connprob=1.0)
    network.connect(pre="E", post="I", connectivity=connectivity, syntype=h.ExpSyn,
                    synparams=dict(tau=2, e=0), weightargs=dict(loc=0.01, scale=0.0),
                    delayargs=dict(a=0.3, b=np.inf, loc=2, scale=1e-9),
                    multapseargs=dict(a=-0.5, b=0.5, loc=1, scale=1e-9))
    table = signals.network.from_lfpy(network)
    assert table.populations == ("E", "I")
    assert_array_equal(table.cell_gid, [0, 1, 2, 3, 4, 5])
    assert_array_equal([table.populations[p] for p in table.cell_population], list("EEEEII"))
    electrode = LFPy.RecExtElectrode(cell=None, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3)
    with signals.attach(table, [LFP(PROBE, sigma=0.3), Spikes(), Connections()],
                        path=tmp_path / "r.nc"):
        spikes = network.simulate(probes=[electrode])
    ds = signals.open_run(tmp_path / "r.nc")
    # spikes: LFPy's own detectors (the NetCons it registered with pc.cell)
    lfpy_spikes = sorted((round(float(t), 6), int(gid))
                         for pop_times, pop_gids in zip(spikes["times"], spikes["gids"], strict=True)
                         for times, gid in zip(pop_times, pop_gids, strict=True) for t in times)
    ours = sorted(zip(np.round(ds["spike_time"].values, 6).tolist(),
                      ds["spike_gid"].values.tolist(), strict=True))
    assert len(ours) >= 6
    assert ours == lfpy_spikes
    assert set(ds["connection_pre"].values) <= {-1, 0, 1, 2, 3}
    assert set(ds["connection_post"].values) == {0, 1, 2, 3, 4, 5}
    theirs = electrode.data["imem"].T[1:]  # LFPy's network sums every cell's part (mV)
    n = theirs.shape[0] + 1
    err = np.abs(ds["lfp"].values[1:n] - theirs).max() / np.abs(theirs).max()
    assert err < 1e-6


# -- plain NEURON ParallelContext models ----------------------------------------------------------


def test_parallelcontext_gids_detector_and_connections(tmp_path):
    """gids from pc.cell, spikes at the axonal detector as pc.spike_record has them."""
    from neuron import h

    pc = h.ParallelContext()
    gids = [100, 101, 102]
    cells = [RingCell(200.0 * i, threshold=-20.0 + 5 * i) for i in range(3)]
    for gid, cell in zip(gids, cells, strict=True):
        pc.set_gid2node(gid, 0)
        pc.cell(gid, cell._spike_detector)
    ncs = [pc.gid_connect(gids[i], cells[(i + 1) % 3].syn) for i in range(3)]
    for nc in ncs:
        nc.weight[0], nc.delay = 0.05, 1.0
    stim = h.NetStim()
    stim.number, stim.start = 1, 1.0
    kick = h.NetCon(stim, cells[0].syn)
    kick.weight[0] = 0.05
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(-1, tvec, idvec)
    table = signals.network.from_neuron()  # every section, gids from the ParallelContext
    assert_array_equal(table.cell_gid, gids)
    signals.record(table, [Spikes(), Connections()], tstop=40, path=tmp_path / "r.nc",
                   progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    assert tvec.size() >= 3  # the ring goes round
    assert_array_equal(ds["spike_gid"].values, np.array(idvec, dtype=int))
    # NetCon records add NEURON's event offset (1e-10 ms) to the step time
    assert_allclose(ds["spike_time"].values, np.array(tvec), rtol=0, atol=1e-9)
    assert_array_equal(ds["cell"].values, gids)
    pairs = sorted(zip(ds["connection_pre"].values.tolist(), ds["connection_post"].values.tolist(),
                       strict=True))
    assert pairs == [(-1, 100), (100, 101), (101, 102), (102, 100)]


def test_axonal_detector_not_the_soma(tmp_path):
    """An axonal detector: spikes when the axon end crosses, not when the soma does."""
    from neuron import h

    pc = h.ParallelContext()
    cell = RingCell(0.0, threshold=-20.0)
    pc.set_gid2node(7, 0)
    pc.cell(7, cell._spike_detector)
    stim = h.IClamp(cell.soma(0.5))
    stim.delay, stim.dur, stim.amp = 1.0, 1.0, 2.0
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(7, tvec, idvec)
    soma_v, t = h.Vector().record(cell.soma(0.5)._ref_v), h.Vector().record(h._ref_t)
    signals.record(signals.network.from_neuron([cell]), [Spikes()], tstop=10,
                   path=tmp_path / "r.nc", progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    detectors = signals.network.spike_detectors([7, 8])
    assert list(detectors) == [7]  # gid 8 is not registered
    seg, threshold = detectors[7]
    assert seg.sec == cell.axon and seg.x > 0.9 and threshold == -20.0
    assert ds["spike_time"].size == tvec.size() == 1
    assert_allclose(ds["spike_time"].values, np.array(tvec), atol=1e-9)
    assert ds["spike_gid"].values.tolist() == [7]
    # a detector at the soma would be early by the conduction time along the axon
    soma_crossing = np.array(t)[np.argmax(np.array(soma_v) >= -20.0)]
    assert ds["spike_time"].values[0] - soma_crossing > 0.1  # ms


def test_root_as_point_with_multisegment_somata_not_first(tmp_path):
    """root_as_point: each cell's soma (3 segments, listed after its dendrite) is a point source."""
    import lfpykit
    from neuron import h

    cells = []
    for i in range(3):
        dend, soma = h.Section(name="dend"), h.Section(name="soma")
        dend.connect(soma(1))
        soma.pt3dadd(60.0 * i, 10, 0, 15)
        soma.pt3dadd(60.0 * i, 10, 30, 15)
        dend.pt3dadd(60.0 * i, 10, 30, 2)
        dend.pt3dadd(60.0 * i + 20, 10, 330, 2)
        soma.nseg, dend.nseg = 3, 7
        soma.insert("hh")
        dend.insert("pas")
        stim = h.IClamp(dend(0.9))
        stim.delay, stim.dur, stim.amp = 1.0 + i, 3.0, 0.4
        cells.append(([dend, soma], stim))
    secs = [c[0] for c in cells]
    table = signals.network.from_neuron(secs)
    ref = record_imem(user_segments(secs))
    signals.record(table, [LFP(PROBE, method="root_as_point")], tstop=10, path=tmp_path / "r.nc",
                   progress=False)
    imem, _ = ref()
    geometry = neuron_geometry(secs)
    rootinds = np.concatenate([7 + 10 * i + np.arange(3) for i in range(3)])  # soma after dend
    M = lfpykit.RecExtElectrode(geometry, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3,
                                method="root_as_point", rootinds=rootinds).get_transformation_matrix()
    expected = (M @ imem).T
    got = signals.open_run(tmp_path / "r.nc")["lfp"].values
    assert np.abs(expected).max() > 1e-4
    assert np.abs(got - expected).max() < 1e-10 * np.abs(expected).max()


@pytest.fixture(scope="module")
def ring_runs(mpi_available, tmp_path_factory):
    """The ParallelContext ring serially and on 2 ranks (if mpiexec can start them)."""
    import subprocess
    import sys

    from conftest import MPIEXEC, mpi_env

    tmp = tmp_path_factory.mktemp("ring")
    script = Path(__file__).with_name("_mpi_ring.py")
    runs = {}
    for n in (1, 2):
        cmd = [sys.executable, str(script), str(tmp / f"ring{n}.nc")]
        if n > 1:
            cmd = [MPIEXEC, "-n", str(n), *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=mpi_env())
        assert proc.returncode == 0, proc.stderr[-3000:]
        with np.load(tmp / f"ring{n}.npz") as npz:
            runs[n] = (signals.open_run(tmp / f"ring{n}.nc"), npz["t"], npz["gid"])
    return runs


def test_parallelcontext_ring_records_serially_and_on_two_ranks(ring_runs):
    for ds, t, gid in ring_runs.values():
        assert t.size >= 6  # the ring goes round
        assert_array_equal(ds["spike_gid"].values, gid)
        assert_allclose(ds["spike_time"].values, t, rtol=0, atol=1e-9)  # ms
        assert_array_equal(ds["cell"].values, np.arange(6))
        pairs = set(zip(ds["connection_pre"].values.tolist(), ds["connection_post"].values.tolist(),
                        strict=True))
        assert pairs == {(-1, 0)} | {((g - 1) % 6, g) for g in range(6)}
    one, two = ring_runs[1][0], ring_runs[2][0]
    assert two.attrs["mpi_ranks"] == 2
    for name in ("lfp", "dipole"):
        ref = one[name].values
        assert np.ptp(ref) > 0
        assert np.abs(two[name].values - ref).max() <= 1e-12 * np.ptp(ref)
    assert_array_equal(two["spike_time"].values, one["spike_time"].values)


# -- NetPyNE with imported morphologies -----------------------------------------------------------


@pytest.fixture(scope="module")
def netpyne_imported(tmp_path_factory):
    import subprocess
    import sys

    pytest.importorskip("netpyne")
    out = tmp_path_factory.mktemp("netpyne_imported")
    script = Path(__file__).with_name("_netpyne_imported.py")
    proc = subprocess.run([sys.executable, str(script), str(out)], cwd=out, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"NetPyNE run failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    with np.load(out / "netpyne.npz", allow_pickle=True) as npz:
        res = {k: npz[k] for k in npz.files}
    yield res, signals.open_run(out / "run.nc")


def test_netpyne_imported_geometry_equals_segcoords_in_either_order(netpyne_imported):
    """Table built right after createCells, or after setupRecording: NetPyNE's _segCoords."""
    res, _ = netpyne_imported
    assert any(s.endswith(".axon") for s in res["table_section"].tolist())  # the L/diam stub
    for when in ("early", "table"):
        start = np.column_stack([res[f"{when}_{k}"][:, 0] for k in "xyz"])
        end = np.column_stack([res[f"{when}_{k}"][:, 1] for k in "xyz"])
        # NetPyNE moves one float32 morphology per population to each soma: ~1e-5 µm apart
        assert_allclose(start, res["p0"], rtol=0, atol=1e-4)
        assert_allclose(end, res["p1"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("variable", ["lfp", "dipole"])
def test_netpyne_imported_lfp_and_dipole_equal_netpyne(netpyne_imported, variable):
    from conftest import netpyne_rows

    res, ds = netpyne_imported
    ref = res[variable]
    expected, _, _ = netpyne_rows(res[f"{variable}_calls"], res["record_step"], ref.shape[0],
                                  ds[variable].values, ds["time"].values)
    peak = np.abs(ref).max()
    assert peak > {"lfp": 1e-3, "dipole": 10.0}[variable]  # mV, nA µm: the cells fire
    # float32 3-D points moved by NetPyNE (1e-5 µm, test above) bound the agreement
    assert np.abs(expected - ref).max() <= 1e-6 * peak


def test_netpyne_imported_spikes_at_the_axonal_detector(netpyne_imported):
    res, ds = netpyne_imported
    order = np.lexsort([res["spkid"], res["spkt"]])
    assert order.size >= 5
    assert_array_equal(ds["spike_gid"].values, res["spkid"][order].astype(int))
    assert_allclose(ds["spike_time"].values + 1e-10, res["spkt"][order], rtol=0, atol=1e-12)


# -- geometry sanity report -------------------------------------------------------------------


def _cells_at(positions):
    from neuron import h

    cells = []
    for p in positions:
        soma = h.Section(name="soma")
        soma.pt3dadd(*p, 10)
        soma.pt3dadd(p[0], p[1], p[2] + 10, 10)
        cells.append(soma)
    return cells


@pytest.mark.parametrize(("positions", "probe", "message"), [
    ([(0, 0, 0)] * 4, [[0, 0, 50]], "all 4 somata are at one point"),
    ([(0, 0, 0), (0, 0, 0), (50, 0, 0)], [[0, 0, 50]], "2 of 3 cells share their soma position"),
    ([(0, 0, 0), (50, 0, 0)], [[0, 0, 1e4], [0, 0, 2e4]], "every electrode is more than 3 mm"),
])
def test_degenerate_geometry_warns_with_numbers(positions, probe, message, tmp_path):
    cells = _cells_at(positions)
    with pytest.warns(UserWarning, match=message):
        signals.record(signals.network.from_neuron(cells), [LFP(probe)], tstop=1,
                       path=tmp_path / "r.nc", progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    assert_allclose(ds.attrs["network_extent_min"], np.min(positions, axis=0), atol=1e-5)
    assert_allclose(ds.attrs["network_extent_max"], np.max(positions, axis=0) + [0, 0, 10],
                    atol=1e-5)


def test_sound_geometry_does_not_warn(tmp_path):
    import warnings

    cells = _cells_at([(0, 0, 0), (50, 0, 0), (0, 60, 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        signals.record(signals.network.from_neuron(cells), [LFP([[20, 20, 30]])], tstop=1,
                       path=tmp_path / "r.nc", progress=False)


def test_info_shows_network_extent_and_probe(tmp_path):
    import subprocess
    import sys

    cells = _cells_at([(0, 0, 0), (100, 0, 0)])
    signals.record(signals.network.from_neuron(cells),
                   [LFP(signals.electrodes.laminar(x=50, y=0, z=[-100, 0, 100]))], tstop=1,
                   path=tmp_path / "r.nc", progress=False)
    out = subprocess.run([sys.executable, "-m", "signals.cli", "info", str(tmp_path / "r.nc")],
                         capture_output=True, text=True, check=True).stdout
    assert "network extent (µm): x 0..100, y 0..0, z 0..10" in out
    assert "electrodes (µm): x 50..50, y 0..0, z -100..100; 1 of 3 inside the network's box, " \
           "farthest 100 µm outside" in out


def test_unregistered_cell_under_mpi_is_named(mpi_available, tmp_path):
    """Under MPI a cell with neither a gid attribute nor a pc.cell registration: a clear error."""
    import subprocess
    import sys

    from conftest import MPIEXEC, mpi_env

    code = (
        "from neuron import h\n"
        "h.nrnmpi_init()\n"
        "import signals\n"
        "soma = h.Section(name='lonely_soma')\n"
        "rank = int(h.ParallelContext().id())\n"
        "try:\n"
        "    signals.network.from_neuron()\n"
        "except ValueError as err:\n"
        "    open(f'error{rank}.txt', 'w').write(str(err))\n"  # ranks' prints can interleave
    )
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=120, env=mpi_env(), cwd=tmp_path)
    errors = [p.read_text() for p in sorted(tmp_path.glob("error*.txt"))]
    assert len(errors) == 2, proc.stdout + proc.stderr  # every rank
    assert "lonely_soma" in errors[0]
    assert "`gid` attribute" in errors[0] and "pc.cell(gid, netcon)" in errors[0]


def test_gids_found_when_the_model_drops_its_detector_netcons(tmp_path):
    """hoc style: ``nc = cell.connect2target(nil); pc.cell(gid, nc)`` in a loop keeps no NetCon."""
    from neuron import h

    pc = h.ParallelContext()
    cells = [RingCell(100.0 * i) for i in range(4)]
    gids = [3, 0, 2, 1]  # registered out of creation order
    for gid, cell in zip(gids, cells, strict=True):
        pc.set_gid2node(gid, 0)
        pc.cell(gid, cell._spike_detector)
        cell._spike_detector = None  # the NetCon is gone; NEURON keeps the detector
    assert len(h.List("NetCon")) == 0
    table = signals.network.from_neuron(cells)
    assert_array_equal(table.cell_gid, gids)
    stim = h.IClamp(cells[2].soma(0.5))
    stim.delay, stim.dur, stim.amp = 1.0, 1.0, 2.0
    tvec, idvec = h.Vector(), h.Vector()
    pc.spike_record(-1, tvec, idvec)
    signals.record(table, [Spikes()], tstop=8, path=tmp_path / "r.nc", progress=False)
    ds = signals.open_run(tmp_path / "r.nc")
    assert ds["spike_gid"].values.tolist() == [2] == np.array(idvec, dtype=int).tolist()
    assert_allclose(ds["spike_time"].values, np.array(tvec), atol=1e-9)


def test_lfpy_tstart_before_zero_keeps_the_time_axis(tmp_path, no_sections):
    """LFPy's tstart < 0 (its examples settle for tens of ms): LFPy initialises at t = 0, sets
    h.t = tstart and runs from there. Every signals sample keeps its true time."""
    cell = LFPy.Cell(morphology=str(LFPY_TEST / "ball_and_sticks.hoc"), passive=True,
                     tstart=-10.0, tstop=20.0, dt=2**-4, delete_sections=True)
    syn = LFPy.Synapse(cell, idx=int(cell.get_closest_idx(0, 0, 150)), syntype="ExpSyn",
                       weight=0.02, tau=2, record_current=False)
    syn.set_spike_times(np.array([5.0]))
    electrode = LFPy.RecExtElectrode(cell, x=PROBE.x, y=PROBE.y, z=PROBE.z, sigma=0.3)
    with signals.attach(signals.network.from_lfpy(cell), [LFP(PROBE, sigma=0.3)],
                        path=tmp_path / "r.nc"):
        cell.simulate(probes=[electrode])
    ds = signals.open_run(tmp_path / "r.nc")
    t = ds["time"].values
    assert t[0] == pytest.approx(-10.0) and ds.attrs["t_start"] == pytest.approx(-10.0)
    assert_allclose(np.diff(t), 2**-4, rtol=1e-9)
    assert t[-1] == pytest.approx(20.0, abs=2**-4)
    # LFPy keeps t = 0 ... tstop; compare from its first step at the same times
    k = np.round((cell.tvec[1:] - t[0]) / 2**-4).astype(int)
    assert_allclose(t[k], cell.tvec[1:], atol=1e-9)
    theirs = electrode.data.T[1:]
    assert np.abs(theirs).max() > 1e-5  # the synapse fired after t = 0
    err = np.abs(ds["lfp"].values[k] - theirs).max() / np.abs(theirs).max()
    assert err < 1e-6
    syn = None


def test_cells_moved_after_the_table_are_refused(tmp_path, no_sections):
    """A table is a snapshot of the geometry: moving cells afterwards is an error, not a wrong LFP."""
    cell, _ = _lfpy_cell("ball_and_sticks.hoc", pt3d=False, moved=False)
    table = signals.network.from_lfpy(cell)
    cell.set_pos(0.0, 0.0, 300.0)
    with pytest.raises(ValueError, match=r"1 of 1 cells moved .* by 300 µm.*build it after"):
        signals.attach(table, [LFP(PROBE)], path=tmp_path / "a.nc")
    with signals.attach(signals.network.from_lfpy(cell), [LFP(PROBE)], path=tmp_path / "b.nc"):
        cell.simulate()  # built after set_pos: fine

    from neuron import h

    soma = h.Section(name="soma")
    soma.pt3dadd(0, 0, 0, 10)
    soma.pt3dadd(0, 0, 10, 10)
    plain = signals.network.from_neuron([soma])
    for i in range(2):
        soma.pt3dchange(i, 50.0, 0.0, 10.0 * i, 10)  # moved between table and run
    with pytest.raises(ValueError, match="cells moved after the segment table was built"):
        signals.record(plain, [LFP(PROBE)], tstop=1, path=tmp_path / "c.nc", progress=False)
