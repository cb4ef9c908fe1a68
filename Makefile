# Attesta — every task a developer or CI runs. `make` alone lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
T ?= tests
# Python keeps compiled modules (and pytest its rewritten test modules) in __pycache__ even where
# the environment says PYTHONDONTWRITEBYTECODE (some sandboxes and CI images do): otherwise every
# test worker, sandbox child and flask command compiles the whole app again, seconds each time.
export PYTHONDONTWRITEBYTECODE :=
FLASK := $(BIN)/flask --app wsgi
# Development defaults for `make run`; any ATTESTA_* variable in the environment wins. Rate limits
# count in the local Redis when it answers (ATTESTA_RATELIMIT_STORAGE_URI, default
# redis://127.0.0.1:6379/0), per process otherwise: gunicorn says which at start.
RUN_ENV := ATTESTA_ENV=$${ATTESTA_ENV:-development} ATTESTA_DEV_OUTBOX=$${ATTESTA_DEV_OUTBOX:-1} \
	ATTESTA_BASE_URL=$${ATTESTA_BASE_URL:-http://$(HOST):$(PORT)}

.PHONY: compiled help bench faults fuzz load journeys install verifier system-deps translations extract-messages db-upgrade db-check run test test-all test-postgres lint fmt clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed system-deps translations verifier compiled ## Create the virtualenv and install Attesta with its dev tools

# Attesta's own modules compiled once, as pip compiles a library's (seconds the first time, then
# nothing): otherwise each test worker, sandbox child and flask command of a first run compiles
# them again.
compiled: $(VENV)/.installed
	@$(BIN)/python -m compileall -q -j 0 app certification rubrics bench wsgi.py >/dev/null

verifier: ## Best effort: the independent VC verifier (Node, npm) the credential tests run against
	@if command -v npm >/dev/null 2>&1; then \
	  test -d tools/vc-verify/node_modules || npm ci --prefix tools/vc-verify --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the independent credential verification tests will be skipped"; fi

system-deps: ## Best effort: Debian's HarfBuzz subsetter makes PDF rendering 3-7x faster; wrk for make bench
	@bash scripts/system-deps.sh
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && { echo "Installing wrk..."; export DEBIAN_FRONTEND=noninteractive; \
	       apt-get install -y -qq wrk >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }; } \
	  || echo "note: wrk (Debian package) not installed: make bench falls back to a Python load generator" >&2; }

translations: $(VENV)/.installed ## Compile the Italian and English message catalogues
	@$(BIN)/pybabel compile -d app/translations 2>&1 | grep -v '^compiling catalog' || true
	@test -f app/translations/it/LC_MESSAGES/messages.mo

extract-messages: $(VENV)/.installed ## Re-extract messages and update the catalogues (then translate them)
	@# label('...') is the documents' (PDFs') translation function in templates/documents/: without
	@# its keyword, an update would drop the strings the PDFs print.
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k en_ -k label --no-location --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/python scripts/fill_english_catalogue.py

db-upgrade: install ## Apply the database migrations
	$(RUN_ENV) $(FLASK) db upgrade

db-check: install ## Check, on a scratch database, that migrations and models agree; validate rubric files
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	export ATTESTA_INSTANCE_PATH=$$tmp ATTESTA_ENV=testing && \
	$(FLASK) db upgrade >/dev/null && $(FLASK) db check && $(FLASK) rubrics check rubrics/data

# `flask setup` does in one process what needs doing before serving (migrations, standards, demo,
# keys, recovery). "Attesta is running" is printed once the server answers its health check:
# scripts/when_serving.py asks it in the background and gives up when gunicorn (this shell's
# process, after exec) ends.
run: install ## Set up everything, load the demo data and serve on http://$(HOST):$(PORT)
	$(RUN_ENV) $(FLASK) setup
	@$(BIN)/python scripts/when_serving.py http://$(HOST):$(PORT)/healthz $$$$ "" \
	  "  Attesta is running on http://$(HOST):$(PORT)  (Ctrl-C stops it)" \
	  "  Demo staff log in with password demo-attesta-2026 and a second factor: add the" \
	  "  otpauth:// URI printed above to an authenticator app, or get the current code with" \
	  "  $(FLASK) demo code firmatario@demo.attesta.example" "" & \
	exec env $(RUN_ENV) $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) \
		--workers $${WEB_CONCURRENCY:-2} --worker-class gthread --threads $${WEB_THREADS:-8} \
		--access-logfile - wsgi:app

# Tests run in parallel (pytest-xdist), one process per core, each with a database of its own;
# N=0 runs them one after another in this process (for pdb), N=4 on four processes. A file
# (T=tests/x/test_y.py) runs in this process: starting workers would take longer than its tests.
# Tests of one xdist_group run on one worker (a module that shares what it issues once).
N ?= $(if $(findstring .py,$(T)),0,auto)
# `make test` leaves out the tests marked slow (over about a second each), unless T names a part
# of the suite: then every test of that part runs. `make test-all` runs everything.
FAST := $(if $(filter tests tests/,$(T)),not slow,)
# pytest exits 5 when it collected no test: say so, and fail (a run that tests nothing is no pass).
# $(1): the marker expression (empty: every test).
define PYTEST
	$(BIN)/python -m pytest -q -n $(N) --dist loadgroup $(if $(1),-m "$(1)") $(T) || { rc=$$?; [ $$rc -eq 5 ] && echo "error: no tests were collected" >&2; exit $$rc; }
endef

test: install ## The fast tests, in parallel on SQLite, about a minute (T=path: all tests of a part)
	$(call PYTEST,$(FAST))

test-all: install ## Every test of the suite, slow ones too, in parallel on SQLite (what CI runs)
	$(call PYTEST,)

faults: install ## Kill issuing processes at every step and check recovery (FAULT_ROUNDS=2; slow)
	$(BIN)/python -m pytest -q tests/faults

journeys: install ## Browser journeys in Debian's Chromium (phone and desktop), axe-core on every page
	@bash scripts/browser-deps.sh
	ATTESTA_JOURNEYS=1 $(BIN)/python -m pytest -q tests/journeys

load: install ## wrk against gunicorn on loopback: public verification (with and without rate limits, with uploads saturating the pool)
	$(BIN)/python -m pytest -q tests/load

fuzz: install ## The API under schemathesis with more examples than make test (API_FUZZ_EXAMPLES=100)
	API_FUZZ_EXAMPLES=$${API_FUZZ_EXAMPLES:-100} $(BIN)/python -m pytest -q tests/app/test_api_fuzz.py

test-postgres: install ## Every test against PostgreSQL, in parallel (ATTESTA_TEST_DATABASE_URL, default the local `test` database)
	export ATTESTA_TEST_DATABASE_URL=$${ATTESTA_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}; \
	$(call PYTEST,)

bench: install ## Benchmarks: Attesta's costs as ratios to the bare building blocks (ROUNDS=15)
	$(BIN)/python bench/run.py

lint: install ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: install ## Reformat and fix what ruff can fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean: ## Remove the virtualenv and caches (keeps instance/, your data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
