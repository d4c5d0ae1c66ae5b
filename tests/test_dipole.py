"""Current dipole moments against LFPykit and physics."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import neuron_geometry, record_imem, user_segments
from numpy.testing import assert_allclose

import signals
from signals.recorders import Dipole


class TotalCurrent(signals.Recorder):
    """Sum of all membrane currents per sample (nA)."""

    name = "total"

    def variables(self):
        return {"i_total": signals.VariableSpec(("time",), "nA", "sum of membrane currents")}

    def on_chunk(self, chunk):
        return {"i_total": chunk.imem.sum(0)}


def test_per_cell_dipole_equals_lfpykit(ball_and_stick, tmp_path):
    import lfpykit

    cells = [ball_and_stick(i, origin=(70.0 * i, 30.0 * i, -20.0 * i), direction=(i, 1, 2),
                            start=1.0 + i) for i in range(3)]
    table = signals.network.from_neuron(cells)
    ref = record_imem(user_segments(cells))
    signals.record(table, [Dipole(cells=[0, 1, 2])], tstop=30, path=tmp_path / "d.nc",
                   progress=False, chunk_samples=111)
    imem, _ = ref()
    ds = signals.open_run(tmp_path / "d.nc")
    assert ds["dipole"].attrs["units"] == "nA um"
    assert list(ds["component"].values) == ["x", "y", "z"]
    stops = np.cumsum([len(user_segments([c])) for c in cells])
    for k, cell in enumerate(cells):
        rows = slice(stops[k] - len(user_segments([cell])), stops[k])
        M = lfpykit.CurrentDipoleMoment(neuron_geometry([cell])).get_transformation_matrix()
        expected = (M @ imem[rows]).T
        assert np.abs(expected).max() > 1.0  # nA µm: the cell is active
        got = ds["dipole_per_cell"].sel(dipole_cell=k).values
        assert np.abs(got - expected).max() < 1e-10 * np.abs(expected).max()
    assert_allclose(ds["dipole_per_cell"].sum("dipole_cell").values, ds["dipole"].values,
                    rtol=1e-10, atol=1e-12 * np.abs(ds["dipole"].values).max())


def test_per_population_dipoles_and_total_equal_lfpykit(ball_and_stick, tmp_path):
    import lfpykit

    cells = [ball_and_stick(i, origin=(50.0 * i, 0, 0), population="AB"[i % 2], start=1.0 + i)
             for i in range(4)]
    table = signals.network.from_neuron(cells)
    ref = record_imem(user_segments(cells))
    signals.record(table, [Dipole()], tstop=20, path=tmp_path / "d.nc", progress=False)
    imem, _ = ref()
    ds = signals.open_run(tmp_path / "d.nc")
    seg_pop = np.array([c.population for c in cells for _ in user_segments([c])])

    def lfpykit_dipole(members):
        M = lfpykit.CurrentDipoleMoment(neuron_geometry(members)).get_transformation_matrix()
        return (M @ imem[np.isin(seg_pop, [c.population for c in members])]).T

    for p in "AB":
        expected = lfpykit_dipole([c for c in cells if c.population == p])
        assert np.abs(expected).max() > 1.0  # nA µm
        assert_allclose(ds["dipole_population"].sel(population=p).values, expected, rtol=1e-10,
                        atol=1e-10 * np.abs(expected).max())
    expected = lfpykit_dipole(cells)
    assert_allclose(ds["dipole"].values, expected, rtol=1e-10, atol=1e-10 * np.abs(expected).max())


def test_origin_invariant_without_injection_not_with_iclamp(ball_and_stick, tmp_path):
    """p(origin r0) = p(0) - r0 * sum(I): equal when sum(I) = 0, shifted by the IClamp current."""
    from neuron import h

    r0 = np.array([1000.0, -500.0, 300.0])
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    recs = [Dipole(per_population=False, name="d0"),
            Dipole(per_population=False, origin=r0, name="d1"), TotalCurrent()]
    signals.record(table, recs, tstop=20, path=tmp_path / "a.nc", progress=False)
    ds = signals.open_run(tmp_path / "a.nc")
    scale = np.abs(ds["d0"].values).max()
    assert scale > 1.0
    assert np.abs(ds["d1"].values - ds["d0"].values).max() < 1e-9 * scale

    clamp = h.IClamp(cell.soma(0.5))
    clamp.delay, clamp.dur, clamp.amp = 5.0, 10.0, 0.3  # ms, ms, nA
    signals.record(table, recs, tstop=20, path=tmp_path / "b.nc", progress=False)
    ds = signals.open_run(tmp_path / "b.nc")
    i_total = ds["i_total"].values
    # i_membrane_ excludes the electrode current: the membrane currents sum to the injection
    assert np.abs(i_total).max() == pytest.approx(0.3, rel=1e-6)
    shift = ds["d0"].values - ds["d1"].values
    assert np.abs(shift).max() > 100  # nA µm: origin-dependent
    assert_allclose(shift, np.outer(i_total, r0), rtol=1e-9, atol=1e-9 * np.abs(shift).max())


def test_dipole_bad_input():
    with pytest.raises(ValueError, match="origin"):
        Dipole(origin=(0, np.nan, 0))
    with pytest.raises(ValueError, match="empty"):
        Dipole(cells=[])
