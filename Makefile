# The two commands of the README: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The real services the second test pass talks to; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_BROKER_URL ?= redis://127.0.0.1:6379/14
EMBEDDED_ENV := env -u DATABASE_URL -u CELERY_BROKER_URL -u CELERY_RESULT_BACKEND -u SECRET_KEY -u DEBUG
SERVICE_ENV := env DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_BROKER_URL) \
	SECRET_KEY=test-only-not-a-secret-$(shell echo $$PPID) DEBUG=false VERITY_TEST_PASS=services
PYTEST_ARGS ?=
# Test processes per pass (pytest-xdist); each has its own test database, storage folder and worker queue.
# Tests are handed out one by one in pytest-django's order, so that in every process the tests that
# flush the database (transactional ones) still come after those that need the migrations' rows.
TEST_WORKERS ?= auto
XDIST := -n $(TEST_WORKERS) --dist load
# One thread per test process for OpenMP/BLAS (XGBoost, LightGBM, NumPy): the processes fill the cores,
# and threads spinning on a core another process needs only slow both down.
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# Benchmarks (docs/benchmarks.md). The monitoring one runs in its own environment with the peers it is compared
# with (requirements-bench.txt); the PostgreSQL ones make, use and drop databases whose names start with "bench".
BENCH_VENV := .venv-bench
BENCH_PG ?= postgres://postgres@127.0.0.1:5432
BENCH_EXPLAIN_WORKERS ?= 1,2

.PHONY: demo demo-passwords test test-embedded test-services lint serve bench bench-env

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BENCH_VENV)/.bench: requirements-bench.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements-bench.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

# `make demo PORT=8001` serves elsewhere. The demo serves at WARNING: the periodic jobs it runs in-process
# would otherwise log each run and scroll the accounts away.
PORT ?= 8000
demo: $(VENV)/.runtime
	@$(EMBEDDED_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	@$(EMBEDDED_ENV) $(BIN)/python -m evidence.explain.warm
	@$(EMBEDDED_ENV) $(BIN)/python manage.py demo_setup --url http://127.0.0.1:$(PORT)
	@$(EMBEDDED_ENV) LOG_LEVEL=WARNING $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# New passwords for the demo users, printed once more (the rest of the demo is left as it is).
demo-passwords: $(VENV)/.runtime
	@$(EMBEDDED_ENV) $(BIN)/python manage.py migrate --no-input -v 0
	@$(EMBEDDED_ENV) $(BIN)/python manage.py demo_setup --reset-passwords --url http://127.0.0.1:$(PORT)

# Pass 1: the embedded default (SQLite, jobs in-process).
# Pass 2: PostgreSQL, Redis and a real Celery worker; skipped when they are down, unless CI=true.
test: test-embedded test-services

test-embedded: $(VENV)/.dev
	$(EMBEDDED_ENV) $(ONE_THREAD) $(BIN)/python -m pytest $(XDIST) -m "not postgres and not redis and not worker" $(PYTEST_ARGS)

test-services: $(VENV)/.dev
	@$(SERVICE_ENV) $(BIN)/python -m tests.services; rc=$$?; \
	if [ $$rc -eq 3 ]; then echo "Skipping the PostgreSQL/Redis pass: services not reachable (CI=true makes this fail)."; exit 0; fi; \
	if [ $$rc -ne 0 ]; then exit $$rc; fi; \
	$(SERVICE_ENV) $(ONE_THREAD) $(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(EMBEDDED_ENV) $(BIN)/python manage.py check
	$(EMBEDDED_ENV) $(BIN)/python manage.py makemigrations --check --dry-run

bench-env: $(BENCH_VENV)/.bench

# Every benchmark, one after the other, each with its baselines and peers interleaved in the same run.
bench: $(VENV)/.dev $(BENCH_VENV)/.bench
	$(BIN)/python -m bench.evidence
	$(BIN)/python -m bench.model_card
	$(BENCH_VENV)/bin/python -m bench.monitoring
	$(BIN)/python -m bench.gate
	env DATABASE_URL=$(BENCH_PG)/bench_audit SECRET_KEY=bench-only $(BIN)/python -m bench.audit_trail
	env DATABASE_URL=$(BENCH_PG)/bench_explain SECRET_KEY=bench-only $(BIN)/python -m bench.explain_scale \
		--workers $(BENCH_EXPLAIN_WORKERS)
	OMP_NUM_THREADS=1 $(BIN)/python -m bench.cold_start
