"""Recorder plugins.

Built-in recorders are listed here; third-party packages add theirs through the entry-point
group ``signals.recorders`` (``name = "package.module:Class"``). :func:`available` lists both.
"""

from __future__ import annotations

import logging
import warnings
from importlib.metadata import entry_points

from signals.recorder import Recorder
from signals.recorders.concentration import Concentration, IntracellularConcentration
from signals.recorders.connections import Connections
from signals.recorders.dipole import Dipole
from signals.recorders.eeg import EEG, MEG
from signals.recorders.lfp import LFP
from signals.recorders.membrane import MembraneCurrents
from signals.recorders.spikes import Spikes
from signals.recorders.traces import Traces

__all__ = ["Concentration", "Connections", "Dipole", "EEG", "IntracellularConcentration", "LFP", "MEG",
           "MembraneCurrents", "Spikes", "Traces", "Recorder", "available"]

logger = logging.getLogger("signals")

_BUILTINS: dict[str, type[Recorder]] = {
    "concentration": Concentration, "connections": Connections, "dipole": Dipole, "eeg": EEG,
    "intracellular_concentration": IntracellularConcentration, "lfp": LFP, "meg": MEG,
    "membrane": MembraneCurrents, "spikes": Spikes, "traces": Traces,
}


def available() -> dict[str, type[Recorder]]:
    """Recorder classes by name: the built-ins, then those of installed plugins.

    A plugin that fails to load, or reuses a built-in's name, is skipped with a warning.
    """
    found = dict(_BUILTINS)
    for ep in entry_points(group="signals.recorders"):
        if ep.name in _BUILTINS:
            if ep.value.split(":")[0].startswith("signals.recorders."):
                continue
            warnings.warn(f"recorder plugin {ep.value!r} reuses the built-in name {ep.name!r}; "
                          "the built-in is used", stacklevel=2)
            continue
        try:
            cls = ep.load()
        except Exception as err:  # a broken plugin must not break signals
            warnings.warn(f"recorder plugin {ep.name!r} ({ep.value}) failed to load: {err}",
                          stacklevel=2)
            continue
        if ep.name in found:
            warnings.warn(f"two recorder plugins are named {ep.name!r}; keeping the first",
                          stacklevel=2)
            continue
        found[ep.name] = cls
    return found
