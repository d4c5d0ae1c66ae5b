"""Every example script runs (short) and writes what it says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path):
    out = tmp_path / "run.nc"
    res = subprocess.run([sys.executable, str(EXAMPLES / script), "--tstop", "40", "--out", str(out)],
                         capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "DISPLAY" not in res.stdout + res.stderr  # NEURON started with -nogui
    import signals

    ds = signals.open_run(out)
    assert ds.attrs["run_status"] == "complete"
    assert ds["time"].values[-1] >= 40 - 1e-9
    if "spike_time" in ds:
        assert ds.sizes["spike"] > 0, "an example network that never fires shows nothing"
