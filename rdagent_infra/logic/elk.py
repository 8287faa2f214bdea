"""The ELK builders: the Logstash pipeline, the ILM and snapshot (SLM) policies and the script
that installs them, the Elastic containers and pod templates, the logging stack's network
policies: what both modes share.

Plain functions returning Kubernetes bodies; `components/logging.py` turns them into resources.
The StatefulSets mode's workloads are in `rdagent_infra.logic.elk_statefulsets`, the ECK mode's
custom resources in `rdagent_infra.logic.eck`.
"""

from __future__ import annotations

import json

from rdagent_infra import defaults as seed
from rdagent_infra.config import ElasticsearchConfig, LoggingConfig
from rdagent_infra.logic.network import allow_from, allow_to, network_policy
from rdagent_infra.logic.pods import (
    checkov_skips,
    container_security_context,
    labels,
    pod_security_context,
    selector,
    simple_resources,
)

ELASTIC_SECRET = "elastic-credentials"
ELASTIC_UID = 1000
ES_PORT = 9200
ES_TRANSPORT_PORT = 9300
KIBANA_PORT = 5601
ILM_POLICY = "rdagent-logs"
SNAPSHOT_REPOSITORY = "rdagent-snapshots"
SNAPSHOT_CLAIM = "elasticsearch-snapshots"
# The Elastic images own their files as uid 1000 and write their keystores and config at start-up.
ELASTIC_IMAGE_SKIP_REASONS = {
    "CKV_K8S_40": "the Elastic images own their files as uid 1000 (non-root)",
    "CKV_K8S_22": "the Elastic images write their keystore and config under their home at start-up",
}
ELASTIC_CHECKOV_SKIPS = checkov_skips(ELASTIC_IMAGE_SKIP_REASONS)


def statefulset_output(elasticsearch_url: str) -> dict[str, str]:
    return {"hosts": elasticsearch_url, "user": "${ELASTIC_USER}", "password": "${ELASTIC_PASSWORD}"}


def logstash_pipeline(output: dict[str, str]) -> str:
    """The pipeline Logstash runs: JSON lines over TCP in, Elasticsearch (with ILM) out."""
    return "\n".join(
        [
            "input {",
            "  tcp {",
            f"    port => {seed.LOGSTASH_PORT}",
            "    codec => json_lines",
            "  }",
            "}",
            "filter {",
            "  mutate {",
            '    add_field => { "[service][name]" => "rdagent" }',
            "  }",
            "}",
            "output {",
            "  elasticsearch {",
            f'    hosts => ["{output["hosts"]}"]',
            *(f'    {key} => "{value}"' for key, value in output.items() if key != "hosts"),
            "    ilm_enabled => true",
            f'    ilm_rollover_alias => "{ILM_POLICY}"',
            f'    ilm_policy => "{ILM_POLICY}"',
            '    ilm_pattern => "{now/d}-000001"',
            "  }",
            "}",
            "",
        ]
    )


def ilm_policy(retention_days: int) -> str:
    return json.dumps(
        {
            "policy": {
                "phases": {
                    "hot": {"actions": {"rollover": {"max_age": "1d", "max_primary_shard_size": "10gb"}}},
                    "delete": {"min_age": f"{retention_days}d", "actions": {"delete": {}}},
                }
            }
        },
        indent=2,
        sort_keys=True,
    )


def snapshot_repository(location: str) -> str:
    return json.dumps({"type": "fs", "settings": {"location": location}}, sort_keys=True)


def snapshot_policy(retention_days: int) -> str:
    """A nightly snapshot of every index, kept as long as the logs themselves."""
    return json.dumps(
        {
            "schedule": "0 30 1 * * ?",
            "name": "<nightly-{now/d}>",
            "repository": SNAPSHOT_REPOSITORY,
            "config": {"indices": ["*"], "include_global_state": False},
            "retention": {"expire_after": f"{retention_days}d", "min_count": 3, "max_count": 60},
        },
        sort_keys=True,
    )


def setup_files(snapshots: bool) -> list[str]:
    return ["ilm-policy.json", *(["snapshot-repository.json", "snapshot-policy.json"] if snapshots else [])]


def setup_script(elasticsearch_url: str, snapshots: bool, ca: str | None = None) -> str:
    """PUTs the ILM policy (and the snapshot repository and policy), retrying until Elasticsearch answers."""
    puts = [(f"_ilm/policy/{ILM_POLICY}", "ilm-policy.json")]
    if snapshots:
        puts += [(f"_snapshot/{SNAPSHOT_REPOSITORY}", "snapshot-repository.json"), ("_slm/policy/nightly", "snapshot-policy.json")]
    trust = f" --cacert {ca}" if ca else ""
    steps = [
        f"until curl -sf{trust} -u \"elastic:$ELASTIC_PASSWORD\" -X PUT -H 'Content-Type: application/json' --data @/ilm/{file} {elasticsearch_url}/{path}; do sleep 5; done"
        for path, file in puts
    ]
    return " && ".join(steps)


LOGSTASH_RESOURCES = simple_resources("250m", "1Gi", "1000m", "1536Mi")
KIBANA_RESOURCES = simple_resources("250m", "1Gi", "1000m", "2Gi")
# The Elastic images run as their own uid and write keystores and config at start-up.
ELASTIC_CONTAINER_SECURITY = {**container_security_context(ELASTIC_UID, ELASTIC_UID), "readOnlyRootFilesystem": False}


def elastic_container(name: str, image: str, *, env: list, port: tuple[str, int], resources: dict, readiness: dict, liveness: dict, mounts: list) -> dict:
    """A container of an Elastic image: non-root as the image's uid, its root filesystem writable
    (the images write their keystores and config at start-up)."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "ports": [{"name": port[0], "containerPort": port[1], "protocol": "TCP"}],
        "resources": resources,
        "securityContext": ELASTIC_CONTAINER_SECURITY,
        "readinessProbe": readiness,
        "livenessProbe": liveness,
        "volumeMounts": mounts,
    }


def elastic_deployment(app: str, namespace: str, pod_spec: dict) -> dict:
    """The metadata and spec of a one-replica Deployment of an Elastic image."""
    return {
        "metadata": {"name": app, "namespace": namespace, "labels": labels(app, "logging"), "annotations": ELASTIC_CHECKOV_SKIPS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(app, "logging")},
            "template": {
                "metadata": {"labels": labels(app, "logging")},
                "spec": {"automountServiceAccountToken": False, "securityContext": pod_security_context(ELASTIC_UID, ELASTIC_UID), **pod_spec},
            },
        },
    }


def service(app: str, namespace: str, port_name: str, port: int) -> dict:
    return {
        "metadata": {"name": app, "namespace": namespace, "labels": labels(app, "logging")},
        "spec": {"selector": selector(app, "logging"), "ports": [{"name": port_name, "port": port, "targetPort": port_name, "protocol": "TCP"}]},
    }


def elk_network_policies(
    namespace: str, es_pods: dict, logstash_pods: dict, kibana_pods: dict, extra_es_ingress: list | None = None, shipper_namespace: str | None = None
) -> list[dict]:
    """Who may talk to whom in the logging stack: the workloads and the node log shipper to Logstash,
    Logstash and Kibana to Elasticsearch, Elasticsearch nodes to each other, plus `extra_es_ingress`."""
    part_of = {"app.kubernetes.io/part-of": "rdagent"}
    logstash_ingress = [allow_from(part_of, seed.LOGSTASH_PORT)]
    if shipper_namespace:
        shipper = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": shipper_namespace}}, "podSelector": {"matchLabels": part_of}}
        logstash_ingress.append({"from": [shipper], "ports": [{"protocol": "TCP", "port": seed.LOGSTASH_PORT}]})
    return [
        network_policy("logstash-ingress", namespace, logstash_pods, ingress=logstash_ingress, egress=[allow_to(es_pods, ES_PORT)]),
        network_policy(
            "elasticsearch-ingress",
            namespace,
            es_pods,
            ingress=[
                allow_from(logstash_pods, ES_PORT),
                allow_from(kibana_pods, ES_PORT),
                allow_from(es_pods, ES_TRANSPORT_PORT),
                *(extra_es_ingress or []),
            ],
            egress=[allow_to(es_pods, ES_TRANSPORT_PORT)],
        ),
        network_policy(
            "kibana-egress", namespace, kibana_pods, ingress=[{"ports": [{"protocol": "TCP", "port": KIBANA_PORT}]}], egress=[allow_to(es_pods, ES_PORT)]
        ),
    ]


def credentials_env() -> list[dict]:
    return [
        {"name": "ELASTIC_USER", "value": "elastic"},
        {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": ELASTIC_SECRET, "key": "password"}}},
    ]


def setup_documents(logging: LoggingConfig) -> dict[str, str]:
    """The ILM policy, and the snapshot repository and policy when snapshots are on, by file name."""
    es = logging.elasticsearch
    documents = {"ilm-policy.json": ilm_policy(logging.retentionDays)}
    if es.snapshotRepository:
        documents |= {"snapshot-repository.json": snapshot_repository(es.snapshotRepository), "snapshot-policy.json": snapshot_policy(logging.retentionDays)}
    return documents


def snapshot_claim(namespace: str, es: ElasticsearchConfig) -> dict:
    """The claim of the snapshot repository: an fs repository must be one filesystem shared by every node."""
    return {
        "metadata": {"name": SNAPSHOT_CLAIM, "namespace": namespace, "labels": labels("elasticsearch", "logging")},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": es.storageSize}}},
    }


def java_heap_env(variable: str, heap_mb: int) -> dict:
    return {"name": variable, "value": f"-Xms{heap_mb}m -Xmx{heap_mb}m"}


def heap_resources(heap_mb: int) -> dict:
    """Elasticsearch's requests and limits: memory twice the heap (the rest is the page cache's)."""
    memory = f"{heap_mb * 2}Mi"
    return simple_resources("500m", memory, "2000m", memory)


def setup_container(name: str, image: str, command: str, env: list[dict], security: dict, mounts: list[dict]) -> dict:
    """The short-lived container that PUTs the setup documents into Elasticsearch."""
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", command],
        "env": env,
        "resources": simple_resources("50m", "64Mi", "200m", "128Mi"),
        "securityContext": security,
        "volumeMounts": mounts,
    }
