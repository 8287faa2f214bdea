"""Run the pack's rules over plain Kubernetes YAML manifests, for teams without Pulumi."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rdagent_policies import policy_config, rules
from rdagent_policies.yaml_tags import RememberedTags

MANIFEST_SUFFIXES = (".yaml", ".yml")
# libyaml's parser where PyYAML has it (its wheels do); PyYAML's pure-Python one otherwise and
# for the messages about invalid files.
PURE_LOADER = yaml.SafeLoader
_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _MAP, _SEQ = (_TAG + name for name in ("str", "null", "bool", "int", "float", "map", "seq"))


class _Unusual(Exception):
    """A node the lean constructor leaves to PyYAML's (merge keys, timestamps, sets, ...)."""


class LeanLoader(RememberedTags, yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader):
    """libyaml's parser and composer, then a constructor for what manifests hold (maps,
    sequences, strings, numbers, booleans, nulls, aliases) that builds each document in one
    pass, with PyYAML's own functions for every scalar; any other node sends the whole
    document to PyYAML's SafeConstructor, so the result is the safe loader's."""

    def construct_document(self, node):
        try:
            return self._build(node, {})
        except (_Unusual, TypeError, RecursionError):  # TypeError: an unhashable key
            return super().construct_document(node)

    def _build(self, node, built: dict):
        if id(node) in built:
            if built[id(node)] is _Unusual:  # a recursive alias
                raise _Unusual
            return built[id(node)]
        tag = node.tag
        if tag == _STR and type(node) is yaml.ScalarNode:
            value = node.value
        elif tag == _MAP and type(node) is yaml.MappingNode:
            built[id(node)] = _Unusual
            value = {}
            for key_node, value_node in node.value:
                if key_node.tag == _TAG + "merge":
                    raise _Unusual
                value[self._build(key_node, built)] = self._build(value_node, built)
        elif tag == _SEQ and type(node) is yaml.SequenceNode:
            built[id(node)] = _Unusual
            value = [self._build(item, built) for item in node.value]
        elif tag in SCALARS and type(node) is yaml.ScalarNode:
            value = SCALARS[tag](self, node)
        else:
            raise _Unusual
        built[id(node)] = value
        return value


SCALARS = {_NULL: yaml.SafeLoader.construct_yaml_null, _BOOL: yaml.SafeLoader.construct_yaml_bool, _INT: yaml.SafeLoader.construct_yaml_int}
SCALARS[_FLOAT] = yaml.SafeLoader.construct_yaml_float
LOADER = LeanLoader
PARALLEL_FROM_FILES = 2000
MAX_JOBS = 8
CHUNKS_PER_JOB = 4


@dataclass(frozen=True)
class Finding:
    file: str
    object: str  # Kind/name
    policy: str
    level: str
    message: str

    def line(self) -> str:
        suffix = " (advisory)" if self.level == "advisory" else ""
        return f"{self.file}: {self.object}: {self.policy}{suffix}: {self.message}"


class ManifestError(Exception):
    pass


def type_token(api_version: str, kind: str) -> str:
    """`apps/v1` + `Deployment` -> `kubernetes:apps/v1:Deployment` (core `v1` -> `core/v1`)."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def manifest_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in MANIFEST_SUFFIXES and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ManifestError(f"{path}: no such file or folder")
    return files


def documents(path: Path, loader: type = LOADER) -> list[dict[str, Any]]:
    """The objects in a manifest file (a `List`'s items stand for themselves)."""
    text = path.read_text()
    try:
        loaded = list(yaml.load_all(text, Loader=loader))
    except yaml.YAMLError as exc:
        if loader is not PURE_LOADER:
            # PyYAML's own verdict and message, as before libyaml parsed these files.
            return documents(path, PURE_LOADER)
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ManifestError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    found: list[dict[str, Any]] = []
    for document in loaded:
        if isinstance(document, dict) and document.get("kind") == "List":
            found += (item for item in document.get("items") or [] if isinstance(item, dict))
        elif isinstance(document, dict):
            found.append(document)
    return found


def load_levels(config_file: Path | None) -> dict[str, str]:
    try:
        return policy_config.load(config_file)[0]
    except policy_config.PolicyConfigError as exc:
        raise ManifestError(str(exc)) from None


def check_files(
    files: list[Path], levels: dict[str, str], settings: dict[str, dict] | None = None, loader: type = LOADER
) -> tuple[list[Finding], list[tuple[str, str, dict]]]:
    """Each object's findings, in file order, and the objects the stack-wide rule looks at."""
    findings: list[Finding] = []
    stack: list[tuple[str, str, dict]] = []
    enabled = [p for p in rules.RESOURCE_POLICIES if levels[p.name] != "disabled"]
    checks = [(policy, policy.settings((settings or {}).get(policy.name))) for policy in enabled]
    for path in files:
        where = str(path)
        for manifest in documents(path, loader):
            kind = manifest.get("kind", "?")
            name = (manifest.get("metadata") or {}).get("name", "?")
            token = type_token(str(manifest.get("apiVersion", "")), kind)
            if rules.rollout_relevant(token, manifest):
                stack.append((token, name, manifest))
            for policy, message in rules.evaluate_many(checks, token, manifest):
                findings.append(Finding(where, f"{kind}/{name}", policy.name, levels[policy.name], message))
    return findings, stack


def _check_chunk(job: tuple) -> tuple[list[Finding], list[tuple[str, str, dict]]]:
    return check_files(*job)


def check(
    paths: Iterable[Path], levels: dict[str, str], settings: dict[str, dict] | None = None, jobs: int | None = None, loader: type = LOADER
) -> list[Finding]:
    """Findings of every enabled policy over the manifests under `paths`, in file order, then
    the stack-wide rule's. With many files and more than one core, worker processes parse
    chunks of files (in order); `jobs=1` keeps it in this process."""
    files = manifest_files(paths)
    jobs = parallel_jobs(len(files)) if jobs is None else jobs
    if jobs > 1:
        size = -(-len(files) // (jobs * CHUNKS_PER_JOB))
        chunks = [(files[start : start + size], levels, settings, loader) for start in range(0, len(files), size)]
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_check_chunk, chunks, chunksize=1)
    else:
        results = [check_files(files, levels, settings, loader)]
    findings = [finding for chunk_findings, _ in results for finding in chunk_findings]
    stack = [resource for _, chunk_stack in results for resource in chunk_stack]
    if levels[rules.STACK_POLICY_NAME] != "disabled":
        for message in rules.rollout_consistency(stack):
            findings.append(Finding("(all files)", "stack", rules.STACK_POLICY_NAME, levels[rules.STACK_POLICY_NAME], message))
    return findings


def parallel_jobs(files: int) -> int:
    """Worker processes for `files` files: one per usable core once there are enough files to
    pay for starting them (bench/policy_bench.py measures where that is)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cores, MAX_JOBS) if files >= PARALLEL_FROM_FILES else 1
