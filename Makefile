# Two commands a learner needs: `make lab` and `make test`.
# Both create or update the virtual environment in .venv/ first; when pyproject.toml has not
# changed since the last install, that step does nothing.
#
# Another Python: `make lab PYTHON=python3.12` (macOS' own python3 is 3.9, too old) makes .venv/
# with that one, so that every command of the README, `.venv/bin/python ...`, works as
# written. `make test-versions` keeps one environment per version beside it (.venv-3.12/...).

PYTHON ?= python3
# The interpreter that PYTHON names, found even where pyenv has it but not on PATH.
PYTHON_EXE := $(shell .ci/find-python $(PYTHON))
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# The versions `make test-versions` runs the core tests on, next to the default one.
OTHER_PYTHONS := python3.12 python3.13
# The core tests: the checker, the servers, the clients and the notebooks.
CORE_TESTS := tests/test_checks.py tests/test_servers.py tests/test_chat_server.py \
	tests/test_server_cli.py tests/test_echo_client.py tests/test_chat_client.py \
	tests/test_notebooks.py
# pytest-xdist workers; tests marked with one xdist_group share a worker (and their setup).
# Three on two cores, because most tests spend their time waiting (for a kernel, a browser, a
# subprocess, a server), not computing: a third worker fills the waits. Measured on a quiet
# 2-core machine, `make test` took 117 s with three workers and 161 s with two.
WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup
ROUNDS ?= 5
# STRESS_OPTIONS=--own-network: each round in a network namespace of its own (tests/stress.py).
STRESS_OPTIONS ?=

.PHONY: install venv-version lab test test-slow test-core test-versions stress lint format clean

# Checked only when PYTHON is given: a plain `make test` uses .venv/ as it was made.
VERSION_CHECK := $(if $(filter command line environment,$(origin PYTHON)),venv-version)

install: $(VERSION_CHECK) $(INSTALLED)

venv-version: | $(BIN)/python
	@$(BIN)/python -c '$(SAME_VERSION)' \
		"$$($(PYTHON_EXE) -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

# An environment made earlier with another Python is not silently reused for this one.
SAME_VERSION := import sys; v = "%d.%d" % sys.version_info[:2]; sys.exit(v != sys.argv[1] and \
	f"$(VENV)/ was made with Python {v}, not $(PYTHON): run `make clean` first, or leave out PYTHON")

$(BIN)/python:
	@test -n "$(PYTHON_EXE)" || { echo "No $(PYTHON) here: install it, or set PYTHON=python3.X"; exit 1; }
	@$(PYTHON_EXE) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "chatlib needs Python 3.11 or newer; set PYTHON=python3.X")'
	$(PYTHON_EXE) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable '.[dev]'
	@touch $@

# `chatlib lab` opens JupyterLab on the course folder at the first lesson, with this
# environment's Python first in its terminals (chatlib/course/tooling/lab.py says how and why).
# LAB_OPTIONS go to JupyterLab, e.g. make lab LAB_OPTIONS="--no-browser --port 8899".
LAB_OPTIONS ?=

lab: install
	$(BIN)/python -m chatlib lab $(LAB_OPTIONS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Every test but the few that need minutes by nature (marked slow: a real JupyterHub with two
# learners, a fresh non-editable install, every lesson in a real JupyterLab, the soak, the
# benchmark); `make test-slow` runs those, and CI runs both.
test: lint
	$(PYTEST) -m "not slow"

test-slow: install
	$(PYTEST) -m slow

# The core tests on this PYTHON (no lint: ruff's verdict does not depend on the version).
test-core: install
	$(PYTEST) $(CORE_TESTS)

# The core tests on every other supported version that this machine has; a missing one is
# skipped with a line that says so.
test-versions:
	@for python in $(OTHER_PYTHONS); do \
		if .ci/find-python $$python >/dev/null 2>&1; then \
			$(MAKE) --no-print-directory test-core PYTHON=$$python VENV=.venv-$${python#python} \
				|| exit 1; \
		else \
			echo "Skipping $$python: $$(.ci/find-python $$python 2>&1)"; \
		fi; \
	done

# The whole suite ROUNDS times with one core kept busy; every failure, with its test id.
stress: install
	$(BIN)/python tests/stress.py --rounds $(ROUNDS) $(STRESS_OPTIONS) -- -n $(WORKERS) --dist loadgroup

clean:
	rm -rf .venv .venv-3.* .pytest_cache .ruff_cache
