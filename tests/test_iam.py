"""No IAM policy this project writes allows a wildcard action, and `"Resource": "*"` appears only in the
statements rdagent_policies/iam_exceptions.py lists with their reasons: every IAM document of the
AWS stacks, read from the program's registrations under mocks, and the pack's rule over each."""

from __future__ import annotations

import json

import pytest
from rdagent_policies import rules
from rdagent_policies.iam_exceptions import MANAGED_POLICIES, WILDCARD_RESOURCE_EXCEPTIONS

from tests.test_components import synth
from tests.test_policy_pack_server import analyze, analyzer  # noqa: F401 (the pack server fixture)

IAM_RULE = {p.name: p for p in rules.RESOURCE_POLICIES}["no-wildcard-iam"]
# Every input of ours that holds a policy document: identity policies, trust policies, resource policies.
DOCUMENT_INPUTS = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:ecr/repositoryPolicy:RepositoryPolicy": "policy",
}


SECRETS_STORE = {"secrets": {"deepseekApiKey": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rdagent/deepseek-AbC123"}}


@pytest.fixture(scope="module", params=["staging", "prod", "prod-with-secrets-manager"])
def registrations(request):
    stack, _, variant = request.param.partition("-with-")
    _, result, _ = synth(stack, **({"secretsStore": SECRETS_STORE} if variant else {}))
    return result.registrations


def documents(registrations) -> list[tuple[str, dict]]:
    found = []
    for r in registrations:
        key = DOCUMENT_INPUTS.get(r.type)
        if key is None:
            continue
        document = r.inputs.get(key)
        assert isinstance(document, str), f"{r.type} {r.name}: {key} is not a resolved JSON document under mocks: {document!r}"
        found.append((f"{r.type} {r.name}", json.loads(document)))
    return found


def statements(document: dict) -> list[dict]:
    listed = document.get("Statement")
    return listed if isinstance(listed, list) else [listed]


def test_the_pack_finds_nothing_in_our_iam_policies(registrations):
    checked = [r for r in registrations if r.type in IAM_RULE.resource_types]
    assert any(r.type == "aws:iam/rolePolicy:RolePolicy" for r in checked), "no inline policy was checked: the test would pass vacuously"
    for r in checked:
        assert rules.evaluate(IAM_RULE, r.type, r.inputs) == [], f"{r.type} {r.name}"


def test_no_document_of_ours_allows_a_wildcard_action(registrations):
    for where, document in documents(registrations):
        for statement in statements(document):
            if statement.get("Effect") != "Allow":
                continue  # the queue's DenyHTTP denies every action (sqs:*) over plain HTTP: a wildcard that narrows
            actions = statement.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            assert not [a for a in actions if "*" in a], f"{where}: {statement}"
            assert "NotAction" not in statement and "NotResource" not in statement, where


def test_wildcard_resources_are_exactly_the_listed_exceptions(registrations):
    wide = {}
    for _where, document in documents(registrations):
        for statement in statements(document):
            resources = statement.get("Resource")
            if statement.get("Effect") == "Allow" and "*" in (resources if isinstance(resources, list) else [resources]):
                wide[statement.get("Sid")] = set(statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    listed = {e.sid: set(e.actions) for e in WILDCARD_RESOURCE_EXCEPTIONS}
    assert wide == listed, "the wildcard-resource statements and rdagent_policies/iam_exceptions.py disagree"
    assert all(e.reason.strip() for e in WILDCARD_RESOURCE_EXCEPTIONS)


def test_every_managed_policy_attached_is_listed_with_its_reason(registrations):
    attached = {r.inputs["policyArn"] for r in registrations if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"}
    assert attached and attached <= set(MANAGED_POLICIES), sorted(attached - set(MANAGED_POLICIES))


def test_the_pack_server_reports_a_wildcard_that_does_not_belong(analyzer):  # noqa: F811 (the fixture)
    wide = {"Sid": "ReadAllBuckets", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
    props = {"role": "rdagent-runs", "policy": json.dumps({"Version": "2012-10-17", "Statement": [wide]})}
    diagnostics = {d.policyName: d for d in analyze(analyzer, "aws:iam/rolePolicy:RolePolicy", "runs", props)}
    assert "no-wildcard-iam" in diagnostics and "(ReadAllBuckets)" in diagnostics["no-wildcard-iam"].message
    listed = {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "*"}
    props = {"policy": json.dumps({"Version": "2012-10-17", "Statement": [listed]})}
    assert list(analyze(analyzer, "aws:iam/policy:Policy", "pricing", props)) == []
