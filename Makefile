# Two commands do all the set-up on a fresh machine:
#   make demo   runs the main job on an embedded default (no downloads)
#   make test   runs the whole suite (export check, notebooks, docs build up to quarto)
# Both create or refresh .venv by themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Small models on 2 cores run faster single-threaded (measured: see nbs/00_core.ipynb)
export OMP_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: all demo test export-check nbtest docs-check clean-venv export clean prepare

all: test

$(STAMP): settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/xvit demo

test: $(STAMP) export-check nbtest docs-check
	@echo "make test: all checks passed"

# xvit/ must be exactly what nbdev exports from nbs/ (it is never edited by hand)
export-check: $(STAMP)
	@tmp=$$(mktemp -d) && cp -r xvit $$tmp/ && $(BIN)/nbdev_export && \
	if ! diff -r -q -x __pycache__ $$tmp/xvit xvit; then \
	  echo "xvit/ was out of sync with nbs/: nbdev_export has now rewritten it; commit the notebooks and xvit/ together."; exit 1; \
	fi; rm -rf $$tmp; echo "export-check: xvit/ matches nbs/"

nbtest: $(STAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing

# The docs build up to quarto. nbdev_proc_nbs tries to install quarto when it is missing,
# which needs a download: give it a no-op quarto on PATH for this one command.
docs-check: $(STAMP)
	@tmp=$$(mktemp -d) && printf '#!/bin/sh\nexit 0\n' > $$tmp/quarto && chmod +x $$tmp/quarto && \
	if command -v quarto >/dev/null; then q=""; else q=$$tmp; fi; \
	PATH="$${q:+$$q:}$$PATH" $(BIN)/nbdev_proc_nbs && test -f _proc/_quarto.yml && echo "docs-check: nbdev_proc_nbs ok"

export: $(STAMP)
	$(BIN)/nbdev_export

prepare: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_readme

clean-venv:
	rm -rf $(VENV)
