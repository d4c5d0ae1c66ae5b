"""Offline forward models on saved membrane currents equal recording them live."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import signals
from signals.head import FourSphere
from signals.recompute import recompute, segment_table
from signals.recorders import EEG, LFP, MEG, Dipole, MembraneCurrents, Spikes, Traces

TSTOP = 30.0  # ms
# Tolerance of recomputed against live signals: both apply the same transfer matrices (built
# from the same double-precision geometry) to the same double-precision currents; only the
# BLAS summation order can differ (measured <= 4e-16 of the peak). 1e-10 of the peak leaves
# six orders of margin; a wrong segment order, a unit or a geometry error is >= 1e-3.
RTOL = 1e-10
MEG_SENSORS = [[0.0, 20000.0, 98000.0], [15000.0, 0.0, 99000.0]]  # µm, head frame


def _network(ball_and_stick):
    cells = [ball_and_stick(0, (0, 0, 0), population="E"),
             ball_and_stick(1, (60, 20, 0), population="I", direction=(0.3, 0, 1), start=5),
             ball_and_stick(2, (-40, 10, 30), population="E", start=3)]
    return cells, signals.network.from_neuron(cells)


PROBE = signals.electrodes.laminar(x=25, y=5, z=np.linspace(-100, 500, 7))
DISC_PROBE = signals.electrodes.points([[30, 0, 50], [-10, 15, 200]], radius=5.0)


def _live_recorders():
    """Recorders of the live run, and fresh copies to recompute offline."""
    def make():
        return [LFP(PROBE, per_population=True), Dipole(cells=[1]), EEG(per_population=True),
                MEG(MEG_SENSORS, head=FourSphere())]
    return make


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A run with MembraneCurrents and forward models, and a second live run (another probe)."""
    import gc

    from conftest import BallAndStick

    tmp = tmp_path_factory.mktemp("recompute")
    cells, table = _network(BallAndStick)
    make = _live_recorders()
    signals.record(table, [MembraneCurrents(), *make(), Spikes(), Traces([0, 2])], tstop=TSTOP,
                   dt=0.025, path=tmp / "a.nc", progress=False, chunk_samples=97)
    # The same network run again: a probe of other (disc) contacts and the root_as_point model.
    signals.record(table, [LFP(DISC_PROBE, method="root_as_point", per_population=True)],
                   tstop=TSTOP, dt=0.025, path=tmp / "b.nc", progress=False)
    live_table = table
    geometry = {k: getattr(live_table, k) for k in ("gid", "x", "y", "z", "diam", "area", "section")}
    geometry["root"] = live_table.root.copy()
    del cells, table, live_table
    gc.collect()
    yield tmp, make, geometry


def _rel_err(a, b):
    scale = np.abs(b).max()
    assert scale > 0
    return np.abs(np.asarray(a) - np.asarray(b)).max() / scale


def test_segment_table_rebuilt_from_file(runs):
    tmp, _, live = runs
    with signals.open_run(tmp / "a.nc") as ds:
        table = segment_table(ds)
    for key in ("gid", "x", "y", "z", "diam", "area"):
        assert_array_equal(getattr(table, key), live[key])
    assert list(table.section) == list(live["section"])
    assert_array_equal(table.root, live["root"])
    assert live["root"].sum() == table.n_cells  # one soma segment per ball-and-stick
    assert table.populations == ("E", "I")
    assert table.segments == []


def test_recompute_equals_live(runs):
    tmp, make, _ = runs
    with signals.open_run(tmp / "a.nc") as live:
        out = recompute(live, make(), chunk_samples=50)
        names = ("lfp", "lfp_population", "dipole", "dipole_population", "dipole_per_cell", "eeg",
                 "eeg_population", "meg")
        for name in names:
            assert out[name].dims == live[name].dims
            assert out[name].attrs["units"] == live[name].attrs["units"]
            err = _rel_err(out[name].values, live[name].values)
            assert err < RTOL, f"{name}: relative error {err:.2e}"
        assert_array_equal(out["time"].values, live["time"].values)
        assert_array_equal(out["electrode_z"].values, live["electrode_z"].values)
        # spikes and the cell table come along; time series only when asked
        assert_array_equal(out["spike_time"].values, live["spike_time"].values)
        assert_array_equal(out["cell_population"].values, live["cell_population"].values)
        assert "v" not in out and "imem" not in out
        assert out.attrs["dt"] == live.attrs["dt"] and out.attrs["run_status"] == "complete"
        assert out.attrs["recomputed_variable"] == "imem"


def test_recompute_new_probe_equals_recording_it(runs, tmp_path):
    """A probe (disc contacts, root_as_point) never recorded in run a equals recording it live."""
    tmp, _, _ = runs
    path = recompute(tmp / "a.nc", [LFP(DISC_PROBE, method="root_as_point", per_population=True)],
                     path=tmp_path / "new.nc", keep=["spike_time", "spike_gid", "v"])
    with signals.open_run(path) as new, signals.open_run(tmp / "b.nc") as live, \
            signals.open_run(tmp / "a.nc") as src:
        for name in ("lfp", "lfp_population"):
            err = _rel_err(new[name].values, live[name].values)
            assert err < RTOL, f"{name}: relative error {err:.2e}"
        assert_array_equal(new["v"].values, src["v"].values)
        assert new["v"].attrs["units"] == "mV"
        # the model matters: the line source differs from root_as_point by far more than RTOL
        other = recompute(src, [LFP(DISC_PROBE, method="linesource")])
        assert _rel_err(other["lfp"].values, live["lfp"].values) > 1e-3


def test_recompute_reads_chunk_by_chunk(runs):
    """Each chunk handed to the recorders holds at most chunk_samples samples."""
    tmp, _, _ = runs

    class ChunkSizes(signals.LinearRecorder):
        """The sum of the membrane currents (nA), noting the shape of every chunk it gets."""

        units = "nA"
        long_name = "sum of membrane currents"

        def __init__(self, name="total"):
            self.name = name
            self.seen = []

        def channel_dims(self):
            return ()

        def transfer(self, ctx):
            return (np.ones((1, len(ctx.segments))),)

        def on_chunk(self, chunk):
            self.seen.append(chunk.imem.shape)
            return super().on_chunk(chunk)

    rec = ChunkSizes()
    out = recompute(tmp / "a.nc", [rec], chunk_samples=64)
    n = out.sizes["time"]
    assert [s[1] for s in rec.seen] == [64] * (n // 64) + ([n % 64] if n % 64 else [])
    # Kirchhoff: without current injection the membrane currents sum to zero (nA)
    with signals.open_run(tmp / "a.nc") as src:
        assert np.abs(src["imem"].values).max() > 1e-3
    assert np.abs(out["total"].values).max() < 1e-9


def test_decimated_currents_equal_live_at_that_record_dt(ball_and_stick, tmp_path):
    """MembraneCurrents at record_dt = 4 dt; recomputed LFP equals the live LFP at that grid."""
    _, table = _network(ball_and_stick)
    signals.record(table, [MembraneCurrents(), LFP(PROBE)], tstop=10, dt=0.025, record_dt=0.1,
                   path=tmp_path / "d.nc", progress=False)
    with signals.open_run(tmp_path / "d.nc") as live:
        assert_allclose(np.diff(live["time"].values), 0.1, rtol=1e-9)
        out = recompute(live, [LFP(PROBE)])
        assert _rel_err(out["lfp"].values, live["lfp"].values) < RTOL


def test_float32_currents(ball_and_stick, tmp_path):
    _, table = _network(ball_and_stick)
    signals.record(table, [MembraneCurrents(dtype="f4"), LFP(PROBE)], tstop=10,
                   path=tmp_path / "f.nc", progress=False)
    with signals.open_run(tmp_path / "f.nc") as live:
        assert live["imem"].dtype == np.float32
        out = recompute(live, [LFP(PROBE)])
        # float32 keeps ~7 digits: relative error ~1e-7 of the peak, not round-off
        err = _rel_err(out["lfp"].values, live["lfp"].values)
        assert 1e-12 < err < 1e-5


def test_recompute_bad_input(runs, ball_and_stick, tmp_path):
    tmp, _, _ = runs
    with pytest.raises(ValueError, match="cannot be recomputed|events"):
        recompute(tmp / "a.nc", [Spikes()])
    with pytest.raises(ValueError, match="Traces|NEURON|cannot be recomputed"):
        recompute(tmp / "a.nc", [Traces([0])])
    with pytest.raises(ValueError, match="MembraneCurrents"):
        recompute(tmp / "b.nc", [LFP(PROBE)])
    with pytest.raises(TypeError, match="Recorder instances"):
        recompute(tmp / "a.nc", ["lfp"])
    with pytest.raises(KeyError, match="no variable"):
        recompute(tmp / "a.nc", [LFP(PROBE)], keep=["nope"])
    with pytest.raises(ValueError, match="chunk_samples"):
        recompute(tmp / "a.nc", [LFP(PROBE)], chunk_samples=0)
    with pytest.raises(FileNotFoundError):
        recompute(tmp_path / "missing.nc", [LFP(PROBE)])


# -- MPI: per-segment rows of each rank, geometry in rank order -----------------------------------


def test_membrane_currents_two_ranks_equal_one_rank(mpi_available, tmp_path):
    """MembraneCurrents under 2 MPI ranks: the same currents and geometry as 1 rank, and the
    LFP recomputed from the 2-rank file equals the LFP recorded live on 1 rank."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from conftest import MPIEXEC, mpi_env

    env = mpi_env()
    helper = Path(__file__).with_name("_mpi_membrane.py")
    one = subprocess.run([sys.executable, str(helper), str(tmp_path / "one.nc")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(helper), str(tmp_path / "two.nc")],
                         capture_output=True, text=True, timeout=300, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    assert json.loads([s for s in two.stdout.splitlines() if s.startswith("{")][-1])["nhost"] == 2

    from _mpi_membrane import PROBE_Z

    with signals.open_run(tmp_path / "one.nc") as a, signals.open_run(tmp_path / "two.nc") as b:
        assert a.attrs["mpi_ranks"] == 1 and b.attrs["mpi_ranks"] == 2
        assert np.abs(a["imem"].values).max() > 1e-3
        # Rows are in rank order (rank 0's segments first); the demo deals gids round-robin,
        # so the two files hold the same segments in another order, each with its geometry.
        ia = np.argsort(a["segment_gid"].values, kind="stable")
        ib = np.argsort(b["segment_gid"].values, kind="stable")
        assert not np.array_equal(ia, ib)  # the orders do differ: the check below is not trivial
        # each current comes from one rank plus zeros from the other: identical to the bit
        assert_array_equal(b["imem"].values[:, ib], a["imem"].values[:, ia])
        for name in ("segment_gid", "segment_x", "segment_y", "segment_z", "segment_diam",
                     "segment_area", "segment_root", "segment_section", "segment_population"):
            assert_array_equal(b[name].values[ib], a[name].values[ia])
        assert_allclose(b["segment"].attrs["network_center"], a["segment"].attrs["network_center"],
                        rtol=1e-12)
        probe = signals.electrodes.laminar(x=10.0, y=-20.0, z=PROBE_Z)
        out = recompute(b, [LFP(probe, per_population=True), Dipole()])
        for name in ("lfp", "lfp_population", "dipole", "dipole_population"):
            err = _rel_err(out[name].values, a[name].values)
            assert err < RTOL, f"{name}: relative error {err:.2e}"
