"""On a cluster the stack creates, every custom resource waits for the chart that installs its kind
(issue 28, item 1): the dependency-graph check of rdagent_infra/logic/crd_servers.py on the graph
synth records, and the cert-manager install that staging lacked."""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass, field

import pytest
import yaml

from rdagent_infra.config import ConfigError, load_stack_config
from rdagent_infra.logic.crd_servers import Unserved, unserved
from rdagent_infra.stack_source import load_from_files, raw_stack_config
from rdagent_infra.synth import run_program
from tests.conftest import ROOT, run_cli


def graph(stack: str):
    config, project = load_from_files(ROOT, stack)
    return run_program(config, project, stack).registrations


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_custom_resource_of_the_eks_stacks_waits_for_what_serves_it(stack):
    assert unserved(graph(stack)) == []


def test_staging_without_cert_manager_is_refused_naming_the_certificate(monkeypatch):
    """Staging as it was before the fix: the program installed no cert-manager, and its Certificate
    waited only for the Gateway's namespace."""

    class NoCertManager:
        def __init__(self, *args, **kwargs):
            self.ready = []

    monkeypatch.setattr("rdagent_infra.program.CertManager", NoCertManager)
    found = unserved(graph("staging"))
    assert found == [
        Unserved(
            "Certificate",
            "cert-manager.io",
            "rdagent-gateway-certificate",
            "it must wait for the release of cert-manager (rdagent:addons.certManager), which installs the CRDs",
        )
    ]


def test_staging_installs_cert_manager_and_its_issuer_before_the_certificate():
    registrations = graph("staging")
    by_name = {r.name: r for r in registrations}
    release = by_name["rdagent-cert-manager-chart"]
    assert release.inputs["chart"] == "cert-manager" and release.inputs["version"] == "v1.19.1"
    assert release.inputs["values"]["crds"] == {"enabled": True} and release.inputs["values"]["config"]["enableGatewayAPI"] is True
    issuer = by_name["rdagent-cert-manager-issuer"]
    assert issuer.type == "kubernetes:cert-manager.io/v1:ClusterIssuer"
    acme = issuer.inputs["spec"]["acme"]
    assert acme["email"] == "platform-team@example.com" and acme["server"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert acme["solvers"] == [
        {"http01": {"gatewayHTTPRoute": {"parentRefs": [{"kind": "Gateway", "name": "shared-gateway", "namespace": "gateway-system", "sectionName": "http"}]}}}
    ]
    certificate = by_name["rdagent-gateway-certificate"]
    assert {release.urn, issuer.urn} <= set(certificate.dependencies)
    assert certificate.inputs["spec"]["issuerRef"] == {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}


def test_synth_refuses_a_stack_whose_operator_nothing_installs(tmp_path):
    """ECK on EKS: nothing installs the Elastic operator. Exit status 2, each kind named, nothing written."""
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    document["config"].setdefault("rdagent:logging", {})["mode"] = "eck"
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    result = run_cli("synth", "--stack", "staging", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "synth --stack staging: Elasticsearch rdagent-logging-elasticsearch",
        "synth --stack staging: Kibana rdagent-logging-kibana",
        "synth --stack staging: Logstash rdagent-logging-logstash",
    ], result.stderr
    assert lines[0].endswith("the program does not install the Elastic operator (ECK): on EKS use rdagent:logging.mode statefulSets"), lines[0]
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_eks_with_a_cert_manager_issuer_needs_the_acme_email():
    raw, source = raw_stack_config(ROOT, "staging")
    raw = copy.deepcopy(raw)
    del raw["workloads"]["ui"]["ingress"]["certManager"]["acmeEmail"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "staging", source)
    assert any(p.startswith("rdagent:workloads.ui.ingress.certManager.acmeEmail: required in eks mode") for p in caught.value.problems), caught.value.problems


# --- the graph walk on hand-written registrations ---------------------------------------------------


@dataclass
class Node:
    type: str
    name: str
    parent_urn: str = ""
    dependencies: tuple[str, ...] = ()
    inputs: dict = field(default_factory=dict)

    @property
    def urn(self) -> str:
        return f"urn:{self.type}::{self.name}"


RELEASE = Node("kubernetes:helm.sh/v3:Release", "gw-chart", inputs={"chart": "oci://docker.io/envoyproxy/gateway-helm"})
COMPONENT = Node("rdagent:index:Ui", "ui", dependencies=(RELEASE.urn,))


def route(**kwargs) -> Node:
    return Node("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute", "route", **kwargs)


@pytest.mark.parametrize(
    ("nodes", "served"),
    [
        ([RELEASE, route(dependencies=(RELEASE.urn,))], True),  # waits for the chart itself
        ([RELEASE, route()], False),  # waits for nothing
        ([RELEASE, COMPONENT, route(parent_urn=COMPONENT.urn)], True),  # its parent waits for the chart
        # It waits for a component whose child is the chart (depending on a component is depending on its children).
        (
            [
                Node("rdagent:index:Gw", "gw"),
                Node(RELEASE.type, RELEASE.name, parent_urn="urn:rdagent:index:Gw::gw", inputs=RELEASE.inputs),
                route(dependencies=("urn:rdagent:index:Gw::gw",)),
            ],
            True,
        ),
        (
            [Node(RELEASE.type, "other", inputs={"chart": "karpenter"}), route(dependencies=("urn:kubernetes:helm.sh/v3:Release::other",))],
            False,
        ),  # the wrong chart
    ],
    ids=["direct", "none", "through-parent", "through-component", "wrong-chart"],
)
def test_the_graph_walk(nodes, served):
    assert (unserved(nodes) == []) is served
    assert unserved([Node("kubernetes:apps/v1:Deployment", "d"), Node("kubernetes:core/v1:ConfigMap", "c")]) == []  # built-in kinds need nothing
