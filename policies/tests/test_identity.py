"""The least-privilege rules: wildcard IAM statements outside the listed exceptions, and ServiceAccount
tokens mounted without a reason."""

from __future__ import annotations

import json

import pytest
from rdagent_policies import rules
from rdagent_policies.iam_exceptions import WILDCARD_RESOURCE_EXCEPTIONS

POLICIES = {p.name: p for p in rules.RESOURCE_POLICIES}


def iam(*statements: dict, resource_type: str = "aws:iam/rolePolicy:RolePolicy") -> list[str]:
    props = {"role": "r", "policy": json.dumps({"Version": "2012-10-17", "Statement": list(statements)})}
    return rules.evaluate(POLICIES["no-wildcard-iam"], resource_type, props)


def allow(action, resource, sid=None) -> dict:
    return {**({"Sid": sid} if sid else {}), "Effect": "Allow", "Action": action, "Resource": resource}


def test_scoped_statements_and_listed_exceptions_pass():
    assert iam(allow("s3:GetObject", "arn:aws:s3:::bucket/runs/*")) == []
    for exception in WILDCARD_RESOURCE_EXCEPTIONS:
        assert iam(allow(sorted(exception.actions), "*", exception.sid)) == [], exception.sid


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        (allow("s3:GetObject", "*", "ReadEverything"), 'allows "Resource": "*" and is not a listed exception'),
        (allow(["s3:GetObject"], ["arn:aws:s3:::b/*", "*"]), 'allows "Resource": "*"'),
        (allow(["pricing:GetProducts", "s3:PutObject"], "*", "AllowPricingReadActions"), "its exception does not list: ['s3:PutObject']"),
        (allow("*", "arn:aws:s3:::b/*"), "allows wildcard actions ['*']"),
        (allow("s3:*", "arn:aws:s3:::b/*"), "allows wildcard actions ['s3:*']"),
        (allow("ec2:Describe*", "*", "AllowRegionalReadActions"), "allows wildcard actions ['ec2:Describe*']"),
        ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:s3:::b"}, "NotAction/NotResource"),
    ],
)
def test_a_wildcard_that_does_not_belong_is_caught(statement, fragment):
    found = iam(statement)
    assert found and fragment in found[0], found


def test_every_document_form_is_read():
    statement = allow("s3:GetObject", "*", "Wide")
    assert iam(statement, resource_type="aws:iam/policy:Policy")
    role = {"assumeRolePolicy": "{}", "inlinePolicies": [{"name": "x", "policy": json.dumps({"Statement": [statement]})}]}
    found = rules.evaluate(POLICIES["no-wildcard-iam"], "aws:iam/role:Role", role)
    assert found and found[0].startswith("inlinePolicies[0].policy Statement[0] (Wide)")
    # A statement (not a list) and a document given as an object are read too; unknown (preview) is skipped.
    assert rules.evaluate(POLICIES["no-wildcard-iam"], "aws:iam/policy:Policy", {"policy": {"Statement": statement}})
    assert rules.evaluate(POLICIES["no-wildcard-iam"], "aws:iam/policy:Policy", {"policy": None}) == []


def test_a_wildcard_deny_narrows_and_passes():
    deny = {"Effect": "Deny", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    assert iam(deny) == []


def pod_props(spec: dict, annotations: dict | None = None) -> dict:
    template = {"metadata": {"labels": {"app": "x"}, "annotations": annotations or {}}, "spec": spec}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}}


def token(spec: dict, annotations: dict | None = None) -> list[str]:
    return rules.evaluate(POLICIES["service-account-token-reason"], "kubernetes:apps/v1:Deployment", pod_props(spec, annotations))


def test_a_token_needs_a_reason():
    # Unset means mounted: Kubernetes mounts the token unless the pod or its ServiceAccount says false.
    assert "automountServiceAccountToken is not false" in token({"containers": []})[0]
    assert token({"automountServiceAccountToken": True, "containers": []})
    assert token({"automountServiceAccountToken": False, "containers": []}) == []
    reason = {"rdagent.io/service-account-token-reason": "reads pod metadata from the API"}
    assert token({"automountServiceAccountToken": True, "containers": []}, reason) == []
    assert token({"automountServiceAccountToken": True, "containers": []}, {"rdagent.io/service-account-token-reason": "  "}), "a blank reason is none"


def test_a_projected_token_needs_a_reason_too():
    volume = {"name": "api", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}
    found = token({"automountServiceAccountToken": False, "containers": [], "volumes": [volume]})
    assert found and "'api' projects a ServiceAccount token" in found[0]
