"""What we hand RD-Agent, checked against what the installed `rdagent` package really reads.

The list of what it reads is derived from the package itself (scripts/rdagent_settings.py, run in
.tools/rdagent): every pydantic-settings class's environment variables, its direct os.environ
reads, loguru's and LiteLLM's variables, OpenMP's, and the options of every `rdagent` command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess

import pytest
import yaml

from rdagent_infra.logic import rdagent_env, rdagent_reads
from tests.conftest import ROOT, STACKS
from tests.pod_sandbox import SandboxError, argv, image_of, pod_spec

RDAGENT_PYTHON = ROOT / ".tools" / "rdagent" / "bin" / "python"
PROBE = ROOT / "scripts" / "rdagent_settings.py"
# The seed's variables, none of which RD-Agent 1.0.0 reads (they are asserted unread below).
SEED_UNREAD = ("DEBUG", "LOG_LEVEL", "REDIS_URL", "DATABASE_URL", "RDAGENT_LOGGING_CONFIG", "RDAGENT_CACHE_CONFIG", "SSL_CERT_PATH")
# What RD-Agent's users set most: each must be among the names the package reads.
# (the other providers' keys are LiteLLM's, checked with every variable below).
LLM_AND_FOLDERS = sorted(rdagent_env.MANAGED - {"AZURE_OPENAI_API_KEY", "DEEPSEEK_API_KEY", "ANTHROPIC_API_KEY"})
WORKLOAD_KINDS = {"Deployment", "Job", "CronJob"}


@pytest.fixture(scope="session")
def reads() -> dict:
    assert RDAGENT_PYTHON.exists(), "the rdagent package is not installed: run make rdagent-venv"
    # LiteLLM's cost map from the package (as the pods have it), not fetched over the network at import.
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    result = subprocess.run([str(RDAGENT_PYTHON), str(PROBE)], capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def readers(reads: dict) -> dict[str, str]:
    """Each variable something in the RD-Agent images reads, and who reads it."""
    found: dict[str, str] = {}
    for name in reads["native"]:
        found[name] = "OpenMP (" + ", ".join(reads["native"][name][:2]) + ")"
    for name in reads["litellm"]:
        found[name] = "LiteLLM"
    for name in reads["loguru"]:
        found[name] = "loguru"
    for name in reads["streamlit"]:
        found[name] = "Streamlit"
    for name in reads["kaggle"]:
        found[name] = "Kaggle's client"
    for name in reads["direct"]:
        found[name] = "RD-Agent (os.environ)"
    for name, owners in reads["settings"].items():
        found[name] = "RD-Agent " + owners[0]
    for name in images_read():
        found.setdefault(name, "our images (images/)")
    return found


def images_read() -> set[str]:
    """Variables our image files read: shell expansions and LiteLLM's os.environ/NAME references."""
    names: set[str] = set()
    for path in (ROOT / "images").iterdir():
        text = path.read_text()
        if path.suffix == ".sh":
            names.update(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
        names.update(re.findall(r"os\.environ/([A-Z][A-Z0-9_]+)", text))
    return names


def rdagent_containers(out) -> list[tuple[str, dict, list[str]]]:
    """(where, container, its `rdagent ...` command line) of every container of every Deployment, Job
    and CronJob that runs rdagent: its command, or (a Job has no command) its image's ENTRYPOINT
    with its args, as the kubelet starts it."""
    found = []
    for path in sorted(out.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] not in WORKLOAD_KINDS:
            continue
        for container in pod_spec(doc)["containers"]:
            try:
                words = argv(container, image_of(container["image"]), {})
            except SandboxError:
                continue  # not one of our images (Envoy, Elasticsearch, ...)
            if "rdagent" in words:
                found.append((f"{doc['kind']} {doc['metadata']['name']} container {container['name']}", container, words[words.index("rdagent") :]))
    return found


def test_the_installed_package_is_the_one_our_images_pin(reads):
    pins = {
        re.search(r"ARG RDAGENT_VERSION=(\S+)", path.read_text()).group(1)
        for path in (ROOT / "images").glob("*.Dockerfile")
        if "RDAGENT_VERSION" in path.read_text()
    }
    assert pins == {reads["version"]} == {rdagent_reads.RDAGENT_VERSION}, (pins, reads["version"])


def test_every_settings_module_imports_so_no_setting_is_missed(reads):
    assert reads["import_failures"] == [], "\n".join(reads["import_failures"])
    assert set(LLM_AND_FOLDERS) <= set(reads["settings"]), sorted(set(LLM_AND_FOLDERS) - set(reads["settings"]))


def test_the_checked_in_snapshot_is_what_the_package_reads(reads):
    """rdagent_infra/logic/rdagent-reads.json (what config is validated against) is regenerated with
    `.tools/rdagent/bin/python scripts/rdagent_settings.py --snapshot`."""
    assert frozenset(reads["settings"]) == rdagent_reads.SETTINGS, sorted(rdagent_reads.SETTINGS ^ set(reads["settings"]))
    assert {name: tuple(options) for name, options in reads["cli"].items()} == rdagent_reads.CLI


def test_the_seed_variables_we_dropped_are_read_by_nothing_in_rdagent(reads):
    """RD-Agent (its settings, its own os.environ reads, loguru) reads none of them. LiteLLM's code
    does read REDIS_URL and DATABASE_URL, for its proxy's cache and database, which no image of ours
    starts: setting them would only invite that."""
    rdagent = set(reads["settings"]) | set(reads["direct"]) | set(reads["loguru"])
    assert [name for name in SEED_UNREAD if name in rdagent] == []
    assert {"REDIS_URL", "DATABASE_URL"} <= set(reads["litellm"])
    assert not [path.name for path in (ROOT / "images").iterdir() if "litellm --config" in path.read_text()], "an image starts a LiteLLM proxy"


@pytest.mark.parametrize("stack", STACKS)
def test_every_variable_we_set_is_read_by_rdagent_or_our_images(synthesized, stack, reads):
    known = readers(reads)
    unread = []
    containers = rdagent_containers(synthesized(stack))
    assert containers, f"{stack}: no RD-Agent container rendered"
    kinds = {where.split()[0] for where, _, _ in containers}
    assert kinds >= ({"Deployment", "Job"} if stack != "dev" else {"Deployment"}), f"{stack}: RD-Agent containers only in {kinds}"
    for where, container, _ in containers:
        values = " ".join(str(env.get("value", "")) for env in container.get("env", []))
        for env in container.get("env", []):
            name = env["name"]
            # A variable only Kubernetes reads, to expand $(NAME) in another value of this container.
            if name in known or f"$({name})" in values:
                continue
            unread.append(f"{where}: {name}")
    assert unread == [], "set but read by neither RD-Agent nor our images:\n" + "\n".join(unread)


@pytest.mark.parametrize("stack", STACKS)
def test_the_commands_and_flags_we_run_exist(synthesized, stack, reads):
    problems = []
    for where, _, command in rdagent_containers(synthesized(stack)):
        subcommand, rest = command[1], command[2:]
        if subcommand not in reads["cli"]:
            problems.append(f"{where}: rdagent has no command {subcommand!r}")
            continue
        for flag in (arg.split("=", 1)[0] for arg in rest if arg.startswith("--")):
            if flag not in reads["cli"][subcommand]:
                problems.append(f"{where}: `rdagent {subcommand}` has no option {flag}")
    assert problems == [], "\n".join(problems)
