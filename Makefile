# Switchboard — `make help` lists the targets.
# Python 3.12: the production server (Aegra) needs it. pyenv keeps it off PATH on these machines.
PYTHON ?= $(shell for p in python3.12 $(HOME)/.pyenv/versions/3.12*/bin/python3.12; do $$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# llama.cpp is built once per machine for any x86-64 with AVX2 (GGML_NATIVE=OFF) and kept outside
# the checkout. A native build picks up AVX-512/AMX kernels that crashed (segfault in decode) on a
# virtual Xeon with AMX; pip's own wheel cache cannot tell builds with other CMAKE_ARGS apart.
LLAMA_CPP  := $(shell grep -o 'llama-cpp-python==[0-9.]*' pyproject.toml | head -1)
WHEELHOUSE ?= $(HOME)/.cache/switchboard/wheels
PYTAG      := $(shell $(PYTHON) -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")' 2>/dev/null)
LLAMA_DIR  := $(WHEELHOUSE)/$(subst ==,-,$(LLAMA_CPP))-$(PYTAG)-portable
# The browser tests (pytest -m browser) drive Debian's chromium through Playwright: `playwright
# install` downloads browsers, which cannot work offline.
CHROMIUM   ?= /usr/bin/chromium

.DEFAULT_GOAL := help
.PHONY: help setup browser demo test test-fast lint eval bench serve up down clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml Makefile
	@test -n "$(PYTHON)" || { echo 'Python 3.12 not found: set PYTHON=/path/to/python3.12'; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip wheel setuptools
	@if ! ls $(LLAMA_DIR)/llama_cpp_python-*.whl >/dev/null 2>&1; then \
	  echo "Building $(LLAMA_CPP) for any x86-64 with AVX2: about 6 minutes, once per machine"; \
	  rm -rf $(LLAMA_DIR).part && \
	  CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip wheel --quiet --no-deps --no-cache-dir "$(LLAMA_CPP)" -w $(LLAMA_DIR).part && \
	  mv $(LLAMA_DIR).part $(LLAMA_DIR); \
	fi
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_DIR)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet -e ".[dev,server]"
	touch $(STAMP)

setup: $(STAMP) browser ## Create .venv, install, build the store, the classifier and the knowledge index
	$(BIN)/switchboard setup

browser: ## Debian's chromium for the browser tests (apt-get runs only when it is missing)
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "note: $(CHROMIUM) is missing and apt-get cannot run here: the browser tests will fail (apt-get install chromium)"; \
	fi

demo: setup ## Set up, then run a short real conversation on the embedded model (no key, no network)
	$(BIN)/switchboard demo

test: setup ## Set up, then run the whole test suite (SQLite and PostgreSQL, embedded model included)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup ## The suite without the slow tests (embedded model, servers)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff check, ruff format --check, mypy, import contracts (CI runs it before the tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

eval: setup ## Eval suites with thresholds (exit 1 below a threshold); `switchboard-eval report` draws them
	$(BIN)/python -m evals eval

bench: setup ## Benchmarks: one JSON line per figure, also written to benchmarks/results/
	$(BIN)/python -m benchmarks.run

serve: setup ## LangGraph dev server on 127.0.0.1:8123 (Studio, SDK)
	LANGGRAPH_CLI_NO_ANALYTICS=1 LANGGRAPH_NO_VERSION_CHECK=true $(BIN)/langgraph dev --host 127.0.0.1 --port 8123 --no-browser

up: setup ## Two Aegra servers on 127.0.0.1:8181/8182 (UP_PORTS), PostgreSQL + Redis; settings in var/up/switchboard.env
	$(BIN)/python -m server.deploy up

down: ## Stop the servers `make up` started (PID files in var/up/)
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m server.deploy down; else echo "nothing was running"; fi

clean: down ## Stop `make up`'s servers, remove the virtualenv and generated data (var/)
	rm -rf $(VENV) var .pytest_cache
