"""Whole-grid rxd snapshots streamed by the Concentration recorder (run in a fresh process:
rxd state is global in NEURON)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

SCRIPT = r"""
import json, sys
import numpy as np
from neuron import h, rxd
import signals
from signals.recorders import Concentration
from signals.recorders.concentration import grid_snapshot

soma = h.Section(name="soma")
soma.pt3dadd(0, 0, -10, 20)
soma.pt3dadd(0, 0, 10, 20)
soma.insert("hh")
ecs = rxd.Extracellular(-100, -100, -100, 100, 100, 100, dx=25, volume_fraction=0.2, tortuosity=1.6)
k = rxd.Species(ecs, name="k", d=2.62, charge=1,
                initial=lambda nd: 3.0 if nd.x3d**2 + nd.y3d**2 + nd.z3d**2 < 30**2 else 2.5)
clamp = h.IClamp(soma(0.5))
clamp.delay, clamp.dur, clamp.amp = 1.0, 50.0, 0.5
net = signals.network.from_neuron([soma])
probe = signals.electrodes.points([[0, 0, 50.0]])
rec = Concentration(probe, species="k", snapshot_every=5.0)
# chunks of 40 samples (1 ms) end at 0.975, 1.975, ... ms: stop at chunk ends and compare
ends = (5.975, 10.975, 15.975)
ref = {}
with signals.attach(net, [rec], path=sys.argv[1], chunk_samples=40) as session:
    h.dt = 0.025
    session.initialize(-65)
    for t in ends:
        session.run(t, progress=False)
        ref[t] = grid_snapshot("k").values.tolist()
ds = signals.open_run(sys.argv[1])
out = {"times": ds["ko_snapshot"].values.tolist(), "dims": list(ds["ko_grid"].dims),
       "units": ds["ko_grid"].attrs["units"], "t_units": ds["ko_snapshot"].attrs["units"],
       "x": ds["x"].values.tolist(),
       "err": {str(t): float(np.abs(ds["ko_grid"].sel(ko_snapshot=t, method="nearest",
                                                      tolerance=1e-9).values - np.array(g)).max())
               for t, g in ref.items()},
       "ptp": float(np.ptp(np.array(ref[ends[-1]])))}
print("RESULT " + json.dumps(out))
"""


def test_grid_snapshots_are_the_state_at_their_stated_time(tmp_path):
    import json

    res = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "snap.nc")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads([ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])
    assert out["dims"] == ["ko_snapshot", "x", "y", "z"]
    assert out["units"] == "mM" and out["t_units"] == "ms"
    assert out["x"] == [-87.5, -62.5, -37.5, -12.5, 12.5, 37.5, 62.5, 87.5]  # voxel centres, µm
    # one snapshot per 5 ms: at the first chunk end reaching 0, 5, 10, 15 ms
    assert np.allclose(out["times"], [0.975, 5.975, 10.975, 15.975], rtol=0, atol=1e-9)
    assert out["ptp"] > 0.1  # mM: the grid is not uniform
    for t, err in out["err"].items():
        assert err == 0.0, (t, err)
