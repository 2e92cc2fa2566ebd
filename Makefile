# Switchboard — `make help` lists the targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-fast lint eval bench serve clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	# llama-cpp-python compiles from source (~6 min the first time); pip caches the wheel.
	$(BIN)/pip install --quiet -e ".[dev,server]"
	touch $(STAMP)

setup: $(STAMP) ## Create .venv, install, build the store, the classifier and the knowledge index
	$(BIN)/switchboard setup

demo: setup ## Set up, then run a short real conversation on the embedded model (no key, no network)
	$(BIN)/switchboard demo

test: setup ## Set up, then run the whole test suite (SQLite and PostgreSQL, embedded model included)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup ## The suite without the slow tests (embedded model, servers)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check .

eval: setup ## Eval suites with thresholds (exit 1 below a threshold); `switchboard report` draws them
	$(BIN)/switchboard eval

bench: setup ## Benchmarks: one JSON line per figure, also written to benchmarks/results/
	$(BIN)/python -m benchmarks.run

serve: setup ## LangGraph dev server on 127.0.0.1:8123 (Studio, SDK)
	LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true $(BIN)/langgraph dev --host 127.0.0.1 --port 8123 --no-browser

clean: ## Remove the virtualenv and generated data (var/)
	rm -rf $(VENV) var .pytest_cache
