"""What clusters, disks and users do to a run: signals, kills, full disks, readers, failures.

Every case runs the real thing: a NEURON network recorded in a subprocess that is signalled or
killed, real ``mpiexec -n 2``, a real full file system (tmpfs) or file size limit.
"""

from __future__ import annotations

import os
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
        attrs, t_raw = _status(out)
        assert attrs["run_status"] == "running"  # the writer never got to say otherwise
        with pytest.warns(UserWarning, match="running"):
            ds = signals.open_run(out)
        t = ds["time"].values
        # whole chunks, increasing; a chunk killed between its data and its time (written
        # last) may have grown the file, and is left out as unwritten (fill values)
        assert t.size >= 100 and t.size % 100 == 0 and np.all(np.diff(t) > 0)
        assert t_raw.size - t.size in (0, 100) and np.all(t_raw[t.size:] > 9e36)
        assert np.all(np.isfinite(ds["lfp"].values))
        ds.close()


# -- a full disk ------------------------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB file system (root only: CI containers usually are; skipped elsewhere)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the file size limit case covers the rest")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


@pytest.fixture
def file_size_limit():
    """RLIMIT_FSIZE of 1 MiB for this process (writes beyond it fail with EFBIG, unprivileged)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def _fill_the_disk(ball_and_stick, path):
    from signals.recorders import LFP

    cell = ball_and_stick()
    probe = signals.electrodes.laminar(x=30.0, y=0.0, z=np.linspace(-100, 500, 100))
    # 100 electrodes × 8 B × 40 samples/ms: the 1 MiB is full after ~30 ms
    with pytest.raises(OSError) as info:
        signals.record(signals.network.from_neuron([cell]), [LFP(probe)], tstop=200, dt=0.025,
                       path=path, chunk_samples=40, progress=False)
    return info.value


@pytest.mark.parametrize("how", ["tmpfs", "ulimit"])
def test_disk_full_is_one_oserror_naming_file_cause_time_and_safe_samples(
        request, ball_and_stick, tmp_path, how):
    import errno

    if how == "tmpfs":
        path = request.getfixturevalue("small_tmpfs") / "run.nc"
        expected = errno.ENOSPC, "no space left on the device"
        err = _fill_the_disk(ball_and_stick, path)
    else:
        path = tmp_path / "run.nc"
        expected = errno.EFBIG, "file size limit"
        request.getfixturevalue("file_size_limit")
        err = _fill_the_disk(ball_and_stick, path)
    msg = str(err)
    assert err.errno == expected[0], msg
    assert expected[1] in msg and str(path) in msg
    assert "HDF error" not in msg and (err.__context__ is None or err.__suppress_context__)
    n_safe = int(msg.split(" samples written before")[0].rsplit(" ", 1)[1])
    t_at = float(msg.split(" at t = ")[1].split(" ms")[0])
    assert n_safe > 0 and t_at > 0
    # what the message calls safe is readable
    with netCDF4.Dataset(path) as nc:
        t = nc["time"][:n_safe]
        lfp = nc["lfp"][:n_safe]
    assert not np.ma.is_masked(t) and np.all(np.diff(t) > 0)
    assert np.all(np.isfinite(lfp)) and np.ptp(lfp) > 0
    assert t[-1] < t_at
    # refused before HDF5 tried: the file closed cleanly and says why it is incomplete
    import psutil

    assert str(path) not in [f.path for f in psutil.Process().open_files()]
    attrs, t_all = _status(path)
    assert attrs["run_status"] == "incomplete" and t_all.size == n_safe
    assert expected[1] in attrs["run_error"]


# -- failures leave nothing open --------------------------------------------------------------

def test_a_failed_record_leaves_the_path_free(ball_and_stick, tmp_path):
    from signals.recorders import LFP, Spikes

    cell = ball_and_stick()
    table = signals.network.from_neuron([cell])
    path = tmp_path / "run.nc"
    with pytest.raises(ValueError, match="not a legal netCDF name"):
        signals.record(table, [LFP([[30, 0, 0]], name="a/b")], tstop=5, path=path)

    class FailsInWriterSetup(Spikes):
        def variables(self):  # a dim that no coordinate sizes: the writer refuses it
            return {"bad": signals.VariableSpec(("time", "nowhere"), "1", "x")}

    with pytest.raises(ValueError, match="nowhere"):
        signals.record(table, [FailsInWriterSetup()], tstop=5, path=path)
    assert not path.exists()  # the half-made file is gone, and so is its lock
    signals.record(table, [LFP([[30, 0, 0]])], tstop=5, path=path, progress=False)
    assert signals.open_run(path).attrs["run_status"] == "complete"


def test_error_in_a_callback_reaches_the_user_once_without_hoc_text(tmp_path):
    code = f"""
import numpy as np, signals
from neuron import h
from signals.recorders import LFP
s = h.Section(name="soma"); s.pt3dadd(0, 0, 0, 10); s.pt3dadd(0, 0, 10, 10); s.insert("hh")

class Boom(signals.Recorder):
    name = "boom"
    def variables(self):
        return {{"ok": signals.VariableSpec(("time",), "1", "x")}}
    def on_chunk(self, chunk):
        if chunk.start >= 100:
            raise ArithmeticError("deliberate recorder failure")
        return {{"ok": np.ones(chunk.t.size)}}

mode = "MODE"
path = {str(tmp_path)!r} + "/" + mode + ".nc"
if mode == "record":
    signals.record(None, [LFP([[30, 0, 0]]), Boom()], tstop=50, path=path, chunk_samples=100)
elif mode == "cvode":  # an error at finitialize: the session refuses variable time steps
    h.load_file("stdrun.hoc"); h.cvode.active(1)
    signals.record(None, [LFP([[30, 0, 0]])], tstop=50, path=path)
else:
    with signals.attach(None, [Boom()], path=path, chunk_samples=100):
        h.ParallelContext().set_maxstep(10)
        h.finitialize(-65)
        getattr(h, mode)(50) if mode == "continuerun" else h.ParallelContext().psolve(50)
"""
    for mode in ("record", "continuerun", "psolve", "cvode"):
        res = subprocess.run([sys.executable, "-c", code.replace("MODE", mode)], capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 1
        if mode == "cvode":
            assert res.stderr.strip().splitlines()[-1].startswith(
                "RuntimeError: variable time step (CVode) is not supported")
            assert res.stderr.count("RuntimeError: variable time step") == 1, res.stderr
            assert "hocobj_call" not in res.stderr and "hoc_execerror" not in res.stderr
            with pytest.warns(UserWarning, match="incomplete: RuntimeError: variable time step"):
                signals.open_run(tmp_path / "cvode.nc")
            continue
        last = res.stderr.strip().splitlines()[-1]
        assert last == "ArithmeticError: deliberate recorder failure", res.stderr
        assert res.stderr.count("deliberate recorder failure") == 1 + (mode == "psolve"), \
            res.stderr  # psolve ignores stoprun: NEURON reports the one-line stop message
        assert "hocobj_call" not in res.stderr and "hoc_execerror" not in res.stderr
        attrs, t = _status(tmp_path / f"{mode}.nc")
        assert attrs["run_status"] == "incomplete" and t.size == 100
        assert attrs["run_error"] == "ArithmeticError: deliberate recorder failure"


# -- reading a file while it is written -------------------------------------------------------

def test_a_file_being_written_can_be_looked_at(tmp_path):
    out = tmp_path / "run.nc"
    proc = _start(out)
    try:
        sizes = []
        for _ in range(5):
            with pytest.warns(UserWarning, match="is running: a process is writing it"):
                ds = signals.open_run(out)
            t = ds["time"].values
            assert ds.sizes["time"] % 100 == 0 and ds.sizes["time"] >= 100  # whole chunks
            assert np.all(np.diff(t) > 0) and np.all(np.isfinite(ds["lfp"].values))
            sizes.append(ds.sizes["time"])
            ds.close()
        assert sizes == sorted(sizes) and sizes[-1] > sizes[0]  # the run went on meanwhile
        info = subprocess.run([sys.executable, "-m", "signals.cli", "info", str(out)],
                              capture_output=True, text=True, timeout=300)
        assert info.returncode == 0, info.stderr
        assert "running run" in info.stdout and "lfp" in info.stdout
    finally:
        proc.terminate()
        proc.communicate(timeout=300)
    _check_interrupted(out, "SIGTERM")


# -- damaged run files ------------------------------------------------------------------------

@pytest.fixture
def good_run(ball_and_stick, tmp_path):
    from signals.recorders import LFP, Spikes

    cell = ball_and_stick()
    path = tmp_path / "good.nc"
    signals.record(signals.network.from_neuron([cell]), [LFP([[30, 0, 0], [30, 0, 100]]), Spikes()],
                   tstop=5, path=path, progress=False)
    return path


def _rewrite(src, dst, edit):
    import xarray as xr

    with xr.open_dataset(src) as ds:
        ds = edit(ds.load())
        ds.to_netcdf(dst)
    return dst


@pytest.mark.parametrize("edit, match", [
    (lambda ds: ds.assign(lfp=(("foo", "time"), ds["lfp"].values.T)), "'lfp'.*'time' must come first"),
    (lambda ds: ds.rename_dims(electrode="contact"), "'lfp' has dims.*expected \\('time', 'electrode'\\)"),
    (lambda ds: ds.assign_attrs(record_dt="abc"), "'record_dt' = 'abc' is not a finite number"),
    (lambda ds: ds.assign_coords(time=np.r_[np.nan, ds["time"].values[1:]]), "'time' holds 1 non-finite"),
    (lambda ds: ds.assign_coords(time=ds["time"].values[::-1]), "'time' is not increasing"),
    (lambda ds: ds.assign_coords(electrode_z=("electrode", [np.nan, 1.0])),
     "coordinate 'electrode_z' holds non-finite"),
    (lambda ds: ds.assign_attrs(run_status="maybe"), "'run_status' = 'maybe'"),
])
def test_open_run_names_what_is_broken(good_run, tmp_path, edit, match):
    bad = _rewrite(good_run, tmp_path / "bad.nc", edit)
    with pytest.raises(ValueError, match=f"run file .*bad.nc.* is damaged: .*{match}"):
        signals.open_run(bad)
    res = subprocess.run([sys.executable, "-m", "signals.cli", "plot", "psd", str(bad), "-o",
                          str(tmp_path / "psd.png")], capture_output=True, text=True, timeout=300)
    assert res.returncode != 0 and "damaged" in res.stderr
    assert not (tmp_path / "psd.png").exists()


def test_interrupted_creation_is_reported_as_such(tmp_path):
    path = tmp_path / "run.nc"
    with netCDF4.Dataset(path, "w") as nc:  # what a kill during the header leaves
        nc.setncatts({"signals_format": "signals-run", "run_status": "creating"})
    with pytest.raises(ValueError, match="creation was interrupted"):
        signals.open_run(path)
    with pytest.raises(IsADirectoryError, match="is a directory"):
        signals.open_run(tmp_path)
