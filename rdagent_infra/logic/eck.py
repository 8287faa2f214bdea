"""The ECK mode of the logging stack: custom resources for the Elastic operator (ECK), which runs
the pods, generates the elastic user's password and serves Elasticsearch over TLS, plus the Job
that installs the ILM and snapshot policies. Plain functions returning Kubernetes bodies."""

from __future__ import annotations

from rdagent_infra.config import LoggingConfig
from rdagent_infra.logic.elk import (
    ELASTIC_CONTAINER_SECURITY,
    ELASTIC_UID,
    ES_PORT,
    KIBANA_RESOURCES,
    LOGSTASH_RESOURCES,
    SNAPSHOT_CLAIM,
    elk_network_policies,
    heap_resources,
    java_heap_env,
    logstash_pipeline,
    setup_container,
    setup_script,
)
from rdagent_infra.logic.network import allow_from, allow_to, network_policy
from rdagent_infra.logic.pods import container_security_context, labels, pod_security_context

ECK_NAME = "rdagent-logs"
# The Elasticsearch output of the ECK Logstash: ECK injects these variables for the `rdagent` ref.
ECK_OUTPUT = {
    "hosts": "${RDAGENT_ES_HOSTS}",
    "user": "${RDAGENT_ES_USER}",
    "password": "${RDAGENT_ES_PASSWORD}",
    "ssl_certificate_authorities": "${RDAGENT_ES_SSL_CERTIFICATE_AUTHORITY}",
}


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


def eck_url(namespace: str) -> str:
    return f"https://{ECK_NAME}-es-http.{namespace}.svc.cluster.local:{ES_PORT}"


def _custom_resource(api_version: str, kind: str, app: str, namespace: str, spec: dict) -> dict:
    """The arguments of a CustomResource of the Elastic operator, named after the logging stack."""
    return {"api_version": api_version, "kind": kind, "metadata": {"name": ECK_NAME, "namespace": namespace, "labels": labels(app, "logging")}, "spec": spec}


def eck_elasticsearch(namespace: str, logging: LoggingConfig) -> dict:
    es = logging.elasticsearch
    node_set = {
        "name": "default",
        "count": es.replicas,
        "config": {"node.store.allow_mmap": False, **({"path.repo": [es.snapshotRepository]} if es.snapshotRepository else {})},
        "podTemplate": eck_pod_template(
            "elasticsearch",
            heap_resources(es.heapMb),
            env=[java_heap_env("ES_JAVA_OPTS", es.heapMb)],
            mounts=[{"name": "snapshots", "mountPath": es.snapshotRepository}] if es.snapshotRepository else [],
            volumes=[{"name": "snapshots", "persistentVolumeClaim": {"claimName": SNAPSHOT_CLAIM}}] if es.snapshotRepository else None,
        ),
        "volumeClaimTemplates": [
            {
                "metadata": {"name": "elasticsearch-data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": es.storageSize}}},
            }
        ],
    }
    return _custom_resource(
        "elasticsearch.k8s.elastic.co/v1", "Elasticsearch", "elasticsearch", namespace, {"version": logging.version, "nodeSets": [node_set]}
    )


def eck_kibana(namespace: str, version: str) -> dict:
    spec = {"version": version, "count": 1, "elasticsearchRef": {"name": ECK_NAME}, "podTemplate": eck_pod_template("kibana", KIBANA_RESOURCES)}
    return _custom_resource("kibana.k8s.elastic.co/v1", "Kibana", "kibana", namespace, spec)


def eck_logstash(namespace: str, version: str) -> dict:
    spec = {
        "version": version,
        "count": 1,
        # ECK gives the pods RDAGENT_ES_HOSTS, _USER, _PASSWORD and _SSL_CERTIFICATE_AUTHORITY.
        "elasticsearchRefs": [{"name": ECK_NAME, "clusterName": "rdagent"}],
        "pipelines": [{"pipeline.id": "main", "config.string": logstash_pipeline(ECK_OUTPUT)}],
        "podTemplate": eck_pod_template(
            "logstash", LOGSTASH_RESOURCES, env=[{"name": "LS_JAVA_OPTS", "value": "-Xms512m -Xmx512m"}], pod_labels=labels("logstash", "logging")
        ),
    }
    return _custom_resource("logstash.k8s.elastic.co/v1alpha1", "Logstash", "logstash", namespace, spec)


SETUP = "elasticsearch-setup"


def setup_job(namespace: str, logging: LoggingConfig) -> dict:
    """The Job that PUTs the ILM policy (and the snapshot repository and policy) over TLS, with
    the password ECK generated for the elastic user."""
    setup_labels = labels(SETUP, "logging")
    password = {"name": "ELASTIC_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{ECK_NAME}-es-elastic-user", "key": "elastic"}}}
    container = setup_container(
        "setup",
        f"docker.elastic.co/logstash/logstash:{logging.version}",
        setup_script(eck_url(namespace), bool(logging.elasticsearch.snapshotRepository), ca="/ca/ca.crt"),
        [password],
        container_security_context(),
        [{"name": "ilm", "mountPath": "/ilm", "readOnly": True}, {"name": "ca", "mountPath": "/ca", "readOnly": True}],
    )
    pod = {
        "restartPolicy": "OnFailure",
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
        "containers": [container],
        "volumes": [{"name": "ilm", "configMap": {"name": SETUP}}, {"name": "ca", "secret": {"secretName": f"{ECK_NAME}-es-http-certs-public"}}],
    }
    return {
        "metadata": {"name": SETUP, "namespace": namespace, "labels": setup_labels},
        "spec": {"backoffLimit": 10, "ttlSecondsAfterFinished": 86400, "template": {"metadata": {"labels": setup_labels}, "spec": pod}},
    }


def eck_network_policies(namespace: str, operator_namespace: str, shipper_namespace: str | None = None) -> list[dict]:
    """The logging stack's flows between the pods ECK labels, plus the setup Job and the operator to Elasticsearch."""
    es_pods = {"elasticsearch.k8s.elastic.co/cluster-name": ECK_NAME}
    logstash_pods = {"logstash.k8s.elastic.co/name": ECK_NAME}
    kibana_pods = {"kibana.k8s.elastic.co/name": ECK_NAME}
    setup_labels = labels(SETUP, "logging")
    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": operator_namespace}}}
    policies = elk_network_policies(
        namespace,
        es_pods,
        logstash_pods,
        kibana_pods,
        extra_es_ingress=[allow_from(setup_labels, ES_PORT), {"from": [operator], "ports": [{"protocol": "TCP", "port": ES_PORT}]}],
        shipper_namespace=shipper_namespace,
    )
    policies.append(network_policy("elasticsearch-setup-egress", namespace, setup_labels, egress=[allow_to(es_pods, ES_PORT)]))
    return policies
