"""Where a stack's `rdagent:` keys come from: the stack files (synth, preflight, rollout) or the
running Pulumi engine (`__main__.py`). Both end in `config.load_stack_config`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from rdagent_infra.config import ConfigError, SecretValue, StackConfig, load_stack_config
from rdagent_infra.config.secrets import PLACEHOLDER_PREFIX

PREFIX = "rdagent:"


def _mark_secrets(value: Any, key: str) -> Any:
    """Replace `{secure: ...}` leaves by SecretValue placeholders (synth decrypts nothing)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SecretValue(f"{PLACEHOLDER_PREFIX}{key}")
        return {k: _mark_secrets(v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_mark_secrets(v, f"{key}[{i}]") for i, v in enumerate(value)]
    return value


# libyaml's parser where PyYAML has it (the same safe constructors): a stack file of 500 runs took
# 5 s in the pure-Python scanner.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(str(path), [f"{path}: no such stack file (create it with pulumi stack init, or check --stack)"]) from None
    try:
        return yaml.load(text, Loader=SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(str(path), [f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None


def read_project(directory: Path) -> dict[str, Any]:
    project = _read_yaml(directory / "Pulumi.yaml")
    if not isinstance(project, dict) or "name" not in project:
        raise ConfigError("Pulumi.yaml", [f"{directory / 'Pulumi.yaml'}: not a Pulumi project file (no name)"])
    return project


def raw_stack_config(directory: Path, stack: str) -> tuple[dict[str, Any], str]:
    """The `rdagent:` keys of Pulumi.<stack>.yaml (prefix removed), and the file's name."""
    path = directory / f"Pulumi.{stack}.yaml"
    document = _read_yaml(path)
    if not isinstance(document, dict):
        raise ConfigError(str(path), [f"{path}: must be a mapping with a config: section"])
    section = document.get("config") or {}
    if not isinstance(section, dict):
        raise ConfigError(str(path), [f"{path}: config: must be a mapping of keys to values"])
    raw = {key[len(PREFIX) :]: _mark_secrets(value, key) for key, value in section.items() if key.startswith(PREFIX)}
    return raw, path.name


def load_from_files(directory: Path, stack: str) -> tuple[StackConfig, str]:
    """Validate a stack from its files in `directory`; returns the config and the project name."""
    project = read_project(directory)
    raw, source = raw_stack_config(directory, stack)
    try:
        return load_stack_config(raw, stack, source), project["name"]
    except ConfigError as exc:
        raise ConfigError(source, [f"{source}: {problem}" if not problem.startswith(source) else problem for problem in exc.problems]) from None


def _parse_engine_value(value: Any) -> Any:
    """The engine passes every value as a string; structured ones are JSON."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _wrap_leaves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _wrap_leaves(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wrap_leaves(v) for v in value]
    return SecretValue(str(value))


def load_from_engine(stack: str) -> StackConfig:
    """Validate the running stack's `rdagent:` keys as the Pulumi engine passed them."""
    from pulumi.runtime import config as runtime_config

    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = set(runtime_config.get_config_secret_keys_env()) | set(runtime_config._SECRET_KEYS.get())
    raw: dict[str, Any] = {}
    for key, value in values.items():
        if not key.startswith(PREFIX):
            continue
        parsed = _parse_engine_value(value)
        raw[key[len(PREFIX) :]] = _wrap_leaves(parsed) if key in secret_keys else parsed
    return load_stack_config(raw, stack, f"Pulumi.{stack}.yaml")
