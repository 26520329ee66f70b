# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Development only: the reference vendor runs on loopback, which production refuses.
DEV_ENV := VENDOR_ALLOWED_PRIVATE_HOSTS=$${VENDOR_ALLOWED_PRIVATE_HOSTS:-127.0.0.1:9001} \
	VENDOR_HTTP_ALLOWED_HOSTS=$${VENDOR_HTTP_ALLOWED_HOSTS:-127.0.0.1}

.PHONY: install run test test-all lint faults bench messages screenshots clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

messages: install
	$(BIN)/python manage.py compile_translations

run: install messages
	$(BIN)/python manage.py migrate --noinput
	env $(DEV_ENV) $(BIN)/python manage.py seed_demo
	env $(DEV_ENV) $(BIN)/honcho start --procfile Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

# The suite on the embedded defaults (SQLite, filesystem broker). Tests marked
# postgres or redis need those servers and run in CI's second pass (`make test-all`).
test: lint messages
	$(BIN)/python -m pytest -m "not postgres and not redis"

# The whole suite against whatever DATABASE_URL and CELERY_BROKER_URL point at.
test-all: install messages
	$(BIN)/python -m pytest

# Refresh the committed screenshots in docs/screenshots/ (the tests write theirs under var/).
screenshots: install messages
	MARKET_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -m browser tests/browser

faults: install
	$(BIN)/python -m tests.faults.report

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var/test .pytest_cache
