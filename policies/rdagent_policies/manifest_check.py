"""Run the pack's rules over plain Kubernetes YAML manifests, for teams without Pulumi."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rdagent_policies import policy_config, rules

MANIFEST_SUFFIXES = (".yaml", ".yml")


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


def documents(path: Path) -> Iterator[dict[str, Any]]:
    try:
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "List":
                yield from (item for item in document.get("items") or [] if isinstance(item, dict))
            elif isinstance(document, dict):
                yield document
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ManifestError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None


def load_levels(config_file: Path | None) -> dict[str, str]:
    try:
        return policy_config.load(config_file)[0]
    except policy_config.PolicyConfigError as exc:
        raise ManifestError(str(exc)) from None


def check(paths: Iterable[Path], levels: dict[str, str], settings: dict[str, dict] | None = None) -> list[Finding]:
    findings: list[Finding] = []
    stack: list[tuple[str, str, dict]] = []
    for path in manifest_files(paths):
        for manifest in documents(path):
            kind = manifest.get("kind", "?")
            name = (manifest.get("metadata") or {}).get("name", "?")
            token = type_token(str(manifest.get("apiVersion", "")), kind)
            stack.append((token, name, manifest))
            for policy in rules.RESOURCE_POLICIES:
                if levels[policy.name] == "disabled":
                    continue
                for message in rules.evaluate(policy, token, manifest, (settings or {}).get(policy.name)):
                    findings.append(Finding(str(path), f"{kind}/{name}", policy.name, levels[policy.name], message))
    if levels[rules.STACK_POLICY_NAME] != "disabled":
        for message in rules.rollout_consistency(stack):
            findings.append(Finding("(all files)", "stack", rules.STACK_POLICY_NAME, levels[rules.STACK_POLICY_NAME], message))
    return findings
