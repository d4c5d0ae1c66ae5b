"""Shared fixtures: small real NEURON cells (no mocks), and a clean NEURON state per test."""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

BIN = Path(sys.executable).parent
SIGNALS = BIN / "signals"  # the installed console script
MPIEXEC = shutil.which("mpiexec", path=str(BIN)) or shutil.which("mpiexec")
LIBMPI = BIN.parent / "lib" / "libmpi.so.12"


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


def record_imem(table):
    """Independent reference: ``Vector.record`` of every segment's ``i_membrane_`` (nA).
    """
    from neuron import h

    h.cvode.use_fast_imem(1)
    vecs = [h.Vector().record(seg._ref_i_membrane_) for seg in table.segments]
    tvec = h.Vector().record(h._ref_t)

    def result():
        return np.array([v.as_numpy() for v in vecs]), np.array(tvec.as_numpy())

    return result


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
