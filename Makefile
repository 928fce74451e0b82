# Two commands: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test bench bench-data install sysdeps-run sysdeps-test lint format migrate demo demo-reset ci worker beat clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q ".[dev]"
	touch $@

# The system packages first: a Python package is built against their headers.
install: sysdeps-run $(STAMP)

sysdeps-run:
	@scripts/system-deps.sh run

sysdeps-test:
	@scripts/system-deps.sh test

migrate: install sysdeps-run
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

# Rebuild the demo from scratch: every row deleted (the schema kept), then the demo loaded again.
demo-reset: migrate
	$(BIN)/python manage.py flush --noinput
	$(BIN)/python manage.py load_demo

# `make run RESET=1` rebuilds the demo first.
run: $(if $(RESET),demo-reset,demo)
	@echo "Serving on http://$(HOST):$(PORT)/  (API: /api/v1/docs/, admin: /admin/)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# No persistent connections in tests: the live server's threads would keep the test database open.
test: install sysdeps-test
	DB_CONN_MAX_AGE=0 $(BIN)/python -m pytest $(PYTEST_ARGS)

# Benchmarks print their figures (medians over several runs); each bench/*.py runs on its own.
bench: install sysdeps-test
	@for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The data issue's figures in one run: ingest, then the catalogue at a million collections (PostgreSQL).
bench-data: install sysdeps-test
	@for script in bench/ingest.py bench/catalogue.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/celery -A config worker -l info

# One beat for the whole site: it re-sends notifications that no worker took (CELERY_BEAT_SCHEDULE).
beat: install
	$(BIN)/celery -A config beat -l info

ci:
	bash .ci/run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
