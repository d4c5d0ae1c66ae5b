"""Analysis of run files: plain functions on xarray objects, one module per topic."""

from signals.analysis import spectral

__all__ = ["spectral"]
