# pixrelay — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint typecheck layers unit install clean bench soak

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
	$(VENV)/bin/ruff check domain application adapters entrypoints tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

layers: $(STAMP)
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(PY) -m pytest -q

test: $(STAMP)
	$(VENV)/bin/ruff check domain application adapters entrypoints tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q --cov=domain --cov=application --cov-branch --cov-report=term:skip-covered --cov-fail-under=90

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pixrelay .pytest_cache .mypy_cache .ruff_cache
