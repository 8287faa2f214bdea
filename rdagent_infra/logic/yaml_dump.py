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

import re
from collections.abc import Iterable
from typing import Any

import yaml

# The C dumper when PyYAML was built with libyaml (its wheels are), else the Python one.
PURE_DUMPER = yaml.SafeDumper
FAST_DUMPER = yaml.CSafeDumper if yaml.__with_libyaml__ else PURE_DUMPER
DUMP_OPTIONS = {"sort_keys": False, "default_flow_style": False, "allow_unicode": True, "width": 120}
KEY_LIMIT = 100  # characters; below both emitters' simple-key limit

# What a one-line string may hold beyond printable ASCII (checked only for non-ASCII strings):
# Latin-1 from U+00B0 (the C1 controls, NBSP and soft hyphen are left out), the rest of the BMP
# except the line and paragraph separators, the BOM and the non-characters U+FFFE/U+FFFF.
_SAME_IN_BOTH = re.compile("[\x20-\x7e\u00b0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")


def dump(document: Any, dumper: type = FAST_DUMPER) -> str:
    return yaml.dump(document, Dumper=dumper, **DUMP_OPTIONS)


def same_in_both(text: str) -> bool:
    """Whether both emitters write `text` (a scalar string) alike, wherever it stands."""
    if text.isascii():
        return text.isprintable()
    return _SAME_IN_BOTH.fullmatch(text) is not None


def keys_same_in_both(keys: Iterable[str]) -> bool:
    """Whether both emitters write every one of these mapping keys alike."""
    return all(0 < len(key) < KEY_LIMIT and key.isascii() and key.isprintable() for key in keys)
