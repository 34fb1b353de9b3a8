# pixrelay — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two locks from pyproject.toml (`make lock`): requirements-runtime.lock, what the server needs,
# and requirements.lock, that plus the test and lint tools, at the same versions.
STAMP := $(VENV)/.installed-stamp
RUN_STAMP := $(VENV)/.runtime-stamp
# `make run` installs the runtime only; once `make test` has installed the development set
# (a superset) into the same .venv, `make run` uses that, so neither order undoes the other.
RUN_NEEDS = $(if $(wildcard $(STAMP)),$(STAMP),$(RUN_STAMP))
UV ?= $(firstword $(shell command -v uv) /tmp/lockenv/bin/uv)

.PHONY: run test lint typecheck layers unit install clean bench soak screenshots lock

define venv_with
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pixrelay needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(1)
	$(PY) -m pip install --quiet --no-deps -e .
endef

$(STAMP): requirements.lock pyproject.toml
	$(call venv_with,requirements.lock)
	touch $(STAMP)

$(RUN_STAMP): requirements-runtime.lock pyproject.toml
	$(call venv_with,requirements-runtime.lock)
	touch $(RUN_STAMP)

install: $(STAMP)

run: $(RUN_NEEDS)
	$(VENV)/bin/pixrelay serve

# Regenerate both locks after changing pyproject.toml's dependencies (existing pins are kept;
# the runtime lock takes the development lock's versions). Needs uv (`pip install uv`).
lock:
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock
	$(UV) pip compile pyproject.toml --python-version 3.11 --constraints requirements.lock -o requirements-runtime.lock

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(PY) -m pytest -q

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --cov=domain --cov=application --cov-branch --cov-report=term:skip-covered --cov-fail-under=90

# The crash test at soak size: >= 200 kill -9 of random workers while jobs run.
soak: $(STAMP)
	PIXRELAY_CRASH_JOBS=300 PIXRELAY_CRASH_KILLS=200 PIXRELAY_CRASH_EVERY=0.4 \
		$(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_crash.py
	PIXRELAY_SIM_STEPS=50000 PIXRELAY_SIM_SEEDS=1,2,3,4,5,6,7,8 $(PY) -m pytest -q tests/simulation

# Screenshots of every console page (desktop and phone) from a seeded server: docs/screenshots/.
screenshots: $(STAMP)
	$(PY) tools/screenshots.py

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pixrelay .pytest_cache .mypy_cache .ruff_cache
