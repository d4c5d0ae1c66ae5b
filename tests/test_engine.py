"""The recording engine: time axis, chunking, attach mode, spikes, traces, partial files."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.recorders import LFP, Spikes, Traces

PROBE = signals.electrodes.laminar(x=40.0, y=0.0, z=[0.0, 200.0, 400.0])


def test_each_sample_sits_at_its_stated_time(ball_and_stick, tmp_path):
    """Traced v equals NEURON's Vector.record at the same times (every step and every 4th)."""
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    v_ref = h.Vector().record(cell.soma(0.5)._ref_v)
    t_ref = h.Vector().record(h._ref_t)
    signals.record(table, [Traces([0])], tstop=25, path=tmp_path / "a.nc", progress=False,
                   chunk_samples=33)
    ds = signals.open_run(tmp_path / "a.nc")
    t, v = np.array(t_ref), np.array(v_ref)
    assert np.ptp(v) > 50  # it spiked
    assert ds.sizes["time"] == t.size
    assert_allclose(ds["time"].values, t, rtol=0, atol=1e-9)
    assert_array_equal(ds["v"].sel(v_cell=0).values, v)

    signals.record(table, [Traces([0])], tstop=25, path=tmp_path / "b.nc", progress=False,
                   record_dt=0.1)
    ds4 = signals.open_run(tmp_path / "b.nc")
    assert ds4.attrs["record_dt"] == pytest.approx(0.1)
    assert_allclose(ds4["time"].values, t[::4], rtol=0, atol=1e-9)
    assert_array_equal(ds4["v"].sel(v_cell=0).values, v[::4])


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_chunk_size_does_not_change_results(ball_and_stick, tmp_path, chunk):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    signals.record(table, [LFP(PROBE)], tstop=15, path=tmp_path / "ref.nc", progress=False,
                   chunk_samples=100)
    signals.record(table, [LFP(PROBE)], tstop=15, path=tmp_path / "c.nc", progress=False,
                   chunk_samples=chunk)
    ref = signals.open_run(tmp_path / "ref.nc")
    got = signals.open_run(tmp_path / "c.nc")
    assert_array_equal(got["time"].values, ref["time"].values)
    assert_allclose(got["lfp"].values, ref["lfp"].values, rtol=1e-12,
                    atol=1e-14 * np.abs(ref["lfp"].values).max())


def test_spikes_equal_netcon_record(ball_and_stick, tmp_path):
    """Same times as the user's own NetCon.record, which must keep working beside signals."""
    from neuron import h

    cells = [ball_and_stick(i, origin=(80.0 * i, 0, 0), start=1.0 + 2 * i) for i in range(4)]
    ref = []
    for c in cells:
        tv = h.Vector()
        nc = h.NetCon(c.soma(0.5)._ref_v, None, sec=c.soma)
        nc.threshold = 10.0
        nc.record(tv)
        ref.append((c.gid, tv, nc))
    table = signals.network.from_neuron(cells)
    signals.record(table, [Spikes(threshold=10.0)], tstop=40, path=tmp_path / "s.nc",
                   progress=False, chunk_samples=50)
    ds = signals.open_run(tmp_path / "s.nc")
    expected = sorted((t, gid) for gid, tv, _ in ref for t in tv)
    assert len(expected) >= 8
    assert ds["spike_time"].attrs["units"] == "ms"
    # NetCon adds 1e-10 ms to the step time
    assert_allclose(ds["spike_time"].values, [t for t, _ in expected], rtol=0, atol=1e-9)
    assert_array_equal(ds["spike_gid"].values, [g for _, g in expected])


def test_attach_mode_equals_record(ball_and_stick, tmp_path):
    """A run driven by the user (finitialize + continuerun) gives the same file content."""
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    signals.record(table, [LFP(PROBE), Spikes()], tstop=20, path=tmp_path / "r.nc",
                   progress=False)
    with signals.attach(table, [LFP(PROBE), Spikes()], path=tmp_path / "a.nc"):
        h.finitialize(-65)
        h.continuerun(10)
        h.continuerun(20)
    a, r = signals.open_run(tmp_path / "a.nc"), signals.open_run(tmp_path / "r.nc")
    assert a.attrs["run_status"] == "complete"
    assert_array_equal(a["time"].values, r["time"].values)
    assert_array_equal(a["lfp"].values, r["lfp"].values)
    assert_array_equal(a["spike_time"].values, r["spike_time"].values)


def test_run_file_is_self_describing(ball_and_stick, tmp_path):
    cells = [ball_and_stick(i, origin=(100.0 * i, 0, 0), population=p)
             for i, p in enumerate(["E", "I"])]
    table = signals.network.from_neuron(cells)
    signals.record(table, [LFP(PROBE, sigma=0.25), Spikes(), Traces([1])], tstop=5,
                   path=tmp_path / "r.nc", progress=False, attrs={"model": "test"})
    ds = signals.open_run(tmp_path / "r.nc")
    assert ds["lfp"].dims == ("time", "electrode")
    assert ds["lfp"].attrs["units"] == "mV"
    assert ds["lfp"].attrs["sigma"] == 0.25
    assert ds["time"].attrs["units"] == "ms"
    assert ds["v"].attrs["units"] == "mV"
    assert_array_equal(ds["electrode_z"].values, PROBE.z)
    assert ds["electrode_z"].attrs["units"] == "um"
    assert "electrode_z" in ds["lfp"].coords
    assert list(ds["cell_population"].values) == ["E", "I"]
    assert_allclose(ds["cell_x"].values, [0.0, 100.0])
    for key in ("signals_version", "neuron_version", "lfpykit_version", "dt", "tstop", "model"):
        assert key in ds.attrs
    assert ds.attrs["run_status"] == "complete"


def test_variable_step_is_refused(ball_and_stick, tmp_path):
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    h.cvode.active(1)
    try:
        with pytest.raises(RuntimeError, match="variable time step"):
            signals.record(table, [LFP(PROBE)], tstop=5, path=tmp_path / "v.nc", progress=False)
    finally:
        h.cvode.active(0)


def test_sections_without_3d_points_are_placed_by_define_shape(tmp_path, caplog):
    from neuron import h

    soma = h.Section(name="soma")
    dend = h.Section(name="dend")
    dend.connect(soma(1))
    soma.L = soma.diam = 10
    dend.L, dend.diam, dend.nseg = 100, 1, 4
    with caplog.at_level("WARNING", logger="signals"):
        table = signals.network.from_neuron()
    assert "define_shape" in caplog.text
    assert len(table) == 5
    # define_shape lays the tree along x: the dendrite spans 100 µm beyond the soma
    assert table.x[-1, 1] - table.x[1, 0] == pytest.approx(100.0)
    del soma, dend


def test_default_network_groups_trees_into_cells(ball_and_stick):
    cells = [ball_and_stick(i, origin=(50.0 * i, 0, 0)) for i in range(3)]
    table = signals.network.from_neuron()
    assert table.n_cells == 3
    assert len(table) == 3 * 11
    assert_array_equal(np.unique(table.gid), [0, 1, 2])
    assert_allclose(table.cell_position[:, 0], [0, 50, 100])
    assert_allclose(table.area.sum(), sum(seg.area() for c in cells for s in c.all for seg in s))


def test_connections_equal_the_netcons_built(tmp_path):
    from signals.demo import build_network
    from signals.recorders import Connections

    net = build_network(seed=2, scale=0.5)
    table = signals.network.from_neuron([c for m in net.populations.values() for c in m])
    signals.record(table, [Connections()], tstop=1, path=tmp_path / "c.nc", progress=False)
    ds = signals.open_run(tmp_path / "c.nc")
    internal = ds["connection_pre"].values >= 0
    built = sorted(map(tuple, net.connections.tolist()))
    stored = sorted(zip(ds["connection_pre"].values[internal].astype(float),
                        ds["connection_post"].values[internal].astype(float),
                        ds["connection_weight"].values[internal],
                        ds["connection_delay"].values[internal], strict=True))
    assert len(built) > 100
    assert_allclose(np.array(stored), np.array(built), rtol=1e-12)
    # one external NetStim input per cell
    assert (~internal).sum() == table.n_cells
    assert set(ds["connection_synapse"].values) == {"ExpSyn"}
    assert ds["connection_delay"].attrs["units"] == "ms"


@pytest.mark.parametrize("record_dt, chunk", [(None, 7), (0.1, 5), (None, 1)])
def test_state_and_current_variables_sit_at_their_stated_time(ball_and_stick, tmp_path,
                                                              record_dt, chunk):
    """Gates (state phase) and currents (current phase) equal Vector.record at every sample."""
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    refs = {var: h.Vector().record(getattr(cell.soma(0.5), f"_ref_{var}"))
            for var in ("m_hh", "n_hh", "ina", "v")}
    recs = [Traces([0], variable=var, name=var, units="1" if var.endswith("hh") else "mA/cm2")
            for var in ("m_hh", "n_hh", "ina")] + [Traces([0])]
    signals.record(table, recs, tstop=20, path=tmp_path / "s.nc", progress=False,
                   chunk_samples=chunk, record_dt=record_dt)
    ds = signals.open_run(tmp_path / "s.nc")
    step = 1 if record_dt is None else 4
    for var, vec in refs.items():
        expected = np.array(vec)[::step]
        assert np.ptp(expected) > 0
        assert_array_equal(ds[var].isel({f"{var}_cell": 0}).values, expected)


@pytest.mark.parametrize("chunk", [5, 7, 14, 28])
def test_spikes_after_the_last_sample_are_kept(ball_and_stick, tmp_path, chunk):
    """A spike in the run's last steps is detected after the last sample: it must still land."""
    from neuron import h

    cell = ball_and_stick(start=1.0, weight=0.08)
    tv = h.Vector()
    nc = h.NetCon(cell.soma(0.5)._ref_v, None, sec=cell.soma)
    nc.threshold = 10.0
    nc.record(tv)
    h.dt = 0.025
    h.finitialize(-65)
    h.continuerun(30)
    first = float(tv[0])
    table = signals.network.from_neuron([cell])
    # stop right at the spike, sampling every 4th step: the last sample precedes the detection
    signals.record(table, [Spikes(threshold=10.0)], tstop=first, path=tmp_path / "s.nc",
                   progress=False, record_dt=0.1, chunk_samples=chunk)
    ds = signals.open_run(tmp_path / "s.nc")
    assert ds.sizes["spike"] == 1
    assert ds["spike_time"].values[0] == pytest.approx(first, abs=1e-9)


def test_dt_change_is_refused_and_settling_steps_are_ignored(ball_and_stick, tmp_path):
    from neuron import h

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    v_ref = h.Vector().record(cell.soma(0.5)._ref_v)
    with signals.attach(table, [Traces([0])], path=tmp_path / "a.nc"):
        h.dt = 0.025
        h.finitialize(-65)
        h.t, h.dt = -1e10, 1e9  # the usual steady-state initialisation with huge steps
        for _ in range(5):
            h.fadvance()
        h.t, h.dt = 0.0, 0.025
        h.fcurrent()
        h.frecord_init()
        h.continuerun(5)
    ds = signals.open_run(tmp_path / "a.nc")
    assert ds.sizes["time"] == 201
    assert_allclose(ds["time"].values, np.arange(201) * 0.025, atol=1e-9)
    assert_array_equal(ds["v"].values[1:, 0], np.array(v_ref)[1:])

    with pytest.raises(RuntimeError, match="h.dt changed"):
        with signals.attach(table, [Traces([0])], path=tmp_path / "b.nc") as session:
            h.dt = 0.025
            session.initialize(-65)
            h.continuerun(1)
            h.dt = 0.05
            h.continuerun(2)
    # the file keeps signals' message on NEURON 8.2 too (not NEURON's 'hocobj_call error')
    with pytest.warns(UserWarning, match="incomplete"):
        assert "h.dt changed" in signals.open_run(tmp_path / "b.nc").attrs["run_error"]


def test_declared_empty_population_is_kept(ball_and_stick, tmp_path):
    cells = [ball_and_stick(i, origin=(60.0 * i, 0, 0)) for i in range(2)]
    table = signals.network.from_neuron(populations={"E": cells, "I": []})
    assert table.populations == ("E", "I")
    signals.record(table, [LFP(PROBE, per_population=True)], tstop=10, path=tmp_path / "p.nc",
                   progress=False)
    ds = signals.open_run(tmp_path / "p.nc")
    assert list(ds["population"].values) == ["E", "I"]
    assert np.abs(ds["lfp_population"].sel(population="E").values).max() > 0
    assert np.all(ds["lfp_population"].sel(population="I").values == 0)


@pytest.mark.parametrize("uniform", [True, False])
def test_t0_sample_is_the_axial_current_of_the_initial_potentials(ball_and_stick, tmp_path, uniform):
    """At t = 0 each segment's membrane current is the axial current the initial potentials
    drive into it: zero for a uniform potential; otherwise it sums to zero over the cell and is
    what NEURON's own i_membrane_ after one step tends to as the step shrinks (O(dt))."""
    from neuron import h

    from signals.recorders import MembraneCurrents

    cells = [ball_and_stick(i, origin=(100.0 * i, 0, 0)) for i in range(2)]
    table = signals.network.from_neuron(cells)

    def set_potentials():
        for cell in cells:
            cell.soma.v = -65.0 if uniform else -72.0
            for k, seg in enumerate(cell.dend):  # a gradient along the dendrite
                seg.v = -65.0 if uniform else -60.0 - 0.8 * k

    with signals.attach(table, [MembraneCurrents()], path=tmp_path / "m.nc"):
        set_potentials()
        h.finitialize()  # no argument: keeps the potentials set above, as hnn-core does
        h.continuerun(0.1)
    imem0 = signals.open_run(tmp_path / "m.nc")["imem"].values[0]
    if uniform:
        assert_array_equal(imem0, 0.0)
        return
    assert np.abs(imem0).max() > 1.0  # nA: a real current flows
    for rows in table.cell_slices():
        assert abs(imem0[rows].sum()) < 1e-9 * np.abs(imem0).max()  # Kirchhoff, per cell
    # NEURON's own membrane current one step later, for ever smaller steps
    errors = []
    for dt in (1e-4, 1e-5, 1e-6):
        h.cvode.use_fast_imem(1)
        set_potentials()
        h.dt = dt
        h.finitialize()
        h.fadvance()
        step = np.array([seg.i_membrane_ for seg in table.segments])
        errors.append(np.abs(step - imem0).max() / np.abs(imem0).max())
    # measured 2.8e-2, 2.9e-3, 2.9e-4 of the largest current: first order in dt, towards imem0
    assert errors[-1] < 1e-3, errors
    assert_allclose(np.diff(np.log10(errors)), -1.0, atol=0.1)
