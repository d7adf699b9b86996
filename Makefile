# Two commands do all the set-up on a fresh machine:
#   make demo   runs the main job on an embedded default (no downloads): the miniature reproduction
#   make test   runs the whole suite (export check, notebooks, docs build up to quarto)
# Both create or refresh .venv by themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbdev_test runs two notebooks at once on the 2-core CI machines, one thread each. (Measured here:
# XViT-B/16 on 8 frames takes 4.1-5.2 s with 1 thread and 2.6-3.4 s with 2, so `xvit demo` keeps torch's default; the miniature models of `make demo` are faster on one thread.)
TEST_THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: all venv demo test test-all export-check nbtest docs-check clean-venv export prepare readme gpu-wheels wheel outputs

all: test

$(STAMP): settings.ini setup.py
	@test -d $(VENV)/lib || { free=$$(df -Pk . | awk 'NR == 2 {print int($$4 / 1048576)}'); [ "$$free" -ge 7 ] || \
	  echo "warning: $$free GiB free on this disk; .venv takes about 6.5 GiB (torch's CUDA build): free some space if pip stops with 'No space left on device'"; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip check
	touch $(STAMP)

venv: $(STAMP)

# the miniature reproduction of the paper's claim (nbs/08_reproduce.ipynb), one seed: 10 training runs in two
# processes of one thread each: 2 min 9 s on two free cores of an AVX-512 EPYC (247 s of CPU time), 7 min 7 s on an AVX2 one
# (821 s): the work is matrix products, so it follows the CPU's vector units. Table printed, CSVs and figure in
# demo_results/miniature/ (each run is saved as it ends: a rerun resumes)
demo: $(STAMP)
	$(BIN)/xvit reproduce --seeds 1 --out demo_results

test: $(STAMP) export-check docs-check nbtest

# xvit/ must be exactly what nbdev exports from nbs/ (it is never edited by hand)
export-check: $(STAMP)
	@tmp=$$(mktemp -d) && cp -r xvit $$tmp/ && $(BIN)/nbdev_export && \
	if ! diff -r -q -x __pycache__ $$tmp/xvit xvit; then \
	  echo "xvit/ was out of sync with nbs/: nbdev_export has now rewritten it; commit the notebooks and xvit/ together."; exit 1; \
	fi; rm -rf $$tmp; echo "export-check: xvit/ matches nbs/"

# A wheel built from the checkout, installed into an empty folder: the notebooks run against it, each one alone in an
# empty folder with no GPU visible, as in Colab (.ci/notebooks.py; two at once, one thread each)
SITE := build/xvit-site
wheel: $(STAMP)
	@rm -rf build/wheel build/lib build/bdist* $(SITE) && $(BIN)/pip wheel -q --no-deps --no-build-isolation -w build/wheel . && \
	$(BIN)/pip install -q --no-deps --target $(SITE) build/wheel/xvit-*.whl && echo "wheel: $$(ls build/wheel) installed in $(SITE)"

# Every notebook runs (cells flagged slow or gpu are skipped; `make test-all` runs slow ones too) and its text outputs
# must match the committed ones: a notebook committed without re-executing it fails here
nbtest: wheel
	$(BIN)/python .ci/notebooks.py selftest
	$(BIN)/python .ci/notebooks.py check --site $(SITE) $(if $(NBTEST_FLAGS),--flags $(NBTEST_FLAGS))

# Re-execute the notebooks and write their outputs into them (then commit them): after changing a notebook
outputs: export
	@$(MAKE) --no-print-directory wheel
	$(BIN)/python .ci/notebooks.py run --site $(SITE) $(NB)

test-all: NBTEST_FLAGS = slow
test-all: test

# The docs build up to quarto. nbdev_proc_nbs tries to install quarto when it is missing,
# which needs a download: give it a no-op quarto on PATH for this one command.
docs-check: $(STAMP)
	@tmp=$$(mktemp -d) && printf '#!/bin/sh\nexit 0\n' > $$tmp/quarto && chmod +x $$tmp/quarto && \
	if command -v quarto >/dev/null; then q=""; else q=$$tmp; fi; \
	PATH="$${q:+$$q:}$$PATH" $(BIN)/nbdev_proc_nbs && test -f _proc/_quarto.yml && echo "docs-check: nbdev_proc_nbs ok" && \
	$(BIN)/python .ci/docs_check.py && echo "docs-check: sidebar lists the notebooks; links, pages and Colab badges resolve"

export: $(STAMP)
	$(BIN)/nbdev_export

# README.md is generated from nbs/index.ipynb: by nbdev_readme where quarto exists, else by nbconvert
readme: $(STAMP)
	@if command -v quarto >/dev/null; then $(BIN)/nbdev_readme; else \
	  rm -rf nbs/figures/readme && cd nbs && ../$(BIN)/jupyter nbconvert --to markdown --execute index.ipynb --output-dir .. --output README \
	    --NbConvertApp.output_files_dir=nbs/figures/readme >/dev/null && echo "README.md written from nbs/index.ipynb"; fi
	@sed -i 's#](figures/#](nbs/figures/#g; s#^!\[png\](nbs/figures/readme/#![figure](nbs/figures/readme/#' README.md   # figures live next to the notebooks
	@$(BIN)/python -c "import re, pathlib; p = pathlib.Path('README.md'); \
	  p.write_text(re.sub(r'\x60\x60\x60python\n#\| (?:echo: false|hide)\n.*?\x60\x60\x60\n+', '', p.read_text(), flags=re.S))"   # nbconvert ignores '#| echo: false' and '#| hide'

prepare: $(STAMP)
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(MAKE) readme

clean-venv:
	rm -rf $(VENV)

# The workplace's GPU machines hold torch, timm, einops, h5py, pandas and matplotlib but reach no registry:
# `make gpu-wheels` puts what xvit and its notebook tests need beyond that (Python 3.12 wheels, the versions
# tested here) in .whl/, which a GPU run carries and installs with
#   pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD PATH=/tmp/site/bin:$PATH
GPU_WHEELS := av nbdev execnb fastcore fastgit ghapi asttokens astunparse watchdog ipython ipython_pygments_lexers jedi parso \
  matplotlib-inline pexpect ptyprocess prompt_toolkit wcwidth stack-data executing pure_eval traitlets comm ipywidgets \
  jupyterlab_widgets widgetsnbextension
gpu-wheels: $(STAMP)
	@$(BIN)/pip freeze | python3 -c "import sys, re; want = {re.sub('[-_.]+', '-', w).lower() for w in sys.argv[1:]}; \
	  print('\n'.join(l.strip() for l in sys.stdin if re.sub('[-_.]+', '-', l.split('==')[0]).lower() in want))" $(GPU_WHEELS) > .gpu-wheels.txt
	$(BIN)/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
	  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl -r .gpu-wheels.txt
	@rm -f .gpu-wheels.txt; du -sh .whl
