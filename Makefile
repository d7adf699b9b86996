# Two commands do all the set-up on a fresh machine:
#   make demo   runs the main job on an embedded default (no downloads)
#   make test   runs the whole suite (export check, notebooks, docs build up to quarto)
# Both create or refresh .venv by themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbdev_test runs two notebooks at once on the 2-core CI machines, one thread each. (Measured here:
# XViT-B/16 on 8 frames takes 4.1-5.2 s with 1 thread and 2.6-3.4 s with 2, so the demo keeps torch's default.)
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: all venv demo test test-all export-check nbtest docs-check clean-venv export prepare readme

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

test: $(STAMP) export-check docs-check nbtest

# xvit/ must be exactly what nbdev exports from nbs/ (it is never edited by hand)
export-check: $(STAMP)
	@tmp=$$(mktemp -d) && cp -r xvit $$tmp/ && $(BIN)/nbdev_export && \
	if ! diff -r -q -x __pycache__ $$tmp/xvit xvit; then \
	  echo "xvit/ was out of sync with nbs/: nbdev_export has now rewritten it; commit the notebooks and xvit/ together."; exit 1; \
	fi; rm -rf $$tmp; echo "export-check: xvit/ matches nbs/"

# nbdev_test runs every notebook (cells flagged slow or gpu are skipped; `make test-all` runs slow ones too)
nbtest: $(STAMP)
	@set -o pipefail; $(TEST_THREADS) $(BIN)/nbdev_test --n_workers 2 --timing $(NBTEST_FLAGS) 2>&1 | tee .nbtest.log; rc=$$?; \
	failed=$$(grep -cE '^\s+\S+\.ipynb$$' .nbtest.log); passed=$$(( $$(ls nbs/*.ipynb | wc -l) - failed )); rm -f .nbtest.log; \
	echo "notebooks: $$passed passed, $$failed failed"; exit $$rc

test-all: NBTEST_FLAGS = --flags slow
test-all: test

# The docs build up to quarto. nbdev_proc_nbs tries to install quarto when it is missing,
# which needs a download: give it a no-op quarto on PATH for this one command.
docs-check: $(STAMP)
	@tmp=$$(mktemp -d) && printf '#!/bin/sh\nexit 0\n' > $$tmp/quarto && chmod +x $$tmp/quarto && \
	if command -v quarto >/dev/null; then q=""; else q=$$tmp; fi; \
	PATH="$${q:+$$q:}$$PATH" $(BIN)/nbdev_proc_nbs && test -f _proc/_quarto.yml && echo "docs-check: nbdev_proc_nbs ok"

export: $(STAMP)
	$(BIN)/nbdev_export

# README.md is generated from nbs/index.ipynb: by nbdev_readme where quarto exists, else by nbconvert
readme: $(STAMP)
	@if command -v quarto >/dev/null; then $(BIN)/nbdev_readme; else \
	  cd nbs && ../$(BIN)/jupyter nbconvert --to markdown --execute index.ipynb --output-dir .. --output README >/dev/null && echo "README.md written from nbs/index.ipynb"; fi
	@sed -i 's#](figures/#](nbs/figures/#g' README.md   # figures live next to the notebooks

prepare: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(MAKE) readme

clean-venv:
	rm -rf $(VENV)
