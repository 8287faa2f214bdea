"""What each stack creates, as a user reviewing the synth output would check it."""

from __future__ import annotations

import json

import pytest

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
    assert env["DEBUG"] == "true" and env["LOG_LEVEL"] == "DEBUG"
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
    assert "replicas" not in ui["spec"], "the HPA owns the replica count"
    container = pod_spec(ui)["containers"][0]
    assert container["ports"][0]["containerPort"] == 19899
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    assert container["resources"] == {"requests": {"cpu": "1000m", "memory": "2Gi"}, "limits": {"cpu": "4000m", "memory": "8Gi"}}
    env = {e["name"]: e for e in container["env"]}
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "REDIS_URL"):
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["name"] == "rdagent-secrets"
    assert env["SSL_CERT_PATH"]["value"] == "/etc/ssl/certs/rdagent.crt"
    assert env["LOG_LEVEL"]["value"] == "INFO" and env["DEBUG"]["value"] == "false"
    assert one(manifests, "PodDisruptionBudget", "rdagent-ui")["spec"]["minAvailable"] == 1
    hpa = one(manifests, "HorizontalPodAutoscaler", "rdagent-ui")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "rdagent-ui-blue" and hpa["spec"]["minReplicas"] == 3
    policies = {m["metadata"]["name"] for m in find(manifests, "NetworkPolicy")}
    assert {"default-deny", "allow-dns", "rdagent-ui", "redis-ingress"} <= policies


def test_prod_config_maps_carry_the_seed_numbers(synthesized):
    manifests = load_manifests(synthesized("prod"))
    logging = json.loads(one(manifests, "ConfigMap", "rdagent-logging")["data"]["logging.json"])
    assert logging["handlers"]["file"]["filename"] == "/app/logs/rdagent.log"
    assert (logging["handlers"]["file"]["maxBytes"], logging["handlers"]["file"]["backupCount"]) == (10485760, 5)
    assert logging["handlers"]["elk"]["port"] == 5959 and logging["handlers"]["elk"]["host"].startswith("logstash.")
    cache = json.loads(one(manifests, "ConfigMap", "rdagent-cache")["data"]["cache.json"])
    assert (cache["l1_cache"]["size"], cache["l1_cache"]["ttl"]) == ("1GB", 300)
    assert (cache["l2_cache"]["size"], cache["l2_cache"]["ttl"], cache["l2_cache"]["port"]) == ("10GB", 3600, 6379)
    assert cache["l2_cache"]["host"] == "redis.rdagent.svc.cluster.local"
    assert (cache["l3_cache"]["path"], cache["l3_cache"]["ttl"]) == ("/app/cache", 86400)


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
    assert one(manifests, "CronJob", "rdagent-run-fin-model-weekly")["spec"]["schedule"] == "0 3 * * 1"


@pytest.mark.parametrize("stack", ["dev", "test", "staging", "prod"])
def test_no_secret_value_in_plain_text(synthesized, stack):
    out = synthesized(stack)
    for path in out.iterdir():
        text = path.read_text()
        assert "example-" not in text and "sk-example" not in text and "BEGIN PRIVATE KEY" not in text, f"secret material in {path.name}"


def test_prod_stateful_resources_are_protected(synthesized):
    resources = {r["name"]: r for r in load_resources(synthesized("prod"))}
    for name in ("rdagent-redis-statefulset", "rdagent-logging-elasticsearch", "rdagent-eks", "rdagent-images-production", "rdagent-namespace"):
        assert resources[name]["protect"], f"{name} is not protected in prod"
