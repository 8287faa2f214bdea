"""The stack's LLM gateway key: what runs send the gateway, and the key its LiteLLM proxy accepts
(its master key). Made once, like the artifact signing key (components/signing_key.py, whose
provider draws it), as `sk-` and 64 hex characters: LiteLLM refuses master keys without `sk-`.
Replacing the resource (`pulumi up --replace <urn>`) rotates it in its Secret; pods read it as
they start, so the gateway is then restarted (docs/security.md)."""

from __future__ import annotations

import pulumi

from components.signing_key import RandomKeyProvider
from rdagent_infra.logic.llm_gateway import KEY_PREFIX


class GatewayKey(pulumi.dynamic.Resource):
    """Output: `key` (secret)."""

    key: pulumi.Output[str]

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        secret = pulumi.ResourceOptions(additional_secret_outputs=["key"])
        super().__init__(RandomKeyProvider(), name, {"key": None, "prefix": KEY_PREFIX, "kind": "gateway-key"}, pulumi.ResourceOptions.merge(opts, secret))
