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

run: $(STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/daphne --bind 127.0.0.1 --port $(PORT) backend.asgi:application

# The suite runs on SQLite and the in-memory layer; with TEST_DATABASE_URL / TEST_REDIS_URL set
# it runs again on PostgreSQL and Redis. Coverage is measured over both legs.
test: export SECRET_KEY ?= test-only-secret-key
test: $(STAMP) lint
	@if [ -n "$$CI" ] && { [ -z "$$TEST_DATABASE_URL" ] || [ -z "$$TEST_REDIS_URL" ]; }; then \
		echo "CI must run every leg: set TEST_DATABASE_URL and TEST_REDIS_URL (.ci/run does)."; \
		exit 1; fi
	$(BIN)/coverage erase
	env -u DATABASE_URL -u REDIS_URL $(BIN)/pytest --cov --cov-report= $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL$$TEST_REDIS_URL" ]; then \
		set -x; DATABASE_URL="$$TEST_DATABASE_URL" REDIS_URL="$$TEST_REDIS_URL" \
		$(BIN)/pytest --cov --cov-append --cov-report= $(PYTEST_ARGS); fi
	$(BIN)/coverage report --fail-under=100

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

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
