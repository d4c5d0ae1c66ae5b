"""Recorder plugins.

The built-in recorders live here; third-party packages add theirs through the entry-point
group ``signals.recorders`` (``name = "package.module:Class"``), where signals declares its
own too. :func:`available` lists both, by name.
"""

from __future__ import annotations

from signals.recorder import Recorder, available
from signals.recorders.concentration import Concentration, IntracellularConcentration
from signals.recorders.connections import Connections
from signals.recorders.csd import LaminarCSD, VolumetricCSD
from signals.recorders.dipole import Dipole
from signals.recorders.eeg import EEG, MEG
from signals.recorders.lfp import LFP
from signals.recorders.membrane import MembraneCurrents
from signals.recorders.spikes import Spikes
from signals.recorders.traces import Traces

__all__ = ["Concentration", "Connections", "Dipole", "EEG", "IntracellularConcentration", "LFP",
           "LaminarCSD", "MEG", "MembraneCurrents", "Spikes", "Traces", "VolumetricCSD", "Recorder",
           "available"]
