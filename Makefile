# Fresh machine: Python 3.11, git and make are enough.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/signals demo --out demo_output --force

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -rs tests

# The gallery and API reference (Sphinx, numpydoc, sphinx-gallery); warnings are errors.
docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[docs]"
	$(BIN)/python -m sphinx -W --keep-going -b html -q docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/record_overhead.py

clean:
	rm -rf $(VENV) demo_output docs/_build docs/generated docs/auto_examples
