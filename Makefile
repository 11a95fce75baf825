# `make run` and `make test` are the two commands a new user needs (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run cluster test lint checks format schema lock clean

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

# The production shape on one machine (README: The cluster): HAProxy on $(PORT) in front of 3 web
# and 2 worker processes from the Procfile, run by honcho (deploy/Procfile), on PostgreSQL and
# Redis. DEBUG stays off, as in production; the web ports listen on loopback only, since Daphne
# trusts their X-Forwarded-* headers.
cluster: export BIND_ADDRESS ?= 127.0.0.1
cluster: export PATH := $(abspath $(BIN)):$(PATH)
cluster: $(STAMP)
	@case "$$DATABASE_URL" in postgres://*|postgresql://*|pgsql://*) ;; *) \
		echo "make cluster needs DATABASE_URL=postgres://user:password@host:5432/db (PostgreSQL)" \
			"and REDIS_URL=redis://host:6379/0 (several URLs, comma-separated, shard the layer)," \
			"plus SECRET_KEY."; exit 1;; esac
	@test -n "$$REDIS_URL" || { echo "make cluster needs REDIS_URL=redis://host:6379/0" \
		"(several URLs, comma-separated, shard the layer)."; exit 1; }
	@command -v haproxy >/dev/null || { echo "make cluster needs HAProxy: apt-get install -y haproxy"; exit 1; }
	$(BIN)/python manage.py migrate --noinput
	PORT=$(PORT) $(BIN)/honcho start -f deploy/Procfile

# The suite on SQLite and the in-memory layer, then on PostgreSQL and Redis where they are found,
# with coverage over every leg: tests/legs.py. It runs as production does: DEBUG off, a
# 50-character secret (Django's get_random_secret_key() length; these two values are for tests
# only and committed on purpose) and a salt of its own. `make e2e` runs its cluster with them too.
test e2e: export SECRET_KEY ?= test-only-sw0il9n%wfkd1z(8c5w5l*8c0o1sin0k_ot*ne-u
test e2e: export HASHIDS_SALT ?= test-only-salt-f0cjoj&v0jti3l9u4!mru6%45z!zn=via_m
test: $(STAMP) lint checks
	$(BIN)/python -m tests.legs $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# What the suite cannot see: a model change without its migration, and Django's deployment
# checks over the production settings (DEBUG off, a 50-character secret, HTTPS, PostgreSQL and
# Redis: named, never reached).
checks: $(STAMP)
	env -u DEBUG DATABASE_URL=sqlite://:memory: SECRET_KEY=checks-only-secret-key \
		HASHIDS_SALT=checks-only-salt \
		$(BIN)/python manage.py makemigrations --check --dry-run
	env -u DEBUG -u SECURE_COOKIES \
		SECRET_KEY="$$($(BIN)/python -c 'from django.core.management.utils import get_random_secret_key as key; print(key())')" \
		DATABASE_URL=postgres://app@db.internal/app REDIS_URL=redis://cache.internal:6379/0 \
		HASHIDS_SALT=checks-only-salt ALLOWED_HOSTS=api.example.com SECURE_SSL_REDIRECT=1 \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The schema depends on neither, but the settings refuse to load without them.
schema: export SECRET_KEY ?= schema-only-secret-key
schema: export HASHIDS_SALT ?= schema-only-hashids-salt
schema: $(STAMP)
	$(BIN)/python manage.py spectacular --file openapi/schema.yaml --validate --fail-on-warn

# Re-pins from pyproject.toml's two lists: requirements.txt holds the runtime dependencies and
# everything they pull in (what a Procfile platform installs), requirements.lock those and the dev
# tools (what `make test` installs). The runtime set is frozen before the dev tools join it, so
# both files pin each runtime package to the same version. A version requirements.lock already
# pins is kept (it is the constraint): to upgrade a package, delete its line there first (and
# change its pin in pyproject.toml if it is a direct dependency). Sorted, whatever pip's order.
LOCK_PIP := .lock-venv/bin/pip --disable-pip-version-check
LOCK_FREEZE := $(LOCK_PIP) freeze --exclude realtime-rest-backend | LC_ALL=C sort -f

lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	$(LOCK_PIP) install --quiet --constraint requirements.lock .
	$(LOCK_FREEZE) > requirements.txt
	$(LOCK_PIP) install --quiet --constraint requirements.lock '.[dev]'
	$(LOCK_FREEZE) > requirements.lock.new
	mv requirements.lock.new requirements.lock
	rm -rf .lock-venv build realtime_rest_backend.egg-info

clean:
	rm -rf $(VENV) .coverage* htmlcov

# The browser end-to-end test of the JS client (clients/js): its unit tests, then Chromium
# against a real Daphne, and with TEST_DATABASE_URL and TEST_REDIS_URL set (as for `make test`)
# against HAProxy in front of three (tests/e2e). Uses Debian's Chromium, never a browser
# Playwright downloads.
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
# profile; BENCH_ARGS passes options (`.venv/bin/python -m bench.run --help`). `bench-client`
# installs the Node load client's packages (the smoke test in tests/bench runs it too);
# `bench-import` measures a Foo import (bench/import_speed.py).
.PHONY: bench bench-client bench-import
BENCH_STAMP := $(VENV)/.bench-installed
BENCH_NODE := bench/client/node_modules/.package-lock.json

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $(BENCH_STAMP)

$(BENCH_NODE): bench/client/package.json bench/client/package-lock.json
	npm ci --prefix bench/client --no-audit --no-fund --loglevel=error

bench-client: $(BENCH_NODE)

bench: $(BENCH_STAMP) $(BENCH_NODE)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-import: $(STAMP)
	$(BIN)/python -m bench.import_speed $(BENCH_ARGS)
