"""Short runs shared by the gallery scripts, recorded once per documentation build.

Not a gallery example itself (its name does not start with ``plot_``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

#: Where the runs go: outside the source tree, reused by every script of one build.
CACHE = Path(os.environ.get("SIGNALS_GALLERY_RUNS", Path(tempfile.gettempdir()) / "signals-gallery"))
EXAMPLES = Path(__file__).resolve().parents[1]


def demo_run(tstop: float = 500.0) -> Path:
    """The built-in demo network (120 cells, gamma rhythm), ``tstop`` ms, every recorder."""
    path = CACHE / f"demo_{tstop:g}ms.nc"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        # its own process: NEURON holds one model per process, and the gallery builds several
        subprocess.run([sys.executable, "-c", "import sys; from signals.demo import record_demo; "
                        "record_demo(sys.argv[1], tstop=float(sys.argv[2]), progress=False)",
                        str(path), str(tstop)], check=True, env=_env())
    return path


def rxd_run(tstop: float = 40.0) -> Path:
    """``examples/rxd_potassium.py``: 16 cells with extracellular K⁺ (neuron.rxd)."""
    path = CACHE / f"rxd_{tstop:g}ms.nc"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(EXAMPLES / "rxd_potassium.py"), "--tstop", str(tstop),
                        "--out", str(path)], check=True, env=_env(), cwd=CACHE, capture_output=True)
    return path


def _env() -> dict:
    return {**os.environ, "NEURON_MODULE_OPTIONS": "-nogui", "MPLBACKEND": "Agg"}


def seed_runs(seeds=(1, 2, 3), tstop: float = 200.0) -> list[Path]:
    """The demo network once per seed, ``tstop`` ms each: a small batch for :func:`signals.open_runs`."""
    paths = [CACHE / f"seed{seed}_{tstop:g}ms.nc" for seed in seeds]
    missing = [(str(p), seed) for p, seed in zip(paths, seeds, strict=True) if not p.exists()]
    if missing:
        CACHE.mkdir(parents=True, exist_ok=True)
        # one process for the batch: NEURON starts once, and each build clears the last network
        code = ("import sys; from signals.demo import record_demo\n"
                "for path, seed in zip(sys.argv[2::2], sys.argv[3::2]):\n"
                "    record_demo(path, tstop=float(sys.argv[1]), seed=int(seed), progress=False)")
        subprocess.run([sys.executable, "-c", code, str(tstop), *[str(v) for pair in missing for v in pair]],
                       check=True, env=_env())
    return paths
