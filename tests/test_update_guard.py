"""`pulumi up` refuses, before any resource is registered, what would build something no one can use
(issue 28, item 8): an EKS API endpoint open only to a documentation range, and a stack beyond dev
and test opened by the example passphrase. Preview and synth are not refused (__main__.py asks only
for an update)."""

from __future__ import annotations

import copy

import yaml

from rdagent_infra.config import load_stack_config
from rdagent_infra.logic.secrets_at_rest import example_passphrase_refusal
from rdagent_infra.stack_source import raw_stack_config
from rdagent_infra.update_guard import update_refusals
from tests.conftest import ROOT
from tests.test_secrets_at_rest import _salt

TEAM_SALT = {"encryptionsalt": _salt("only-the-team-knows")}


def config_of(stack: str, cidrs: list[str] | None = None):
    raw, source = raw_stack_config(ROOT, stack)
    raw = copy.deepcopy(raw)
    if cidrs is not None:
        raw["cluster"]["eks"]["publicAccessCidrs"] = cidrs
    return load_stack_config(raw, stack, source)


def document(stack: str) -> dict:
    return yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())


def test_the_committed_staging_is_refused_for_its_passphrase_and_its_documentation_cidr():
    assert update_refusals(config_of("staging"), "staging", document("staging")) == [
        example_passphrase_refusal("staging", "staging"),
        "pulumi up --stack staging refused: rdagent:cluster.eks.publicAccessCidrs lists 192.0.2.0/24, a documentation range that "
        "reaches nothing: set the egress CIDRs of the laptops and CI runners that run pulumi (pulumi preview and rdagent-infra synth still run)",
    ]


def test_a_team_passphrase_and_real_cidrs_go_through():
    assert update_refusals(config_of("prod", ["198.18.7.0/24"]), "prod", TEAM_SALT) == []
    # Any documentation range, also inside a longer list.
    (refusal,) = update_refusals(config_of("prod", ["198.18.7.0/24", "203.0.113.8/29"]), "prod", TEAM_SALT)
    assert "lists 203.0.113.8/29, a documentation range" in refusal


def test_local_stacks_are_not_refused():
    for stack in ("dev", "test"):
        assert update_refusals(config_of(stack), stack, document(stack)) == []
