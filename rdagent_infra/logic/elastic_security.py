"""Elasticsearch security for the StatefulSet mode, as plain data: transport TLS certificates made
at deploy time with Elasticsearch's own `elasticsearch-certutil`, the `kibana_system` password,
and health checks that ask the cluster rather than a port.

Elasticsearch 8 refuses to start a multi-node cluster with security on and transport TLS off (the
bootstrap check). A Job in the pinned Elasticsearch image makes a CA and one node certificate,
plus a random `kibana_system` password, and stores them as Secrets through the Kubernetes API with
a ServiceAccount that may only create Secrets and read those two. It keeps Secrets that exist, so a
second run changes nothing. The ECK mode needs none of this: the operator does it.
"""

from __future__ import annotations

from rdagent_policies.identity import TOKEN_REASON_ANNOTATION

from rdagent_infra.logic.pods import checkov_skips, labels

CERTS_SECRET = "elasticsearch-certs"
KIBANA_SECRET = "kibana-system-credentials"
CERTS_DIR = "/usr/share/elasticsearch/config/certs"  # Elasticsearch reads TLS files only inside its config folder
SETUP_APP = "elasticsearch-certs"
CERT_DAYS = 1095

KIBANA_PASSWORD_ENV = {"name": "KIBANA_PASSWORD", "valueFrom": {"secretKeyRef": {"name": KIBANA_SECRET, "key": "password"}}}
# Relative paths resolve against the config folder.
TRANSPORT_TLS_SETTINGS = {
    "xpack.security.transport.ssl.enabled": "true",
    "xpack.security.transport.ssl.verification_mode": "certificate",
    "xpack.security.transport.ssl.key": "certs/node.key",
    "xpack.security.transport.ssl.certificate": "certs/node.crt",
    "xpack.security.transport.ssl.certificate_authorities": "certs/ca.crt",
}


def node_dns_names(namespace: str, replicas: int) -> list[str]:
    service = f"elasticsearch.{namespace}.svc"
    nodes = [f"elasticsearch-{index}.elasticsearch-nodes.{namespace}.svc" for index in range(replicas)]
    return ["elasticsearch", service, f"{service}.cluster.local", *nodes, *(f"{node}.cluster.local" for node in nodes), "localhost"]


def _secret_json(name: str, data: dict[str, str]) -> str:
    """A shell printf format (and its arguments) that writes a Secret with base64 data from files."""
    keys = ",".join(f'"{key}":"%s"' for key in data)
    return f'{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"{name}"}},"type":"Opaque","data":{{{keys}}}}}'


def certs_job_script(namespace: str, replicas: int) -> str:
    """The Job's shell script (the Elasticsearch image has sh, curl, unzip and base64)."""
    certutil = "/usr/share/elasticsearch/bin/elasticsearch-certutil"
    api = "https://kubernetes.default.svc/api/v1/namespaces/$NAMESPACE/secrets"
    auth = '--cacert "$SA/ca.crt" -H "Authorization: Bearer $(cat "$SA/token")"'
    certs = _secret_json(CERTS_SECRET, {"ca.crt": "", "node.crt": "", "node.key": ""})
    kibana = _secret_json(KIBANA_SECRET, {"password": ""})
    return "\n".join(
        [
            "set -eu",
            "SA=/var/run/secrets/kubernetes.io/serviceaccount",
            'NAMESPACE=$(cat "$SA/namespace")',
            'status() { curl -s -o /tmp/answer -w "%{http_code}" ' + auth + ' "$@"; }',
            "create() {",
            f'  code=$(status -X POST -H "Content-Type: application/json" --data "$2" "{api}")',
            '  case "$code" in 201) echo "created Secret $1" ;; 409) echo "Secret $1 exists: kept" ;; *) echo "creating Secret $1: HTTP $code"; cat /tmp/answer; exit 1 ;; esac',
            "}",
            "exists() {",
            f'  code=$(status "{api}/$1")',
            '  case "$code" in 200) return 0 ;; 404) return 1 ;; *) echo "reading Secret $1: HTTP $code"; cat /tmp/answer; exit 1 ;; esac',
            "}",
            'b64() { base64 -w0 < "$1"; }',
            "mkdir -p /tmp/certs && cd /tmp/certs",
            f"if exists {CERTS_SECRET}; then echo 'Secret {CERTS_SECRET} exists: kept'; else",
            f"  {certutil} ca --silent --pem --days {CERT_DAYS} --out /tmp/certs/ca.zip && unzip -q -o ca.zip",
            f"  {certutil} cert --silent --pem --days {CERT_DAYS} --ca-cert ca/ca.crt --ca-key ca/ca.key --name node"
            f" --dns {','.join(node_dns_names(namespace, replicas))} --ip 127.0.0.1 --out /tmp/certs/node.zip && unzip -q -o node.zip",
            f'  create {CERTS_SECRET} "$(printf \'{certs}\' "$(b64 ca/ca.crt)" "$(b64 node/node.crt)" "$(b64 node/node.key)")"',
            "fi",
            f"if exists {KIBANA_SECRET}; then echo 'Secret {KIBANA_SECRET} exists: kept'; else",
            "  password=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c 32)",
            f'  create {KIBANA_SECRET} "$(printf \'{kibana}\' "$(printf \'%s\' "$password" | base64 -w0)")"',
            "fi",
            "",
        ]
    )


def certs_role_rules() -> list[dict]:
    """Create Secrets (the API cannot narrow `create` by name) and read only the two it makes."""
    return [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [CERTS_SECRET, KIBANA_SECRET], "verbs": ["get"]},
    ]


def kibana_password_step(elasticsearch_url: str) -> str:
    """The setup step that sets `kibana_system`'s password (Kibana logs in as that user)."""
    return (
        "until curl -sf -u \"elastic:$ELASTIC_PASSWORD\" -X POST -H 'Content-Type: application/json'"
        ' --data "{\\"password\\":\\"$KIBANA_PASSWORD\\"}"'
        f" {elasticsearch_url}/_security/user/kibana_system/_password; do sleep 5; done"
    )


def cluster_health_probe() -> dict:
    """Ready when the cluster this node belongs to is yellow or green (asked with the elastic user)."""
    command = "curl -sf -u \"elastic:$ELASTIC_PASSWORD\" 'http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=2s' >/dev/null"
    return {"exec": {"command": ["sh", "-c", command]}, "initialDelaySeconds": 20, "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 3}


def certs_job(namespace: str, version: str, replicas: int, security: dict, pod_security: dict, image_skips: dict[str, str]) -> dict:
    """The Job that makes the certificates and the Kibana password, in the pinned Elasticsearch image
    (`image_skips`: the checkov reasons every container of an Elastic image carries)."""
    job_labels = {**_labels(), "rdagent.io/job": SETUP_APP}
    skips = checkov_skips({**image_skips, "CKV_K8S_38": "stores the certificates and the Kibana password as Secrets through the Kubernetes API"})
    return {
        "metadata": {"name": SETUP_APP, "namespace": namespace, "labels": job_labels, "annotations": skips},
        "spec": {
            "backoffLimit": 6,
            "ttlSecondsAfterFinished": 86400,
            "template": {
                "metadata": {
                    "labels": job_labels,
                    "annotations": {
                        TOKEN_REASON_ANNOTATION: "writes the certificate and Kibana password Secrets through the Kubernetes API (its Role allows only those)"
                    },
                },
                "spec": {
                    "serviceAccountName": SETUP_APP,
                    # It talks to the Kubernetes API, with a ServiceAccount that may only make these Secrets.
                    "automountServiceAccountToken": True,
                    "restartPolicy": "OnFailure",
                    "securityContext": pod_security,
                    "containers": [
                        {
                            "name": "certutil",
                            "image": f"docker.elastic.co/elasticsearch/elasticsearch:{version}",
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", certs_job_script(namespace, replicas)],
                            "resources": {"requests": {"cpu": "100m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}},
                            "securityContext": security,
                            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                        }
                    ],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def _labels() -> dict[str, str]:
    return labels(SETUP_APP, "logging")
