# The set-up contract: `make run` starts the demo, `make test` runs the whole suite.
# Both create .venv with Python 3.11 when it is missing and install the project into it.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install install-dev run test pytest lint format browser clean

help:
	@echo "make run      set up .venv, migrate, seed the demo, run web + worker + beat (Ctrl-C stops)"
	@echo "make test     set up .venv with dev tools, run the whole test suite, then lint"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make format   ruff format and ruff check --fix"
	@echo "make clean    remove caches and collected static files (keeps var/ and .venv)"

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed: put python3.11 or python3 on PATH" >&2; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; $(PYTHON) is " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)

# Stamps: reinstall when pyproject.toml changes. The dev install covers the plain one.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/python scripts/run.py

browser:
	@bash scripts/ensure-chromium.sh

# The whole suite (exit 5, "no tests collected", fails like any other), then lint.
test: install-dev browser
	@status=0; \
	$(BIN)/pytest $(PYTEST_ARGS) || status=$$?; \
	$(MAKE) --no-print-directory lint || { [ $$status -ne 0 ] || status=1; }; \
	exit $$status

pytest: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf staticfiles .pytest_cache .ruff_cache test-results
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
