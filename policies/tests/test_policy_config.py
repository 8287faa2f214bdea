"""Policy configuration: one JSON schema for a config file, built from each configurable policy's
config_schema (what the pack hands the engine); the per-stack files in policies/config/ validate
against it, and bad files are refused with the policy and key named."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from rdagent_policies import pack, policy_config, rules
from rdagent_policies.manifest_check import check

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "config").glob("policy-config.*.json"))
POLICIES = {p.name: p for p in rules.RESOURCE_POLICIES}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_the_stack_configs_validate_against_the_schema(path):
    assert len(CONFIGS) == 4
    jsonschema.Draft7Validator.check_schema(policy_config.json_schema())
    jsonschema.validate(json.loads(path.read_text()), policy_config.json_schema())
    levels, _ = policy_config.load(path)
    assert set(levels) == set(rules.ALL_POLICY_NAMES), "a stack config leaves a policy out"
    assert set(json.loads(path.read_text())) == set(rules.ALL_POLICY_NAMES)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"no-such-policy": "mandatory"}, "unknown policy"),
        ({"pinned-image-tags": "fatal"}, "pinned-image-tags: must be one of advisory, mandatory, disabled"),
        ({"pinned-image-tags": {"enforcementLevel": "mandatory", "requireDigest": "yes"}}, "pinned-image-tags"),
        ({"no-host-ports": {"enforcementLevel": "mandatory", "allowed": [80]}}, "no-host-ports"),
    ],
)
def test_bad_config_files_are_refused(tmp_path, config, fragment):
    path = tmp_path / "policy-config.json"
    path.write_text(json.dumps(config))
    with pytest.raises(policy_config.PolicyConfigError, match=fragment) as error:
        policy_config.load(path)
    assert str(path) in str(error.value)


def test_require_digest_is_passed_to_the_rule(tmp_path):
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: 'app:1.2.3'}]\n")
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"pinned-image-tags": {"enforcementLevel": "mandatory", "requireDigest": True}}))
    levels, settings = policy_config.load(config)
    assert settings == {"pinned-image-tags": {"requireDigest": True}}
    pinned = [f for f in check([manifest], levels, settings) if f.policy == "pinned-image-tags"]
    assert pinned and "has a tag but no digest" in pinned[0].message
    assert not [f for f in check([manifest], levels) if f.policy == "pinned-image-tags"], "the default accepts a version tag"


def test_the_pack_declares_each_config_schema_to_the_engine():
    declared = {p.name: p for p in (pack.resource_policy(policy) for policy in rules.RESOURCE_POLICIES)}
    assert declared["pinned-image-tags"].config_schema.properties == {"requireDigest": dict(POLICIES["pinned-image-tags"].config_schema["requireDigest"])}
    assert all(declared[name].config_schema is None for name, policy in POLICIES.items() if not policy.config_schema)
