"""The smaller things that stop or spoil a first `pulumi up` of staging on AWS (issue 28, items 10 and
the like), each checked on what synth renders (AWS stays under mocks: these show what we ask AWS
for, read against the AWS and EKS documentation, not how AWS answers)."""

from __future__ import annotations

import copy
import fnmatch
import json

import pytest

from rdagent_infra.config import ConfigError, load_stack_config
from rdagent_infra.stack_source import load_from_files, raw_stack_config
from rdagent_infra.synth import run_program
from tests.conftest import ROOT
from tests.manifests import load_resources


def registrations(stack: str) -> dict[str, object]:
    config, project = load_from_files(ROOT, stack)
    return {r.name: r for r in run_program(config, project, stack).registrations}


def resources(synthesized, stack: str, type_: str) -> dict[str, dict]:
    return {r["name"]: r["inputs"] for r in load_resources(synthesized(stack)) if r["type"] == type_}


def test_the_nat_gateway_and_its_address_wait_for_the_internet_gateway():
    """AWS: a public NAT gateway needs the VPC's Internet gateway (the EC2 docs' "Create a NAT gateway")."""
    graph = registrations("staging")
    igw = graph["rdagent-igw"].urn
    assert igw in graph["rdagent-nat"].dependencies and igw in graph["rdagent-nat-ip"].dependencies


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_release_tag_form_can_expire(synthesized, stack):
    """ECR applies a rule to an image only when its tag matches every pattern of the rule's list: one
    list of ["v*", "*.*.*"] matched only tags such as v1.4.0 and never expired 1.4.0."""
    for name, policy in resources(synthesized, stack, "aws:ecr/lifecyclePolicy:LifecyclePolicy").items():
        rules = [r for r in json.loads(policy["policy"])["rules"] if r["selection"]["tagStatus"] == "tagged"]
        for tag in ("1.4.0", "v1.4.0"):
            assert any(all(fnmatch.fnmatchcase(tag, p) for p in r["selection"]["tagPatternList"]) for r in rules), (name, tag, rules)
        priorities = [r["rulePriority"] for r in json.loads(policy["policy"])["rules"]]
        assert len(priorities) == len(set(priorities)), priorities


def test_destroy_of_staging_removes_repositories_with_images_and_prod_keeps_them(synthesized):
    staging = resources(synthesized, "staging", "aws:ecr/repository:Repository")
    prod = resources(synthesized, "prod", "aws:ecr/repository:Repository")
    assert staging and all(r["forceDelete"] is True for r in staging.values())
    assert prod and all(r["forceDelete"] is False for r in prod.values())


def test_the_control_plane_logs_expire():
    """EKS logs to /aws/eks/<cluster>/cluster, a group it creates without retention unless it exists."""
    graph = registrations("staging")
    group = graph["rdagent-control-plane-logs"]
    assert group.inputs["name"] == "/aws/eks/rdagent-staging/cluster" and group.inputs["retentionInDays"] == 90
    assert group.urn in graph["rdagent-eks"].dependencies


def test_prometheus_scrapes_nothing_eks_does_not_expose(synthesized):
    (values,) = [r["values"] for r in resources(synthesized, "staging", "kubernetes:helm.sh/v3:Release").values() if r["chart"] == "kube-prometheus-stack"]
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert values[component] == {"enabled": False}, component


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_an_expired_gpu_node_is_held_for_a_running_run_at_most_the_longest_deadline(synthesized, stack):
    """Runs carry karpenter.sh/do-not-disrupt; Karpenter v1 waits for such pods until the NodePool's
    terminationGracePeriod. Both stacks' longest GPU run has the default deadline of a day."""
    pool = resources(synthesized, stack, "kubernetes:karpenter.sh/v1:NodePool")["rdagent-karpenter-gpu-node-pool"]
    spec = pool["spec"]["template"]["spec"]
    assert spec["expireAfter"] == "720h" and spec["terminationGracePeriod"] == "86400s"


def test_amazon_linux_2_gpu_nodes_are_refused_from_kubernetes_1_33():
    raw, source = raw_stack_config(ROOT, "staging")

    def load(version: str):
        edited = copy.deepcopy(raw)
        edited["gpu"]["amiType"] = "AL2_x86_64_GPU"
        edited["cluster"]["eks"]["version"] = version
        return load_stack_config(edited, "staging", source)

    with pytest.raises(ConfigError) as caught:
        load("1.33")
    assert caught.value.problems[0].startswith("rdagent:gpu.amiType: AL2_x86_64_GPU has no AMIs for Kubernetes 1.33"), caught.value.problems
    assert load("1.32").gpu.amiType == "AL2_x86_64_GPU"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_karpenters_crds_come_from_their_own_chart_first(stack):
    """Helm installs a chart's crds/ once and never upgrades them: Karpenter's upgrade guide installs
    the karpenter-crd chart, at the controller's version, before the controller's chart."""
    graph = registrations(stack)
    crds, controller = graph["rdagent-karpenter-crd-chart"], graph["rdagent-karpenter-chart"]
    assert crds.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter-crd" and crds.inputs["version"] == controller.inputs["version"] == "1.9.0"
    assert controller.inputs["skipCrds"] is True and crds.urn in controller.dependencies


def test_the_efs_driver_role_admits_its_node_agent_too():
    """The EKS user guide's trust for the EFS CSI driver admits efs-csi-* (controller and node)."""
    trust = json.loads(registrations("staging")["rdagent-storage-efs-csi-role"].inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    (subjects,) = [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")]
    assert subjects == ["system:serviceaccount:kube-system:efs-csi-controller-sa", "system:serviceaccount:kube-system:efs-csi-node-sa"]


KEY = "arn:aws:kms:us-east-1:123456789012:key/0b7e4f52-8c2d-4a7e-9f3a-1d2c3b4a5e6f"


def test_a_customer_managed_ebs_key_gets_the_csi_driver_its_grants(monkeypatch):
    """Without grants on the key the driver cannot create an encrypted volume: claims stay Pending."""
    raw, source = raw_stack_config(ROOT, "staging")
    edited = copy.deepcopy(raw)
    edited.setdefault("storage", {}).setdefault("ebs", {})["kmsKeyId"] = KEY
    config = load_stack_config(edited, "staging", source)
    graph = {r.name: r for r in run_program(config, "rdagent-infra", "staging").registrations}
    policy = json.loads(graph["rdagent-storage-ebs-csi-inline"].inputs["policy"])
    assert {statement["Sid"]: statement["Resource"] for statement in policy["Statement"]} == {"GrantsForVolumes": [KEY], "UseForVolumes": [KEY]}
    assert {"kms:CreateGrant", "kms:Decrypt", "kms:GenerateDataKeyWithoutPlaintext"} <= {a for s in policy["Statement"] for a in s["Action"]}
    assert "rdagent-storage-ebs-csi-inline" not in registrations("staging"), "no key, no grants"
    edited["storage"]["ebs"]["kmsKeyId"] = "alias/rdagent"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(edited, "staging", source)
    assert caught.value.problems[0].startswith("rdagent:storage.ebs.kmsKeyId"), caught.value.problems


def test_karpenters_discovery_tag_lives_in_the_tags_of_the_subnets_we_make():
    """pulumi-aws: an aws.ec2.Tag on a resource whose `tags` the program also manages is a perpetual
    diff, and a refresh strips it. Subnets we make carry the tag in their own tags; subnets we are
    given, and the cluster security group EKS makes, get aws.ec2.Tag resources."""
    graph = registrations("staging")
    subnet_urns = {r.urn for r in graph.values() if r.type == "aws:ec2/subnet:Subnet"}
    private = [r for r in graph.values() if r.type == "aws:ec2/subnet:Subnet" and "private" in r.name]
    assert len(private) == 2 and all(r.inputs["tags"]["karpenter.sh/discovery"] == "rdagent-staging" for r in private)
    tags = [r for r in graph.values() if r.type == "aws:ec2/tag:Tag" and r.inputs["key"] == "karpenter.sh/discovery"]
    assert [r.name for r in tags] == ["rdagent-karpenter-discovery-cluster-sg"] and not subnet_urns & {d for r in tags for d in r.dependencies}

    raw, source = raw_stack_config(ROOT, "staging")
    edited = copy.deepcopy(raw)
    edited["cluster"]["eks"].update(existingVpcId="vpc-0abc", existingSubnetIds=["subnet-0aaa", "subnet-0bbb"])
    config = load_stack_config(edited, "staging", source)
    given = [r for r in run_program(config, "rdagent-infra", "staging").registrations if r.type == "aws:ec2/tag:Tag"]
    assert sorted(r.inputs.get("resourceId", "") for r in given if r.inputs.get("resourceId", "").startswith("subnet-")) == ["subnet-0aaa", "subnet-0bbb"]


def test_subnets_go_to_zone_ids_eks_supports():
    """Zone names map to different zones in each account, and EKS refuses a control plane in some
    zones (the EKS user guide lists use1-az3, usw1-az2 and cac1-az3): subnets are placed by zone ID."""
    graph = registrations("staging")
    subnets = {r.name: r.inputs for r in graph.values() if r.type == "aws:ec2/subnet:Subnet"}
    assert {name: inputs.get("availabilityZoneId") for name, inputs in subnets.items()} == {
        "rdagent-public-0": "use1-az1",
        "rdagent-public-1": "use1-az2",
        "rdagent-private-0": "use1-az1",
        "rdagent-private-1": "use1-az2",
    }
    assert not [inputs for inputs in subnets.values() if "availabilityZone" in inputs]


@pytest.mark.parametrize(
    ("aws", "eks", "message"),
    [
        ({}, {"zoneIds": ["use1-az3", "use1-az4"]}, "rdagent:cluster.eks.zoneIds[0]: use1-az3 cannot host an EKS control plane"),
        ({}, {"zoneIds": ["use1-az1"]}, "rdagent:cluster.eks.zoneIds: list two or more different Availability Zone IDs"),
        ({"region": "sa-east-1"}, {}, "rdagent:cluster.eks.zoneIds: required in sa-east-1 (no default here)"),
    ],
)
def test_zone_ids_eks_cannot_use_are_refused(aws, eks, message):
    raw, source = raw_stack_config(ROOT, "staging")
    edited = copy.deepcopy(raw)
    edited["aws"] = {**edited.get("aws", {}), **aws}
    edited["cluster"]["eks"].update(eks)
    with pytest.raises(ConfigError) as caught:
        load_stack_config(edited, "staging", source)
    assert any(problem.startswith(message) for problem in caught.value.problems), caught.value.problems


def test_ci_and_the_team_get_access_entries_with_their_policies():
    """EKS gives only the cluster's creator its Kubernetes API: CI's deploy role and people need
    access entries and access policies (the EKS user guide, "Grant IAM users access to Kubernetes")."""
    raw, source = raw_stack_config(ROOT, "staging")
    edited = copy.deepcopy(raw)
    deploy, viewer = "arn:aws:iam::123456789012:role/rdagent-deploy", "arn:aws:iam::123456789012:role/ml-team"
    edited["cluster"]["eks"]["accessEntries"] = [{"principalArn": deploy}, {"principalArn": viewer, "policy": "AmazonEKSViewPolicy", "namespaces": ["rdagent"]}]
    config = load_stack_config(edited, "staging", source)
    graph = [r for r in run_program(config, "rdagent-infra", "staging").registrations]
    entries = {r.inputs["principalArn"]: r.inputs["type"] for r in graph if r.type == "aws:eks/accessEntry:AccessEntry" and r.inputs["type"] == "STANDARD"}
    assert entries == {deploy: "STANDARD", viewer: "STANDARD"}
    policies = {
        r.inputs["principalArn"]: (r.inputs["policyArn"], r.inputs["accessScope"])
        for r in graph
        if r.type == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
    }
    assert policies == {
        deploy: ("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", {"type": "cluster"}),
        viewer: ("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy", {"type": "namespace", "namespaces": ["rdagent"]}),
    }
    edited["cluster"]["eks"]["accessEntries"] = [{"principalArn": "rdagent-deploy"}]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(edited, "staging", source)
    assert any(p.startswith("rdagent:cluster.eks.accessEntries[0].principalArn") for p in caught.value.problems), caught.value.problems


def test_the_spot_service_linked_role_is_created_when_asked():
    """Karpenter's Spot launches need AWSServiceRoleForEC2Spot, which a new account lacks."""
    raw, source = raw_stack_config(ROOT, "staging")

    def spot_roles(**gpu) -> list:
        edited = copy.deepcopy(raw)
        edited["gpu"] = {**edited.get("gpu", {}), **gpu}
        config = load_stack_config(edited, "staging", source)
        return [r.inputs for r in run_program(config, "rdagent-infra", "staging").registrations if r.type == "aws:iam/serviceLinkedRole:ServiceLinkedRole"]

    pool = {**raw["gpu"].get("pool", {}), "spot": True}
    assert spot_roles(pool=pool, createSpotServiceLinkedRole=True) == [{"awsServiceName": "spot.amazonaws.com"}]
    assert spot_roles(pool=pool) == []  # an account that has it refuses a second


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_stack_has_repositories_of_its_own_and_the_release_pushes_to_them(synthesized, stack):
    """Staging and prod in one account: `rdagent/<variant>` would be one repository for both."""
    names = sorted(r["name"] for r in resources(synthesized, stack, "aws:ecr/repository:Repository").values())
    assert names and all(name.startswith(f"rdagent-{stack}/") for name in names), names
    workflow = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert f"'rdagent-{stack}' }}}}/${{{{ matrix.variant }}}}" in workflow


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_cpu_runs_that_find_no_room_get_nodes_from_a_cpu_nodepool(synthesized, stack):
    """Nothing scaled the CPU node group: Karpenter's CPU NodePool (no taint, the CPU pool's instance
    types, up to gpu.cpuBurstMaxCpu vCPUs) takes every CPU run the node group has no room for."""
    from rdagent_infra.logic.karpenter import pool_can_serve
    from tests.manifests import find, load_manifests, pod_spec

    manifests = load_manifests(synthesized(stack))
    (pool,) = [m for m in find(manifests, "NodePool") if m["metadata"]["name"] == "cpu"]
    spec = pool["spec"]["template"]["spec"]
    assert "taints" not in spec and pool["spec"]["limits"] == {"cpu": "64"} and spec["nodeClassRef"]["name"] == "cpu"
    assert sorted(m["metadata"]["name"] for m in find(manifests, "EC2NodeClass")) == ["cpu", "gpu"]
    runs = [m for m in find(manifests, "Job") + find(manifests, "CronJob") if "rdagent.io/run" in m["metadata"].get("labels", {})]
    cpu_runs = [m for m in runs if not pod_spec(m)["containers"][0]["resources"]["limits"].get("nvidia.com/gpu")]
    # staging's nightly run asks for no GPU; prod's runs all do.
    assert [m["metadata"]["labels"]["rdagent.io/run"] for m in cpu_runs] == (["ds-nightly"] if stack == "staging" else [])
    for run in cpu_runs:
        pod = pod_spec(run)
        assert pool_can_serve(pool, pod.get("tolerations", []), pod.get("nodeSelector", {}), 0) == [], run["metadata"]["name"]
