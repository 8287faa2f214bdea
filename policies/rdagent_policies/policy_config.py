"""Policy configuration files (`pulumi ... --policy-pack-config FILE`, `policy check --config FILE`):
per policy an enforcement level, or an object with `enforcementLevel` and the policy's own
properties. `json_schema()` is the whole file's JSON schema, built from each policy's
config_schema; `load` validates a file against it, as the engine does for the pack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rdagent_policies import rules

LEVELS = ("advisory", "mandatory", "disabled")


class PolicyConfigError(Exception):
    pass


def default_levels() -> dict[str, str]:
    levels = {policy.name: policy.default_level for policy in rules.RESOURCE_POLICIES}
    levels[rules.STACK_POLICY_NAME] = "mandatory"
    return levels


def json_schema() -> dict[str, Any]:
    level = {"enum": list(LEVELS)}
    properties: dict[str, Any] = {}
    for name in default_levels():
        own = next((p.config_schema for p in rules.RESOURCE_POLICIES if p.name == name), {})
        as_object = {"type": "object", "properties": {"enforcementLevel": level, **own}, "additionalProperties": False}
        properties[name] = {"oneOf": [level, as_object]}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": properties, "additionalProperties": False}


def load(config_file: Path | None) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """(level per policy, configured properties per policy) from a config file, or the defaults."""
    levels = default_levels()
    if config_file is None:
        return levels, {}
    try:
        configured = json.loads(config_file.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PolicyConfigError(f"{config_file}: cannot read policy config: {exc}") from None
    import jsonschema  # only with a config file: `policy check` without one starts faster

    errors = sorted(jsonschema.Draft7Validator(json_schema()).iter_errors(configured), key=lambda e: list(e.absolute_path))
    if errors:
        raise PolicyConfigError("; ".join(f"{config_file}: {_where(e)}: {_message(e)}" for e in errors))
    settings: dict[str, dict[str, Any]] = {}
    for name, value in configured.items():
        if isinstance(value, dict):
            levels[name] = value.get("enforcementLevel", levels[name])
            settings[name] = {k: v for k, v in value.items() if k != "enforcementLevel"}
        else:
            levels[name] = value
    return levels, settings


def _where(error: Any) -> str:  # a jsonschema.ValidationError
    return ".".join(str(part) for part in error.absolute_path) or "(top level)"


def _message(error: Any) -> str:  # a jsonschema.ValidationError
    if error.validator == "additionalProperties" and not error.absolute_path:
        known = ", ".join(sorted(default_levels()))
        return f"unknown policy ({error.message}; known: {known})"
    if error.validator == "oneOf":
        return f"must be one of {', '.join(LEVELS)}, or an object with enforcementLevel and the policy's properties; got {json.dumps(error.instance)}"
    return error.message
