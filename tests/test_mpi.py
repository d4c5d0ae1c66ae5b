"""Recording under MPI equals serial recording (real mpiexec, 1 vs 2 ranks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import MPIEXEC, mpi_env
from numpy.testing import assert_array_equal

import signals

HERE = Path(__file__).resolve().parent
def _mpirun(n, *args, timeout=300):
    cmd = [sys.executable, str(HERE / "mpi_run.py"), *map(str, args)]
    if n > 1:
        cmd = [MPIEXEC, "-n", str(n), *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=mpi_env(),
                          cwd=HERE)


def _json(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


@pytest.fixture(scope="module")
def serial_and_parallel(mpi_available, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mpi")
    one = _mpirun(1, tmp / "one.nc")
    assert one.returncode == 0, one.stderr
    runs = {}
    # the worker-thread pipeline on with one backend, off with the other: the collectives stay
    # on the main thread in the same order either way
    for backend, pipeline in (("mpi4py", "on"), ("neuron", "off")):
        two = _mpirun(2, tmp / f"two_{backend}.nc", "--backend", backend, "--pipeline", pipeline)
        assert two.returncode == 0, two.stderr
        assert _json(two.stdout)["nhost"] == 2
        runs[backend] = signals.open_run(tmp / f"two_{backend}.nc")
    return signals.open_run(tmp / "one.nc"), runs


@pytest.mark.parametrize("backend", ["mpi4py", "neuron"])
def test_two_ranks_equal_one_rank(serial_and_parallel, backend):
    one, runs = serial_and_parallel
    two = runs[backend]
    assert one.attrs["mpi_ranks"] == 1 and two.attrs["mpi_ranks"] == 2
    assert two.attrs["pipeline"] == (backend == "mpi4py")
    assert_array_equal(two["time"].values, one["time"].values)
    for name in ("lfp", "lfp_population", "v", "m"):
        ref = one[name].values
        assert np.ptp(ref) > 0
        assert np.abs(two[name].values - ref).max() <= 1e-12 * np.ptp(ref)
    assert one.sizes["spike"] > 20
    assert_array_equal(two["spike_time"].values, one["spike_time"].values)
    assert_array_equal(two["spike_gid"].values, one["spike_gid"].values)
    for name in ("cell", "cell_population", "cell_x", "cell_z", "population"):
        assert_array_equal(two[name].values, one[name].values)
    # connections are gathered from the ranks that own their targets: same set, any order
    def conns(ds):
        return sorted(zip(*(ds[f"connection_{k}"].values.tolist()
                            for k in ("post", "pre", "weight", "delay", "section")), strict=True))
    assert one.sizes["connection"] > 100
    assert conns(two) == conns(one)


def test_failure_on_one_rank_stops_all_ranks_and_leaves_partial_file(mpi_available, tmp_path):
    out = tmp_path / "fail.nc"
    res = _mpirun(2, out, "--fail-rank", "1", "--tstop", "100", timeout=180)
    assert res.returncode != 0
    assert "deliberate failure on rank 1" in res.stderr
    with pytest.warns(UserWarning, match="incomplete"):
        ds = signals.open_run(out)
    assert ds.attrs["run_status"] == "incomplete"
    assert "rank 1" in ds.attrs["run_error"]
    assert ds.sizes["time"] == 400  # the two chunks written before the failing one
    assert np.all(np.isfinite(ds["lfp"].values))


def test_rank0_memory_does_not_grow_with_tstop(mpi_available, tmp_path):
    """Rank 0's memory is bounded by the chunk: 4× longer runs must not need more memory."""
    peaks = []
    for tstop in (100, 400):
        res = _mpirun(2, tmp_path / f"m{tstop}.nc", "--tstop", tstop, "--electrodes", 200)
        assert res.returncode == 0, res.stderr
        peaks.append(_json(res.stdout)["peak_rss_mb"])
    # holding every sample of the longer run would add 12,000 × 250 × 8 B × 2 ≈ 48 MB
    assert peaks[1] - peaks[0] < 15, peaks


def test_a_rank_without_cells_records_the_others(mpi_available, tmp_path):
    out = tmp_path / "half.nc"
    res = _mpirun(2, out, "--empty-rank", "1", "--tstop", "20", timeout=180)
    assert res.returncode == 0, res.stderr
    ds = signals.open_run(out)
    assert ds.attrs["run_status"] == "complete"
    gids = set(ds["cell"].values.tolist())
    assert gids and all(g % 2 == 0 for g in gids)  # round-robin: rank 0 owns the even gids
    assert set(ds["spike_gid"].values.tolist()) <= gids
    assert np.abs(ds["lfp"].values).max() > 0
