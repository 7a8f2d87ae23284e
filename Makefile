# A thin wrapper: every target runs `course.py` (standard-library Python; works without make on Windows:
# `py course.py test`). PYTHON picks the interpreter for the venv (e.g. `make test PYTHON=python3.13`);
# VENV the folder (default .venv, or .venv-X.Y when .venv was made with another Python).
BOOT ?= $(shell command -v python3 || command -v python)
PYTHON ?=
VENV ?=
COURSE := $(BOOT) course.py $(if $(PYTHON),--python $(PYTHON)) $(if $(VENV),--venv $(VENV))

.PHONY: setup data course test unit nbval lab notebooks pins bench clean browser-test

setup data:  ## venv + pinned packages + helpers (editable) + verified sample data
	$(COURSE) setup

course:      ## set up, then run every notebook on the sample data (executed copies in build/executed/)
	$(COURSE) course $(NB)

test:        ## set up, then notebook regression tests (nbval) + unit tests; NB="01 02" picks notebooks
	$(COURSE) test $(NB)

unit:
	$(COURSE) test --unit-only

nbval:
	$(COURSE) test --nbval-only $(NB)

lab:         ## open JupyterLab on notebooks/
	$(COURSE) lab

notebooks:   ## sync notebooks/src/*.py into the .ipynb (jupytext) and execute them in place, widget state stored
	$(COURSE) notebooks $(NB)

pins:        ## rewrite requirements.txt and environment.yml from pyproject.toml
	$(COURSE) pins

browser-test:  ## headless Chromium + fake camera: 02's slider, 01/06 with SOURCE="browser" (screenshots in build/browser/)
	$(COURSE) browser-test

bench:
	$(COURSE) bench $(WHAT)

clean:
	$(COURSE) clean
