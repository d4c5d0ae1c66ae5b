"""Shared fixtures: small real NEURON cells (no mocks), and a clean NEURON state per test."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

import signals

BIN = Path(sys.executable).parent
SIGNALS = BIN / "signals"  # the installed console script
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")
LIBMPI = BIN.parent / "lib" / "libmpi.so.12"
#: NEURON's major version (CI runs the suite on 9 and on 8.2, where some NEURON results differ)
NEURON_MAJOR = int(version("neuron").split(".")[0])


def mpi_env() -> dict:
    """The environment for NEURON under mpiexec: the mpich wheel's real libmpi."""
    env = dict(os.environ)
    if LIBMPI.exists():
        env["MPI_LIB_NRN_PATH"] = str(LIBMPI)
    return env


@pytest.fixture(scope="session")
def mpi_available():
    """Skip, with the reason, where mpiexec cannot start 2 NEURON ranks."""
    if MPIEXEC is None:
        pytest.skip("mpiexec not found (install the `mpi` extra: mpich, mpi4py)")
    code = ("from neuron import h; h.nrnmpi_init(); pc = h.ParallelContext(); "
            "print(f'RANK {int(pc.id())} OF {int(pc.nhost())}', flush=True)")
    for attempt in range(3):  # a busy machine can make a start fail; try again
        probe = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-c", code],
                               capture_output=True, text=True, timeout=120, env=mpi_env())
        if probe.returncode == 0 and {"RANK 0 OF 2", "RANK 1 OF 2"} <= set(probe.stdout.splitlines()):
            return
        time.sleep(1.0 + attempt)
    pytest.skip(f"mpiexec cannot start 2 NEURON ranks here (exit {probe.returncode}): "
                f"{(probe.stdout + probe.stderr).strip()[-400:]}")


@pytest.fixture(autouse=True)
def _clean_neuron():
    """Each test starts and ends with no sections and fixed-step integration."""
    from neuron import h

    gc.collect()
    h.load_file("stdrun.hoc")
    h.cvode.active(0)
    h.dt = 0.025
    yield
    h.ParallelContext().gid_clear()  # gids registered by one test must not reach the next
    gc.collect()


class BallAndStick:
    """Soma (hh) + 10-segment dendrite (pas) with 3-D points (µm), driven by a NetStim synapse."""

    def __init__(self, gid: int = 0, origin=(0.0, 0.0, 0.0), *, population: str = "all",
                 direction=(0.0, 0.0, 1.0), weight: float = 0.04, start: float = 2.0) -> None:
        from neuron import h

        self.gid = gid
        self.population = population
        o = np.asarray(origin, dtype=float)
        d = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        self.soma.pt3dadd(*(o - 10 * d), 20)
        self.soma.pt3dadd(*(o + 10 * d), 20)
        self.dend.pt3dadd(*(o + 10 * d), 2)
        self.dend.pt3dadd(*(o + 210 * d + [15.0, 0, 0]), 1.5)  # bent so x varies too
        self.dend.pt3dadd(*(o + 410 * d), 1)
        self.dend.nseg = 10
        self.soma.insert("hh")
        self.dend.insert("pas")
        self.all = [self.soma, self.dend]
        self.syn = h.ExpSyn(self.dend(0.8))
        self.syn.tau = 2
        self.stim = h.NetStim()
        self.stim.start, self.stim.number, self.stim.interval = start, 4, 7
        self.nc = h.NetCon(self.stim, self.syn)
        self.nc.weight[0] = weight
        self.nc.delay = 0

    def __repr__(self) -> str:
        return f"BallAndStick[{self.gid}]"


@pytest.fixture
def ball_and_stick():
    """Factory of :class:`BallAndStick` cells."""
    return BallAndStick


def user_segments(cells) -> list:
    """The segments of the user's own cells, through the user's own section handles."""
    return [seg for cell in cells for sec in getattr(cell, "all", cell) for seg in sec]


def neuron_geometry(cells):
    """Independent reference geometry: LFPykit ``CellGeometry`` from NEURON's own 3-D points.

    Reads the user's sections after ``h.define_shape()`` (NEURON's placement) and interpolates
    the points at the segment boundaries along NEURON's ``arc3d``, as LFPy does; never uses
    signals' segment table.
    """
    import lfpykit
    from neuron import h

    h.define_shape()
    xs, ys, zs, ds = [], [], [], []
    for cell in cells:
        for sec in getattr(cell, "all", cell):
            n = int(sec.n3d())
            arc = np.array([sec.arc3d(i) for i in range(n)])
            pts = np.array([[sec.x3d(i), sec.y3d(i), sec.z3d(i)] for i in range(n)])
            f = np.linspace(0, 1, sec.nseg + 1) * arc[-1]
            b = np.column_stack([np.interp(f, arc, pts[:, k]) for k in range(3)])
            xs.append(np.column_stack([b[:-1, 0], b[1:, 0]]))
            ys.append(np.column_stack([b[:-1, 1], b[1:, 1]]))
            zs.append(np.column_stack([b[:-1, 2], b[1:, 2]]))
            ds.extend(seg.diam for seg in sec)
    return lfpykit.CellGeometry(x=np.concatenate(xs), y=np.concatenate(ys), z=np.concatenate(zs),
                                d=np.asarray(ds))


def record_imem(segments):
    """Independent reference: ``Vector.record`` of each segment's ``i_membrane_`` (nA).

    ``segments``: a list of ``nrn.Segment`` (preferably :func:`user_segments` of the user's
    cells), or a SegmentTable (its own segment handles).
    """
    from neuron import h

    h.cvode.use_fast_imem(1)
    segments = getattr(segments, "segments", segments)
    vecs = [h.Vector().record(seg._ref_i_membrane_) for seg in segments]
    tvec = h.Vector().record(h._ref_t)

    def result():
        return np.array([v.as_numpy() for v in vecs]), np.array(tvec.as_numpy())

    return result


def netpyne_rows(call_times, record_step, n_rows, samples, t):
    """signals samples filed the way NetPyNE files them into ``simData['LFP']``.

    NetPyNE computes an LFP sample in a ``cvode.event`` at each ``h.t`` it was called at and adds it
    to row ``floor(h.t / recordStep) - 1`` (``sim/run.py`` ``calculateLFP``). With h.t's
    round-off that row is sometimes one too low, so some rows hold two samples summed and some
    none: NetPyNE's LFP time axis is wrong, its values are not. We use the logged call times,
    take the signals sample at that time and add it to NetPyNE's row for that time.
    """
    k = np.round(call_times / (t[1] - t[0])).astype(int)
    assert np.all(np.abs(t[k] - call_times) < 1e-9)  # each NetPyNE sample has its signals twin
    rows = np.floor(call_times / record_step).astype(int) - 1
    out = np.zeros((n_rows, samples.shape[1]))
    np.add.at(out, rows, samples[k])
    return out, rows, k


def signals_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    """Run the ``signals`` console script (arguments str()-ed), capturing its text output."""
    return subprocess.run([str(SIGNALS), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def demo_run_file(directory: Path, tstop: float) -> Path:
    """``signals demo --tstop`` into ``directory``: the run file, checked to have been written cleanly."""
    res = signals_cli("demo", "--out", directory, "--tstop", tstop)
    assert res.returncode == 0, res.stderr
    assert "DISPLAY" not in res.stdout + res.stderr  # NEURON started with -nogui
    return Path(directory) / "run.nc"


def rxd_run_file(directory: Path, tstop: float) -> Path:
    """``examples/rxd_potassium.py`` for ``tstop`` ms: ko, ki, ko_grid and lfp on one probe."""
    out = Path(directory) / "k.nc"
    example = Path(__file__).resolve().parents[1] / "examples" / "rxd_potassium.py"
    res = subprocess.run([sys.executable, str(example), "--tstop", str(tstop), "--out", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=out.parent)
    assert res.returncode == 0, res.stderr
    return out


class FailingRecorder(signals.Recorder):
    """Raises in the chunk that starts at sample ``at`` or later: the failure the reliability
    tests need, inside NEURON's callback."""

    name = "failing"

    def __init__(self, at: int = 300) -> None:
        self.at = at

    def variables(self):
        return {"n": signals.VariableSpec(("time",), "1", "samples")}

    def on_chunk(self, chunk):
        if chunk.start >= self.at:
            raise RuntimeError("disk on fire")
        return {"n": np.full(chunk.t.size, float(chunk.t.size))}


@pytest.fixture(scope="session")
def short_run(tmp_path_factory):
    """A 100 ms demo run, recorded once for the figure tests."""
    return demo_run_file(tmp_path_factory.mktemp("short"), 100)


@pytest.fixture
def ds(short_run):
    """The short demo run, open; figures closed afterwards."""
    import matplotlib.pyplot as plt

    d = signals.open_run(short_run)
    yield d
    d.close()
    plt.close("all")

