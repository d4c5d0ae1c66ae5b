"""Analysis of run files: plain functions on xarray objects, one module per topic.

- :mod:`~signals.analysis.spectral`: PSD (Welch, multitaper), spectrogram, Morlet wavelet,
  band power, coherence (frequency in Hz, power in ``<units>^2/Hz``).
- :mod:`~signals.analysis.csd`: current source density (standard with Vaknin padding; delta,
  step and spline inverse CSD), µA/mm³.
- :mod:`~signals.analysis.connectivity`: connectivity matrices (probability, weight, strength,
  delay, convergence, divergence, counts) and functional connectivity (spike-count
  correlation, Granger causality).
- :mod:`~signals.analysis.rates`: firing rates, ISI CV, Fano factor, synchrony, population
  rate histograms and their PSD.
- :mod:`~signals.analysis.data`: reading run files in blocks, time windows, spikes, the cell
  table, electrodes sorted and picked by depth, populations ordered by depth.

Matrices over pairs (connectivity, spike-count correlation, Granger causality, coherence)
have the dimensions ``source`` and ``target`` (directed measures go from source to target;
symmetric ones use the same names); the coordinates' ``long_name`` says what they label and
the attribute ``pair_of`` names the dimension paired. A scalar attribute ``X`` with a unit has
it in ``X_units`` (``bin_size``, ``bin_size_units``).

>>> import signals
>>> from signals.analysis import psd
>>> ds = signals.open_run("run.nc")  # doctest: +SKIP
>>> psd(ds.lfp, fmax=200)  # doctest: +SKIP
"""

from signals.analysis import connectivity, csd, rates, spectral
from signals.analysis.connectivity import connectivity_matrix, granger_causality, spike_count_correlation
from signals.analysis.csd import csd as current_source_density
from signals.analysis.rates import (
    fano_factor,
    firing_rates,
    isi_cv,
    population_rate,
    rate_psd,
    synchrony,
)
from signals.analysis.spectral import band_power, coherence, psd, spectrogram, wavelet

__all__ = [
    "band_power",
    "coherence",
    "connectivity",
    "connectivity_matrix",
    "csd",
    "current_source_density",
    "fano_factor",
    "firing_rates",
    "granger_causality",
    "isi_cv",
    "population_rate",
    "psd",
    "rate_psd",
    "rates",
    "spectral",
    "spectrogram",
    "spike_count_correlation",
    "synchrony",
    "wavelet",
]

# Issue 17 (appended, to merge easily):
# - coupling: spike-triggered averages, spike-field coherence, spike phase locking (PLV, PPC)
# - pac: phase-amplitude coupling (Tort MI comodulogram, time-shift surrogates)
# - aperiodic: aperiodic exponent, offset, knee and peaks of spectra (fooof)
# - events: event-related averages with bootstrap intervals, kernel-smoothed population rates
from signals.analysis import aperiodic, coupling, events, pac  # noqa: E402
from signals.analysis.aperiodic import parameterize_spectrum  # noqa: E402
from signals.analysis.coupling import (  # noqa: E402
    spike_field_coherence,
    spike_phase_locking,
    spike_triggered_average,
)
from signals.analysis.events import event_average, event_times, instantaneous_rate  # noqa: E402
from signals.analysis.pac import comodulogram, modulation_index  # noqa: E402

__all__ += [
    "aperiodic", "comodulogram", "coupling", "event_average", "event_times", "events",
    "instantaneous_rate", "modulation_index", "pac", "parameterize_spectrum", "spike_field_coherence",
    "spike_phase_locking", "spike_triggered_average",
]

# Issue 16 (appended): kCSD is method="kcsd" of csd; csd_error compares an estimate with the true CSD
from signals.analysis.csd import csd_error  # noqa: E402

__all__ += ["csd_error"]
