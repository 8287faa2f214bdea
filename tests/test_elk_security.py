"""Elasticsearch that starts: transport TLS from certificates made at deploy time, the kibana_system
password set by the setup step, readiness from the cluster's health; and the prod synth shows it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from rdagent_infra.logic import elastic_security
from tests.manifests import load_manifests, pod_spec


def one(manifests, kind, name):
    (found,) = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def test_the_certificates_script_is_valid_shell_and_writes_valid_secrets(tmp_path):
    script = elastic_security.certs_job_script("rdagent", 3)
    shell = shutil.which("dash") or shutil.which("sh")
    assert subprocess.run([shell, "-n", "-c", script], capture_output=True, text=True).returncode == 0
    # The Secret bodies the script POSTs: printf formats whose %s are base64 values.
    bodies = re.findall(r"printf '(\{\"apiVersion\".*?\})'", script)
    assert len(bodies) == 2, script
    for body in bodies:
        secret = json.loads(body.replace("%s", "QUJD"))
        assert secret["kind"] == "Secret" and set(secret["data"]) in ({"ca.crt", "node.crt", "node.key"}, {"password"})
    assert "elasticsearch-certutil ca --silent --pem" in script and "elasticsearch-certutil cert --silent --pem" in script
    assert "elasticsearch-2.elasticsearch-nodes.rdagent.svc" in script


@pytest.fixture(scope="module")
def prod(synthesized):
    return load_manifests(synthesized("prod"))


def test_prod_elasticsearch_has_transport_tls_and_real_readiness(prod):
    statefulset = one(prod, "StatefulSet", "elasticsearch")
    assert statefulset["spec"]["replicas"] == 3
    container = pod_spec(statefulset)["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["xpack.security.enabled"] == "true" and env["xpack.security.transport.ssl.enabled"] == "true"
    assert env["xpack.security.transport.ssl.verification_mode"] == "certificate"
    assert (env["xpack.security.transport.ssl.key"], env["xpack.security.transport.ssl.certificate"]) == ("certs/node.key", "certs/node.crt")
    assert {"name": "certs", "mountPath": "/usr/share/elasticsearch/config/certs", "readOnly": True} in container["volumeMounts"]
    volume = next(v for v in pod_spec(statefulset)["volumes"] if v["name"] == "certs")
    assert volume["secret"]["secretName"] == "elasticsearch-certs"
    probe = " ".join(container["readinessProbe"]["exec"]["command"])
    assert "_cluster/health?wait_for_status=yellow" in probe and '-u "elastic:$ELASTIC_PASSWORD"' in probe


def test_prod_certificates_job_has_least_privilege(prod):
    job = one(prod, "Job", "elasticsearch-certs")
    spec = pod_spec(job)
    assert spec["serviceAccountName"] == "elasticsearch-certs"
    assert spec["containers"][0]["image"].startswith("docker.elastic.co/elasticsearch/elasticsearch:")
    role = one(prod, "Role", "elasticsearch-certs")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["elasticsearch-certs", "kibana-system-credentials"], "verbs": ["get"]},
    ]
    assert one(prod, "RoleBinding", "elasticsearch-certs")["subjects"][0]["name"] == "elasticsearch-certs"


def test_prod_kibana_logs_in_with_the_password_the_setup_step_sets(prod):
    logstash = pod_spec(one(prod, "Deployment", "logstash"))
    (setup,) = logstash["initContainers"]
    assert "_security/user/kibana_system/_password" in setup["command"][2]
    kibana_password = {"secretKeyRef": {"name": "kibana-system-credentials", "key": "password"}}
    assert {"name": "KIBANA_PASSWORD", "valueFrom": kibana_password} in setup["env"]
    kibana = pod_spec(one(prod, "Deployment", "kibana"))["containers"][0]
    env = {e["name"]: e for e in kibana["env"]}
    assert env["ELASTICSEARCH_USERNAME"]["value"] == "kibana_system" and env["ELASTICSEARCH_PASSWORD"]["valueFrom"] == kibana_password
    assert kibana["readinessProbe"]["httpGet"]["path"] == "/api/status"


def test_prod_ships_node_logs_and_shares_traces_with_the_ui(prod):
    shipper = one(prod, "DaemonSet", "rdagent-log-shipper")
    spec = pod_spec(shipper)
    assert shipper["metadata"]["namespace"] == "log-shipper" and spec["serviceAccountName"] == "rdagent-log-shipper"
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["/var/log/containers"] is True and mounts["/var/log/pods"] is True
    annotations = shipper["metadata"]["annotations"]
    assert annotations["policy.rdagent.io/exempt"] == "run-as-non-root,no-host-path-volumes" and annotations["policy.rdagent.io/exempt-reason"]
    role = one(prod, "ClusterRole", "rdagent-log-shipper")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}]
    config = one(prod, "ConfigMap", "rdagent-log-shipper")["data"]["fluent-bit.yaml"]
    assert "/var/log/containers/*_rdagent_*.log" in config and "logstash.rdagent.svc.cluster.local" in config
    ingress = one(prod, "NetworkPolicy", "logstash-ingress")["spec"]["ingress"]
    assert any(p.get("namespaceSelector", {}).get("matchLabels") == {"kubernetes.io/metadata.name": "log-shipper"} for rule in ingress for p in rule["from"])

    claim = one(prod, "PersistentVolumeClaim", "rdagent-traces")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    ui = pod_spec(one(prod, "Deployment", "rdagent-ui-blue"))["containers"][0]
    assert ui["args"][ui["args"].index("--log-dir") + 1] == "/traces"
    (job,) = [m for m in prod if m["kind"] == "Job" and m["metadata"].get("labels", {}).get("rdagent.io/run") == "ds-titanic"]
    run = pod_spec(job)["containers"][0]
    env = {e["name"]: e.get("value") for e in run["env"]}
    assert env["LOG_TRACE_PATH"] == "/traces/$(RDAGENT_POD_NAME)"
    assert {"name": "traces", "mountPath": "/traces", "readOnly": False} in run["volumeMounts"]
