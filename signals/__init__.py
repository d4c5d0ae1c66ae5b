"""signals: LFP, EEG/MEG, current dipoles and spikes from NEURON network simulations.

>>> import signals
>>> from signals.recorders import LFP, Spikes
>>> net = signals.network.from_neuron()
>>> probe = signals.electrodes.laminar(x=0, y=0, z=range(-1000, 1, 100))  # µm
>>> signals.record(net, [LFP(probe), Spikes()], tstop=1000, path="run.nc")  # doctest: +SKIP
>>> ds = signals.open_run("run.nc")  # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError, version

from signals import electrodes, network
from signals.engine.parallel import init_mpi_if_launched
from signals.engine.session import Session, attach, record
from signals.recompute import recompute
from signals.recorder import Chunk, Context, LinearRecorder, Recorder, VariableSpec
from signals.store import open_run

try:
    __version__ = version("neuro-signals")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = [
    "Chunk",
    "Context",
    "LinearRecorder",
    "Recorder",
    "Session",
    "VariableSpec",
    "attach",
    "electrodes",
    "init_mpi_if_launched",
    "network",
    "open_run",
    "recompute",
    "record",
]

# many runs at once (issue 17), appended to merge easily
from signals.runs import open_runs  # noqa: E402

__all__ += ["open_runs"]
