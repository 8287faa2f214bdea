"""Staging and prod that come up in an AWS account: storage, GPUs from zero, add-ons, API access,
the account, batch runs. Each test fails when one of the blockers of issue 15 comes back."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from rdagent_infra.logic.karpenter import pool_can_serve
from rdagent_infra.logic.storage import DEFAULT_CLASS_ANNOTATION, PROVISIONER_ACCESS_MODES
from tests.conftest import ROOT
from tests.manifests import find, load_manifests, load_resources, one, pod_spec

AWS_STACKS = ["staging", "prod"]


def by_type(resources: list[dict], token: str) -> list[dict]:
    return [r for r in resources if r["type"] == token]


def claims(manifests: list[dict]) -> list[tuple[str, dict]]:
    """Every volume claim the stack makes: PVCs and the claim templates of StatefulSets and ECK."""
    found = [(f"PersistentVolumeClaim/{m['metadata']['name']}", m["spec"]) for m in find(manifests, "PersistentVolumeClaim")]
    for manifest in find(manifests, "StatefulSet"):
        found += [(f"StatefulSet/{manifest['metadata']['name']}/{t['metadata']['name']}", t["spec"]) for t in manifest["spec"].get("volumeClaimTemplates", [])]
    for manifest in find(manifests, "Elasticsearch"):
        for node_set in manifest["spec"]["nodeSets"]:
            found += [(f"Elasticsearch/{node_set['name']}/{t['metadata']['name']}", t["spec"]) for t in node_set.get("volumeClaimTemplates", [])]
    return found


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_claim_names_a_class_that_exists_and_can_give_its_access_mode(synthesized, stack):
    manifests = load_manifests(synthesized(stack))
    classes = {c["metadata"]["name"]: c for c in find(manifests, "StorageClass")}
    found = claims(manifests)
    assert len(found) >= 5 and any("ReadWriteMany" in spec["accessModes"] for _, spec in found)
    for claim, spec in found:
        name = spec.get("storageClassName")
        assert name in classes, f"{claim} names the class {name!r}, which the stack does not create ({sorted(classes)})"
        provisioner = classes[name]["provisioner"]
        assert set(spec["accessModes"]) <= PROVISIONER_ACCESS_MODES[provisioner], f"{claim} asks {spec['accessModes']} of {provisioner}"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_ebs_and_efs_drivers_with_their_own_roles_and_classes(synthesized, stack):
    out = synthesized(stack)
    manifests, resources = load_manifests(out), load_resources(out)
    block = one(manifests, "StorageClass", "gp3-encrypted")
    assert block["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION] == "true"
    assert block["provisioner"] == "ebs.csi.aws.com" and block["parameters"]["type"] == "gp3" and block["parameters"]["encrypted"] == "true"
    shared = one(manifests, "StorageClass", "efs-shared")
    assert shared["provisioner"] == "efs.csi.aws.com" and shared["parameters"]["provisioningMode"] == "efs-ap" and shared["parameters"]["fileSystemId"]
    addons = {r["inputs"]["addonName"]: r["inputs"] for r in by_type(resources, "aws:eks/addon:Addon")}
    for addon, service_accounts, policy in (
        ("aws-ebs-csi-driver", "system:serviceaccount:kube-system:ebs-csi-controller-sa", "AmazonEBSCSIDriverPolicy"),
        ("aws-efs-csi-driver", [f"system:serviceaccount:kube-system:efs-csi-{sa}" for sa in ("controller-sa", "node-sa")], "AmazonEFSCSIDriverPolicy"),
    ):
        role_name = addons[addon]["serviceAccountRoleArn"].rsplit(":", 1)[1]
        role = next(r for r in by_type(resources, "aws:iam/role:Role") if r["name"] == role_name)
        trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
        assert service_accounts in trust["Condition"]["StringEquals"].values()
        attached = [r["inputs"]["policyArn"] for r in by_type(resources, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") if r["parent"] == role["parent"]]
        assert attached == [f"arn:aws:iam::aws:policy/service-role/{policy}"]
    (file_system,) = by_type(resources, "aws:efs/fileSystem:FileSystem")
    assert file_system["inputs"]["encrypted"] is True
    assert len(by_type(resources, "aws:efs/mountTarget:MountTarget")) == 2


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_eks_addons_at_aws_default_for_kubernetes_1_35_and_the_cni_enforces_network_policies(synthesized, stack):
    """Unpinned, each add-on gets the version AWS makes its default for the cluster's Kubernetes
    version: synth's stand-in for that data source answers `aws-default-for-<version>`."""
    resources = load_resources(synthesized(stack))
    (cluster,) = by_type(resources, "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["version"] == "1.35"
    addons = {r["inputs"]["addonName"]: r["inputs"] for r in by_type(resources, "aws:eks/addon:Addon")}
    names = {"vpc-cni", "coredns", "kube-proxy", "metrics-server", "aws-ebs-csi-driver", "aws-efs-csi-driver"}
    assert {name: addon["addonVersion"] for name, addon in addons.items()} == dict.fromkeys(names, "aws-default-for-1.35")
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}


def test_an_addon_version_is_asked_of_aws_for_the_clusters_version_unless_pinned(monkeypatch):
    """What the program asks AWS (aws.eks.get_addon_version: the add-on, the cluster's Kubernetes
    version, AWS's default rather than the most recent), and that a pin in rdagent:addons.eks wins."""
    from rdagent_infra.config import load_stack_config
    from rdagent_infra.stack_source import raw_stack_config
    from rdagent_infra.synth import SynthMocks, run_program

    asked = []
    original = SynthMocks.call

    def recording(self, args):
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            asked.append(dict(args.args))
        return original(self, args)

    monkeypatch.setattr(SynthMocks, "call", recording)
    raw, source = raw_stack_config(ROOT, "staging")
    raw["addons"] = {"eks": {"kubeProxy": "v1.35.3-eksbuild.2"}}
    result = run_program(load_stack_config(raw, "staging", source), "rdagent-infra", "staging")
    versions = {r.inputs["addonName"]: r.inputs["addonVersion"] for r in result.registrations if r.type == "aws:eks/addon:Addon"}
    assert versions["kube-proxy"] == "v1.35.3-eksbuild.2" and versions["coredns"] == "aws-default-for-1.35", versions
    expected = {name: {"addonName": name, "kubernetesVersion": "1.35", "mostRecent": False} for name in versions if name != "kube-proxy"}
    assert {a["addonName"]: {k: a.get(k) for k in ("addonName", "kubernetesVersion", "mostRecent")} for a in asked} == expected


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_charts_pinned_and_the_gateway_our_route_attaches_to(synthesized, stack):
    out = synthesized(stack)
    manifests, resources = load_manifests(out), load_resources(out)
    charts = {r["inputs"]["chart"]: r["inputs"]["version"] for r in by_type(resources, "kubernetes:helm.sh/v3:Release")}
    # cert-manager only where the UI's certificate comes from an issuer (staging).
    assert charts == {
        "oci://public.ecr.aws/karpenter/karpenter": "1.9.0",
        "oci://public.ecr.aws/karpenter/karpenter-crd": "1.9.0",
        "oci://docker.io/envoyproxy/gateway-helm": "v1.5.0",
        "kube-prometheus-stack": "76.5.1",
        # Kueue: the queue is on in staging and prod (rdagent:queue).
        "oci://registry.k8s.io/kueue/charts/kueue": "0.16.2",
        **({"cert-manager": "v1.19.1"} if stack == "staging" else {}),
    }
    gateway_class = one(manifests, "GatewayClass", "envoy")
    assert gateway_class["spec"]["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    route = one(manifests, "HTTPRoute", "rdagent-ui")
    for parent in route["spec"]["parentRefs"]:
        gateway = one([m for m in find(manifests, "Gateway") if m["metadata"]["namespace"] == parent["namespace"]], "Gateway", parent["name"])
        assert gateway["spec"]["gatewayClassName"] == "envoy"
        assert parent["sectionName"] in {listener["name"] for listener in gateway["spec"]["listeners"]}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_gpu_pool_scales_from_zero_for_the_gpu_runs(synthesized, stack):
    out = synthesized(stack)
    manifests, resources = load_manifests(out), load_resources(out)
    assert not [r for r in by_type(resources, "aws:eks/nodeGroup:NodeGroup") if "gpu" in r["name"]], "a GPU node group nothing scales"
    pool = one(manifests, "NodePool", "gpu")
    runs = [m for m in find(manifests, "Job") + find(manifests, "CronJob") if pod_spec(m)["containers"][0]["resources"]["limits"].get("nvidia.com/gpu")]
    assert runs
    for run in runs:
        spec = pod_spec(run)
        gpus = int(spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"])
        assert pool_can_serve(pool, spec["tolerations"], spec["nodeSelector"], gpus) == [], run["metadata"]["name"]
        assert run["spec"].get("template", run["spec"].get("jobTemplate", {}).get("spec", {}).get("template", {}))
    node_class = one(manifests, "EC2NodeClass", "gpu")
    assert pool["spec"]["template"]["spec"]["nodeClassRef"]["name"] == "gpu"
    discovery = node_class["spec"]["subnetSelectorTerms"][0]["tags"]["karpenter.sh/discovery"]
    tags = [r["inputs"] for r in by_type(resources, "aws:ec2/tag:Tag") if r["inputs"]["key"] == "karpenter.sh/discovery"]
    assert len(tags) == 1 and {t["value"] for t in tags} == {discovery}  # the cluster security group (EKS makes it)
    private = [r["inputs"]["tags"] for r in by_type(resources, "aws:ec2/subnet:Subnet") if "private" in r["name"]]
    assert len(private) == 2 and all(t["karpenter.sh/discovery"] == discovery for t in private)  # in the subnets' own tags
    (queue,) = by_type(resources, "aws:sqs/queue:Queue")
    (release,) = [r for r in by_type(resources, "kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"].endswith("/karpenter")]
    assert release["inputs"]["values"]["settings"] == {"clusterName": discovery, "interruptionQueue": queue["inputs"]["name"]}
    assert len(by_type(resources, "aws:cloudwatch/eventTarget:EventTarget")) == 4
    controller = next(r for r in by_type(resources, "aws:iam/role:Role") if r["name"] == "rdagent-karpenter-controller-role")
    assert "system:serviceaccount:kube-system:karpenter" in json.dumps(controller["inputs"]["assumeRolePolicy"])
    (entry,) = by_type(resources, "aws:eks/accessEntry:AccessEntry")
    assert entry["inputs"]["type"] == "EC2_LINUX"


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_api_endpoint_public_only_to_allow_listed_cidrs(synthesized, stack):
    (cluster,) = by_type(load_resources(synthesized(stack)), "aws:eks/cluster:Cluster")
    vpc = cluster["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["endpointPrivateAccess"] is True
    assert vpc["publicAccessCidrs"] and not [c for c in vpc["publicAccessCidrs"] if c.endswith("/0")]


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_account_id_committed_and_the_provider_is_not_pinned_to_one(synthesized, stack):
    text = (ROOT / f"Pulumi.{stack}.yaml").read_text()
    document = yaml.safe_load(text)
    assert "accountId" not in document["config"].get("rdagent:aws", {})
    assert not re.search(r"(?<![\w+/=:.-])\d{12}(?![\w+/=])", text), "a 12-digit account id in the committed stack file"
    (provider,) = by_type(load_resources(synthesized(stack)), "pulumi:providers:aws")
    assert "allowedAccountIds" not in provider["inputs"]


def image_paths(dockerfile: str) -> tuple[set[str], list[str]]:
    """The paths an image ships (COPY destinations, `git init` checkouts, mkdir'd folders) and its ENTRYPOINT."""
    text = (ROOT / "images" / f"{dockerfile}.Dockerfile").read_text().replace("\\\n", " ")
    workdir, shipped, entrypoint = "/", set(), []
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "WORKDIR":
            workdir = words[1]
        elif words[0] == "COPY":
            shipped.add(words[-1])
        elif words[0] == "ENTRYPOINT":
            entrypoint = json.loads(line.split(None, 1)[1])
        elif words[0] == "RUN":
            shipped |= {m if m.startswith("/") else f"{workdir.rstrip('/')}/{m}" for m in re.findall(r"git init (\S+)", line)}
            shipped |= {p for m in re.findall(r"mkdir -p ([^&;]+)", line) for p in m.split()}
    return shipped, entrypoint


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_batch_runs_hide_nothing_the_image_ships_and_keep_its_entrypoint(synthesized, stack):
    manifests = load_manifests(synthesized(stack))
    config_runs = {r["name"]: r for r in yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]["rdagent:workloads"]["runs"]}
    from rdagent_infra.config import SCENARIO_IMAGES

    checked = 0
    for run in find(manifests, "Job") + find(manifests, "CronJob"):
        name = run["metadata"]["labels"].get("rdagent.io/run")
        if name is None:  # not a batch run (the Elasticsearch certificates Job, the load hook)
            continue
        container = pod_spec(run)["containers"][0]
        assert "command" not in container, f"{name}: a command replaces the image's ENTRYPOINT; pass the run as args"
        assert container["args"][0] == "rdagent"
        variant = config_runs[name].get("image") or SCENARIO_IMAGES[config_runs[name]["scenario"]]
        shipped, entrypoint = image_paths(variant)
        workspace = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "workspace")
        hidden = [path for path in shipped | set(entrypoint[:1]) if path == workspace or path.startswith(workspace.rstrip("/") + "/")]
        assert not hidden, f"{name}: the workspace volume at {workspace} hides {hidden} of images/{variant}.Dockerfile"
        assert container["workingDir"] == workspace
        checked += 1
    assert checked >= 2
    # Every image's ENTRYPOINT is tini, which the runs' args keep as PID 1.
    for variant in sorted(SCENARIO_IMAGES.values()):
        assert image_paths(variant)[1] == ["/usr/bin/tini", "-g", "--"], variant


def test_eck_and_elasticache_variants_name_their_classes_too():
    from tests.test_components import synth

    for overrides in ({"logging": {"mode": "eck"}}, {"redis": {"mode": "elasticache"}}):
        _, _, manifests = synth("prod", **overrides)
        classes = {c["metadata"]["name"]: c["provisioner"] for c in find(manifests, "StorageClass")}
        for claim, spec in claims(manifests):
            assert set(spec["accessModes"]) <= PROVISIONER_ACCESS_MODES[classes[spec["storageClassName"]]], (overrides, claim)
