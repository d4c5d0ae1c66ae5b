"""What clusters, disks and users do to a run: signals, kills, full disks, readers, failures.

Every case runs the real thing: a NEURON network recorded in a subprocess that is signalled or
killed, real ``mpiexec -n 2``, a real full file system (tmpfs) or file size limit.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
from conftest import MPIEXEC, mpi_env

import signals

HERE = Path(__file__).resolve().parent


def _start(out, *args, n=1):
    cmd = [sys.executable, str(HERE / "_kill_run.py"), str(out), *map(str, args)]
    if n > 1:
        cmd = [MPIEXEC, "-n", str(n), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=HERE, env=mpi_env())
    for line in proc.stdout:  # blocks until the first chunk is in the file
        if "RECORDING" in line:
            return proc
    proc.wait()
    pytest.fail(f"the run ended before recording (exit {proc.returncode}): {proc.stderr.read()}")


def _status(path):
    with netCDF4.Dataset(path) as nc:
        return {k: nc.getncattr(k) for k in nc.ncattrs()}, nc["time"][:].data.copy()


def _check_interrupted(path, signame):
    attrs, t = _status(path)
    assert attrs["run_status"] == "incomplete"
    assert attrs["run_error"].startswith(f"interrupted by {signame} at t = ")
    assert f"the {t.size} samples up to there" in attrs["run_error"]
    assert t.size >= 100 and t.size % 100 == 0  # whole chunks only
    assert np.all(np.diff(t) > 0)
    # the time reached is stored, not the requested one (1e6 ms)
    assert t[-1] <= attrs["tstop"] < t[-1] + 1.0
    assert f"t = {t[-1]:g} ms" in attrs["run_error"]
    assert attrs["tstop_units"] == "ms"
    with pytest.warns(UserWarning, match=f"incomplete: interrupted by {signame}"):
        ds = signals.open_run(path)
    assert np.all(np.isfinite(ds["lfp"].values)) and ds.sizes["time"] == t.size
    ds.close()


@pytest.mark.parametrize("mode", ["record", "attach"])
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_ends_serial_run_honestly(tmp_path, mode, signame):
    out = tmp_path / "run.nc"
    proc = _start(out, "--mode", mode)
    proc.send_signal(getattr(signal, signame))
    _, err = proc.communicate(timeout=300)
    # the process ends as the signal ends Python: killed by it (shell status 128 + signum);
    # SIGINT goes through Python's own handler, i.e. KeyboardInterrupt
    assert proc.returncode == -getattr(signal, signame), err
    if signame == "SIGINT":
        assert err.rstrip().endswith("KeyboardInterrupt")
        assert "hocobj_call" not in err
    _check_interrupted(out, signame)


def test_user_signal_handler_runs_after_the_file_is_closed(tmp_path):
    out = tmp_path / "run.nc"
    proc = _start(out, "--handler")
    proc.send_signal(signal.SIGTERM)
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 3, err  # the user's handler calls sys.exit(3)
    assert "USER HANDLER 15" in stdout
    _check_interrupted(out, "SIGTERM")


def test_ignored_signal_stays_ignored_and_handlers_are_restored(tmp_path):
    out = tmp_path / "run.nc"
    proc = _start(out, "--ignore-hup", "--tstop", 300)
    proc.send_signal(signal.SIGHUP)  # nohup: the run goes on
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "FINISHED" in stdout and "HANDLER NOT RESTORED" not in stdout
    attrs, t = _status(out)
    assert attrs["run_status"] == "complete" and t[-1] == pytest.approx(300)


@pytest.mark.parametrize("mode, signame, target", [
    ("record", "SIGTERM", "mpiexec"),   # a scheduler's walltime signal reaches the launcher
    ("attach", "SIGINT", "mpiexec"),    # Ctrl-C
    ("record", "SIGTERM", "rank1"),     # only one rank is told
])
def test_signal_under_mpi_stops_every_rank_at_the_same_chunk(mpi_available, tmp_path, mode,
                                                             signame, target):
    import psutil

    out = tmp_path / "run.nc"
    proc = _start(out, "--mode", mode, n=2)
    sig = getattr(signal, signame)
    if target == "mpiexec":
        proc.send_signal(sig)
    else:
        ranks = [p for p in psutil.Process(proc.pid).children(recursive=True)
                 if "_kill_run.py" in " ".join(p.cmdline())]
        assert len(ranks) == 2
        rank1 = [p for p in ranks if p.environ().get("PMI_RANK") == "1"]
        (rank1 or ranks[-1:])[0].send_signal(sig)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode != 0
    assert "MPI_Abort" not in err and "hocobj_call" not in err
    _check_interrupted(out, signame)


def test_sigkill_at_random_moments_keeps_every_flushed_chunk(tmp_path):
    """SIGKILL cannot be caught: whatever was flushed must stay readable."""
    rng = np.random.default_rng(0)
    for trial in range(4):
        out = tmp_path / f"k{trial}.nc"
        proc = _start(out)
        time.sleep(rng.uniform(0, 1.5))
        proc.kill()
        proc.communicate(timeout=60)
        attrs, t = _status(out)
        assert attrs["run_status"] == "running"  # the writer never got to say otherwise
        assert t.size >= 100 and np.all(np.diff(t) > 0)
        with pytest.warns(UserWarning, match="running"):
            ds = signals.open_run(out)
        assert np.all(np.isfinite(ds["lfp"].values))
        ds.close()
