"""docs/configuration.md, generated from the pydantic model tree: every `rdagent:` key with its
type, default, constraints and the stacks that set it.

    .venv/bin/python -m rdagent_infra.config_docs          # rewrite docs/configuration.md
    .venv/bin/python -m rdagent_infra.config_docs --check  # exit 1 when it is stale

tests/test_config_docs.py fails when the file differs from what the models say."""

from __future__ import annotations

import enum
import json
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rdagent_infra.config import NAMESPACE, StackConfig
from rdagent_infra.config.secrets import SecretValue

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "configuration.md"
STACKS = ("dev", "test", "staging", "prod")
CONSTRAINTS = (
    ("ge", ">= {}"),
    ("gt", "> {}"),
    ("le", "<= {}"),
    ("lt", "< {}"),
    ("min_length", "length >= {}"),
    ("max_length", "length <= {}"),
    ("pattern", "matches `{}`"),
)


@dataclass(frozen=True)
class Key:
    path: str  # e.g. workloads.ui.replicas; list items as [], map entries as <name>
    type: str
    default: str
    constraints: str
    model: type[BaseModel] | None  # the section a key opens, if any


def _args(annotation: Any) -> tuple[Any, list[Any]]:
    """(the bare type, its Annotated metadata)."""
    metadata: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        annotation, *extra = typing.get_args(annotation)
        metadata += extra
    return annotation, metadata


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def type_name(annotation: Any) -> str:
    annotation, metadata = _args(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    suffix = f" ({constraints(metadata)})" if constraints(metadata) else ""
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin in (list, tuple, set):
        return f"list of {type_name(args[0])}{suffix}"
    if origin is dict:
        return f"map of {type_name(args[0])} to {type_name(args[1])}{suffix}"
    if _is_model(annotation):
        return "object"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(f"`{json.dumps(m.value)}`" for m in annotation)
    if annotation is SecretValue or getattr(annotation, "__name__", "") == "SecretValue":
        return "secret"
    return f"{getattr(annotation, '__name__', str(annotation))}{suffix}"


def constraints(metadata: list[Any]) -> str:
    found = []
    for item in metadata:
        for attribute, template in CONSTRAINTS:
            value = getattr(item, attribute, None)
            if value is not None:
                found.append(template.format(value))
    return ", ".join(found)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, enum.Enum):
        value = value.value
    return f"`{json.dumps(value, default=str)}`"


def _nested(annotation: Any) -> tuple[str, type[BaseModel] | None]:
    """The path suffix and model a key opens: an object, a list of objects or a map of objects."""
    annotation, _ = _args(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if _is_model(annotation):
        return "", annotation
    if origin in (typing.Union, types.UnionType):
        models = [a for a in args if _is_model(_args(a)[0])]
        return ("", _args(models[0])[0]) if len(models) == 1 else ("", None)
    if origin is list and _is_model(_args(args[0])[0]):
        return "[]", _args(args[0])[0]
    if origin is dict and _is_model(_args(args[1])[0]):
        return ".<name>", _args(args[1])[0]
    return "", None


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[Key]:
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        annotation = field.annotation if not field.metadata else typing.Annotated[field.annotation, *field.metadata]
        suffix, nested = _nested(field.annotation)
        yield Key(key, type_name(annotation), default_text(field), constraints(field.metadata), nested)
        if nested is not None:
            yield from keys(nested, f"{key}{suffix}.")


def _flatten(value: Any, prefix: str, known_maps: set[str]) -> Iterator[str]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.<name>" if prefix in known_maps else f"{prefix}.{key}"
            yield from _flatten(child, path, known_maps)
    elif isinstance(value, list):
        for child in value:
            yield from _flatten(child, f"{prefix}[]", known_maps)


def stack_keys(stack: str, known_maps: set[str]) -> set[str]:
    config = (yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}).get("config") or {}
    found: set[str] = set()
    for name, value in config.items():
        if name.startswith(f"{NAMESPACE}:"):
            found |= set(_flatten(value, name.split(":", 1)[1], known_maps))
    return found


def render() -> str:
    all_keys = list(keys(StackConfig))
    maps = {k.path for k in all_keys if k.model is not None and k.type.startswith("map of")}
    set_by = {stack: stack_keys(stack, maps) for stack in STACKS}
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `python -m rdagent_infra.config_docs` from the pydantic models in rdagent_infra/config/;",
        "     tests/test_config_docs.py fails when this file is stale. Do not edit by hand. -->",
        "",
        f"Every key is written `{NAMESPACE}:<key>` in `Pulumi.<stack>.yaml`; structured keys are set with",
        "`pulumi config set --path`. Unknown keys are errors at every level. `[]` is a list item,",
        "`<name>` a map entry. *Stacks* lists the stack files that set the key (or a key below it).",
    ]
    section = None
    for key in all_keys:
        top = key.path.split(".", 1)[0].split("[", 1)[0]
        if top != section:
            section = top
            model = dict(keys_with_models(StackConfig)).get(top)
            lines += ["", f"## `{NAMESPACE}:{top}`", ""]
            if model is not None and model.__doc__ and not model.__doc__.startswith(model.__name__ + "("):
                lines += [" ".join(model.__doc__.split()), ""]
            lines += ["| key | type | default | stacks |", "|---|---|---|---|"]
        stacks = ", ".join(stack for stack in STACKS if key.path in set_by[stack]) or "-"
        lines.append(f"| `{key.path}` | {key.type} | {key.default} | {stacks} |")
    return "\n".join(lines) + "\n"


def keys_with_models(model: type[BaseModel]) -> Iterator[tuple[str, type[BaseModel] | None]]:
    for name, field in model.model_fields.items():
        yield field.alias or name, _nested(field.annotation)[1]


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.name} is stale: run python -m rdagent_infra.config_docs", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
