"""ELK logging: Elasticsearch (security on, credentials from a secret, PVC per node), Logstash
with the seed's TCP JSON input on 5959 and an Elasticsearch output, Kibana, and index retention
through an ILM policy that Logstash installs with its index template."""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.network import allow_from, allow_to, network_policy
from rdagent_infra.logic.pods import (
    checkov_skips,
    container_security_context,
    http_probe,
    labels,
    pod_security_context,
    selector,
    simple_resources,
    writable_volumes,
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
ELASTIC_CHECKOV_SKIPS = checkov_skips(
    {
        "CKV_K8S_40": "the Elastic images own their files as uid 1000 (non-root)",
        "CKV_K8S_22": "the Elastic images write their keystore and config under their home at start-up",
    }
)


ECK_NAME = "rdagent-logs"
# The Elasticsearch output of the ECK Logstash: ECK injects these variables for the `rdagent` ref.
ECK_OUTPUT = {
    "hosts": "${RDAGENT_ES_HOSTS}",
    "user": "${RDAGENT_ES_USER}",
    "password": "${RDAGENT_ES_PASSWORD}",
    "ssl_certificate_authorities": "${RDAGENT_ES_SSL_CERTIFICATE_AUTHORITY}",
}


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


# The Elastic images run as their own uid and write keystores and config at start-up.
ELASTIC_CONTAINER_SECURITY = {**container_security_context(ELASTIC_UID, ELASTIC_UID), "readOnlyRootFilesystem": False}


def eck_pod_template(
    container: str, resources: dict, *, env: list | None = None, mounts: list | None = None, volumes: list | None = None, pod_labels: dict | None = None
) -> dict:
    """An ECK podTemplate: the operator fills in the image, ports and probes; we set identity and limits."""
    spec_container = {"name": container, "resources": resources, "securityContext": ELASTIC_CONTAINER_SECURITY}
    if env:
        spec_container["env"] = env
    if mounts:
        spec_container["volumeMounts"] = mounts
    spec = {"automountServiceAccountToken": False, "securityContext": pod_security_context(ELASTIC_UID, ELASTIC_UID), "containers": [spec_container]}
    if volumes:
        spec["volumes"] = volumes
    return {"metadata": {"labels": pod_labels}, "spec": spec} if pod_labels else {"spec": spec}


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


def elk_network_policies(namespace: str, es_pods: dict, logstash_pods: dict, kibana_pods: dict, extra_es_ingress: list | None = None) -> list[dict]:
    """Who may talk to whom in the logging stack: the workloads to Logstash, Logstash and Kibana to
    Elasticsearch, Elasticsearch nodes to each other, plus `extra_es_ingress`."""
    part_of = {"app.kubernetes.io/part-of": "rdagent"}
    return [
        network_policy("logstash-ingress", namespace, logstash_pods, ingress=[allow_from(part_of, seed.LOGSTASH_PORT)], egress=[allow_to(es_pods, ES_PORT)]),
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


def _credentials_env() -> list[dict]:
    return [
        {"name": "ELASTIC_USER", "value": "elastic"},
        {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": ELASTIC_SECRET, "key": "password"}}},
    ]


class ElkLogging(pulumi.ComponentResource):
    """Outputs: `logstash_host` (the seed's `logstash.internal`), `elasticsearch_url`."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:ElkLogging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.logstash_host = f"logstash.{config.namespace}.svc.cluster.local"
        if config.logging.mode == "eck":
            self._eck(name, config, child)
        else:
            self._statefulsets(name, config, child)
        self.register_outputs({"logstash_host": self.logstash_host, "elasticsearch_url": self.elasticsearch_url})

    def _statefulsets(self, name: str, config: StackConfig, child: pulumi.ResourceOptions) -> None:
        namespace = config.namespace
        logging = config.logging
        es = logging.elasticsearch
        version = logging.version
        self.elasticsearch_url = f"http://elasticsearch.{namespace}.svc.cluster.local:{ES_PORT}"

        k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": ELASTIC_SECRET, "namespace": namespace},
            type="Opaque",
            string_data={"password": pulumi.Output.secret(config.secrets.elasticPassword.value)},
            opts=child,
        )

        es_labels = labels("elasticsearch", "logging")
        seed_hosts = ",".join(f"elasticsearch-{i}.elasticsearch-nodes" for i in range(es.replicas))
        masters = ",".join(f"elasticsearch-{i}" for i in range(es.replicas))
        es_volumes, es_mounts = writable_volumes(("tmp", "/tmp"), ("es-config", "/usr/share/elasticsearch/config/jvm.options.d"))
        es_env = [
            {"name": "node.name", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "cluster.name", "value": "rdagent-logs"},
            {"name": "xpack.security.enabled", "value": "true"},
            {"name": "ES_JAVA_OPTS", "value": f"-Xms{es.heapMb}m -Xmx{es.heapMb}m"},
            {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": ELASTIC_SECRET, "key": "password"}}},
        ]
        if es.replicas == 1:
            es_env.append({"name": "discovery.type", "value": "single-node"})
        else:
            es_env += [{"name": "discovery.seed_hosts", "value": seed_hosts}, {"name": "cluster.initial_master_nodes", "value": masters}]
        snapshot_mounts: list[dict] = []
        snapshot_volumes: list[dict] = []
        if es.snapshotRepository:
            es_env.append({"name": "path.repo", "value": es.snapshotRepository})
            # An fs repository must be one filesystem shared by every node.
            k8s.core.v1.PersistentVolumeClaim(
                f"{name}-snapshots",
                metadata={"name": SNAPSHOT_CLAIM, "namespace": namespace, "labels": es_labels},
                spec={"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": es.storageSize}}},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect)),
            )
            snapshot_mounts = [{"name": "snapshots", "mountPath": es.snapshotRepository}]
            snapshot_volumes = [{"name": "snapshots", "persistentVolumeClaim": {"claimName": SNAPSHOT_CLAIM}}]
        memory_limit = f"{es.heapMb * 2}Mi"
        k8s.apps.v1.StatefulSet(
            f"{name}-elasticsearch",
            metadata={"name": "elasticsearch", "namespace": namespace, "labels": es_labels, "annotations": ELASTIC_CHECKOV_SKIPS},
            spec={
                "serviceName": "elasticsearch-nodes",
                "replicas": es.replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": selector("elasticsearch", "logging")},
                "template": {
                    "metadata": {"labels": es_labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(ELASTIC_UID, ELASTIC_UID),
                        "containers": [
                            {
                                "name": "elasticsearch",
                                "image": f"docker.elastic.co/elasticsearch/elasticsearch:{version}",
                                "imagePullPolicy": "IfNotPresent",
                                "env": es_env,
                                "ports": [
                                    {"name": "http", "containerPort": ES_PORT, "protocol": "TCP"},
                                    {"name": "transport", "containerPort": ES_TRANSPORT_PORT, "protocol": "TCP"},
                                ],
                                "resources": simple_resources("500m", memory_limit, "2000m", memory_limit),
                                "securityContext": ELASTIC_CONTAINER_SECURITY,
                                "readinessProbe": {"tcpSocket": {"port": "http"}, "initialDelaySeconds": 20, "periodSeconds": 10},
                                "livenessProbe": {"tcpSocket": {"port": "transport"}, "initialDelaySeconds": 60, "periodSeconds": 20},
                                "volumeMounts": [{"name": "data", "mountPath": "/usr/share/elasticsearch/data"}, *es_mounts, *snapshot_mounts],
                            }
                        ],
                        "volumes": [*es_volumes, *snapshot_volumes],
                    },
                },
                "volumeClaimTemplates": [
                    {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": es.storageSize}}}}
                ],
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            },
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect)),
        )
        for service_name, headless in (("elasticsearch", False), ("elasticsearch-nodes", True)):
            k8s.core.v1.Service(
                f"{name}-{service_name}-service",
                metadata={"name": service_name, "namespace": namespace, "labels": es_labels},
                spec={
                    **({"clusterIP": "None", "publishNotReadyAddresses": True} if headless else {}),
                    "selector": selector("elasticsearch", "logging"),
                    "ports": [
                        {"name": "http", "port": ES_PORT, "targetPort": "http", "protocol": "TCP"},
                        {"name": "transport", "port": ES_TRANSPORT_PORT, "targetPort": "transport", "protocol": "TCP"},
                    ],
                },
                opts=child,
            )

        k8s.core.v1.ConfigMap(
            f"{name}-logstash-pipeline",
            metadata={"name": "logstash-pipeline", "namespace": namespace},
            data={
                "rdagent.conf": logstash_pipeline(statefulset_output(self.elasticsearch_url)),
                "ilm-policy.json": ilm_policy(logging.retentionDays),
                **(
                    {"snapshot-repository.json": snapshot_repository(es.snapshotRepository), "snapshot-policy.json": snapshot_policy(logging.retentionDays)}
                    if es.snapshotRepository
                    else {}
                ),
            },
            opts=child,
        )
        ls_volumes, ls_mounts = writable_volumes(("tmp", "/tmp"), ("logstash-data", "/usr/share/logstash/data"))
        logstash_image = f"docker.elastic.co/logstash/logstash:{version}"
        logstash = elastic_deployment(
            "logstash",
            namespace,
            {
                # Logstash's output expects a custom ILM policy to exist: install (or update) it first.
                "initContainers": [
                    {
                        "name": "install-ilm-policy",
                        "image": logstash_image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", setup_script(self.elasticsearch_url, bool(es.snapshotRepository))],
                        "env": _credentials_env(),
                        "resources": simple_resources("50m", "64Mi", "200m", "128Mi"),
                        "securityContext": container_security_context(ELASTIC_UID, ELASTIC_UID),
                        "volumeMounts": [{"name": "ilm", "mountPath": "/ilm", "readOnly": True}],
                    }
                ],
                "containers": [
                    elastic_container(
                        "logstash",
                        logstash_image,
                        env=[
                            *_credentials_env(),
                            {"name": "LS_JAVA_OPTS", "value": "-Xms512m -Xmx512m"},
                            {"name": "XPACK_MONITORING_ENABLED", "value": "false"},
                        ],
                        port=("tcp-json", seed.LOGSTASH_PORT),
                        resources=simple_resources("250m", "1Gi", "1000m", "1536Mi"),
                        readiness={"tcpSocket": {"port": "tcp-json"}, "initialDelaySeconds": 30, "periodSeconds": 10},
                        liveness={"tcpSocket": {"port": "tcp-json"}, "initialDelaySeconds": 90, "periodSeconds": 20},
                        mounts=[{"name": "pipeline", "mountPath": "/usr/share/logstash/pipeline", "readOnly": True}, *ls_mounts],
                    )
                ],
                "volumes": [
                    {"name": "pipeline", "configMap": {"name": "logstash-pipeline", "items": [{"key": "rdagent.conf", "path": "rdagent.conf"}]}},
                    {
                        "name": "ilm",
                        "configMap": {"name": "logstash-pipeline", "items": [{"key": key, "path": key} for key in setup_files(bool(es.snapshotRepository))]},
                    },
                    *ls_volumes,
                ],
            },
        )
        k8s.apps.v1.Deployment(f"{name}-logstash", **logstash, opts=child)
        k8s.core.v1.Service(f"{name}-logstash-service", **service("logstash", namespace, "tcp-json", seed.LOGSTASH_PORT), opts=child)

        kb_volumes, kb_mounts = writable_volumes(("tmp", "/tmp"), ("kibana-data", "/usr/share/kibana/data"))
        kibana = elastic_deployment(
            "kibana",
            namespace,
            {
                "containers": [
                    elastic_container(
                        "kibana",
                        f"docker.elastic.co/kibana/kibana:{version}",
                        env=[
                            {"name": "ELASTICSEARCH_HOSTS", "value": self.elasticsearch_url},
                            {"name": "ELASTICSEARCH_USERNAME", "value": "kibana_system"},
                            {"name": "ELASTICSEARCH_PASSWORD", "valueFrom": {"secretKeyRef": {"name": ELASTIC_SECRET, "key": "password"}}},
                        ],
                        port=("http", KIBANA_PORT),
                        resources=simple_resources("250m", "1Gi", "1000m", "2Gi"),
                        readiness=http_probe("/api/status", "http", 30, 10),
                        liveness=http_probe("/api/status", "http", 120, 20),
                        mounts=kb_mounts,
                    )
                ],
                "volumes": kb_volumes,
            },
        )
        k8s.apps.v1.Deployment(f"{name}-kibana", **kibana, opts=child)
        k8s.core.v1.Service(f"{name}-kibana-service", **service("kibana", namespace, "http", KIBANA_PORT), opts=child)

        policies = elk_network_policies(namespace, selector("elasticsearch", "logging"), selector("logstash", "logging"), selector("kibana", "logging"))
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"], opts=child)

    def _eck(self, name: str, config: StackConfig, child: pulumi.ResourceOptions) -> None:
        """The same stack as custom resources of the Elastic operator (ECK), which runs the pods,
        generates the elastic user's password and serves Elasticsearch over TLS."""
        namespace = config.namespace
        logging = config.logging
        es = logging.elasticsearch
        version = logging.version
        cluster = ECK_NAME
        self.elasticsearch_url = f"https://{cluster}-es-http.{namespace}.svc.cluster.local:{ES_PORT}"
        protected = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect))
        memory = f"{es.heapMb * 2}Mi"
        snapshot_mounts = [{"name": "snapshots", "mountPath": es.snapshotRepository}] if es.snapshotRepository else []
        if es.snapshotRepository:
            k8s.core.v1.PersistentVolumeClaim(
                f"{name}-snapshots",
                metadata={"name": SNAPSHOT_CLAIM, "namespace": namespace, "labels": labels("elasticsearch", "logging")},
                spec={"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": es.storageSize}}},
                opts=protected,
            )
        k8s.apiextensions.CustomResource(
            f"{name}-elasticsearch",
            api_version="elasticsearch.k8s.elastic.co/v1",
            kind="Elasticsearch",
            metadata={"name": cluster, "namespace": namespace, "labels": labels("elasticsearch", "logging")},
            spec={
                "version": version,
                "nodeSets": [
                    {
                        "name": "default",
                        "count": es.replicas,
                        "config": {"node.store.allow_mmap": False, **({"path.repo": [es.snapshotRepository]} if es.snapshotRepository else {})},
                        "podTemplate": eck_pod_template(
                            "elasticsearch",
                            simple_resources("500m", memory, "2000m", memory),
                            env=[{"name": "ES_JAVA_OPTS", "value": f"-Xms{es.heapMb}m -Xmx{es.heapMb}m"}],
                            mounts=snapshot_mounts,
                            volumes=[{"name": "snapshots", "persistentVolumeClaim": {"claimName": SNAPSHOT_CLAIM}}] if es.snapshotRepository else None,
                        ),
                        "volumeClaimTemplates": [
                            {
                                "metadata": {"name": "elasticsearch-data"},
                                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": es.storageSize}}},
                            }
                        ],
                    }
                ],
            },
            opts=protected,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-kibana",
            api_version="kibana.k8s.elastic.co/v1",
            kind="Kibana",
            metadata={"name": cluster, "namespace": namespace, "labels": labels("kibana", "logging")},
            spec={
                "version": version,
                "count": 1,
                "elasticsearchRef": {"name": cluster},
                "podTemplate": eck_pod_template("kibana", simple_resources("250m", "1Gi", "1000m", "2Gi")),
            },
            opts=child,
        )
        k8s.apiextensions.CustomResource(
            f"{name}-logstash",
            api_version="logstash.k8s.elastic.co/v1alpha1",
            kind="Logstash",
            metadata={"name": cluster, "namespace": namespace, "labels": labels("logstash", "logging")},
            spec={
                "version": version,
                "count": 1,
                # ECK gives the pods RDAGENT_ES_HOSTS, _USER, _PASSWORD and _SSL_CERTIFICATE_AUTHORITY.
                "elasticsearchRefs": [{"name": cluster, "clusterName": "rdagent"}],
                "pipelines": [{"pipeline.id": "main", "config.string": logstash_pipeline(ECK_OUTPUT)}],
                "podTemplate": eck_pod_template(
                    "logstash",
                    simple_resources("250m", "1Gi", "1000m", "1536Mi"),
                    env=[{"name": "LS_JAVA_OPTS", "value": "-Xms512m -Xmx512m"}],
                    pod_labels=labels("logstash", "logging"),
                ),
            },
            opts=child,
        )
        # The seed's `logstash.internal:5959`, under the name the workloads' logging config uses.
        k8s.core.v1.Service(f"{name}-logstash-service", **service("logstash", namespace, "tcp-json", seed.LOGSTASH_PORT), opts=child)

        setup = {"ilm-policy.json": ilm_policy(logging.retentionDays)}
        if es.snapshotRepository:
            setup |= {"snapshot-repository.json": snapshot_repository(es.snapshotRepository), "snapshot-policy.json": snapshot_policy(logging.retentionDays)}
        k8s.core.v1.ConfigMap(f"{name}-setup", metadata={"name": "elasticsearch-setup", "namespace": namespace}, data=setup, opts=child)
        setup_labels = labels("elasticsearch-setup", "logging")
        k8s.batch.v1.Job(
            f"{name}-setup-job",
            metadata={"name": "elasticsearch-setup", "namespace": namespace, "labels": setup_labels},
            spec={
                "backoffLimit": 10,
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": setup_labels},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security_context(),
                        "containers": [
                            {
                                "name": "setup",
                                "image": f"docker.elastic.co/logstash/logstash:{version}",
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["sh", "-c", setup_script(self.elasticsearch_url, bool(es.snapshotRepository), ca="/ca/ca.crt")],
                                "env": [
                                    {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{cluster}-es-elastic-user", "key": "elastic"}}},
                                ],
                                "resources": simple_resources("50m", "64Mi", "200m", "128Mi"),
                                "securityContext": container_security_context(),
                                "volumeMounts": [{"name": "ilm", "mountPath": "/ilm", "readOnly": True}, {"name": "ca", "mountPath": "/ca", "readOnly": True}],
                            }
                        ],
                        "volumes": [
                            {"name": "ilm", "configMap": {"name": "elasticsearch-setup"}},
                            {"name": "ca", "secret": {"secretName": f"{cluster}-es-http-certs-public"}},
                        ],
                    },
                },
            },
            opts=child,
        )

        es_pods = {"elasticsearch.k8s.elastic.co/cluster-name": cluster}
        logstash_pods = {"logstash.k8s.elastic.co/name": cluster}
        kibana_pods = {"kibana.k8s.elastic.co/name": cluster}
        operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": logging.eckOperatorNamespace}}}
        policies = elk_network_policies(
            namespace,
            es_pods,
            logstash_pods,
            kibana_pods,
            extra_es_ingress=[allow_from(setup_labels, ES_PORT), {"from": [operator], "ports": [{"protocol": "TCP", "port": ES_PORT}]}],
        )
        policies.append(network_policy("elasticsearch-setup-egress", namespace, setup_labels, egress=[allow_to(es_pods, ES_PORT)]))
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"], opts=child)
