"""The recording engine: NEURON hooks, sample buffers, the chunk pipeline and MPI.

- :mod:`~signals.engine.session`: :class:`Session`, :func:`record`, :func:`attach` — hooks into
  NEURON's time steps and drives a run.
- :mod:`~signals.engine.sampling`: the pointer buffers sampled every step.
- :mod:`~signals.engine.driver`: the one chunk pipeline (recorder checks, outputs, run-file
  writing) shared by live runs, :func:`signals.recompute` and the importers.
- :mod:`~signals.engine.parallel`: ranks and the per-chunk reduction to rank 0.
- :mod:`~signals.engine.initial`, :mod:`~signals.engine.interrupt`,
  :mod:`~signals.engine.progress`: the t = 0 currents, termination signals, the progress bar.
"""
