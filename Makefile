# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Development only: the reference vendor runs on loopback, which production refuses.
DEV_ENV := VENDOR_ALLOWED_PRIVATE_HOSTS=$${VENDOR_ALLOWED_PRIVATE_HOSTS:-127.0.0.1:9001,127.0.0.1:9002} \
	VENDOR_HTTP_ALLOWED_HOSTS=$${VENDOR_HTTP_ALLOWED_HOSTS:-127.0.0.1}

# Spectral (npm) lints the OpenAPI documents in the tests; tools/spectral pins it.
SPECTRAL_DIR := tools/spectral
SPECTRAL := $(SPECTRAL_DIR)/node_modules/.bin/spectral
# axe-core (npm) audits the pages' accessibility in the browser tests; tools/axe pins it.
AXE_DIR := tools/axe
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js

.PHONY: install run test test-all lint faults bench messages screenshots clean spectral axe openapi-bundle

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(SPECTRAL): $(SPECTRAL_DIR)/package.json $(SPECTRAL_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "make test lints the OpenAPI documents with Spectral, an npm package, but npm is" \
			"not on PATH: install Node.js 18 or newer with npm (https://nodejs.org/), then" \
			"run make test again." >&2; exit 1; }
	cd $(SPECTRAL_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $(SPECTRAL)

spectral: $(SPECTRAL)

$(AXE): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "make test audits the pages with axe-core, an npm package, but npm is not on PATH:" \
			"install Node.js 18 or newer with npm (https://nodejs.org/), then run make test" \
			"again." >&2; exit 1; }
	cd $(AXE_DIR) && npm ci --ignore-scripts --no-audit --no-fund
	@touch $(AXE)

axe: $(AXE)

# Regenerate docs/standard/openapi.bundled.yaml after changing openapi.yaml or its schemas.
openapi-bundle: install
	$(BIN)/python -m tools.openapi_bundle

messages: install
	$(BIN)/python manage.py compile_translations

run: install messages
	$(BIN)/python manage.py migrate --noinput
	env $(DEV_ENV) $(BIN)/python manage.py seed_demo
	env $(DEV_ENV) $(BIN)/honcho start --procfile Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python manage.py makemigrations --check --dry-run

# The suite on the embedded defaults (SQLite, filesystem broker). Tests marked
# postgres or redis need those servers and run in CI's second pass (`make test-all`).
# SPECTRAL_REQUIRED / AXE_REQUIRED: those tests fail, instead of skipping, when the tool is missing.
test: lint messages spectral axe
	SPECTRAL_REQUIRED=1 AXE_REQUIRED=1 $(BIN)/python -m pytest -m "not postgres and not redis"

# The whole suite against whatever DATABASE_URL and CELERY_BROKER_URL point at.
test-all: install messages spectral axe
	SPECTRAL_REQUIRED=1 AXE_REQUIRED=1 $(BIN)/python -m pytest

# Refresh the committed screenshots in docs/screenshots/ (the tests write theirs under var/).
screenshots: install messages
	MARKET_SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -m browser tests/browser

faults: install
	$(BIN)/python -m tests.faults.report

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf var/test .pytest_cache
