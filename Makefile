# rdagent-infra: `make up` deploys the dev stack (render-only), `make test` runs the whole suite.
# Both install everything they need first; a second run reuses what is there.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: up test setup lint synth-all bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "rdagent-infra needs Python 3.11 (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

# Until the real engine lands (issue 5), `make up` renders the dev stack through synth (mocks).
up: setup
	$(BIN)/rdagent-infra synth --stack dev --out build/dev
	@echo "dev manifests: $(CURDIR)/build/dev"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup lint
	$(BIN)/python -m pytest

synth-all: setup
	for stack in dev test staging prod; do $(BIN)/rdagent-infra synth --stack $$stack --out build/synth/$$stack || exit $$?; done

clean:
	rm -rf build .pytest_cache .ruff_cache

bench: setup
	$(BIN)/python bench/policy_bench.py
