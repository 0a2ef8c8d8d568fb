# `make test` works from a fresh clone: system packages (as root, Debian/Ubuntu), the virtualenv,
# then lint and tests. `make demo` and `make bench` share the same setup.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_PY := $(VENV)/bin/python
# Re-install only when the dependencies may have changed.
INSTALL_STAMP := $(VENV)/.install-stamp
SCALE ?= 0.3
# libmariadb-dev and pkg-config build mysqlclient (required by apache-airflow-providers-mysql);
# mariadb-server runs the tests' private server; mydumper writes dumps for the demo.
SYSTEM_PACKAGES := libmariadb-dev pkg-config mariadb-server mariadb-client mydumper

.PHONY: test demo bench setup system-packages

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

demo: setup
	bash scripts/demo.sh

bench: setup
	$(VENV_PY) benchmarks/run.py --scale $(SCALE)

setup: system-packages $(INSTALL_STAMP)

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
