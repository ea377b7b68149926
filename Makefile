# shopsync: `make demo` runs the main job on the embedded database; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin

# Airflow lives inside the checkout (ignored by git); DAGs and the package come from here.
export AIRFLOW_HOME ?= $(CURDIR)/airflow_home
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(AIRFLOW_HOME)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := True
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= INFO
export PATH := $(BIN):$(PATH)
export PYTHONWARNINGS ?= ignore::DeprecationWarning

.PHONY: demo test venv lint bench clean-local airflow-ui

$(VENV)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/shopsync demo

test: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

bench: venv
	$(BIN)/python bench/catalog_export.py --goods 100000

airflow-ui: venv
	$(BIN)/airflow standalone

clean-local:
	rm -rf .local airflow_home
