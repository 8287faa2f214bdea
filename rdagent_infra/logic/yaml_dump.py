"""YAML for synth's manifests: libyaml's C emitter for the documents it writes byte for byte
like PyYAML's pure-Python emitter, the pure-Python emitter for the others.

Both emitters share PyYAML's representer and resolver (every scalar's text and implicit tag are
the same); they differ only in how they emit some strings. Found by property-based fuzzing
(tests/test_yaml_dump.py) and by diffing real synth output, they differ for:
- strings with line breaks, tabs or other control characters: the two wrap long double-quoted
  scalars at different places (every ConfigMap holding a script or a JSON file);
- characters outside the Basic Multilingual Plane, NEL, U+2028/U+2029, U+FEFF, U+FFFE/U+FFFF;
- mapping keys that are empty or long (the simple-key limit is 128 characters in Python,
  128 bytes in libyaml).
One-line strings of any other printable characters, of any length, come out the same.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from typing import Any

import yaml
from rdagent_policies.yaml_tags import RememberedTags


class PureDumper(RememberedTags, yaml.SafeDumper):
    pass


# The C emitter when PyYAML was built with libyaml (its wheels are), else the Python one.
PURE_DUMPER: type = PureDumper
FAST_DUMPER: type = type("FastDumper", (RememberedTags, yaml.CSafeDumper), {}) if yaml.__with_libyaml__ else PURE_DUMPER
DUMP_OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 120}
KEY_LIMIT = 100  # characters; below both emitters' simple-key limit

# What a one-line string may hold beyond printable ASCII (checked only for non-ASCII strings):
# Latin-1 from U+00B0 (the C1 controls, NBSP and soft hyphen are left out), the rest of the BMP
# except the line and paragraph separators, the BOM and the non-characters U+FFFE/U+FFFF.
_SAME_IN_BOTH = re.compile("[\x20-\x7e\u00b0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")


_TAG = "tag:yaml.org,2002:"
_STR, _INT, _BOOL, _NULL, _MAP, _SEQ = (_TAG + name for name in ("str", "int", "bool", "null", "map", "seq"))


class _Unusual(Exception):
    """A value `_node` leaves to PyYAML's representer (a float, a tuple, a subclass, a shared container)."""


def _node(value: Any, seen: set[int]) -> yaml.Node:
    """The node PyYAML's SafeRepresenter makes of `value` (with DUMP_OPTIONS), without its per-value
    dispatch: manifests hold only maps, lists, strings, integers, booleans and nulls."""
    kind = type(value)
    if kind is str:
        return yaml.ScalarNode(_STR, value)
    if kind is dict or kind is list:
        if id(value) in seen:  # the representer would write an anchor and an alias
            raise _Unusual
        seen.add(id(value))
        if kind is dict:
            return yaml.MappingNode(_MAP, [(_node(key, seen), _node(item, seen)) for key, item in value.items()], flow_style=False)
        return yaml.SequenceNode(_SEQ, [_node(item, seen) for item in value], flow_style=False)
    if kind is bool:
        return yaml.ScalarNode(_BOOL, "true" if value else "false")
    if kind is int:
        return yaml.ScalarNode(_INT, str(value))
    if value is None:
        return yaml.ScalarNode(_NULL, "null")
    raise _Unusual


def dump(document: Any, dumper: type = FAST_DUMPER) -> str:
    """`yaml.dump(document, Dumper=dumper, **DUMP_OPTIONS)`, byte for byte (tests/test_yaml_dump.py)."""
    try:
        node = _node(document, set())
    except _Unusual:
        return yaml.dump(document, Dumper=dumper, **DUMP_OPTIONS)
    stream = io.StringIO()
    serializer = dumper(stream, **DUMP_OPTIONS)
    try:
        serializer.open()
        serializer.serialize(node)
        serializer.close()
    finally:
        serializer.dispose()
    return stream.getvalue()


def same_in_both(text: str) -> bool:
    """Whether both emitters write `text` (a scalar string) alike, wherever it stands."""
    if text.isascii():
        return text.isprintable()
    return _SAME_IN_BOTH.fullmatch(text) is not None


def keys_same_in_both(keys: Iterable[str]) -> bool:
    """Whether both emitters write every one of these mapping keys alike."""
    return all(0 < len(key) < KEY_LIMIT and key.isascii() and key.isprintable() for key in keys)
