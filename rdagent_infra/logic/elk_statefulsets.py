"""The StatefulSets mode of the logging stack: we run Elasticsearch (security on, a PVC per
node), Logstash with the seed's TCP JSON input and Kibana. Plain functions returning Kubernetes
bodies, built from the shared pieces in `rdagent_infra.logic.elk`."""

from __future__ import annotations

from rdagent_infra import defaults as seed
from rdagent_infra.config import ElasticsearchConfig, LoggingConfig
from rdagent_infra.logic.elastic_security import (
    CERTS_DIR,
    CERTS_SECRET,
    KIBANA_PASSWORD_ENV,
    SETUP_APP,
    TRANSPORT_TLS_SETTINGS,
    cluster_health_probe,
    kibana_password_step,
)
from rdagent_infra.logic.elk import (
    ELASTIC_CHECKOV_SKIPS,
    ELASTIC_CONTAINER_SECURITY,
    ELASTIC_SECRET,
    ELASTIC_UID,
    ES_PORT,
    ES_TRANSPORT_PORT,
    KIBANA_PORT,
    KIBANA_RESOURCES,
    LOGSTASH_RESOURCES,
    SNAPSHOT_CLAIM,
    credentials_env,
    elastic_container,
    elastic_deployment,
    elk_network_policies,
    heap_resources,
    java_heap_env,
    logstash_pipeline,
    setup_container,
    setup_documents,
    setup_files,
    setup_script,
    statefulset_output,
)
from rdagent_infra.logic.network import network_policy
from rdagent_infra.logic.pods import container_security_context, http_probe, labels, pod_security_context, selector, writable_volumes


def statefulset_url(namespace: str) -> str:
    return f"http://elasticsearch.{namespace}.svc.cluster.local:{ES_PORT}"


def elasticsearch_env(es: ElasticsearchConfig) -> list[dict]:
    env = [
        {"name": "node.name", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "cluster.name", "value": "rdagent-logs"},
        {"name": "xpack.security.enabled", "value": "true"},
        # Elasticsearch 8 refuses to form a multi-node cluster with security on and transport TLS off.
        *({"name": key, "value": value} for key, value in TRANSPORT_TLS_SETTINGS.items()),
        java_heap_env("ES_JAVA_OPTS", es.heapMb),
        {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": ELASTIC_SECRET, "key": "password"}}},
    ]
    if es.replicas == 1:
        env.append({"name": "discovery.type", "value": "single-node"})
    else:
        seed_hosts = ",".join(f"elasticsearch-{i}.elasticsearch-nodes" for i in range(es.replicas))
        masters = ",".join(f"elasticsearch-{i}" for i in range(es.replicas))
        env += [{"name": "discovery.seed_hosts", "value": seed_hosts}, {"name": "cluster.initial_master_nodes", "value": masters}]
    if es.snapshotRepository:
        env.append({"name": "path.repo", "value": es.snapshotRepository})
    return env


def elasticsearch_container(es: ElasticsearchConfig, version: str, mounts: list[dict]) -> dict:
    return {
        "name": "elasticsearch",
        "image": f"docker.elastic.co/elasticsearch/elasticsearch:{version}",
        "imagePullPolicy": "IfNotPresent",
        "env": elasticsearch_env(es),
        "ports": [
            {"name": "http", "containerPort": ES_PORT, "protocol": "TCP"},
            {"name": "transport", "containerPort": ES_TRANSPORT_PORT, "protocol": "TCP"},
        ],
        "resources": heap_resources(es.heapMb),
        "securityContext": ELASTIC_CONTAINER_SECURITY,
        "readinessProbe": cluster_health_probe(),
        "livenessProbe": {"tcpSocket": {"port": "transport"}, "initialDelaySeconds": 60, "periodSeconds": 20},
        "volumeMounts": mounts,
    }


def elasticsearch_statefulset(namespace: str, logging: LoggingConfig) -> dict:
    """Elasticsearch with security on: one PVC per node, the snapshot claim shared when snapshots are on."""
    es = logging.elasticsearch
    es_labels = labels("elasticsearch", "logging")
    es_volumes, es_mounts = writable_volumes(("tmp", "/tmp"), ("es-config", "/usr/share/elasticsearch/config/jvm.options.d"))
    snapshot_mounts: list[dict] = []
    snapshot_volumes: list[dict] = []
    if es.snapshotRepository:
        snapshot_mounts = [{"name": "snapshots", "mountPath": es.snapshotRepository}]
        snapshot_volumes = [{"name": "snapshots", "persistentVolumeClaim": {"claimName": SNAPSHOT_CLAIM}}]
    certs = {"name": "certs", "secret": {"secretName": CERTS_SECRET, "defaultMode": 0o440}}
    mounts = [
        {"name": "data", "mountPath": "/usr/share/elasticsearch/data"},
        *es_mounts,
        *snapshot_mounts,
        {"name": "certs", "mountPath": CERTS_DIR, "readOnly": True},
    ]
    return {
        "metadata": {"name": "elasticsearch", "namespace": namespace, "labels": es_labels, "annotations": ELASTIC_CHECKOV_SKIPS},
        "spec": {
            "serviceName": "elasticsearch-nodes",
            "replicas": es.replicas,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector("elasticsearch", "logging")},
            "template": {
                "metadata": {"labels": es_labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(ELASTIC_UID, ELASTIC_UID),
                    "containers": [elasticsearch_container(es, logging.version, mounts)],
                    "volumes": [*es_volumes, *snapshot_volumes, certs],
                },
            },
            "volumeClaimTemplates": [
                {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": es.storageSize}}}}
            ],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
    }


def elasticsearch_services(namespace: str) -> list[tuple[str, dict]]:
    """The client Service and the headless one that gives each node its DNS name, by name."""
    services = []
    for service_name, headless in (("elasticsearch", False), ("elasticsearch-nodes", True)):
        body = {
            "metadata": {"name": service_name, "namespace": namespace, "labels": labels("elasticsearch", "logging")},
            "spec": {
                **({"clusterIP": "None", "publishNotReadyAddresses": True} if headless else {}),
                "selector": selector("elasticsearch", "logging"),
                "ports": [
                    {"name": "http", "port": ES_PORT, "targetPort": "http", "protocol": "TCP"},
                    {"name": "transport", "port": ES_TRANSPORT_PORT, "targetPort": "transport", "protocol": "TCP"},
                ],
            },
        }
        services.append((service_name, body))
    return services


def logstash_deployment(namespace: str, logging: LoggingConfig, elasticsearch_url: str) -> dict:
    """Logstash with the seed's TCP JSON input; its init container installs the ILM policy its output expects."""
    snapshots = bool(logging.elasticsearch.snapshotRepository)
    volumes, mounts = writable_volumes(("tmp", "/tmp"), ("logstash-data", "/usr/share/logstash/data"))
    image = f"docker.elastic.co/logstash/logstash:{logging.version}"
    # Installs the ILM (and snapshot) policies, then sets the password Kibana logs in with.
    install = setup_container(
        "install-ilm-policy",
        image,
        f"{setup_script(elasticsearch_url, snapshots)} && {kibana_password_step(elasticsearch_url)}",
        [*credentials_env(), KIBANA_PASSWORD_ENV],
        container_security_context(ELASTIC_UID, ELASTIC_UID),
        [{"name": "ilm", "mountPath": "/ilm", "readOnly": True}],
    )
    container = elastic_container(
        "logstash",
        image,
        env=[*credentials_env(), {"name": "LS_JAVA_OPTS", "value": "-Xms512m -Xmx512m"}, {"name": "XPACK_MONITORING_ENABLED", "value": "false"}],
        port=("tcp-json", seed.LOGSTASH_PORT),
        resources=LOGSTASH_RESOURCES,
        readiness={"tcpSocket": {"port": "tcp-json"}, "initialDelaySeconds": 30, "periodSeconds": 10},
        liveness={"tcpSocket": {"port": "tcp-json"}, "initialDelaySeconds": 90, "periodSeconds": 20},
        mounts=[{"name": "pipeline", "mountPath": "/usr/share/logstash/pipeline", "readOnly": True}, *mounts],
    )
    ilm_items = [{"key": key, "path": key} for key in setup_files(snapshots)]
    pod_volumes = [
        {"name": "pipeline", "configMap": {"name": "logstash-pipeline", "items": [{"key": "rdagent.conf", "path": "rdagent.conf"}]}},
        {"name": "ilm", "configMap": {"name": "logstash-pipeline", "items": ilm_items}},
        *volumes,
    ]
    return elastic_deployment("logstash", namespace, {"initContainers": [install], "containers": [container], "volumes": pod_volumes})


def logstash_files(logging: LoggingConfig, elasticsearch_url: str) -> dict[str, str]:
    """The logstash-pipeline ConfigMap: the pipeline and the documents its init container installs."""
    return {"rdagent.conf": logstash_pipeline(statefulset_output(elasticsearch_url)), **setup_documents(logging)}


def kibana_deployment(namespace: str, version: str, elasticsearch_url: str) -> dict:
    volumes, mounts = writable_volumes(("tmp", "/tmp"), ("kibana-data", "/usr/share/kibana/data"))
    container = elastic_container(
        "kibana",
        f"docker.elastic.co/kibana/kibana:{version}",
        env=[
            {"name": "ELASTICSEARCH_HOSTS", "value": elasticsearch_url},
            {"name": "ELASTICSEARCH_USERNAME", "value": "kibana_system"},
            {"name": "ELASTICSEARCH_PASSWORD", "valueFrom": KIBANA_PASSWORD_ENV["valueFrom"]},
        ],
        port=("http", KIBANA_PORT),
        resources=KIBANA_RESOURCES,
        readiness=http_probe("/api/status", "http", 30, 10),
        liveness=http_probe("/api/status", "http", 120, 20),
        mounts=mounts,
    )
    return elastic_deployment("kibana", namespace, {"containers": [container], "volumes": volumes})


def statefulset_network_policies(namespace: str, shipper_namespace: str | None = None) -> list[dict]:
    """The stack's flows, plus the certificates Job to the Kubernetes API (it stores its Secrets there)."""
    es_pods = selector("elasticsearch", "logging")
    policies = elk_network_policies(namespace, es_pods, selector("logstash", "logging"), selector("kibana", "logging"), shipper_namespace=shipper_namespace)
    api_server = {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}
    policies.append(network_policy("elasticsearch-certs-egress", namespace, labels(SETUP_APP, "logging"), ingress=[], egress=[api_server]))
    return policies
