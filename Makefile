# Fresh machine: Python 3.11, git and make are enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A second environment with NEURON 8.2.7, the oldest NEURON signals supports, and hnn-core 0.6.1
# (which cannot be imported on NEURON 9).
VENV82 := .venv-nrn82
STAMP82 := $(VENV82)/.installed

.PHONY: install install-nrn82 demo test test-nrn82 lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

$(STAMP82): pyproject.toml
	$(PYTHON) -m venv $(VENV82)
	$(VENV82)/bin/python -m pip install --quiet --upgrade pip
	$(VENV82)/bin/python -m pip install --quiet -e ".[test,hnn]" "neuron==8.2.7"
	touch $(STAMP82)

install-nrn82: $(STAMP82)

demo: $(STAMP)
	$(BIN)/signals demo --out demo_output --force

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs tests

# Everything that runs NEURON, again on NEURON 8.2.7, with the hnn-core tests (and README
# block) that skip on NEURON 9; figure and pure-analysis tests run once, on NEURON 9.
NRN82_TESTS := test_engine test_lfp test_dipole test_eeg test_mpi test_netpyne test_io \
	test_real_models test_hnn test_neuron_versions test_concentration test_contract \
	test_recompute test_snapshots test_store test_validation test_connectivity test_examples \
	test_sampling test_true_csd test_pipeline
test-nrn82: $(STAMP82)
	$(VENV82)/bin/python -m pytest -q -rs $(NRN82_TESTS:%=tests/%.py)
	$(VENV82)/bin/python -m pytest -q -rs tests/test_readme.py -k hnn

# The gallery and API reference (Sphinx, numpydoc, sphinx-gallery); warnings are errors.
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

# Recording overhead against the bare run (benchmarks/record_overhead.py); options through
# BENCH_ARGS, e.g. make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: $(STAMP)
	$(BIN)/python benchmarks/record_overhead.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(VENV82) demo_output docs/_build docs/generated docs/auto_examples
