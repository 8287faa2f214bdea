"""Component behaviour under mocks, per configuration: what a reviewer of each component would check."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from pulumi.runtime import rpc

from rdagent_infra.config import IMAGE_VARIANTS, load_stack_config
from rdagent_infra.stack_source import raw_stack_config
from rdagent_infra.synth import ACCOUNT, SynthMocks, kubernetes_object, run_program
from tests.conftest import ROOT


def synth(stack: str, **overrides):
    """Run the program for `stack` with top-level rdagent: keys merged over the stack file."""
    raw, source = raw_stack_config(ROOT, stack)
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) and isinstance(raw.get(key), dict) else value
    config = load_stack_config(raw, stack, source)
    result = run_program(config, "rdagent-infra", stack)
    manifests = [m for m in (kubernetes_object(r) for r in result.registrations) if m]
    return config, result, manifests


def resources(result, token: str):
    return [r for r in result.registrations if r.type == token]


def manifest(manifests, kind: str, name: str) -> dict:
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


# --- cluster, registry, node pools (issue 6) ---------------------------------------------


def test_kubeconfig_mode_uses_the_context_and_creates_no_aws():
    _, result, _ = synth("dev", cluster={"mode": "kubeconfig", "kubeconfigContext": "kind-rdagent"})
    (provider,) = resources(result, "pulumi:providers:kubernetes")
    assert provider.inputs["context"] == "kind-rdagent" and "renderYamlToDirectory" not in provider.inputs
    assert not [r for r in result.registrations if r.type.startswith("aws:")]


def test_every_kubernetes_resource_uses_the_one_explicit_provider():
    _, result, _ = synth("staging")
    kubernetes = [r for r in result.registrations if r.type.startswith("kubernetes:") and r.custom]
    assert kubernetes and all(r.parent for r in kubernetes)


def test_eks_cluster_details():
    _, result, _ = synth("prod")
    (cluster,) = resources(result, "aws:eks/cluster:Cluster")
    inputs = cluster.inputs
    assert inputs["version"] == "1.35"
    assert inputs["vpcConfig"]["endpointPublicAccess"] is True and inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert inputs["vpcConfig"]["publicAccessCidrs"] == ["192.0.2.0/24"]
    assert inputs["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    (oidc,) = resources(result, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"] and oidc.inputs["url"].startswith("https://oidc.eks.")
    assert len(resources(result, "aws:ec2/subnet:Subnet")) == 4 and resources(result, "aws:ec2/natGateway:NatGateway")


def test_existing_vpc_creates_no_network():
    _, result, _ = synth("staging", cluster={"mode": "eks", "eks": {"existingVpcId": "vpc-123", "existingSubnetIds": ["subnet-a", "subnet-b"]}})
    assert not resources(result, "aws:ec2/vpc:Vpc") and not resources(result, "aws:ec2/subnet:Subnet")
    (cluster,) = resources(result, "aws:eks/cluster:Cluster")
    assert cluster.inputs["vpcConfig"]["subnetIds"] == ["subnet-a", "subnet-b"]


def test_node_groups_and_their_role():
    _, result, manifests = synth("staging")
    groups = {r.name: r.inputs for r in resources(result, "aws:eks/nodeGroup:NodeGroup")}
    # GPU nodes come from Karpenter's NodePool, not from a managed node group nothing would scale.
    assert list(groups) == ["rdagent-nodes-cpu"] and "taints" not in groups["rdagent-nodes-cpu"]
    assert groups["rdagent-nodes-cpu"]["version"] == "1.35", "the CPU nodes do not follow the cluster's Kubernetes version"
    (pool,) = [m for m in manifests if m["kind"] == "NodePool" and m["metadata"]["name"] == "gpu"]
    requirements = {r["key"]: r["values"] for r in pool["spec"]["template"]["spec"]["requirements"]}
    assert requirements["node.kubernetes.io/instance-type"] == ["g5.2xlarge"] and requirements["karpenter.sh/capacity-type"] == ["spot"]
    (node_class,) = [m for m in manifests if m["kind"] == "EC2NodeClass" and m["metadata"]["name"] == "gpu"]
    assert node_class["spec"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == "200Gi"
    policies = {r.inputs["policyArn"].rsplit("/", 1)[1] for r in resources(result, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"} <= policies


def test_ecr_lifecycle_encryption_and_pull_policy():
    _, result, _ = synth("prod")
    repository = next(r for r in resources(result, "aws:ecr/repository:Repository") if r.name == "rdagent-images-production")
    assert repository.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}] and repository.protect
    lifecycle = json.loads(
        next(r for r in resources(result, "aws:ecr/lifecyclePolicy:LifecyclePolicy") if r.name == "rdagent-images-production-lifecycle").inputs["policy"]
    )
    rules = {rule["selection"]["tagStatus"]: rule["selection"]["countNumber"] for rule in lifecycle["rules"]}
    assert rules == {"untagged": 7, "tagged": 50}
    assert len(resources(result, "aws:ecr/repositoryPolicy:RepositoryPolicy")) == len(IMAGE_VARIANTS)


def test_images_are_built_with_pulumi_docker_when_asked(monkeypatch):
    # What pulumi-docker is given, before synth masks the secrets (the login is one).
    given = {}
    original = SynthMocks.new_resource

    def recording(self, args):
        if args.typ == "docker:index/image:Image":
            given[args.name] = args.inputs
        return original(self, args)

    monkeypatch.setattr(SynthMocks, "new_resource", recording)
    _, result, manifests = synth("staging", images={"build": True})
    builds = {r.name: r.inputs for r in resources(result, "docker:index/image:Image")}
    # Pushed to ECR with ECR's own login (without one, the push is refused): the registry of the
    # stack's account and region, user AWS, the token's password, which stays a secret.
    registry = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com"
    logins = {name: inputs["registry"] for name, inputs in given.items()}
    assert logins == {
        name: {rpc._special_sig_key: rpc._special_secret_sig, "value": {"server": registry, "username": "AWS", "password": "offline-ecr-password"}}
        for name in builds
    }
    assert builds["rdagent-images-production-image"]["registry"]["password"] == "[secret]"
    assert len(builds) == len(IMAGE_VARIANTS)
    assert builds["rdagent-images-production-gpu-image"]["build"]["dockerfile"].endswith("images/production-gpu.Dockerfile")
    production = builds["rdagent-images-production-image"]
    assert production["build"]["dockerfile"].endswith("images/production.Dockerfile") and production["imageName"].endswith("rdagent-staging/production:1.4.0")
    image = manifest(manifests, "Deployment", "rdagent-ui-stable")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert re.search(r"@sha256:[0-9a-f]{64}$", image), "built images are deployed by digest"


# --- workloads (issue 7) -------------------------------------------------------------------


def ui_pod(manifests, name="rdagent-ui"):
    return manifest(manifests, "Deployment", name)["spec"]["template"]


def test_changing_a_config_map_rolls_the_pods():
    _, _, before = synth("dev")
    _, _, after = synth("dev", app={"debug": True, "logLevel": "WARNING"})
    hash_before = ui_pod(before)["metadata"]["annotations"]["rdagent.io/config-hash"]
    hash_after = ui_pod(after)["metadata"]["annotations"]["rdagent.io/config-hash"]
    assert hash_before != hash_after
    _, _, same = synth("dev")
    assert ui_pod(same)["metadata"]["annotations"]["rdagent.io/config-hash"] == hash_before


def test_ui_filesystem_and_volumes():
    _, _, manifests = synth("dev")
    spec = ui_pod(manifests)["spec"]
    container = spec["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {"/app/logs", "/tmp", "/app/cache", "/traces"} <= set(mounts)
    # Finding 3 of the real cluster: no shared cache claim whose access mode a rollout could switch.
    assert not [m for m in manifests if m["kind"] == "PersistentVolumeClaim" and m["metadata"]["name"].startswith("rdagent-ui")]
    (cache,) = [v for v in spec["volumes"] if v["name"] == "cache"]
    template = cache["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert template == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}}  # dev's L3 size


def test_no_rollout_step_changes_or_replaces_a_claim():
    """Every claim the stack renders is the same at rest and at every step of both strategies."""
    at_rest = {m["metadata"]["name"]: m["spec"] for m in synth("test")[2] if m["kind"] == "PersistentVolumeClaim"}
    assert at_rest
    for strategy, steps in (("canary", 3), ("blueGreen", 7)):
        for step in range(steps):
            rollout = {"strategy": strategy, "newVersion": "0.9.0", "step": step}
            claims = {m["metadata"]["name"]: m["spec"] for m in synth("test", rollout=rollout)[2] if m["kind"] == "PersistentVolumeClaim"}
            assert claims == at_rest, (strategy, step)


def test_ingress_with_tls():
    _, _, manifests = synth("dev", workloads={"ui": {"ingress": {"enabled": True, "kind": "ingress", "host": "rdagent.dev.example.com"}}})
    ingress = manifest(manifests, "Ingress", "rdagent-ui")
    assert ingress["spec"]["tls"] == [{"hosts": ["rdagent.dev.example.com"], "secretName": "rdagent-ui-ingress-tls"}]
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_http_route_attaches_to_the_tls_listener():
    _, _, manifests = synth("prod")
    route = manifest(manifests, "HTTPRoute", "rdagent-ui")["spec"]
    assert route["parentRefs"] == [{"name": "shared-gateway", "namespace": "gateway-system", "sectionName": "https"}]
    assert route["hostnames"] == ["rdagent.example.com"]


def test_network_policies_open_only_what_is_needed():
    config, _, manifests = synth("prod")
    ui = manifest(manifests, "NetworkPolicy", "rdagent-ui")["spec"]
    # Traffic enters through the Envoy sidecar (so it is measured), from the sign-in proxies only; its stats port is scraped.
    traffic, stats = ui["ingress"]
    assert traffic["ports"] == [{"protocol": "TCP", "port": 8080}] and traffic["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "auth"
    assert stats == {"ports": [{"protocol": "TCP", "port": 9902}]}
    _, _, open_ui = synth("test")
    assert manifest(open_ui, "NetworkPolicy", "rdagent-ui")["spec"]["ingress"] == [
        {"ports": [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 9902}]}
    ]
    _, _, nginx = synth("dev", rollout={"trafficProvider": "ingressNginx"})
    assert manifest(nginx, "NetworkPolicy", "rdagent-ui")["spec"]["ingress"] == [{"ports": [{"protocol": "TCP", "port": 19899}]}]
    egress_ports = {(rule["ports"][0]["port"], json.dumps(rule["to"][0], sort_keys=True)) for rule in ui["egress"]}
    ports = {port for port, _ in egress_ports}
    assert {53, 6379, 5959, 443} <= ports
    deny = manifest(manifests, "NetworkPolicy", "default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []}
    runs = manifest(manifests, "NetworkPolicy", "rdagent-run-egress")["spec"]
    assert runs["policyTypes"] == ["Egress"] and runs["egress"] == ui["egress"]


def test_gpu_runs_land_on_the_gpu_pool():
    _, _, manifests = synth("prod")
    (job,) = [m for m in manifests if m["kind"] == "Job" and m["metadata"]["labels"].get("rdagent.io/run") == "ds-titanic"]
    spec = job["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"rdagent.io/pool": "gpu"}
    assert spec["containers"][0]["args"] == ["rdagent", "data_science", "--competition", "titanic", "--loop-n", "10", "--timeout", "1200m"]
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["OMP_NUM_THREADS"] == "4" and env["DS_CODER_COSTEER_ENV_TYPE"] == "conda"
    assert {"name": "workspace", "persistentVolumeClaim": {"claimName": "rdagent-run-ds-titanic-workspace"}} in spec["volumes"]
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400
    cpu_job = manifest(manifests, "CronJob", "rdagent-run-model-report-weekly")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert cpu_job["containers"][0]["image"].endswith("rdagent-prod/qlib:1.4.0")


# --- Redis, ELK, monitoring (issue 8) --------------------------------------------------------


def test_in_cluster_redis():
    _, result, manifests = synth("prod")
    config = manifest(manifests, "ConfigMap", "redis-config")["data"]["redis.conf"]
    assert "maxmemory 10gb" in config and "maxmemory-policy allkeys-lru" in config and "appendonly yes" in config
    redis = manifest(manifests, "StatefulSet", "redis")["spec"]
    env = redis["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "password"}}}]
    assert redis["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert manifest(manifests, "Service", "redis")["spec"]["ports"][0]["port"] == 6379
    assert "redisUrl" in result.secret_outputs


def test_elasticache_for_prod():
    _, result, manifests = synth("prod", redis={"mode": "elasticache"})
    (group,) = resources(result, "aws:elasticache/replicationGroup:ReplicationGroup")
    inputs = group.inputs
    assert inputs["atRestEncryptionEnabled"] is True and inputs["transitEncryptionEnabled"] is True
    assert inputs["authToken"] == "[secret]" and inputs["automaticFailoverEnabled"] is True
    (security_group,) = [r for r in resources(result, "aws:ec2/securityGroup:SecurityGroup") if r.name.startswith("rdagent-redis")]
    assert security_group.inputs["ingress"][0]["fromPort"] == 6379 and security_group.inputs["ingress"][0]["securityGroups"]
    assert not [m for m in manifests if m["kind"] == "StatefulSet" and m["metadata"]["name"] == "redis"]
    assert "redisUrl" in result.secret_outputs and result.outputs["redisUrl"].startswith("rediss://")


@pytest.mark.parametrize(("stack", "nodes"), [("dev", 1), ("prod", 3)])
def test_elasticsearch_size(stack, nodes):
    _, _, manifests = synth(stack)
    es = manifest(manifests, "StatefulSet", "elasticsearch")["spec"]
    env = {e["name"]: e.get("value") for e in es["template"]["spec"]["containers"][0]["env"]}
    assert es["replicas"] == nodes and env["xpack.security.enabled"] == "true"
    assert ("discovery.type" in env) == (nodes == 1)


def test_logstash_pipeline_structure():
    _, _, manifests = synth("prod")
    data = manifest(manifests, "ConfigMap", "logstash-pipeline")["data"]
    pipeline = data["rdagent.conf"]
    sections = re.findall(r"^(input|filter|output) \{", pipeline, flags=re.M)
    assert sections == ["input", "filter", "output"]
    assert pipeline.count("{") == pipeline.count("}"), "unbalanced braces"
    assert re.search(r"tcp \{\s+port => 5959\s+codec => json_lines", pipeline)
    assert 'hosts => ["http://elasticsearch.rdagent.svc.cluster.local:9200"]' in pipeline and 'ilm_policy => "rdagent-logs"' in pipeline
    assert json.loads(data["ilm-policy.json"])["policy"]["phases"]["delete"]["min_age"] == "30d"
    assert json.loads(data["snapshot-policy.json"])["retention"]["expire_after"] == "30d"
    assert manifest(manifests, "Service", "logstash")["spec"]["ports"][0]["port"] == 5959


def test_dashboards_and_rules():
    _, _, manifests = synth("prod")
    boards = [m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
    titles = sorted(json.loads(next(iter(m["data"].values())))["title"] for m in boards)
    assert titles == ["RD-Agent: application metrics", "RD-Agent: business metrics", "RD-Agent: system overview"]
    rules = manifest(manifests, "PrometheusRule", "rdagent-alerts")["spec"]["groups"][0]["rules"]
    assert [(r["alert"], r["for"], r["labels"]["severity"]) for r in rules] == [
        ("HighCPUUsage", "5m", "warning"),
        ("HighMemoryUsage", "2m", "critical"),
        ("HighErrorRate", "5m", "critical"),
    ]
    monitor = manifest(manifests, "ServiceMonitor", "rdagent-ui")["spec"]
    assert monitor["podTargetLabels"] == ["rdagent.io/track"]
    # It scrapes what exists: the sidecar's stats listener, not Streamlit (which has no /metrics).
    assert monitor["endpoints"] == [{"port": "envoy-stats", "path": "/stats/prometheus", "interval": "30s"}]
    service = manifest(manifests, "Service", "rdagent-ui")["spec"]
    assert {p["name"]: p["targetPort"] for p in service["ports"]} == {"http": "proxy", "envoy-stats": "envoy-stats"}
    assert [p["name"] for p in manifest(manifests, "Service", "rdagent-ui-active")["spec"]["ports"]] == ["http"]
    application = next(json.loads(next(iter(m["data"].values()))) for m in boards if "application" in m["metadata"]["name"])
    # The UI's panels read the sidecar's series; the LLM gateway's, LiteLLM's own.
    exprs = {panel["title"]: panel["targets"][0]["expr"] for panel in application["panels"]}
    ui = {title: expr for title, expr in exprs.items() if not title.startswith("LLM gateway")}
    assert ui and all("envoy_http_downstream_rq" in expr for expr in ui.values()) and "http_requests_total" not in json.dumps(application)
    assert all("litellm_" in expr for title, expr in exprs.items() if title not in ui) and len(exprs) - len(ui) == 3
    assert "envoy_http_downstream_rq_xx" in rules[2]["expr"]


def test_ingress_nginx_gates_read_the_controller():
    _, _, manifests = synth("dev", rollout={"trafficProvider": "ingressNginx"}, monitoring={"prometheusOperator": True})
    assert [m["metadata"]["name"] for m in manifests if m["kind"] == "ServiceMonitor"] == ["rdagent-llm-gateway"]
    monitor = manifest(manifests, "PodMonitor", "rdagent-ingress-nginx")["spec"]
    assert monitor["namespaceSelector"] == {"matchNames": ["ingress-nginx"]}
    assert monitor["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "honorLabels": True}]
    assert [c["name"] for c in ui_pod(manifests)["spec"]["containers"]] == ["ui"]
    rules = manifest(manifests, "PrometheusRule", "rdagent-alerts")["spec"]["groups"][0]["rules"]
    assert 'nginx_ingress_controller_requests{namespace="rdagent", service=~"rdagent-ui.*", status=~"5.."}' in rules[2]["expr"]


def test_the_envoy_sidecar():
    from rdagent_infra.logic.envoy_sidecar import ENVOY_IMAGE

    _, _, manifests = synth("dev")
    spec = ui_pod(manifests)["spec"]
    ui, proxy = spec["containers"]
    assert proxy["image"] == ENVOY_IMAGE == "envoyproxy/envoy-distroless:v1.40.0"
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is True and proxy["securityContext"]["runAsNonRoot"] is True
    assert {p["name"]: p["containerPort"] for p in proxy["ports"]} == {"proxy": 8080, "envoy-stats": 9902}
    assert proxy["command"][:3] == ["/usr/local/bin/envoy", "--config-path", "/etc/envoy/envoy.yaml"]
    assert {"name": "envoy-config", "configMap": {"name": "rdagent-ui-envoy"}} in spec["volumes"]
    bootstrap = yaml.safe_load(manifest(manifests, "ConfigMap", "rdagent-ui-envoy")["data"]["envoy.yaml"])
    assert bootstrap["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    upstream = bootstrap["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
    assert upstream["socket_address"] == {"address": "127.0.0.1", "port_value": ui["ports"][0]["containerPort"]}


def test_the_load_hook_job():
    _, _, quiet = synth("dev", rollout={"strategy": "canary", "stableVersion": "0.1.0", "newVersion": "0.2.0", "step": 1})
    assert not [m for m in quiet if m["kind"] == "Job" and "load" in m["metadata"]["name"]], "off unless configured"
    hook = {"enabled": True, "requests": 120, "concurrency": 3}
    _, _, manifests = synth("dev", rollout={"strategy": "canary", "stableVersion": "0.1.0", "newVersion": "0.2.0", "step": 1, "loadHook": hook})
    job = manifest(manifests, "Job", "rdagent-ui-load-canary-step1")
    assert job["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 300)
    (container,) = spec["template"]["spec"]["containers"]
    assert container["image"] == "busybox:1.37.0" and container["securityContext"]["runAsUser"] == 65534
    assert "http://rdagent-ui-canary.rdagent.svc:80/_stcore/health" in container["command"][2]
    egress = manifest(manifests, "NetworkPolicy", "rdagent-ui-load")["spec"]
    assert egress["egress"][0]["ports"] == [{"protocol": "TCP", "port": 8080}]


def test_eck_mode_uses_the_operators_custom_resources():
    _, result, manifests = synth("prod", logging={"mode": "eck"})
    kinds = {(m["apiVersion"], m["kind"]) for m in manifests}
    assert {
        ("elasticsearch.k8s.elastic.co/v1", "Elasticsearch"),
        ("kibana.k8s.elastic.co/v1", "Kibana"),
        ("logstash.k8s.elastic.co/v1alpha1", "Logstash"),
    } <= kinds
    assert not [m for m in manifests if m["kind"] == "StatefulSet" and m["metadata"]["name"] == "elasticsearch"]
    es = manifest(manifests, "Elasticsearch", "rdagent-logs")["spec"]
    assert es["version"] == "8.15.3" and es["nodeSets"][0]["count"] == 3
    assert es["nodeSets"][0]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "200Gi"
    assert es["nodeSets"][0]["config"]["path.repo"] == ["/usr/share/elasticsearch/snapshots"]
    pipeline = manifest(manifests, "Logstash", "rdagent-logs")["spec"]["pipelines"][0]["config.string"]
    assert "port => 5959" in pipeline and 'hosts => ["${RDAGENT_ES_HOSTS}"]' in pipeline and "${RDAGENT_ES_SSL_CERTIFICATE_AUTHORITY}" in pipeline
    # The workloads still log to logstash:5959.
    assert manifest(manifests, "Service", "logstash")["spec"]["ports"][0]["port"] == 5959
    setup = manifest(manifests, "Job", "elasticsearch-setup")["spec"]["template"]["spec"]
    assert "--cacert /ca/ca.crt" in setup["containers"][0]["command"][2] and "_slm/policy/nightly" in setup["containers"][0]["command"][2]
    operator_rule = manifest(manifests, "NetworkPolicy", "elasticsearch-ingress")["spec"]["ingress"][-1]
    assert operator_rule["from"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "elastic-system"}
    assert [r for r in result.registrations if r.type == "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch"][0].protect


def test_eck_mode_needs_no_elastic_password():
    raw, source = raw_stack_config(ROOT, "prod")
    raw["logging"] = {**raw["logging"], "mode": "eck"}
    raw["secrets"] = {k: v for k, v in raw["secrets"].items() if k != "elasticPassword"}
    assert load_stack_config(raw, "prod", source).logging.mode == "eck"


def test_every_aws_resource_uses_the_one_explicit_aws_provider():
    _, result, _ = synth("prod", redis={"mode": "elasticache"}, aws={"accountId": "210987654321"})
    (provider,) = resources(result, "pulumi:providers:aws")
    decoded = {key: json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value for key, value in provider.inputs.items()}
    assert decoded["region"] == "us-east-1" and decoded["allowedAccountIds"] == ["210987654321"]
    assert decoded["defaultTags"]["tags"]["rdagent.io/tier"] == "prod"
    aws_resources = [r for r in result.registrations if r.type.startswith("aws:")]
    assert aws_resources and all(r.provider and "pulumi:providers:aws" in r.provider for r in aws_resources), [r.name for r in aws_resources if not r.provider]


@pytest.mark.parametrize(("strategy", "steps"), [("canary", 3), ("blueGreen", 7)])
def test_every_track_states_its_replicas_and_the_hpas_target_never_below_its_minimum(strategy, steps):
    """Under mocks, every step: each UI Deployment sets `replicas` (one left out is dropped by
    server-side apply and falls to 1: tests/test_cluster_stack.py saw it on a real control plane),
    the HPA's target at least the HPA's minimum, and each may take the field back from the HPA."""
    for step in range(steps):
        rollout = {"strategy": strategy, "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": step}
        _, _, manifests = synth("prod", rollout=rollout)
        hpa = manifest(manifests, "HorizontalPodAutoscaler", "rdagent-ui")["spec"]
        ui = [m for m in manifests if m["kind"] == "Deployment" and m["metadata"]["labels"].get("app.kubernetes.io/component") == "ui"]
        tracks = {m["metadata"]["name"]: m for m in ui}
        assert all("replicas" in m["spec"] for m in tracks.values()), (step, list(tracks))
        assert tracks[hpa["scaleTargetRef"]["name"]]["spec"]["replicas"] >= hpa["minReplicas"], step
        assert all(m["metadata"]["annotations"]["pulumi.com/patchForce"] == "true" for m in tracks.values()), step
