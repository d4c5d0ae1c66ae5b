"""
CSD estimators against the true CSD
===================================

Which CSD estimator recovers the model's own current source density best? Two short runs
record the LFP of a laminar probe and, on the same contacts, the true CSD
(:class:`signals.recorders.LaminarCSD`: the membrane currents in a cylinder around each
contact, over its volume): the demo network, and a network of passive ball-and-stick pyramidal
cells in two layers driven by synaptic volleys onto known layers (L5 apical tufts at
100-200 µm, L2/3 basal dendrites at 420-470 µm). Every estimator of
:func:`signals.analysis.csd.csd` is scored by :func:`signals.analysis.csd.csd_error`: the RMS
error over time at each contact over the truth's RMS over all depths and times.

The runs are 100 ms to keep the documentation build quick; ``benchmarks/csd_estimators.py``
runs the same comparison longer and prints the tables of the README.
"""

# %%
import importlib.util

from _runs import CACHE, EXAMPLES

# the benchmark's network, recording and scoring (benchmarks/csd_estimators.py)
here = EXAMPLES.parent / "benchmarks" / "csd_estimators.py"
spec = importlib.util.spec_from_file_location("csd_estimators", here)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

CACHE.mkdir(parents=True, exist_ok=True)
results = {}
for name in ("demo", "layered"):
    path = CACHE / f"csd_benchmark_{name}_100ms.nc"
    if not path.exists():
        bench.record_in_subprocess(name, path, 100.0)  # NEURON: one model per process
    results[name] = bench.evaluate(path)
    print(bench.markdown_table(results[name][0], f"{name} network (100 ms)"), "\n")

# %%
# The true CSD, the best and the worst estimate (by the error over all depths), and the error
# per depth of every estimator (legend: over all depths).
fig = bench.plot(results)
