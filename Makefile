# One-command entry points (see README.md). Everything runs inside ./.venv, made from requirements.txt.
# Repeat runs are fast: the venv is rebuilt only when requirements change, samples are re-verified, not re-downloaded.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONWARNINGS := ignore::DeprecationWarning
NBVAL := --nbval-lax --nbval-current-env --nbval-cell-timeout=1200 --nbval-sanitize-with ../tests/nbval_sanitize.cfg

.PHONY: setup data course test unit nbval lab notebooks bench clean

setup: $(STAMP) data

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, found {sys.version.split()[0]}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -e .
	touch $(STAMP)

data: $(STAMP)
	$(BIN)/python -m helpers.data

## course: set up, then execute every notebook in order on the sample data; executed copies go to build/executed/
course: setup
	mkdir -p build/executed
	set -e; for nb in $(NOTEBOOKS); do \
	  echo "== $$nb"; start=$$(date +%s); \
	  (cd notebooks && ../$(BIN)/papermill --no-progress-bar --log-level ERROR $$(basename $$nb) ../build/executed/$$(basename $$nb)); \
	  echo "   done in $$(( $$(date +%s) - start )) s"; \
	done

## test: set up, then unit tests + notebook regression tests (nbval); fails if any test fails
test: setup
	$(BIN)/python -m pytest -q tests
	cd notebooks && ../$(BIN)/python -m pytest -q $(NBVAL) -p no:cacheprovider $(notdir $(NOTEBOOKS))

unit: setup
	$(BIN)/python -m pytest -q tests

nbval: setup
	cd notebooks && ../$(BIN)/python -m pytest -q $(NBVAL) -p no:cacheprovider $(notdir $(NOTEBOOKS))

## lab: open JupyterLab on the notebooks
lab: setup
	$(BIN)/jupyter lab notebooks/

## notebooks: rebuild .ipynb from notebooks/src/*.py and re-execute them in place in a clean kernel (commit the result)
notebooks: setup
	$(BIN)/python tools/make_notebook.py $(SRC)
	set -e; for nb in $(if $(SRC),$(patsubst notebooks/src/%.py,notebooks/%.ipynb,$(SRC)),$(NOTEBOOKS)); do \
	  echo "== executing $$nb"; start=$$(date +%s); \
	  (cd notebooks && ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 $$(basename $$nb)); \
	  echo "   done in $$(( $$(date +%s) - start )) s"; \
	done

bench: setup
	$(BIN)/python -m helpers.bench $(WHAT)

clean:
	rm -rf build data/work data/models
