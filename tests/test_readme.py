"""Every code block of README.md runs as written (so the README cannot drift from the code).

Shell blocks run line by line in bash, Python blocks each in a fresh interpreter, all in one
folder that holds the demo run (``demo_output/run.nc``, as after ``make demo``). Blocks that
the README introduces with "your model's cells" get a small model first, built by a prelude
the README marks with an HTML comment (``<!-- readme-test: needs=... -->``, invisible when
rendered): ``plain-model`` (four ball-and-stick cells with gids 0-3), ``netpyne-model``
(NetPyNE ``netParams`` and ``cfg`` of a 10-cell network), ``mpi`` (skipped where mpiexec
cannot start two NEURON ranks), ``hnn`` (skipped where hnn-core cannot be imported, i.e. on
NEURON 9; ``make test-nrn82`` runs it). Lines that would re-run this very test session are mapped
to what they run (listed in ``SHELL``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
README = ROOT / "README.md"

#: README shell lines → what this test runs instead (None: not run), and why.
SHELL = {
    "git clone <this repository> signals && cd signals": None,  # the checkout under test is that clone
    "make test": None,  # this test is part of that run
    "make docs": None,  # CI runs it after `make test`
    # `make demo` is the install (already done: this is its interpreter) and then this command
    "make demo": f"{BIN}/signals demo --out demo_output --force",
}

PRELUDES = {
    "plain-model": '''
import numpy as np
from neuron import h

class BallAndStick:
    def __init__(self, gid, x):
        self.gid, self.population = gid, "E" if gid < 2 else "I"
        self.soma = h.Section(name="soma", cell=self)
        self.dend = h.Section(name="dend", cell=self)
        self.dend.connect(self.soma(1))
        for sec, pts in ((self.soma, [(-500, 20), (-480, 20)]), (self.dend, [(-480, 2), (-180, 1)])):
            for z, d in pts:
                sec.pt3dadd(x, 0, z, d)
        self.dend.nseg = 9
        self.soma.insert("hh"); self.dend.insert("pas")
        self.all = [self.soma, self.dend]
        self.syn = h.ExpSyn(self.dend(0.8)); self.syn.tau = 2
        self.stim = h.NetStim(); self.stim.start, self.stim.number, self.stim.interval = 5, 1e9, 25
        self.nc = h.NetCon(self.stim, self.syn); self.nc.weight[0] = 0.03

cells = [BallAndStick(gid, 40.0 * gid) for gid in range(4)]
''',
    "netpyne-model": f'''
import sys
sys.path.insert(0, {str(TESTS)!r})
from _netpyne_run import _net_params
from netpyne import specs
netParams = _net_params()
cfg = specs.SimConfig()
cfg.duration, cfg.dt, cfg.use_fast_imem = 100.0, 0.025, True
cfg.verbose = cfg.printRunTime = cfg.printPopAvgRates = False
cfg.saveJson = cfg.savePickle = False
cfg.analysis, cfg.recordTraces = {{}}, {{}}
''',
}

_BLOCK = re.compile(r"(?:<!-- readme-test: needs=(?P<needs>[\w-]+) -->\n)?"
                    r"```(?P<lang>python|sh)\n(?P<code>.*?)```", re.S)


def readme_blocks():
    text = README.read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        line = text.count("\n", 0, m.start("code")) + 1
        name = f"{m['lang']}-line{line}" + (f"-{m['needs']}" if m["needs"] else "")
        out.append(pytest.param(m["lang"], m["code"], m["needs"], id=name))
    return out


BLOCKS = readme_blocks()


def env() -> dict:
    from conftest import mpi_env

    e = mpi_env()
    e.update(PATH=f"{BIN}{os.pathsep}{e.get('PATH', '')}", MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    return e


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder as after `make demo`: demo_output/ with the demo run and its figures."""
    d = tmp_path_factory.mktemp("readme")
    res = subprocess.run([str(BIN / "signals"), "demo", "--out", "demo_output"], cwd=d, env=env(),
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    shutil.copytree(ROOT / "examples", d / "examples")  # README lines run examples/...
    return d


def shell_line(line: str) -> str | None:
    line = line.split("  #")[0].rstrip()  # a trailing comment (two spaces, then #) is prose
    if line in SHELL:
        return SHELL[line]
    line = line.replace(".venv/lib/libmpi.so.12", str(BIN.parent / "lib" / "libmpi.so.12"))
    line = line.replace(".venv/bin/", f"{BIN}/")
    return re.sub(r"^signals ", f"{BIN}/signals ", line)


def test_the_readme_has_blocks_of_each_kind():
    langs = [p.values[0] for p in BLOCKS]
    assert langs.count("python") >= 6 and langs.count("sh") >= 4


@pytest.mark.parametrize("lang, code, needs", BLOCKS)
def test_readme_block_runs(workdir, lang, code, needs, request):
    if needs == "mpi":
        request.getfixturevalue("mpi_available")
    if needs == "hnn":
        pytest.importorskip("hnn_core", reason="hnn-core runs on NEURON <= 8.2.7 (make test-nrn82)")
    if lang == "sh":
        for raw in code.splitlines():
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            cmd = shell_line(raw)
            if cmd is None:
                continue
            res = subprocess.run(["bash", "-c", cmd], cwd=workdir, env=env(), capture_output=True,
                                 text=True, timeout=900)
            assert res.returncode == 0, f"{raw!r} failed:\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
            assert "Traceback" not in res.stderr, res.stderr
        return
    script = workdir / "block.py"
    script.write_text(PRELUDES.get(needs, "") + "\n" + code, encoding="utf-8")
    res = subprocess.run([sys.executable, str(script)], cwd=workdir, env=env(), capture_output=True,
                         text=True, timeout=900)
    assert res.returncode == 0, f"README block failed:\n{code}\n{res.stderr[-3000:]}"
