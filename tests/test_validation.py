"""Bad input gets a clear error naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

import signals
from signals.electrodes import laminar, mea, points
from signals.recorders import LFP, Traces


@pytest.mark.parametrize(
    "positions, match",
    [
        ([[0, 0]], r"shape \(n, 3\)"),
        ([0, 0, 0, 1], r"shape \(n, 3\)"),
        ([[0, 0, np.nan]], "non-finite"),
        ([[0, np.inf, 0]], "non-finite"),
        ([["a", 0, 0]], "numbers"),
        (np.zeros((0, 3)), r"shape \(n, 3\)"),
    ],
)
def test_bad_electrode_positions(positions, match):
    with pytest.raises(ValueError, match=match):
        points(positions)
    with pytest.raises(ValueError, match=match):
        LFP(positions)


@pytest.mark.parametrize("sigma", [0, -0.3, np.nan])
def test_conductivity_must_be_positive(sigma):
    with pytest.raises(ValueError, match="sigma"):
        LFP([[0, 0, 0]], sigma=sigma)


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown LFP method 'lines'.*linesource"):
        LFP([[0, 0, 0]], method="lines")


def test_electrode_layout_errors():
    with pytest.raises(ValueError, match="same length"):
        laminar(x=[0, 1], z=[0, 1, 2])
    with pytest.raises(ValueError, match="unique"):
        points([[0, 0, 0], [1, 1, 1]], names=["a", "a"])
    with pytest.raises(ValueError, match="pitch"):
        mea(2, 2, pitch=0)
    with pytest.raises(ValueError, match="radius"):
        points([[0, 0, 0]], radius=-1)
    with pytest.raises(ValueError, match="normal"):
        points([[0, 0, 0]], normal=(0, 0, 1))


def test_layouts_have_expected_geometry():
    probe = laminar(x=0, y=0, z=range(-1000, 1, 100))
    assert len(probe) == 11 and probe.z[0] == -1000 and probe.names[0] == "e00"
    arr = mea(4, 8, pitch=25.0, center=(0, 0, -500), plane="xz", radius=5.0)
    assert len(arr) == 32
    assert np.ptp(arr.x) == pytest.approx(7 * 25.0) and np.ptp(arr.z) == pytest.approx(3 * 25.0)
    assert np.all(arr.y == 0) and np.allclose(arr.normal, [0, 1, 0])


def test_recording_before_any_section_exists(tmp_path):
    with pytest.raises(ValueError, match="no sections"):
        signals.network.from_neuron()
    with pytest.raises(ValueError, match="no sections"):
        signals.record(None, [LFP([[0, 0, 0]])], tstop=1, path=tmp_path / "r.nc")


def test_unknown_recorder_name(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    with pytest.raises(ValueError, match="unknown recorder 'lfpp'; available: .*lfp"):
        signals.record(table, ["lfpp"], tstop=1, path=tmp_path / "r.nc")
    with pytest.raises(TypeError, match="Recorder instances or names"):
        signals.record(table, [42], tstop=1, path=tmp_path / "r.nc")


def test_unwritable_path(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    with pytest.raises(OSError, match="cannot write run file.*directory .* does not exist"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "missing" / "r.nc")
    (tmp_path / "locked").mkdir(mode=0o500)
    import os

    if os.geteuid() != 0:  # root may write anywhere
        with pytest.raises(OSError, match="cannot write run file"):
            signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "locked" / "r.nc")


def test_bad_run_parameters(ball_and_stick, tmp_path):
    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    with pytest.raises(ValueError, match="tstop"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=-5, path=tmp_path / "r.nc")
    with pytest.raises(ValueError, match="not a multiple of h.dt"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "r.nc", record_dt=0.03)
    assert not (tmp_path / "r.nc").exists()  # refused before any file is written
    with pytest.raises(ValueError, match="shorter than one time step"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=0.01, path=tmp_path / "r.nc")
    with pytest.raises(ValueError, match="exceeds tstop"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "r.nc", record_dt=2.0)
    with pytest.raises(ValueError, match="v_init"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "r.nc", v_init="a")
    with pytest.raises(ValueError, match="chunk_samples"):
        signals.record(table, [LFP([[50, 0, 0]])], tstop=1, path=tmp_path / "r.nc", chunk_samples=0)
    with pytest.raises(ValueError, match="gids not in the network"):
        signals.record(table, [Traces([5])], tstop=1, path=tmp_path / "r.nc")
    with pytest.raises(ValueError, match="unique"):
        signals.record(table, [LFP([[50, 0, 0]]), LFP([[60, 0, 0]])], tstop=1, path=tmp_path / "r.nc")


def test_open_run_rejects_foreign_files(tmp_path):
    import netCDF4

    with pytest.raises(FileNotFoundError, match="not found"):
        signals.open_run(tmp_path / "nope.nc")
    text = tmp_path / "notes.nc"
    text.write_text("not a netCDF file")
    with pytest.raises(ValueError, match="not a readable netCDF"):
        signals.open_run(text)
    foreign = tmp_path / "foreign.nc"
    with netCDF4.Dataset(foreign, "w") as nc:
        nc.createDimension("x", 3)
        nc.createVariable("a", "f8", ("x",))[:] = [1, 2, 3]
    with pytest.raises(ValueError, match="not a signals run file"):
        signals.open_run(foreign)
