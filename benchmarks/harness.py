"""The benchmark harness: runs in fresh processes, one JSON record per run, Markdown tables.

Every script in ``benchmarks/`` imports this module as ``import harness`` (``python
benchmarks/x.py`` puts ``benchmarks/`` first on ``sys.path``). A script has two halves:

the child
    ``python benchmarks/x.py --variant NAME ...`` does one run in its own process, so that its
    peak RSS is its own, and hands :func:`emit` one record (a dict): a single JSON line on stdout
    after :data:`MARKER`. A variant that cannot run here raises :class:`Skip`.
the parent
    builds a plan of ``(key, repeats)``, lets :func:`run_plan` start the children round-robin
    over the repeats (slow drifts of a shared machine then hit every variant alike) through
    :func:`spawn`, and prints the records with :func:`markdown_table` and :func:`ratio`.

Measurements: :class:`SimMemory` (RSS before a run, peak RSS during it, CPU time of the
process) and :class:`Stopwatch` (wall and CPU time of a block) inside a child;
:func:`run_process` (wall time, CPU time and peak RSS of a whole child process, from
``os.wait4``) in the parent. CPU time counts every thread of the process: on a loaded machine
it is far less disturbed by other processes than wall time, so its ratios are the steadier
estimate; tables give both, as the minimum over the repeats (the least-disturbed run) and the
median. :func:`cost_split` turns :attr:`signals.Session.timings` into the parts of the
recording cost.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "BENCHMARK_JSON:"


class Skip(Exception):
    """A variant that cannot run here (missing package, incompatible version, ...)."""


# -- the child -------------------------------------------------------------------------------


def _jsonable(obj: Any) -> Any:
    """numpy scalars and arrays, paths: what json cannot write by itself."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def emit(record: Mapping[str, Any]) -> None:
    """Print one run's record for the parent (one line: :data:`MARKER` + JSON)."""
    print(MARKER + json.dumps(dict(record), default=_jsonable), flush=True)


def child(run: Callable[[], dict], **info: Any) -> int:
    """Run one variant in this process and :func:`emit` its record (``info`` added to it).

    A :class:`Skip` becomes ``{"skipped": reason}``; any other error propagates (the parent
    reports the last line of stderr).
    """
    try:
        res = run()
    except Skip as err:
        res = {"skipped": str(err)}
    emit({**info, **res})
    return 0


def rss_mb() -> float:
    """Resident set size of this process now (MiB)."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (MiB; Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Stopwatch:
    """Wall time (``wall``) and CPU time of this process, all threads (``cpu``) of a block, s."""

    def __enter__(self) -> Stopwatch:
        self.wall = self.cpu = 0.0
        self._cpu0, self._t0 = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        self.wall = time.perf_counter() - self._t0
        self.cpu = time.process_time() - self._cpu0
        return False


class SimMemory:
    """RSS before a run, peak RSS during it (Linux: ``VmHWM`` reset through ``clear_refs``), CPU.

    :meth:`result` gives ``rss_before_sim_mb``, ``peak_before_sim_mb``, ``peak_sim_mb`` (None
    where the high-water mark cannot be reset), ``peak_rss_mb`` (the process peak up to the end
    of the block) and ``sim_cpu_s`` (CPU time of all threads over the block).
    """

    def __enter__(self) -> SimMemory:
        self.cpu0 = time.process_time()
        self.rss_before = rss_mb()
        self.peak_before = peak_rss_mb()
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark
            self.reset = True
        except OSError:
            self.reset = False
        return self

    def __exit__(self, *exc) -> bool:
        self.cpu = time.process_time() - self.cpu0
        self.peak_sim = None
        if self.reset:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_sim = int(line.split()[1]) / 1024
        # clear_refs may also have reset ru_maxrss: the process peak is the larger of the phases
        self.peak_total = max(peak_rss_mb(), self.peak_before, self.peak_sim or 0.0)
        return False

    def result(self) -> dict:
        return {"rss_before_sim_mb": self.rss_before, "peak_before_sim_mb": self.peak_before,
                "peak_sim_mb": self.peak_sim, "peak_rss_mb": self.peak_total, "sim_cpu_s": self.cpu}


def run_session(session, tstop: float, v_init: float) -> dict:
    """Initialise ``session`` (a :class:`signals.Session`) at ``v_init`` (mV), run it to
    ``tstop`` (ms) and close it, timed: ``sim_s`` (s, wall time of all three), ``close_s``,
    ``timings_run`` (``Session.timings`` when ``run`` returns), ``timings`` (after close) and
    :class:`SimMemory`'s result."""
    with SimMemory() as mem:
        t0 = time.perf_counter()
        with session:
            session.initialize(v_init)
            session.run(tstop, progress=False)
            at_run_end = dict(session.timings)
            t_close = time.perf_counter()
        sim_s = time.perf_counter() - t0
    return {"sim_s": sim_s, "close_s": time.perf_counter() - t_close, "timings_run": at_run_end,
            "timings": dict(session.timings), **mem.result()}


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Minimum wall time (s) of ``repeat`` calls of ``fn`` in this process, and its last result."""
    times, out = [], None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


# -- the parent ------------------------------------------------------------------------------


@dataclass
class ProcessResult:
    """One finished child process: wall, CPU (user + system) and peak RSS are its own."""

    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    timed_out: bool = False

    def last_error_line(self) -> str:
        lines = self.stderr.strip().splitlines() or self.stdout.strip().splitlines()
        return lines[-1] if lines else "no output"


def run_process(cmd: Sequence[str], *, timeout: float | None = None,
                env: Mapping[str, str] | None = None) -> ProcessResult:
    """Run ``cmd`` to its end; its own wall time, CPU time and peak RSS (``os.wait4``).

    Under ``mpiexec`` the numbers are mpiexec's with its reaped children folded in: MPI ranks
    report their own in their record instead.
    """
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=None if env is None else dict(env))
    out: dict[str, str] = {}

    def read(name: str, stream) -> None:
        out[name] = stream.read()
        stream.close()

    readers = [threading.Thread(target=read, args=(n, s), daemon=True)
               for n, s in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for t in readers:
        t.start()
    expired = threading.Event()

    def kill() -> None:
        expired.set()
        proc.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer is not None:
        timer.start()
    t0 = time.perf_counter()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if timer is not None:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
    for t in readers:
        t.join()
    return ProcessResult(proc.returncode, out.get("stdout", ""), out.get("stderr", ""), wall,
                         usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                         expired.is_set())


def spawn(cmd: Sequence[str], *, timeout: float | None = None,
          env: Mapping[str, str] | None = None, **info: Any) -> dict:
    """Run one child and return its record, with ``info`` and the parent's own numbers.

    Added: ``process_s`` / ``process_cpu_s`` / ``process_peak_rss_mb`` (the whole process, from
    the parent) and ``load1`` (the 1-minute load average just before the run: the machine may
    be shared). A failed child gives ``{**info, "error": ...}``.
    """
    load = os.getloadavg()[0]
    proc = run_process(cmd, timeout=timeout, env=env)
    if proc.timed_out:
        return {**info, "error": f"timed out after {timeout:.0f} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            res = json.loads(line[len(MARKER):])
            return {**info, **res, "process_s": proc.wall_s, "process_cpu_s": proc.cpu_s,
                    "process_peak_rss_mb": proc.peak_rss_mb, "load1": load}
    return {**info, "error": f"exit code {proc.returncode}: {proc.last_error_line()}"}


def mpi_env() -> dict:
    """The environment of an ``mpiexec`` job: NEURON pointed at the mpich wheel's real
    ``libmpi.so.12`` (the wheel's ``libmpi.so`` is a stub)."""
    env = dict(os.environ)
    lib = Path(sys.executable).parent.parent / "lib" / "libmpi.so.12"
    if lib.exists() and "MPI_LIB_NRN_PATH" not in env:
        env["MPI_LIB_NRN_PATH"] = str(lib)
    return env


def script_command(script: str | os.PathLike, *args: Any) -> list[str]:
    """``[python, script, *args]`` with this interpreter (the child of a parent script)."""
    return [sys.executable, str(Path(script).resolve()), *map(str, args)]


@dataclass
class Results:
    """The records of a plan: ``runs[key]`` (successful runs), ``skipped``, ``failures``."""

    runs: dict[Hashable, list[dict]] = field(default_factory=dict)
    skipped: dict[Hashable, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def values(self, key: Hashable, name: str) -> list[float]:
        return [r[name] for r in self.runs.get(key, ()) if r.get(name) is not None]

    def best(self, key: Hashable, name: str = "sim_s") -> float | None:
        """Minimum of ``name`` over the runs of ``key`` (None without runs)."""
        v = self.values(key, name)
        return min(v) if v else None

    def median(self, key: Hashable, name: str = "sim_s") -> float | None:
        v = self.values(key, name)
        return statistics.median(v) if v else None

    def fastest(self, key: Hashable, name: str = "sim_s") -> dict | None:
        """The record of the run with the smallest ``name``."""
        rs = [r for r in self.runs.get(key, ()) if r.get(name) is not None]
        return min(rs, key=lambda r: r[name]) if rs else None

    def loads(self) -> list[float]:
        return [r["load1"] for rs in self.runs.values() for r in rs if "load1" in r]

    def records(self) -> list[dict]:
        return [r for rs in self.runs.values() for r in rs]


def run_plan(plan: Sequence[tuple[Hashable, int]], spawn_one: Callable[[Hashable], dict], *,
             describe: Callable[[Hashable, dict], str], group: Callable[[Hashable], Hashable]
             = lambda key: key, label: Callable[[Hashable], str] = str) -> Results:
    """Run every ``(key, repeats)`` of ``plan``, round-robin over the repeats, printing progress.

    ``spawn_one(key)`` returns a record (see :func:`spawn`); ``describe(key, record)`` is the
    progress line of a successful run. A skipped record skips every later run of its
    ``group(key)``; a failed run is listed in ``failures`` and the next repeat is tried.
    """
    res = Results()
    for r in range(max((n for _, n in plan), default=0)):
        for key, n in plan:
            if r >= n or group(key) in res.skipped:
                continue
            rec = spawn_one(key)
            if "skipped" in rec:
                res.skipped[group(key)] = rec["skipped"]
                print(f"  {label(key)}  skipped: {rec['skipped']}", flush=True)
                continue
            if "error" in rec:  # e.g. a file edited while the benchmark runs: try the next repeat
                res.failures.append(f"{label(key)} run {r + 1}: {rec['error']}")
                print(f"  run {r + 1}: {label(key)}  FAILED: {rec['error']}", flush=True)
                continue
            res.runs.setdefault(key, []).append(rec)
            print(f"  run {r + 1}: {label(key)}  {describe(key, rec)}", flush=True)
    return res


def save(path: str | os.PathLike, results: Results, **meta: Any) -> None:
    """Write every record (and ``meta``) as JSON, for comparisons across runs or checkouts."""
    data = {**meta, "records": results.records(), "skipped": {str(k): v for k, v in
                                                              results.skipped.items()},
            "failures": results.failures}
    Path(path).write_text(json.dumps(data, indent=1, default=_jsonable))


# -- tables ----------------------------------------------------------------------------------


def fmt(x: float | None, spec: str = ".3f") -> str:
    """``format(x, spec)``, or ``-`` for a missing value."""
    return "-" if x is None else format(x, spec)


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, None when either is missing (or ``b`` is 0)."""
    return None if a is None or not b else a / b


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]],
                   align: str | None = None) -> str:
    """A Markdown pipe table; cells are ``str``-ed (None is ``-``), columns padded to width.

    ``align``: one letter per column, ``l`` or ``r`` (default: the first column left, the
    others right).
    """
    rows = [["-" if c is None else str(c) for c in row] for row in rows]
    align = align or "l" + "r" * (len(header) - 1)
    widths = [max([len(h), 3, *(len(row[k]) for row in rows)]) for k, h in enumerate(header)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if a == "l" else c.rjust(w)
                                 for c, w, a in zip(cells, widths, align, strict=True)) + " |"

    rule = "| " + " | ".join(("-" * (w - 1) + ":") if a == "r" else ("-" * w)
                             for w, a in zip(widths, align, strict=True)) + " |"
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def print_table(header: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None,
                align: str | None = None) -> None:
    """Print :func:`markdown_table`, after a blank line and an optional title line."""
    print()
    if title:
        print(title)
        print()
    print(markdown_table(header, rows, align), flush=True)


def environment(dists: Sequence[str], *, blas: bool = True) -> list[str]:
    """Lines describing the machine: python and package versions, cores, BLAS, load."""
    from importlib.metadata import PackageNotFoundError, version

    vers = []
    for dist in dists:
        try:
            vers.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            vers.append(f"{dist} -")
    lines = [f"python {platform.python_version()}; " + ", ".join(vers)]
    if blas:
        from threadpoolctl import threadpool_info

        libs = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads default, "
                f"{i.get('architecture')})" for i in threadpool_info() if i["user_api"] == "blas"]
        env = {k: v for k, v in os.environ.items()
               if k.startswith(("OPENBLAS", "OMP_", "MKL_")) and k != "OPENBLAS_L2_SIZE"}
        lines.append(f"CPU cores: {os.cpu_count()}; BLAS: {'; '.join(libs) or 'none found'}")
        lines.append(f"BLAS/OpenMP environment: {env or 'none'}")
    else:
        lines.append(f"CPU cores: {os.cpu_count()}")
    lines.append("load average at start: " + load_text())
    return lines


def print_header(script: str, dists: Sequence[str], *, blas: bool = True) -> None:
    """The command line of ``script`` and the machine (:func:`environment`), indented."""
    print(f"{script}: " + " ".join([os.path.basename(sys.executable), *sys.argv]))
    for line in environment(dists, blas=blas):
        print("  " + line)


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def load_summary(results: Results) -> str | None:
    """One line on the 1-minute load average before the runs (None without runs)."""
    loads = results.loads()
    if not loads:
        return None
    return (f"load average (1 min) before the runs: {min(loads):.2f} to {max(loads):.2f} "
            f"(median {statistics.median(loads):.2f}) on {os.cpu_count()} cores")


# -- signals.Session.timings -----------------------------------------------------------------

#: the parts of a chunk's flush in ``Session.timings`` (besides ``on_chunk <recorder>``);
#: with ``pipeline`` most ``on_chunk`` run on the worker thread and ``wait`` is the main thread
#: waiting for it
FLUSH_PARTS = ("wait", "agree", "reduce", "write")


def flush_seconds(timings: Mapping[str, float]) -> float:
    """Seconds of every chunk flush in ``timings``: recorders, wait, agree, reduce, write
    (summed over both threads with ``pipeline``)."""
    return sum(v for k, v in timings.items() if k.startswith("on_chunk ") or k in FLUSH_PARTS)


def cost_split(at_run_end: Mapping[str, float], at_close: Mapping[str, float]) -> dict[str, float]:
    """The parts of a recording from two copies of :attr:`signals.Session.timings`.

    ``at_run_end`` is copied when ``Session.run`` returns, ``at_close`` after the session is
    closed (its last flush included). ``Session`` times the reading of the currents alone as
    ``sample`` (flushes apart), which is ``gather`` here. Returns ``gather``, ``start``,
    ``on_chunk <name>`` per recorder, ``wait``, ``agree``, ``reduce``, ``write`` (all at close),
    ``last_flush`` (the part of those spent at close) and ``chunks``.
    """
    gather = at_run_end.get("sample", 0.0)
    out = {"gather": gather, "start": at_close.get("start", 0.0)}
    out.update({k: v for k, v in at_close.items() if k.startswith("on_chunk ")})
    out.update({k: at_close.get(k, 0.0) for k in FLUSH_PARTS})
    out["last_flush"] = flush_seconds(at_close) - flush_seconds(at_run_end)
    out["chunks"] = at_close.get("chunks", 0)
    return out
