# `make test` works from a fresh clone: system packages (as root, Debian/Ubuntu), the virtualenv,
# then lint and tests on Airflow 3.x, then the Airflow-level tests again on Airflow 2.11 in a second
# virtualenv. `make demo` and `make bench` share the 3.x setup.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Re-install only when the dependencies may have changed.
INSTALL_STAMP := $(VENV)/.install-stamp
# The Airflow 2.11 environment: pip picks the newest providers that still support 2.11.
VENV_AIRFLOW2 := .venv-airflow2
AIRFLOW2_STAMP := $(VENV_AIRFLOW2)/.install-stamp
AIRFLOW2_REQUIREMENTS := "apache-airflow==2.11.*" apache-airflow-providers-mysql \
  apache-airflow-providers-common-sql apache-airflow-providers-common-compat
# The tests that touch Airflow (hooks, operators, sensors, triggers, provider info, example DAGs);
# the engine tests do not import Airflow, so one run of them (on 3.x) is enough.
AIRFLOW_TESTS := tests/unit/airflow tests/integration/hooks tests/integration/operators \
  tests/integration/sensors tests/integration/triggers tests/integration/example_dags
SCALE ?= 0.3
# libmariadb-dev and pkg-config build mysqlclient (required by apache-airflow-providers-mysql);
# mariadb-server runs the tests' private server; mydumper writes dumps for the demo.
SYSTEM_PACKAGES := libmariadb-dev pkg-config mariadb-server mariadb-client mydumper

.PHONY: test test-airflow3 test-airflow2 demo bench setup setup-airflow2 system-packages

# The 3.x suite first, then the 2.11 run.
test: test-airflow3 test-airflow2

test-airflow3: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q

test-airflow2: setup-airflow2
	$(VENV_AIRFLOW2)/bin/pytest -q $(AIRFLOW_TESTS)

demo: setup
	bash scripts/demo.sh

bench: setup
	$(VENV_PY) -m benchmarks.run --scale $(SCALE)

setup: system-packages $(INSTALL_STAMP)

setup-airflow2: system-packages $(AIRFLOW2_STAMP)

system-packages:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  for pkg in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$pkg"; \
	  done; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  fi; \
	elif [ -z "$$TIDB_LIGHTNING_TEST_DSN" ] && ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then \
	  echo "mariadbd not found. Install: $(SYSTEM_PACKAGES)" >&2; \
	  echo "(e.g. sudo apt-get install $(SYSTEM_PACKAGES)), or set TIDB_LIGHTNING_TEST_DSN=mysql://user:pass@host:port/" >&2; \
	  exit 1; \
	fi

$(INSTALL_STAMP): pyproject.toml
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	$(VENV_PY) -m pip install -q -e '.[test]'
	touch $@

$(AIRFLOW2_STAMP): pyproject.toml
	test -x $(VENV_AIRFLOW2)/bin/python || $(PYTHON) -m venv $(VENV_AIRFLOW2)
	$(VENV_AIRFLOW2)/bin/python -m pip install -q $(AIRFLOW2_REQUIREMENTS) -e '.[test]'
	touch $@
