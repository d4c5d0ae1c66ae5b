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

# The whole suite again on NEURON 8.2.7, with the hnn-core tests that skip on NEURON 9.
test-nrn82: $(STAMP82)
	$(VENV82)/bin/python -m pytest -q -rs tests

# The gallery and API reference (Sphinx, numpydoc, sphinx-gallery); warnings are errors.
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/record_overhead.py

clean:
	rm -rf $(VENV) $(VENV82) demo_output docs/_build docs/generated docs/auto_examples
