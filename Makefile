# rdagent-infra: `make up` deploys the dev stack (render-only), `make test` runs the whole suite.
# Both install everything they need first; a second run reuses what is there.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

WHEELHOUSE := .tools/wheelhouse
WHEELHOUSE_STAMP := $(WHEELHOUSE)/.downloaded
CHECKOV := .tools/checkov/bin/checkov
CHECKOV_STAMP := .tools/checkov/.installed
# The real rdagent package (the version images/*.Dockerfile install) in its own virtualenv: tests ask
# it what RD-Agent reads. requirements-rdagent.txt pins its whole resolved tree.
RDAGENT_VENV := .tools/rdagent
RDAGENT_STAMP := $(RDAGENT_VENV)/.installed
# The real LiteLLM proxy (the version images/llm-gateway.Dockerfile installs) in its own virtualenv:
# tests run the gateway with the config the program writes. requirements-litellm.txt pins its whole tree.
LITELLM_VENV := .tools/litellm
LITELLM_STAMP := $(LITELLM_VENV)/.installed

.PHONY: up test setup engine cluster-tools actionlint oauth2-proxy wheelhouse validators sandbox-tools rdagent-venv litellm-venv lint synth-all bench clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml policies/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "rdagent-infra needs Python 3.11 (found " + sys.version.split()[0] + ")")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e policies -e .
	touch $(STAMP)

setup: $(STAMP)

# The policy pack's pinned dependencies as wheels, so that tests/test_engine.py installs the pack
# into a fresh virtualenv from its own folder without touching the network.
$(WHEELHOUSE_STAMP): policies/requirements.txt | $(STAMP)
	$(BIN)/pip download --quiet --disable-pip-version-check -d $(WHEELHOUSE) -r policies/requirements.txt setuptools==80.9.0
	touch $(WHEELHOUSE_STAMP)

wheelhouse: $(WHEELHOUSE_STAMP)

# The real Pulumi engine, built from the Go module proxy (cached; see docs/engine.md).
engine:
	scripts/engine-toolchain.sh

# The real Kubernetes control plane of the `cluster` tests (etcd, API server, controller manager,
# scheduler, kubectl, kwok), built from the Go module proxy (cached; see docs/cluster-tests.md), and
# the upstream CRDs of the custom resources the stacks render (from their Go modules).
cluster-tools:
	scripts/controlplane-toolchain.sh
	scripts/crds-toolchain.sh
	scripts/karpenter-toolchain.sh
	scripts/kueue-toolchain.sh

# actionlint, built from its Go module (cached like the engine); tests/test_workflows.py runs it.
actionlint:
	scripts/actionlint-toolchain.sh

# oauth2-proxy, built from its Go module (cached like the engine); tests/test_ui_auth.py runs it with
# the arguments the program writes.
oauth2-proxy:
	scripts/oauth2-proxy-toolchain.sh

# `pulumi up --stack dev` through the real engine with the policy pack; dev renders to build/dev/.
up: setup engine
	scripts/pulumi stack select --create dev
	scripts/pulumi up --stack dev --yes --non-interactive --policy-pack policies \
		--policy-pack-config policies/config/policy-config.dev.json
	@echo "dev manifests: $(CURDIR)/build/dev"

# The independent validators make test runs: checkov (own virtualenv), promtool (Debian's prometheus)
# and shellcheck (Debian's shellcheck; actionlint runs it over every workflow's run: scripts).
$(CHECKOV_STAMP): requirements-checkov.txt
	test -x .tools/checkov/bin/python || $(PYTHON) -m venv .tools/checkov
	.tools/checkov/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

$(RDAGENT_STAMP): requirements-rdagent.txt
	test -x $(RDAGENT_VENV)/bin/python || $(PYTHON) -m venv $(RDAGENT_VENV)
	$(RDAGENT_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-rdagent.txt
	touch $(RDAGENT_STAMP)

rdagent-venv: $(RDAGENT_STAMP)

$(LITELLM_STAMP): requirements-litellm.txt
	test -x $(LITELLM_VENV)/bin/python || $(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-litellm.txt
	touch $(LITELLM_STAMP)

litellm-venv: $(LITELLM_STAMP)

validators: $(CHECKOV_STAMP)
	@command -v promtool >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null; \
		else echo "promtool is missing: install Debian's prometheus package (sudo apt-get install prometheus)" >&2; exit 1; fi; }
	@command -v shellcheck >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends shellcheck >/dev/null; \
		else echo "shellcheck is missing: install Debian's shellcheck package (sudo apt-get install shellcheck)" >&2; exit 1; fi; }

# The pod sandbox of the app tests (tests/pod_sandbox.py): bubblewrap, and iproute2 for its network
# namespace, tini (the images' PID 1), chromium (the headless browser of tests/test_ui_sign_in.py); LuaJIT
# runs the log shipper's redaction script (tests/test_log_shipper.py); redis-server is the LLM gateway's
# response cache in the gateway tests.
SANDBOX_PACKAGES := bubblewrap chromium iproute2 luajit redis-server tini
sandbox-tools:
	@command -v bwrap >/dev/null && command -v chromium >/dev/null && command -v ip >/dev/null && command -v luajit >/dev/null && command -v redis-server >/dev/null && command -v tini >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $(SANDBOX_PACKAGES) >/dev/null; \
		else echo "install Debian's $(SANDBOX_PACKAGES) packages (sudo apt-get install $(SANDBOX_PACKAGES))" >&2; exit 1; fi; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --failure-threshold style images/*.Dockerfile
	@if command -v gofmt >/dev/null; then test -z "$$(gofmt -l engine controlplane tests/oidc_issuer)" || { gofmt -l engine controlplane tests/oidc_issuer; echo "gofmt: the files above need gofmt -w" >&2; exit 1; }; fi

# pytest's exit status 5 (no test collected) is a failure here too (tests/conftest.py turns it into 1).
# The report is build/test-results/junit.xml; failed tests leave their temporary folders in build/pytest-tmp.
# Files are taken in the order tests/conftest.py gives them (FIRST_FILES), not by their number of tests.
# Three workers on two cores: the long files wait on control planes, engines and sandboxed pods, and a
# third worker fills that time (measured: 603 s against 723 s with two; see README).
test: setup engine cluster-tools actionlint oauth2-proxy wheelhouse validators sandbox-tools rdagent-venv litellm-venv lint
	mkdir -p build
	$(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=25 \
		--junitxml=build/test-results/junit.xml --basetemp=$(CURDIR)/build/pytest-tmp

synth-all: setup
	for stack in dev test staging prod; do $(BIN)/rdagent-infra synth --stack $$stack --out build/synth/$$stack || exit $$?; done

clean:
	rm -rf build .pytest_cache .ruff_cache

# Speed against baselines measured in the same run (BENCHMARKS.md); REPEATS=n for medians of n.
REPEATS ?= 3
bench: setup engine validators
	$(BIN)/python bench/run_all.py $(REPEATS)
