"""Validation errors as the user reads them: one line per problem, `rdagent:<key path>: <what is wrong>`."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(Exception):
    """Invalid stack configuration: one line per problem, each naming the key path."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(problems))


def _key_path(loc: list[str | int]) -> str:
    text = "rdagent:"
    for index, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if index == 0 else f".{part}"
    return text


def _fields_at(root: type[BaseModel], loc: list[str | int]) -> list[str]:
    """The keys the model accepts at `loc`'s parent: for did-you-mean hints."""
    model: Any = root
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        model = next((arg for arg in getattr(annotation, "__args__", (annotation,)) if isinstance(arg, type) and issubclass(arg, BaseModel)), None)
        if model is None and isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
    return list(model.model_fields) if model is not None and hasattr(model, "model_fields") else []


_BOUNDS = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"), "less_than": ("<", "lt")}
# Wrong-type errors: what the value must be (the message adds what it got).
_MUST_BE = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
}


def _describe(root: type[BaseModel], error: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = error.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(error["loc"][-1]), _fields_at(root, list(error["loc"])), n=1, cutoff=0.75)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind in _BOUNDS:
        operator, name = _BOUNDS[kind]
        return f"must be {operator} {ctx[name]}, got {got!r}"
    if kind == "missing":
        return "required"
    if kind in _MUST_BE:
        return f"must be {_MUST_BE[kind]}, got {got!r}"
    if kind == "literal_error":
        return f"must be one of {ctx['expected']}, got {got!r}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return f"has an invalid format (must match {ctx['pattern']}), got {got!r}"
    return error["msg"]


def format_errors(exc: ValidationError, root: type[BaseModel]) -> list[str]:
    """One line per error of validating `root` (for did-you-mean hints on unknown keys)."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-"))]
        subpath = (error.get("ctx") or {}).get("subpath")
        if subpath:
            loc = loc + list(subpath)
        lines.append(f"{_key_path(loc)}: {_describe(root, error)}")
    return lines
