"""Rendering and hashing of the documents we put in ConfigMaps (a changed document rolls the pods)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def content_hash(*documents: str) -> str:
    """A short hash of ConfigMap contents: as a pod annotation, a changed file rolls the pods."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
