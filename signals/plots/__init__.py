"""Figures from run files: each function takes ``ax=None`` and returns the Figure.

The functions read only the run file (an ``xarray.Dataset`` from :func:`signals.open_run`, or
a ``DataArray`` where stated) and compute through :mod:`signals.analysis`; long recordings are
read block by block (traces drawn as min/max envelopes, CSD of bin means), never loaded whole.
Populations keep one colour across every figure of a run (:func:`population_colors` on the
run's population order), electrodes one colour across the concentration figures
(:func:`electrode_colors`); every axis states its unit.

Multi-panel figures (spectrogram per electrode, dipole components, the LFP summary, the
concentration next to the LFP) take ``ax`` as a sequence of Axes, one per panel.

Every function is importable from here (``from signals.plots import plot_psd``); they live in
one module per topic:

- ``signals.plots.lfp``: :func:`plot_lfp`, :func:`plot_csd`, :func:`plot_lfp_summary`,
  :func:`plot_electrodes` (and :func:`electrode_view`), :func:`plot_traces`;
- ``signals.plots.spectral``: :func:`plot_psd` (also of many runs, :func:`signals.open_runs`),
  :func:`plot_spectrogram`, :func:`plot_coherence`, :func:`plot_band_power`,
  :func:`plot_aperiodic`;
- ``signals.plots.coupling``: :func:`plot_stlfp`, :func:`plot_sfc`, :func:`plot_pac`;
- ``signals.plots.events``: :func:`plot_erp`;
- ``signals.plots.spikes``: :func:`plot_raster`, :func:`plot_rates`,
  :func:`plot_population_rate`, :func:`plot_rate_psd`, :func:`plot_spike_correlation`,
  :func:`plot_granger`;
- ``signals.plots.network``: :func:`plot_matrix` (and :func:`matrix_format`),
  :func:`plot_connectivity`, :func:`plot_stacked_bar`, :func:`plot_network_2d`;
- ``signals.plots.head``: :func:`plot_dipole`, :func:`plot_eeg_topomap`, :func:`plot_sensors`;
- ``signals.plots.rxd``: :func:`plot_concentration`, :func:`plot_concentration_slice`,
  :func:`plot_concentration_lfp`.
"""

from signals.plots._base import EXTERNAL_COLOR, electrode_colors, nice_value, population_colors
from signals.plots.coupling import plot_pac, plot_sfc, plot_stlfp
from signals.plots.events import plot_erp
from signals.plots.head import plot_dipole, plot_eeg_topomap, plot_sensors
from signals.plots.lfp import (
    electrode_view,
    plot_csd,
    plot_electrodes,
    plot_lfp,
    plot_lfp_summary,
    plot_traces,
)
from signals.plots.network import (
    matrix_format,
    plot_connectivity,
    plot_matrix,
    plot_network_2d,
    plot_stacked_bar,
)
from signals.plots.rxd import plot_concentration, plot_concentration_lfp, plot_concentration_slice
from signals.plots.spectral import plot_aperiodic, plot_band_power, plot_coherence, plot_psd, plot_spectrogram
from signals.plots.spikes import (
    plot_granger,
    plot_population_rate,
    plot_raster,
    plot_rate_psd,
    plot_rates,
    plot_spike_correlation,
)

__all__ = [
    "EXTERNAL_COLOR",
    "electrode_colors",
    "electrode_view",
    "matrix_format",
    "nice_value",
    "plot_aperiodic",
    "plot_band_power",
    "plot_coherence",
    "plot_concentration",
    "plot_concentration_lfp",
    "plot_concentration_slice",
    "plot_connectivity",
    "plot_csd",
    "plot_dipole",
    "plot_eeg_topomap",
    "plot_electrodes",
    "plot_erp",
    "plot_granger",
    "plot_lfp",
    "plot_lfp_summary",
    "plot_matrix",
    "plot_network_2d",
    "plot_pac",
    "plot_population_rate",
    "plot_psd",
    "plot_rate_psd",
    "plot_raster",
    "plot_rates",
    "plot_sensors",
    "plot_sfc",
    "plot_spectrogram",
    "plot_spike_correlation",
    "plot_stacked_bar",
    "plot_stlfp",
    "plot_traces",
    "population_colors",
]
