# Two commands matter: `make demo` and `make test`. Both build .venv from constraints.txt first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PYTHONWARNINGS ?= ignore::DeprecationWarning

# Demo scale: small enough to build in a couple of minutes on 2 cores, large enough to have every kind of dirt.
DEMO_CUSTOMERS ?= 2000
DEMO_DAYS ?= 60
SEED ?= 42

.PHONY: setup postgres demo test ui bench lint clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP) postgres

# The PostgreSQL serving target's tests start a real server (tests/serving/conftest.py): Debian's `postgresql`,
# installed when missing and this is root with apt-get; otherwise (or if apt fails) those tests skip, saying why.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; } || \
	echo "No PostgreSQL server: the PostgreSQL serving tests will skip (install Debian's postgresql package)"

demo: setup
	$(BIN)/warehouse generate --customers $(DEMO_CUSTOMERS) --days $(DEMO_DAYS) --seed $(SEED)
	eval "$$($(BIN)/python -m scripts.demo_settings)" && $(BIN)/warehouse run  # the demo shop's staff IPs, test orders
	$(BIN)/warehouse show

# Two workers: most of a test's time is one Python thread (dbt's and Dagster's per-node work), and CI has 2 cores.
# --dist loadfile: a module is a work unit, taken longest first; tests/conftest.py makes the modules that read
# the session's demo warehouse one unit, so that only one worker builds it.
TEST_WORKERS ?= 2

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

ui: setup
	$(BIN)/warehouse ui

bench: setup
	$(BIN)/python -m bench

# sqlfluff renders the models through dbt (.sqlfluff), whose profile opens WAREHOUSE_PATH: an empty throwaway
# warehouse, and dbt's parse files in the same temporary directory instead of dbt_project/target.
lint: setup
	$(BIN)/ruff check .
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	WAREHOUSE_PATH=$$tmp/lint.duckdb DBT_TARGET_PATH=$$tmp/target DBT_LOG_PATH=$$tmp/logs \
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/tests

clean:
	rm -rf data/landing data/*.duckdb data/*.duckdb.wal data/.dlt data/dagster_home dbt_project/target
