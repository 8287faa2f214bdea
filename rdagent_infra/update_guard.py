"""What refuses an update (`pulumi up`, not a preview) before any resource is registered: a stack
beyond dev and test whose secrets the public example passphrase opens, and an EKS API endpoint open
only to a documentation range (RFC 5737), which would build a billed VPC, cluster and nodes that no
one can reach. Preview and synth still run, so that a pull request can be checked before the
values are set. The program (`__main__.py`) calls this; the messages name the key to set."""

from __future__ import annotations

from typing import Any

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.secrets_at_rest import LOCAL_TIERS, example_passphrase_refusal, uses_example_passphrase
from rdagent_infra.platform_checks import FAIL, check_endpoint


def update_refusals(config: StackConfig, stack: str, stack_document: dict[str, Any]) -> list[str]:
    refusals = []
    if config.tier.value not in LOCAL_TIERS and uses_example_passphrase(stack_document):
        refusals.append(example_passphrase_refusal(config.tier.value, stack))
    endpoint = check_endpoint(config)
    if endpoint.status == FAIL:
        refusals.append(f"pulumi up --stack {stack} refused: {endpoint.reason} (pulumi preview and rdagent-infra synth still run)")
    return refusals
