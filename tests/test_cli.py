"""The ``signals`` console script, run as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("signals")


def run(*args, cwd=None):
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    res = run("demo", "--out", str(out), "--tstop", "150")
    assert res.returncode == 0, res.stderr
    assert "run file:" in res.stdout
    return out


def test_demo_writes_run_file_and_figures(demo_dir):
    import signals

    ds = signals.open_run(demo_dir / "run.nc")
    assert ds.attrs["run_status"] == "complete"
    assert ds.sizes["electrode"] == 10 and ds.sizes["cell"] == 120
    assert ds["time"].values[-1] >= 150 - 1e-9
    assert ds.sizes["spike"] > 0
    for name in ("lfp.png", "raster.png"):
        png = demo_dir / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_info_lists_variables_with_units(demo_dir):
    res = run("info", str(demo_dir / "run.nc"))
    assert res.returncode == 0, res.stderr
    assert "lfp" in res.stdout and "[mV]" in res.stdout and "spike_time" in res.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("info", "does-not-exist.nc"), "not found"),
        (("frobnicate",), "invalid choice"),
        ((), "required"),
    ],
)
def test_bad_invocations_exit_nonzero_with_message(args, message, tmp_path):
    res = run(*args, cwd=tmp_path)
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_convert_exports_a_run_and_rejects_bad_input(demo_dir, tmp_path):
    pynwb = pytest.importorskip("pynwb")
    res = run("convert", str(demo_dir / "run.nc"), str(tmp_path / "run.nwb"))
    assert res.returncode == 0, res.stderr
    with pynwb.NWBHDF5IO(str(tmp_path / "run.nwb"), "r") as io:
        assert io.read().acquisition  # the LFP went in
    broken = tmp_path / "broken.json"
    broken.write_text('{"simData": {"spkt": [1.0, 2.0')
    res = run("convert", str(broken), str(tmp_path / "x.nc"))
    assert res.returncode != 0 and "JSON" in res.stderr and "Traceback" not in res.stderr
