"""What each stack creates, as a user reviewing the synth output would check it."""

from __future__ import annotations

import json

from rdagent_infra.config import IMAGE_VARIANTS
from tests.manifests import find, load_manifests, load_resources, one, pod_spec


def types_of(resources):
    return {r["type"] for r in resources}


def test_dev_creates_no_aws_resources_and_renders(synthesized):
    resources = load_resources(synthesized("dev"))
    assert not [r for r in resources if r["type"].startswith("aws:")]
    provider = next(r for r in resources if r["type"] == "pulumi:providers:kubernetes")
    assert provider["inputs"]["renderYamlToDirectory"] == "build/dev"
    ui = one(load_manifests(synthesized("dev")), "Deployment", "rdagent-ui")
    env = {e["name"]: e.get("value") for e in pod_spec(ui)["containers"][0]["env"]}
    assert env["LOGURU_LEVEL"] == "DEBUG" and "--debug" in pod_spec(ui)["containers"][0]["args"]
    assert ui["spec"]["replicas"] == 1
    assert pod_spec(ui)["containers"][0]["image"].endswith("/development:0.8.0")


def test_staging_platform(synthesized):
    out = synthesized("staging")
    resources = load_resources(out)
    repos = [r for r in resources if r["type"] == "aws:ecr/repository:Repository"]
    assert len(repos) == len(IMAGE_VARIANTS)
    for repo in repos:
        assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE"
        assert repo["inputs"]["imageScanningConfiguration"] == {"scanOnPush": True}
    assert "aws:eks/cluster:Cluster" in types_of(resources)
    pool = one(load_manifests(out), "NodePool", "gpu")
    assert pool["spec"]["template"]["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}]
    assert one(load_manifests(out), "EC2NodeClass", "gpu")["spec"]["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    plugin = one(load_manifests(out), "DaemonSet", "nvidia-device-plugin")
    assert any(t["key"] == "nvidia.com/gpu" for t in pod_spec(plugin)["tolerations"])


def test_prod_ui(synthesized):
    manifests = load_manifests(synthesized("prod"))
    ui = one(manifests, "Deployment", "rdagent-ui-blue")
    assert ui["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    hpa = one(manifests, "HorizontalPodAutoscaler", "rdagent-ui")["spec"]
    assert hpa["scaleTargetRef"]["name"] == "rdagent-ui-blue" and ui["spec"]["replicas"] == hpa["minReplicas"]
    assert ui["metadata"]["annotations"]["pulumi.com/patchForce"] == "true", "an update takes the count back from the HPA"
    container = pod_spec(ui)["containers"][0]
    assert container["ports"][0]["containerPort"] == 19899
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    assert container["resources"] == {"requests": {"cpu": "1000m", "memory": "2Gi"}, "limits": {"cpu": "4000m", "memory": "8Gi"}}
    env = {e["name"]: e for e in container["env"]}
    assert not {"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "DEEPSEEK_API_KEY", "ANTHROPIC_API_KEY"} & set(env), "the UI asks no LLM: it gets no key"
    assert env["ARTIFACT_SIGNING_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "rdagent-artifact-signing", "key": "artifact-signing-key"}
    assert env["LOGURU_LEVEL"]["value"] == "INFO" and env["UI_DEFAULT_LOG_FOLDERS"]["value"] == '["/traces"]'
    assert "command" not in container and container["args"] == ["rdagent", "ui", "--port", "19899", "--log-dir", "/traces"]
    assert {"name": "traces", "mountPath": "/traces", "readOnly": True} in container["volumeMounts"]
    assert one(manifests, "PodDisruptionBudget", "rdagent-ui")["spec"]["minAvailable"] == 1
    hpa = one(manifests, "HorizontalPodAutoscaler", "rdagent-ui")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "rdagent-ui-blue" and hpa["spec"]["minReplicas"] == 3
    policies = {m["metadata"]["name"] for m in find(manifests, "NetworkPolicy")}
    assert {"default-deny", "allow-dns", "rdagent-ui", "redis-ingress"} <= policies


def test_prod_gpu_job(synthesized):
    manifests = load_manifests(synthesized("prod"))
    (job,) = [m for m in manifests if m["kind"] == "Job" and m["metadata"]["labels"].get("rdagent.io/run") == "ds-titanic"]
    assert job["metadata"]["name"].startswith("rdagent-run-ds-titanic-") and job["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
    spec = pod_spec(job)
    resources = spec["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"} in spec["tolerations"]
    env = {e["name"] for e in spec["containers"][0]["env"]}
    assert "CUDA_VISIBLE_DEVICES" not in env, "the device plugin exposes the allocated GPUs; a fixed list is wrong"
    assert not [v for v in spec["volumes"] if "docker.sock" in json.dumps(v)]
    assert job["spec"]["activeDeadlineSeconds"] == 86400 and job["spec"]["backoffLimit"] == 1
    assert one(manifests, "CronJob", "rdagent-run-model-report-weekly")["spec"]["schedule"] == "0 3 * * 1"


def test_prod_stateful_resources_are_protected(synthesized):
    resources = {r["name"]: r for r in load_resources(synthesized("prod"))}
    for name in ("rdagent-redis-statefulset", "rdagent-logging-elasticsearch", "rdagent-eks", "rdagent-images-production", "rdagent-namespace"):
        assert resources[name]["protect"], f"{name} is not protected in prod"
