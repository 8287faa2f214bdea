"""The AWS stacks' validation and preflight items: API access, the account, GPU capacity, and the
add-ons an existing cluster must have, read from Kubernetes API responses written by hand in the
API's shape (no real cluster with these add-ons runs here: what they show is how our checks read
such answers, not what a real cluster answers)."""

from __future__ import annotations

import copy

import pytest
import yaml

from rdagent_infra.config import ConfigError
from rdagent_infra.platform_checks import FAIL, NA, PASS, check_account, check_cluster_addons, check_endpoint, check_gpu_capacity
from rdagent_infra.preflight import run_checklist
from tests.conftest import config_of
from tests.test_preflight import project_with


def problems_of(stack: str, edit) -> list[str]:
    with pytest.raises(ConfigError) as error:
        config_of(stack, edit)
    return error.value.problems


@pytest.mark.parametrize(
    ("edit", "key", "fragment"),
    [
        (lambda r: r["cluster"]["eks"].update(publicAccessCidrs=["0.0.0.0/0"]), "rdagent:cluster.eks.publicAccessCidrs[0]", "whole internet"),
        (lambda r: r["cluster"]["eks"].update(publicAccessCidrs=["10.0.0.300/24"]), "rdagent:cluster.eks.publicAccessCidrs[0]", "not a CIDR"),
        (lambda r: r["cluster"]["eks"].pop("publicAccessCidrs"), "rdagent:cluster.eks.publicAccessCidrs", "required in staging"),
        (lambda r: r["cluster"]["eks"].update(endpointPublicAccess=False), "rdagent:cluster.eks.endpointPublicAccess", "existingVpcId"),
        (lambda r: r.setdefault("storage", {}).update(efs={"enabled": False}), "rdagent:storage.efs.enabled", "ReadWriteMany"),
    ],
)
def test_bad_platform_settings_are_refused_naming_the_key(edit, key, fragment):
    problems = problems_of("staging", edit)
    assert any(p.startswith(key + ":") and fragment in p for p in problems), problems


def test_a_private_endpoint_in_an_existing_vpc_is_accepted():
    def private(raw):
        raw["cluster"]["eks"].update(endpointPublicAccess=False, existingVpcId="vpc-1", existingSubnetIds=["subnet-a", "subnet-b"])
        raw["cluster"]["eks"].pop("publicAccessCidrs")

    config = config_of("staging", private)
    assert check_endpoint(config).status == PASS and "inside" in check_endpoint(config).reason


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_committed_stacks_fail_account_and_endpoint_until_the_user_sets_them(stack):
    config = config_of(stack)
    account, endpoint = check_account(config), check_endpoint(config)
    assert account.status == FAIL and "rdagent:aws.accountId" in account.reason
    assert endpoint.status == FAIL and "rdagent:cluster.eks.publicAccessCidrs" in endpoint.reason

    def mine(raw):
        raw["aws"]["accountId"] = "210987654321"
        raw["cluster"]["eks"]["publicAccessCidrs"] = ["100.64.10.0/24"]

    config = config_of(stack, mine)
    assert check_account(config).status == PASS and check_endpoint(config).status == PASS


def test_preflight_lists_the_platform_items(tmp_path):
    def mine(document):
        document["rdagent:aws"]["accountId"] = "210987654321"
        document["rdagent:cluster"]["eks"]["publicAccessCidrs"] = ["100.64.10.0/24"]

    items = {i.name: i for i in run_checklist(project_with(tmp_path, "staging", mine), "staging", scan=False)}
    for name in ("AWS account", "API endpoint access", "GPU capacity", "cluster add-ons"):
        assert items[name].status == PASS, (name, items[name].reason)
    assert "Karpenter NodePool gpu" in items["GPU capacity"].reason


def test_gpu_capacity_fails_when_the_pool_cannot_take_a_run():
    # With the queue on the config itself refuses such a run (tests/test_queue.py); preflight is for a stack without it.
    config = config_of(
        "prod",
        lambda raw: (
            raw.update(queue={"enabled": False})
            or raw["gpu"].update(maxGpus=1)
            or raw["workloads"]["runs"][0]["resources"].update(
                requests={"cpu": "1000m", "memory": "2Gi", "gpu": 2}, limits={"cpu": "4000m", "memory": "8Gi", "gpu": 2}
            )
        ),
    )
    item = check_gpu_capacity(config)
    assert item.status == FAIL and "ds-titanic" in item.reason and "limit of 1 nvidia.com/gpu" in item.reason


# --- an existing cluster, from hand-written API responses --------------------------------------

CRD = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
NODE_POOL = {
    "metadata": {"name": "gpu"},
    "spec": {
        "template": {
            "metadata": {"labels": {"rdagent.io/pool": "gpu"}},
            "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
        },
        "limits": {"nvidia.com/gpu": "4"},
    },
}
AWS_NODE = {
    "metadata": {"name": "aws-node"},
    "spec": {"template": {"spec": {"containers": [{"name": "aws-node"}, {"name": "aws-eks-nodeagent", "args": ["--enable-network-policy=true"]}]}}},
}
FULL_CLUSTER = {
    "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io": {"kind": "APIService"},
    CRD + "httproutes.gateway.networking.k8s.io": {"kind": "CustomResourceDefinition"},
    "/apis/gateway.networking.k8s.io/v1/namespaces/gateway-system/gateways/shared-gateway": {"kind": "Gateway"},
    CRD + "servicemonitors.monitoring.coreos.com": {"kind": "CustomResourceDefinition"},
    CRD + "prometheusrules.monitoring.coreos.com": {"kind": "CustomResourceDefinition"},
    "/apis/storage.k8s.io/v1/storageclasses": {
        "items": [{"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "x"}]
    },
    "/apis/apps/v1/namespaces/kube-system/daemonsets": {"items": [AWS_NODE]},
    "/apis/karpenter.sh/v1/nodepools": {"items": [NODE_POOL]},
    "/api/v1/nodes": {"items": []},
}


def hand_written(responses: dict, drop: tuple[str, ...] = ()):
    """A GET of the Kubernetes API answered from `responses` (None, as for a 404, where absent or dropped)."""
    calls = []

    def get(path: str):
        calls.append(path)
        return None if path in drop else copy.deepcopy(responses.get(path))

    get.calls = calls
    return get


def on_existing_cluster(raw: dict, **extra) -> None:
    """Staging on a cluster the team already runs: its Gateway's owner issues the certificate
    (cert-manager on a Gateway this stack does not create is refused)."""
    raw.update(cluster={"mode": "kubeconfig", "kubeconfigContext": "team"}, images={"ecr": False}, gpu={}, **extra)
    raw["workloads"]["ui"]["ingress"].pop("certManager", None)
    raw["workloads"]["ui"]["ingress"]["tlsSecretName"] = "rdagent-ui-tls"


def existing_cluster_config():
    return config_of("staging", on_existing_cluster)


def test_an_existing_cluster_with_everything_passes():
    config = existing_cluster_config()
    cluster = hand_written(FULL_CLUSTER)
    assert check_cluster_addons(config, cluster).status == PASS
    assert check_gpu_capacity(config, cluster).status == PASS
    assert "/apis/karpenter.sh/v1/nodepools" in cluster.calls


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io", "metrics-server"),
        (CRD + "httproutes.gateway.networking.k8s.io", "Gateway API CRDs"),
        ("/apis/gateway.networking.k8s.io/v1/namespaces/gateway-system/gateways/shared-gateway", "Gateway gateway-system/shared-gateway"),
        (CRD + "servicemonitors.monitoring.coreos.com", "ServiceMonitor"),
        ("/apis/storage.k8s.io/v1/storageclasses", "default StorageClass"),
        ("/apis/apps/v1/namespaces/kube-system/daemonsets", "NetworkPolicy enforcer"),
    ],
)
def test_each_missing_add_on_is_named(drop, named):
    item = check_cluster_addons(existing_cluster_config(), hand_written(FULL_CLUSTER, drop=(drop,)))
    assert item.status == FAIL and named in item.reason, item.reason


def test_a_cni_that_does_not_enforce_policies_is_not_enough():
    off = copy.deepcopy(FULL_CLUSTER)
    off["/apis/apps/v1/namespaces/kube-system/daemonsets"]["items"][0]["spec"]["template"]["spec"]["containers"][1]["args"] = ["--enable-network-policy=false"]
    item = check_cluster_addons(existing_cluster_config(), hand_written(off))
    assert item.status == FAIL and "NetworkPolicy enforcer" in item.reason


def test_a_named_class_must_exist():
    config = config_of(
        "staging",
        lambda raw: on_existing_cluster(raw, storage={"sharedClass": "nfs"}),
    )
    item = check_cluster_addons(config, hand_written(FULL_CLUSTER))
    assert item.status == FAIL and "the StorageClass nfs (rdagent:storage.sharedClass)" in item.reason


@pytest.mark.parametrize(
    ("pools", "nodes", "status", "fragment"),
    [
        ([], [], FAIL, "no Karpenter NodePool and no GPU node"),
        (
            [
                {
                    **NODE_POOL,
                    "spec": {
                        **NODE_POOL["spec"],
                        "template": {
                            "metadata": {"labels": {"rdagent.io/pool": "gpu"}},
                            "spec": {"taints": [{"key": "gpu", "value": "yes", "effect": "NoSchedule"}]},
                        },
                    },
                }
            ],
            [],
            FAIL,
            "is not tolerated",
        ),
        ([{**NODE_POOL, "spec": {**NODE_POOL["spec"], "template": {"metadata": {"labels": {}}, "spec": {}}}}], [], FAIL, "not labelled rdagent.io/pool=gpu"),
        (
            [],
            [
                {
                    "metadata": {"name": "g1", "labels": {"rdagent.io/pool": "gpu"}},
                    "spec": {"taints": [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]},
                    "status": {"allocatable": {"nvidia.com/gpu": "4"}},
                }
            ],
            PASS,
            "",
        ),
    ],
)
def test_gpu_capacity_of_an_existing_cluster(pools, nodes, status, fragment):
    responses = {**FULL_CLUSTER, "/apis/karpenter.sh/v1/nodepools": {"items": pools}, "/api/v1/nodes": {"items": nodes}}
    item = check_gpu_capacity(existing_cluster_config(), hand_written(responses))
    assert item.status == status and fragment in item.reason, item.reason


# --- the same checks through the Kubernetes client, against an API served on loopback -----------


@pytest.fixture
def api_server():
    """An HTTP server on 127.0.0.1 answering GETs from the hand-written responses (404 otherwise)."""
    import http.server
    import json
    import threading

    state = {"responses": FULL_CLUSTER, "seen": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            state["seen"].append((self.path, self.headers.get("Authorization")))
            body = state["responses"].get(self.path)
            payload = json.dumps(body if body is not None else {"kind": "Status", "code": 404}).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state["url"] = f"http://127.0.0.1:{server.server_port}"
    yield state
    server.shutdown()
    server.server_close()


def kubeconfig_project(tmp_path, monkeypatch, server_url: str):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "team", "cluster": {"server": server_url}}],
                "users": [{"name": "team", "user": {"token": "preflight-token"}}],
                "contexts": [{"name": "team", "context": {"cluster": "team", "user": "team"}}],
                "current-context": "team",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))

    def existing(document):
        document["rdagent:cluster"] = {"mode": "kubeconfig", "kubeconfigContext": "team"}
        document["rdagent:images"] = {**document["rdagent:images"], "ecr": False}
        document["rdagent:gpu"] = {}
        document["rdagent:workloads"]["ui"]["ingress"].pop("certManager", None)
        document["rdagent:workloads"]["ui"]["ingress"]["tlsSecretName"] = "rdagent-ui-tls"

    return project_with(tmp_path, "staging", existing)


def test_preflight_reads_an_existing_cluster_through_its_kubeconfig(tmp_path, monkeypatch, api_server):
    project = kubeconfig_project(tmp_path, monkeypatch, api_server["url"])
    items = {i.name: i for i in run_checklist(project, "staging", scan=False)}
    assert items["cluster add-ons"].status == PASS, items["cluster add-ons"].reason
    assert items["GPU capacity"].status == PASS and items["AWS account"].status == "n/a"
    assert ("/apis/karpenter.sh/v1/nodepools", "Bearer preflight-token") in api_server["seen"]

    api_server["responses"] = {k: v for k, v in FULL_CLUSTER.items() if "metrics.k8s.io" not in k and "karpenter" not in k}
    items = {i.name: i for i in run_checklist(project, "staging", scan=False)}
    assert items["cluster add-ons"].status == FAIL and "metrics-server" in items["cluster add-ons"].reason
    assert items["GPU capacity"].status == FAIL and "ds-titanic" in items["GPU capacity"].reason


def test_preflight_says_when_the_cluster_does_not_answer(tmp_path, monkeypatch, api_server):
    from tests.fake_prometheus import closed_port_url

    project = kubeconfig_project(tmp_path, monkeypatch, closed_port_url())
    items = {i.name: i for i in run_checklist(project, "staging", scan=False)}
    for name in ("GPU capacity", "cluster add-ons"):
        assert items[name].status == FAIL and "cannot read the cluster (context team)" in items[name].reason


def test_a_kubernetes_version_past_eks_standard_support_fails_saying_what_to_move_to():
    """The dates are the EKS release calendar's (defaults.EKS_STANDARD_SUPPORT_END), written here again."""
    import datetime

    from rdagent_infra.platform_checks import check_kubernetes_support

    staging = config_of("staging", lambda raw: None)
    assert check_kubernetes_support(staging, datetime.date(2026, 12, 5)).status == PASS  # 1.35 until 2027-03-27
    assert check_kubernetes_support(staging, datetime.date(2027, 3, 28)).status == FAIL
    old = config_of("staging", lambda raw: raw["cluster"]["eks"].update(version="1.33"))
    assert check_kubernetes_support(old, datetime.date(2026, 7, 29)).status == PASS
    late = check_kubernetes_support(old, datetime.date(2026, 12, 5))
    assert late.status == FAIL and "1.33 left EKS standard support on 2026-07-29" in late.reason and "move to 1.35 " in late.reason, late
    assert "move to 1.34 or 1.35 " in check_kubernetes_support(old, datetime.date(2026, 8, 1)).reason
    unknown = config_of("staging", lambda raw: raw["cluster"]["eks"].update(version="1.29"))
    assert check_kubernetes_support(unknown, datetime.date(2026, 12, 5)).status == FAIL
    assert check_kubernetes_support(existing_cluster_config(), datetime.date(2026, 12, 5)).status == NA
