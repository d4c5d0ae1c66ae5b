"""Exchange with other tools.

Import runs saved by other simulators as signals run files, so every analysis and figure of
signals works on them:

- :func:`from_netpyne`: NetPyNE's saved output (JSON; pickle only with ``allow_pickle=True``);
- :func:`from_sonata`: SONATA spike files and BMTK's ``ecp.h5`` (needs ``h5py``).

Export a run:

- :func:`to_neo`: a ``neo.Block`` (AnalogSignals, SpikeTrains, units from ``quantities``);
- :func:`to_nwb`: an NWB file (``ElectricalSeries`` with an electrode table; needs ``pynwb``);
- :func:`to_mne`: an ``mne.io.RawArray`` of an EEG (or LFP) variable;
- :func:`to_spikeinterface`: a SpikeInterface recording (µV, probe attached) and the model's
  spikes as its ground-truth sorting (needs ``spikeinterface``).

:func:`convert` does any of these from one file to another (``signals convert IN OUT``); the
input format is told by asking each reader of :func:`list_readers` whether it can open the
file (:func:`guess_reader`). Imported runs carry the variable names, dims, units and attributes
of live runs (:mod:`signals.schema`: ``lfp`` (time, electrode) in mV with ``electrode_x/y/z``
in µm, ``spike_time``/``spike_gid``, ``v`` (time, v_cell), the cell table, ``connection_*``,
``dipole`` (time, component) in nA µm), in NEURON's coordinates.

Modules: :mod:`signals.io.netpyne`, :mod:`signals.io.sonata` (importers and their readers),
:mod:`signals.io.export` (neo, NWB, MNE), :mod:`signals.io.readers` (the reader registry and
:func:`convert`).
"""

from signals.io.export import to_mne, to_neo, to_nwb, to_spikeinterface
from signals.io.netpyne import from_netpyne
from signals.io.readers import Reader, convert, guess_reader, list_readers
from signals.io.sonata import from_sonata

__all__ = ["to_mne", "from_netpyne", "from_sonata", "to_neo", "to_nwb", "to_spikeinterface",
           "convert", "Reader", "guess_reader", "list_readers"]
