"""Record the networks hnn-core simulates (hnn-core 0.6.1, NEURON <= 8.2.7).

hnn-core builds its network inside ``simulate_dipole`` (one ``NetworkBuilder`` per trial),
initialises it and runs it, all in one call and, with ``MPIBackend``, in child processes. It
offers no public hook for that, so :func:`record_hnn_core` wraps, while its ``with`` block
lasts, the hnn-core 0.6.1 internals listed in :data:`HOOKS`; the user's own code names none of
them. Any other hnn-core version is refused with a clear error rather than recorded wrongly.

.. code-block:: python

    from hnn_core import jones_2009_model, simulate_dipole
    from hnn_core.network_models import add_erp_drives_to_jones_model

    net = jones_2009_model(mesh_shape=(3, 3))
    add_erp_drives_to_jones_model(net)
    with signals.network.record_hnn_core(net, [Dipole(), LFP(probe)], path="erp_{trial}.nc") as rec:
        dpls = simulate_dipole(net, tstop=170.0, n_trials=2)
    rec.paths  # [PosixPath('erp_0.nc'), PosixPath('erp_1.nc')]
"""

from __future__ import annotations

import copy
import gc
import os
import pickle
import runpy
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from signals.network import SegmentTable, from_neuron
from signals.recorder import Recorder

__all__ = ["HOOKS", "SUPPORTED_VERSIONS", "HnnRecording", "from_hnn_core", "record_hnn_core"]


#: hnn-core versions whose internals signals was written against and tested with.
SUPPORTED_VERSIONS = ("0.6.1",)

#: The hnn-core methods wrapped, as (module, class, attribute); signals also reads the instance
#: attributes ``NetworkBuilder._cells`` (the cells built on a rank), ``NetworkBuilder.trial_idx``
#: and ``Cell._nrn_sections`` (a cell's NEURON sections), and replaces the child script at the
#: end of ``MPIBackend.mpi_cmd``.
HOOKS = (
    ("hnn_core.network_builder", "NetworkBuilder", "aggregate_data"),  # end of a trial's run
    ("hnn_core.parallel_backends", "JoblibBackend", "simulate"),
    ("hnn_core.parallel_backends", "MPIBackend", "simulate"),  # and its public `mpi_cmd`
    ("hnn_core.network_builder", "NetworkBuilder", "_build"),  # cells exist, before finitialize
)


def _hnn_core():
    """The hnn_core module, checked to be a version whose internals signals knows."""
    try:
        import hnn_core
    except Exception as err:  # on NEURON 9 the import itself fails (nrnunit_use_legacy)
        raise ImportError(
            "hnn-core could not be imported "
            f"({type(err).__name__}: {err}); signals records hnn-core 0.6.1 networks, which "
            "need NEURON <= 8.2.7: pip install 'neuro-signals[hnn]' 'neuron==8.2.7'"
        ) from err
    found = getattr(hnn_core, "__version__", "unknown")
    if found not in SUPPORTED_VERSIONS:
        raise RuntimeError(
            f"signals records hnn-core {', '.join(SUPPORTED_VERSIONS)} networks through hnn-core "
            f"internals (NetworkBuilder._build, NetworkBuilder._cells, ...); found hnn-core "
            f"{found}. Install hnn-core==0.6.1 or a signals release that supports {found}."
        )
    import importlib

    for module, cls, attr in HOOKS:
        if not hasattr(getattr(importlib.import_module(module), cls, None), attr):
            raise RuntimeError(f"hnn-core {found} has no {module}.{cls}.{attr}, which signals "
                               "wraps to record its networks")
    return hnn_core


def from_hnn_core(builder: Any) -> SegmentTable:
    """SegmentTable of the cells a built hnn-core ``NetworkBuilder`` holds on this rank.

    Parameters
    ----------
    builder : hnn_core.network_builder.NetworkBuilder
        A built network (``NetworkBuilder(net, trial_idx=...)``). Most users want
        :func:`record_hnn_core`, which finds it inside ``simulate_dipole``.

    Returns
    -------
    SegmentTable
        Populations are hnn-core's cell types, in ``net.cell_types`` order (all four of
        ``jones_2009_model``: baskets included, although hnn-core's dipole has only the
        pyramidal cells); gids are hnn-core's gids. Drives (artificial cells) have no
        membrane and are left out. Geometry in µm from hnn-core's 3-D points, in NEURON's
        coordinates (the apical dendrites of hnn-core's pyramidal cells point along +z).
    """
    _hnn_core()
    net = builder.net
    members: dict[str, list] = {name: [] for name in net.cell_types}
    for cell in builder._cells:  # hnn-core 0.6.1: the real cells built on this rank
        secs = list(cell._nrn_sections.values())
        members[net.gid_to_type(cell.gid)].append(SimpleNamespace(gid=int(cell.gid), all=secs))
    return from_neuron(populations=members)


class HnnRecording:
    """Records every trial hnn-core simulates while its ``with`` block lasts.

    Made by :func:`record_hnn_core`; see there. After the block, :attr:`paths` lists the run
    files written, one per trial, in trial order.
    """

    def __init__(self, net: Any, recorders: Sequence[Recorder | str], *, path: str | os.PathLike,
                 session_kwargs: dict[str, Any]) -> None:
        self.net = net
        self.recorders = list(recorders)
        self.path = str(Path(path).resolve())  # MPI children start in the same directory
        self.session_kwargs = dict(session_kwargs)
        self.paths: list[Path] = []
        self._run: dict[str, Any] = {}
        self._session = None
        self._saved: list[tuple[type, str, Any]] = []

    # -- one trial --------------------------------------------------------------------------

    def trial_path(self, trial: int) -> Path:
        """Run file of trial ``trial`` (0-based)."""
        return Path(self.path.format(trial=trial))

    def _check_trials(self, n_trials: int | None) -> None:
        n = 1 if n_trials is None else int(n_trials)
        if n > 1 and "{trial}" not in self.path:
            raise ValueError(f"{n} trials need one run file each: put '{{trial}}' in path "
                             f"(e.g. 'run_{{trial}}.nc'), got {self.path!r}")

    def _start_trial(self, builder: Any) -> None:
        from signals.engine.session import Session

        hnn_core = _hnn_core()
        if builder.net is not self.net and not self._run.get("child"):
            return  # another network simulated inside the block: not ours to record
        trial = int(builder.trial_idx)
        attrs = {"model_source": "hnn-core", "hnn_core_version": hnn_core.__version__,
                 "trial": trial, **self._run.get("attrs", {}),
                 **dict(self.session_kwargs.get("attrs") or {})}
        kwargs = {k: v for k, v in self.session_kwargs.items() if k != "attrs"}
        # fresh recorders per trial: setup() stores per-run state on them
        self._session = Session(from_hnn_core(builder), copy.deepcopy(self.recorders),
                                path=self.trial_path(trial), attrs=attrs, **kwargs).attach()

    def _end_trial(self, error: BaseException | None = None) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close(error=error)
            self.paths.append(session.path)
        # A closed session's objects hold the trial's sections in reference cycles. They must be
        # gone before hnn-core builds the next trial: hnn-core frees the vectors its dipole
        # mechanisms point to, and NEURON 8.2 crashes (segfault) on such live sections.
        del session
        gc.collect()

    # -- hooks ------------------------------------------------------------------------------

    def _wrap(self, cls: type, name: str, make) -> None:
        original = cls.__dict__[name]
        self._saved.append((cls, name, original))
        setattr(cls, name, make(original))

    def __enter__(self) -> HnnRecording:
        _hnn_core()
        from hnn_core.network_builder import NetworkBuilder
        from hnn_core.parallel_backends import JoblibBackend, MPIBackend

        rec = self
        if self._saved:
            raise RuntimeError("this recording is already active")

        def build(original):
            def _build(builder, *args, **kwargs):
                out = original(builder, *args, **kwargs)
                rec._start_trial(builder)
                return out
            return _build

        def aggregate(original):
            def aggregate_data(builder, *args, **kwargs):
                rec._end_trial()  # psolve has returned on every rank: the run is complete
                return original(builder, *args, **kwargs)
            return aggregate_data

        def joblib(original):
            def simulate(backend, net, tstop, dt, n_trials, *args, **kwargs):
                if int(getattr(backend, "n_jobs", 1)) > 1:
                    raise ValueError("signals records hnn-core trials run in this process or "
                                     "with MPIBackend; JoblibBackend(n_jobs > 1) runs them in "
                                     "worker processes: use n_jobs=1 or MPIBackend")
                rec._before_simulate(net, tstop, dt, n_trials)
                return original(backend, net, tstop, dt, n_trials, *args, **kwargs)
            return simulate

        def mpi(original):
            def simulate(backend, net, tstop, dt, n_trials, *args, **kwargs):
                if int(backend.n_procs) == 1:  # hnn-core hands the run to JoblibBackend
                    return original(backend, net, tstop, dt, n_trials, *args, **kwargs)
                rec._before_simulate(net, tstop, dt, n_trials)
                with tempfile.TemporaryDirectory(prefix="signals-hnn-") as tmp:
                    child = rec._write_child(Path(tmp))
                    saved_cmd = list(backend.mpi_cmd)
                    # hnn-core's command ends with its child script; run ours, which installs
                    # these hooks in every MPI process and then runs hnn-core's script
                    backend.mpi_cmd = saved_cmd[:-1] + [str(child)]
                    try:
                        out = original(backend, net, tstop, dt, n_trials, *args, **kwargs)
                    finally:
                        backend.mpi_cmd = saved_cmd
                for trial in range(1 if n_trials is None else int(n_trials)):
                    path = rec.trial_path(trial)
                    if not path.exists():
                        raise RuntimeError(f"hnn-core's MPI run did not write {path}")
                    rec.paths.append(path)
                return out
            return simulate

        self._wrap(NetworkBuilder, "_build", build)
        self._wrap(NetworkBuilder, "aggregate_data", aggregate)
        if not self._run.get("child"):
            self._wrap(JoblibBackend, "simulate", joblib)
            self._wrap(MPIBackend, "simulate", mpi)
        return self

    def _before_simulate(self, net, tstop, dt, n_trials) -> None:
        if net is not self.net:
            raise ValueError("simulate_dipole was called with another Network than the one "
                             "given to record_hnn_core")
        self._check_trials(n_trials)
        if "attrs" in self._run:
            raise ValueError("call simulate_dipole once per record_hnn_core block: a second call "
                             "would write over the first one's trial files")
        self._run["attrs"] = {"tstop": float(tstop), "n_trials": 1 if n_trials is None
                              else int(n_trials)}

    def _write_child(self, tmp: Path) -> Path:
        import hnn_core.mpi_child

        config = tmp / "config.pkl"
        with open(config, "wb") as f:
            pickle.dump({"recorders": self.recorders, "path": self.path,
                         "session_kwargs": self.session_kwargs, "run": self._run,
                         "hnn_child": hnn_core.mpi_child.__file__}, f)
        script = tmp / "signals_hnn_mpi_child.py"
        script.write_text("from signals.hnn import _mpi_child\n"
                          f"_mpi_child({str(config)!r})\n")
        return script

    def __exit__(self, exc_type, exc, tb) -> None:
        own = None
        try:
            if self._session is not None:  # the trial failed before hnn-core aggregated it
                # an error of signals' own inside NEURON's callbacks reaches here rewrapped by
                # NEURON 8.2 ('hocobj_call error'): file and raise the session's own instead
                own = self._session._error
                self._end_trial(error=own or exc or
                                RuntimeError("hnn-core's run ended before its trial finished"))
        finally:
            for cls, name, original in reversed(self._saved):
                setattr(cls, name, original)
            self._saved.clear()
        if own is not None and own is not exc and isinstance(exc, Exception):
            raise own from None


def _mpi_child(config_path: str) -> None:
    """Body of the script every MPI process of hnn-core's ``MPIBackend`` runs under signals."""
    with open(config_path, "rb") as f:
        config = pickle.load(f)
    rec = HnnRecording(None, config["recorders"], path=config["path"],
                       session_kwargs=config["session_kwargs"])
    rec._run = {**config["run"], "child": True}
    with rec:
        runpy.run_path(config["hnn_child"], run_name="__main__")


def record_hnn_core(
    net: Any,
    recorders: Sequence[Recorder | str],
    *,
    path: str | os.PathLike,
    **session_kwargs: Any,
) -> HnnRecording:
    """Record the trials hnn-core simulates inside a ``with`` block, one run file per trial.

    Parameters
    ----------
    net : hnn_core.Network
        The network given to ``simulate_dipole`` inside the block (e.g.
        ``jones_2009_model(mesh_shape=(3, 3))`` with its drives).
    recorders : sequence of Recorder or str
        What to record, e.g. ``[Dipole(), LFP(probe, method="pointsource"), EEG(), Spikes()]``.
        Each trial gets fresh copies.
    path : str or Path
        Run file (netCDF4); ``{trial}`` in it is replaced by the 0-based trial index. Several
        trials need ``{trial}``.
    **session_kwargs
        ``record_dt`` (ms), ``chunk_samples``, ``blas_threads``, ``attrs``, ``compression``,
        ``mpi_backend``: see :class:`signals.Session`.

    Returns
    -------
    HnnRecording
        A context manager; its ``paths`` lists the run files written, in trial order.

    Notes
    -----
    Works with hnn-core's default (serial) backend, ``JoblibBackend(n_jobs=1)`` and
    ``MPIBackend(n_procs=n)`` (each MPI process records its own cells; rank 0 writes). The
    run files hold the time step hnn-core chose (``dt``, default 0.025 ms), ``tstop``, the
    trial index and the hnn-core version as global attributes.

    Conventions, compared with what ``simulate_dipole`` returns (tested on
    ``jones_2009_model(mesh_shape=(3, 3))`` with the ERP drives):

    - Dipoles: signals' ``dipole`` is Σ i_m r over every segment of the recorded cells, in
      nA·µm = fAm. hnn-core's returned ``Dipole`` is in nAm (×1e-6), has only z (the apical
      axis; signals also gives x and y, from oblique and basal dendrites) and only the
      pyramidal cells (its basket cells are single compartments, which carry no dipole), and
      has a fitted per-cell offset subtracted (``_baseline_renormalize``: a constant per cell
      for L2, piecewise linear in time for L5). Before that offset, hnn-core's ``L2`` and
      ``L5`` equal signals' ``dipole_population`` z of ``L2_pyramidal`` and ``L5_pyramidal``
      from the first step on (measured 1.1e-7 and 8e-9 of the peak: NEURON keeps 3-D points in
      single precision); the sign is the same (+z towards the apical tuft).
    - LFP: hnn-core's extracellular arrays are in µV (signals: mV) from every cell; its
      ``psa`` equals ``LFP(..., method="pointsource")`` with the same conductivity (measured
      9e-15 of the peak). Its
      ``lsa`` is not signals' line source: it stretches each inner segment's line to the
      neighbouring segments' centres. hnn-core floors distances at 0.5 µm, signals at the
      segment radius. hnn-core defines its potentials as 0 at t = 0.
    - The t = 0 sample: hnn-core's cells start at section-specific potentials (−72 … −67 mV
      in L5 pyramidal cells); signals' t = 0 membrane currents are then the axial currents
      those potentials drive (they sum to zero in each cell; see the README), not zero.
    """
    _hnn_core()
    if not hasattr(net, "cell_types") or not hasattr(net, "gid_to_type"):
        raise TypeError(f"net must be an hnn_core.Network, got {type(net).__name__}")
    if isinstance(recorders, Recorder | str):
        recorders = [recorders]
    rec = HnnRecording(net, recorders, path=path, session_kwargs=session_kwargs)
    return rec
