"""One ServiceAccount per workload, no token unless the pod says why, and RBAC only where a token is used."""

from __future__ import annotations

import pytest
import yaml
from rdagent_policies.identity import TOKEN_REASON_ANNOTATION
from rdagent_policies.workloads import pod_spec_of

from tests.conftest import STACKS

WORKLOAD_KINDS = {"Deployment": "apps/v1", "StatefulSet": "apps/v1", "DaemonSet": "apps/v1", "Job": "batch/v1", "CronJob": "batch/v1"}


def load(out) -> list[dict]:
    return [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]


@pytest.mark.parametrize("stack", STACKS)
def test_every_workload_runs_as_its_own_service_account(synthesized, stack):
    manifests = load(synthesized(stack))
    accounts = {(m["metadata"]["namespace"], m["metadata"]["name"]): m for m in manifests if m["kind"] == "ServiceAccount"}
    users: dict[tuple[str, str], set] = {}
    for m in manifests:
        if m["kind"] not in WORKLOAD_KINDS:
            continue
        pod = pod_spec_of(f"kubernetes:{WORKLOAD_KINDS[m['kind']]}:{m['kind']}", m)
        assert pod is not None
        where = f"{m['kind']} {m['metadata']['namespace']}/{m['metadata']['name']}"
        account = pod.spec.get("serviceAccountName")
        assert account and account != "default", f"{where} runs as the namespace's default ServiceAccount"
        key = (m["metadata"]["namespace"], account)
        assert key in accounts, f"{where} names ServiceAccount {account!r}, which the stack does not create"
        pod_labels = pod.metadata.get("labels") or {}
        users.setdefault(key, set()).add((pod_labels.get("app.kubernetes.io/name"), pod_labels.get("app.kubernetes.io/component")))
        reason = (pod.metadata.get("annotations") or {}).get(TOKEN_REASON_ANNOTATION)
        if pod.spec.get("automountServiceAccountToken") is not False:
            assert reason, f"{where} mounts a token without saying why"
    # A ServiceAccount serves one workload: the pods of one app and component (a rollout's tracks, every run).
    for (namespace, account), workloads in users.items():
        assert len(workloads) == 1, f"{namespace}/{account} is shared by {sorted(workloads)}"
    # Every ServiceAccount we create mounts no token by default.
    assert all(a.get("automountServiceAccountToken") is False for a in accounts.values())


@pytest.mark.parametrize("stack", STACKS)
def test_rbac_is_granted_only_to_accounts_that_mount_a_token(synthesized, stack):
    manifests = load(synthesized(stack))
    token_users = set()
    for m in manifests:
        if m["kind"] in WORKLOAD_KINDS:
            pod = pod_spec_of(f"kubernetes:{WORKLOAD_KINDS[m['kind']]}:{m['kind']}", m)
            if pod.spec.get("automountServiceAccountToken") is not False:
                token_users.add((m["metadata"]["namespace"], pod.spec["serviceAccountName"]))
    for m in manifests:
        if m["kind"] in ("RoleBinding", "ClusterRoleBinding"):
            for subject in m["subjects"]:
                assert (subject["namespace"], subject["name"]) in token_users, f"{m['kind']} {m['metadata']['name']} binds an account that uses no token"
    cluster_wide = {m["metadata"]["name"] for m in manifests if m["kind"] == "ClusterRoleBinding"}
    # Only the node-level log shipper reads across namespaces (pod metadata of every pod on its node).
    assert cluster_wide <= {"rdagent-log-shipper"}, cluster_wide
