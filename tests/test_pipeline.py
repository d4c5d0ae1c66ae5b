"""The worker-thread pipeline: the same run file as on the main thread, failures and signals
handled as there, NEURON touched only from the main thread."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import FailingRecorder
from numpy.testing import assert_array_equal

import signals
from signals.recorders import LFP, Dipole, MembraneCurrents, Spikes, Traces

PROBE = signals.electrodes.laminar(x=40.0, y=0.0, z=[0.0, 200.0, 400.0])
HERE = Path(__file__).resolve().parent


class ThreadLog(signals.Recorder):
    """Notes the thread of every ``on_chunk`` (thread-safe or not, by ``thread_safe``)."""

    name = "log"

    def __init__(self, thread_safe: bool = False) -> None:
        self.thread_safe = thread_safe
        self.threads_: list[str] = []

    def variables(self):
        return {"log": signals.VariableSpec(("time",), "1", "samples")}

    def on_chunk(self, chunk):
        self.threads_.append(threading.current_thread().name)
        return {"log": np.full(chunk.t.size, float(chunk.t.size))}


class FailingOnWorker(FailingRecorder):
    thread_safe = True


def _network(ball_and_stick):
    cells = [ball_and_stick(i, origin=(60.0 * i, 0, 0), start=1.0 + 3 * i) for i in range(3)]
    return cells, signals.network.from_neuron(cells)


@pytest.mark.parametrize("record_dt", [None, 0.1])
def test_pipeline_writes_the_same_file_as_the_main_thread(ball_and_stick, tmp_path, record_dt):
    cells, table = _network(ball_and_stick)

    def recorders():
        return [LFP(PROBE, per_population=True), Dipole(cells=[0, 2]), Spikes(),
                Traces([0, 2]), Traces([1], variable="m_hh", units="1", name="m"),
                MembraneCurrents()]

    files = {}
    for pipeline in (False, True):
        path = tmp_path / f"p{int(pipeline)}.nc"
        signals.record(table, recorders(), tstop=30, path=path, progress=False,
                       chunk_samples=37, record_dt=record_dt, pipeline=pipeline)
        files[pipeline] = signals.open_run(path)
    off, on = files[False], files[True]
    assert (off.attrs["pipeline"], on.attrs["pipeline"]) == (0, 1)
    assert on.sizes["spike"] >= 3
    assert set(on.data_vars) == set(off.data_vars)
    for name in off.data_vars:
        assert np.ptp(off[name].values) > 0 or name == "lfp_population", name
        assert_array_equal(on[name].values, off[name].values, err_msg=name)
    assert_array_equal(on["time"].values, off["time"].values)


def test_thread_safe_recorders_run_beside_neuron_and_the_others_on_its_thread(
        ball_and_stick, tmp_path):
    _, table = _network(ball_and_stick)
    beside, main = ThreadLog(thread_safe=True), ThreadLog()
    main.name = "main_log"
    main.variables = lambda: {"main_log": signals.VariableSpec(("time",), "1", "samples")}
    main.on_chunk = lambda chunk, f=main.on_chunk: {"main_log": f(chunk)["log"]}
    signals.record(table, [beside, main], tstop=10, path=tmp_path / "t.nc", progress=False,
                   chunk_samples=50, pipeline=True)
    here = threading.current_thread().name
    assert len(beside.threads_) == len(main.threads_) == 9  # 401 samples in chunks of 50
    assert set(main.threads_) == {here}
    assert here not in set(beside.threads_)
    assert all(name.startswith("signals-chunks") for name in beside.threads_)
    signals.record(table, [beside], tstop=10, path=tmp_path / "u.nc", progress=False,
                   chunk_samples=50, pipeline=False)
    assert set(beside.threads_[9:]) == {here}


@pytest.mark.parametrize("pipeline, failing", [(False, FailingRecorder),
                                               (True, FailingRecorder), (True, FailingOnWorker)])
def test_an_exception_mid_run_leaves_every_chunk_before_it(ball_and_stick, tmp_path, pipeline,
                                                           failing):
    """On the main thread or the worker, a recorder's exception ends the run with a readable
    incomplete file holding the chunks before it."""
    _, table = _network(ball_and_stick)
    with pytest.raises(RuntimeError, match="disk on fire"):
        signals.record(table, [failing(at=300), LFP(PROBE)], tstop=50, path=tmp_path / "x.nc",
                       progress=False, chunk_samples=100, pipeline=pipeline)
    with pytest.warns(UserWarning, match="incomplete"):
        ds = signals.open_run(tmp_path / "x.nc")
    assert ds.attrs["run_status"] == "incomplete"
    assert "disk on fire" in ds.attrs["run_error"]
    assert ds.sizes["time"] == 300
    assert np.all(np.isfinite(ds["lfp"].values))
    assert not [t.name for t in threading.enumerate() if t.name.startswith("signals-chunks")]


def test_pipeline_must_be_a_bool(ball_and_stick, tmp_path):
    _, table = _network(ball_and_stick)
    for bad in ("yes", None, 1):
        with pytest.raises(TypeError, match="pipeline must be True or False"):
            signals.Session(table, [LFP(PROBE)], path=tmp_path / "b.nc", pipeline=bad)
    session = signals.Session(table, [LFP(PROBE)], path=tmp_path / "a.nc")
    assert session.pipeline is False  # the default: measured slower (see Session)
    session.close()


@pytest.mark.parametrize("pipeline", [0, 1])
def test_earlier_cells_freed_by_the_collector_do_not_break_a_run(tmp_path, pipeline):
    """Six runs in one process, each leaving its cells in reference cycles. A collection that
    runs inside finitialize or a step (or on the worker thread) deletes their sections while
    NEURON is busy: NEURON 9 then crashed ("acquire_owning_identifier() called on a frozen
    structure"), NEURON 8.2 silently recorded the currents of freed memory (one run's LFP peak
    was 18 % of the others'). The session keeps the collector off while it records."""
    proc = subprocess.run([sys.executable, str(HERE / "_gc_run.py"), str(tmp_path), str(pipeline)],
                          capture_output=True, text=True, timeout=300, cwd=HERE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peaks = np.array(json.loads(proc.stdout.strip().splitlines()[-1])["peaks"])
    assert peaks.size == 6 and peaks[0] > 1e-4
    assert np.ptp(peaks) <= 1e-12 * peaks[0], peaks
