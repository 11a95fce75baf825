# `make run` and `make test` are the two commands a new user needs (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test lint format schema lock clean

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

# A complete system: the Procfile's `release` (migrate), then its `web` through honcho, which
# prefixes each process's output and stops them all on Ctrl-C. With REDIS_URL the web process
# runs no jobs (JOBS_EMBEDDED_WORKER turns off), so the Procfile's `worker` runs beside it.
# PATH makes the Procfile's `python` and `daphne` the venv's.
run: export DEBUG ?= 1
run: export BIND_ADDRESS ?= 127.0.0.1
run: export PATH := $(abspath $(BIN)):$(PATH)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/honcho start --port $(PORT) web $(if $(REDIS_URL),worker)

# The suite on SQLite and the in-memory layer, then on PostgreSQL and Redis where they are found,
# with coverage over every leg: tests/legs.py.
test: export SECRET_KEY ?= test-only-secret-key
test: $(STAMP) lint
	$(BIN)/python -m tests.legs $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The schema does not depend on the key, but the settings refuse to load without one.
schema: export SECRET_KEY ?= schema-only-secret-key
schema: $(STAMP)
	$(BIN)/python manage.py spectacular --file openapi/schema.yaml --validate --fail-on-warn

# Re-pins requirements.lock from pyproject.toml's direct dependencies.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check '.[dev]'
	.lock-venv/bin/pip freeze --exclude realtime-rest-backend > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf $(VENV) .coverage* htmlcov

# The browser end-to-end test of the JS client (clients/js): its unit tests, then Chromium
# against a real Daphne (tests/e2e). Uses Debian's Chromium, never a browser Playwright downloads.
CHROMIUM ?= /usr/bin/chromium

.PHONY: e2e
e2e: $(STAMP)
	@command -v npm >/dev/null || { echo "make e2e needs Node 20+ and npm."; exit 1; }
	@test -x $(CHROMIUM) || { echo "make e2e needs Chromium at $(CHROMIUM):" \
		"apt-get install -y chromium (or set CHROMIUM=/path/to/chromium)."; exit 1; }
	cd clients/js && npm ci --no-audit --no-fund
	cd tests/e2e && npm ci --no-audit --no-fund
	cd clients/js && npm test
	cd tests/e2e && CHROMIUM=$(CHROMIUM) npm test

# The benchmark of issue 6 (bench/README.md): ours against bare floors, on SQLite + in-memory
# layer and on PostgreSQL + Redis. BENCH_QUICK=1 for a short run; BENCH_PROFILE=1 adds a py-spy
# profile; BENCH_ARGS passes options (`.venv/bin/python -m bench.run --help`).
.PHONY: bench
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_NODE := bench/client/node_modules/.package-lock.json

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $(BENCH_STAMP)

$(BENCH_NODE): bench/client/package.json bench/client/package-lock.json
	npm ci --prefix bench/client --no-audit --no-fund --loglevel=error

bench: $(BENCH_STAMP) $(BENCH_NODE)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
