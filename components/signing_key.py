"""The stack's artifact signing key: 32 random bytes (64 hex characters) made once, when the
resource is created, kept in the stack's state as a secret, and the same on every later update.

RD-Agent 1.0.0 signs every trace and session pickle with HMAC-SHA256 under ARTIFACT_SIGNING_KEY
(rdagent/core/serialization.py) and refuses what another key signed: the UI and every run of a
stack must share one key. pulumi-random's provider would make it, but its Go module is not served
where our engine is built, so this is a Pulumi dynamic resource whose provider draws the bytes from
the operating system's CSPRNG (`secrets.token_hex`); the engine runs it with the SDK's own dynamic
provider host (`pulumi-resource-pulumi-python`, installed beside the engine). Replacing the
resource (`pulumi up --replace <urn>`) rotates the key; traces signed before are then unreadable.
"""

from __future__ import annotations

import secrets

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider

KEY_BYTES = 32  # RD-Agent refuses keys shorter than 32 bytes


class RandomKeyProvider(ResourceProvider):
    """Draws a key once, on create: KEY_BYTES random bytes as hex, after the `prefix` input if one is
    given (`kind` names the id)."""

    def create(self, props: dict) -> CreateResult:
        prefix = props.get("prefix") or ""
        return CreateResult(id_=f"{props.get('kind') or 'signing-key'}-{secrets.token_hex(4)}", outs={"key": prefix + secrets.token_hex(KEY_BYTES)})

    def diff(self, _id: str, _olds: dict, _news: dict) -> DiffResult:
        return DiffResult(changes=False)  # made once: nothing in the program changes it


class ArtifactSigningKey(pulumi.dynamic.Resource):
    """Output: `key` (secret)."""

    key: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["key"])
        super().__init__(RandomKeyProvider(), name, {"key": None}, pulumi.ResourceOptions.merge(opts, secret))
