"""Least privilege: IAM policy documents allow no wildcard action and no `"Resource": "*"` outside the
listed exceptions (rdagent_policies.iam_exceptions), and workloads mount a ServiceAccount token only
with a written reason.

IAM documents reach the pack as the `policy` input of aws:iam/policy:Policy, aws:iam/rolePolicy:RolePolicy
(and the user and group forms) and as aws:iam/role:Role `inlinePolicies[].policy`: a JSON string, or
unknown during a preview (then it is checked when it is known).
"""

from __future__ import annotations

import json
from typing import Any

from rdagent_policies.iam_exceptions import wildcard_exception
from rdagent_policies.workloads import PodSpec

IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
    "aws:iam/role:Role",
)
TOKEN_REASON_ANNOTATION = "rdagent.io/service-account-token-reason"


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _documents(props: dict[str, Any]) -> list[tuple[str, Any]]:
    """(where, policy document) pairs of one resource; unparsable or unknown documents are skipped."""
    raw = [("policy", props.get("policy"))]
    raw += [(f"inlinePolicies[{i}].policy", p.get("policy")) for i, p in enumerate(props.get("inlinePolicies") or []) if isinstance(p, dict)]
    found = []
    for where, document in raw:
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError:
                continue
        if isinstance(document, dict):
            found.append((where, document))
    return found


def statement_problems(statement: dict[str, Any]) -> list[str]:
    """What is too wide in one Allow statement."""
    if statement.get("Effect") != "Allow":
        return []  # a Deny with a wildcard narrows (e.g. every action over plain HTTP)
    problems = []
    if "NotAction" in statement or "NotResource" in statement:
        problems.append("uses NotAction/NotResource, which allows everything not listed; list what it allows")
    actions = [str(a) for a in _listed(statement.get("Action"))]
    wild_actions = [a for a in actions if "*" in a]
    if wild_actions:
        problems.append(f"allows wildcard actions {wild_actions}; list each action")
    if "*" in [str(r) for r in _listed(statement.get("Resource"))]:
        exception = wildcard_exception(statement.get("Sid"))
        outside = sorted(set(actions) - exception.actions) if exception else sorted(actions)
        if exception is None:
            problems.append('allows "Resource": "*" and is not a listed exception (rdagent_policies/iam_exceptions.py); name the resources')
        elif outside:
            problems.append(f'allows "Resource": "*" for actions its exception does not list: {outside}')
    return problems


def no_wildcard_iam(props: dict[str, Any]) -> list[str]:
    found = []
    for where, document in _documents(props):
        for index, statement in enumerate(_listed(document.get("Statement"))):
            if not isinstance(statement, dict):
                continue
            label = f"{where} Statement[{index}]" + (f" ({statement['Sid']})" if statement.get("Sid") else "")
            found += [f"{label} {problem}" for problem in statement_problems(statement)]
    return found


def _token_volumes(pod: PodSpec) -> list[str]:
    """Projected volumes that mount a ServiceAccount token explicitly."""
    names = []
    for volume in pod.spec.get("volumes") or []:
        sources = ((volume or {}).get("projected") or {}).get("sources") or []
        if any(isinstance(source, dict) and "serviceAccountToken" in source for source in sources):
            names.append(str(volume.get("name", "?")))
    return names


def token_mount_has_reason(pod: PodSpec) -> list[str]:
    """A pod that gets a ServiceAccount token (automountServiceAccountToken not false: Kubernetes mounts
    one unless the pod or its ServiceAccount says false, and the pack sees the pod alone) names why
    in the pod template's annotation."""
    reason = str((pod.metadata.get("annotations") or {}).get(TOKEN_REASON_ANNOTATION, "")).strip()
    if reason:
        return []
    found = []
    if pod.spec.get("automountServiceAccountToken") is not False:
        found.append(
            f"{pod.path}.automountServiceAccountToken is not false: the pod gets an API token. Set it to false, or say why it "
            f"needs one in the pod template's annotation {TOKEN_REASON_ANNOTATION}"
        )
    for name in _token_volumes(pod):
        found.append(f"{pod.path}.volumes {name!r} projects a ServiceAccount token without the annotation {TOKEN_REASON_ANNOTATION}")
    return found
