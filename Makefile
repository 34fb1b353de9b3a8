# pixrelay — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck layers unit install clean bench soak screenshots

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pixrelay needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pixrelay serve

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
