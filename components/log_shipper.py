"""The node-level log shipper: Fluent Bit as a DaemonSet that tails the containers of our
namespaces and sends their lines, parsed and with Kubernetes metadata, to Logstash.

It lives in a namespace of its own: reading the container runtime's log files needs hostPath
volumes, which Pod Security `baseline` and `restricted` (our application namespace) refuse. What
the pod may do is held by our policy pack instead: each exemption is named with its reason.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from rdagent_policies.identity import TOKEN_REASON_ANNOTATION
from rdagent_policies.rules import EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION

from components.namespace import pod_security_namespace
from rdagent_infra.logic.app_files import content_hash
from rdagent_infra.logic.log_shipper import CONFIG_DIR, DB_DIR, HEALTH_PORT, REDACT_LUA, REDACT_SCRIPT, fluent_bit_config, render_config
from rdagent_infra.logic.network import DNS_EGRESS, allow_to, network_policy
from rdagent_infra.logic.pods import checkov_skips, http_probe, labels, selector, simple_resources

APP = "rdagent-log-shipper"
LOG_DIRS = ("/var/log/containers", "/var/log/pods")
ROOT_REASON = "the container runtime writes the node's container log files as root, readable by their owner only"
HOST_PATH_REASON = "tails the container runtime's log files on the node (/var/log/containers, /var/log/pods: read-only) and keeps its read positions in /var/lib/rdagent-log-shipper"


def shipper_daemonset(namespace: str, image: str, config_hash: str) -> dict:
    """The DaemonSet: on every node (GPU nodes too), as root with every capability dropped, the
    log folders mounted read-only, the Kubernetes API reached with its own ServiceAccount."""
    host_volumes = [{"name": path.strip("/").replace("/", "-"), "hostPath": {"path": path, "type": "Directory"}} for path in LOG_DIRS]
    mounts = [{"name": volume["name"], "mountPath": volume["hostPath"]["path"], "readOnly": True} for volume in host_volumes]
    return {
        "metadata": {
            "name": APP,
            "namespace": namespace,
            "labels": labels(APP, "logging"),
            "annotations": {
                EXEMPT_ANNOTATION: "run-as-non-root,no-host-path-volumes",
                EXEMPT_REASON_ANNOTATION: f"{HOST_PATH_REASON}; runs as root because {ROOT_REASON}",
                **checkov_skips(
                    {
                        "CKV_K8S_23": ROOT_REASON,
                        "CKV_K8S_40": ROOT_REASON,
                        "CKV_K8S_38": "the Kubernetes filter reads pod and namespace metadata with the shipper's own ServiceAccount",
                    }
                ),
            },
        },
        "spec": {
            "selector": {"matchLabels": selector(APP, "logging")},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {
                    "labels": labels(APP, "logging"),
                    "annotations": {
                        "rdagent.io/config-hash": config_hash,
                        TOKEN_REASON_ANNOTATION: "Fluent Bit's kubernetes filter reads pod and namespace metadata from the API (its ClusterRole: get, list, watch)",
                    },
                },
                "spec": {
                    "serviceAccountName": APP,
                    "automountServiceAccountToken": True,
                    # Every node, the tainted GPU pool included: runs there log too.
                    "tolerations": [{"operator": "Exists", "effect": "NoSchedule"}],
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0, "seccompProfile": {"type": "RuntimeDefault"}},
                    "terminationGracePeriodSeconds": 30,
                    "containers": [
                        {
                            "name": "fluent-bit",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [f"--config={CONFIG_DIR}/fluent-bit.yaml"],
                            "ports": [{"name": "http", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
                            "resources": simple_resources("50m", "64Mi", "500m", "256Mi"),
                            "securityContext": {
                                "runAsUser": 0,
                                "allowPrivilegeEscalation": False,
                                "privileged": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "readinessProbe": http_probe("/api/v1/health", "http", 5, 10),
                            "livenessProbe": http_probe("/api/v1/health", "http", 30, 20, failure_threshold=6),
                            "volumeMounts": [
                                {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                                *mounts,
                                {"name": "positions", "mountPath": DB_DIR},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": APP}},
                        *host_volumes,
                        {"name": "positions", "hostPath": {"path": DB_DIR, "type": "DirectoryOrCreate"}},
                    ],
                },
            },
        },
    }


class LogShipper(pulumi.ComponentResource):
    """Outputs: `namespace`."""

    def __init__(
        self,
        name: str,
        *,
        namespace: str,
        app_namespace: str,
        image: str,
        logstash_host: str,
        logstash_port: int,
        provider: k8s.Provider,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:LogShipper", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        # hostPath volumes are refused by `baseline`; the policy pack holds everything else.
        created = pod_security_namespace(f"{name}-namespace", namespace, "privileged", self, provider, protect)
        inside = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[created]))
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account",
            metadata={"name": APP, "namespace": namespace, "labels": labels(APP, "logging")},
            automount_service_account_token=False,
            opts=inside,
        )
        role = k8s.rbac.v1.ClusterRole(
            f"{name}-role",
            metadata={"name": APP, "labels": labels(APP, "logging")},
            rules=[{"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["get", "list", "watch"]}],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-binding",
            metadata={"name": APP, "labels": labels(APP, "logging")},
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": APP},
            subjects=[{"kind": "ServiceAccount", "name": APP, "namespace": namespace}],
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[account, role])),
        )
        config_text = render_config(fluent_bit_config([app_namespace], logstash_host, logstash_port))
        k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": APP, "namespace": namespace, "labels": labels(APP, "logging")},
            data={"fluent-bit.yaml": config_text, REDACT_SCRIPT: REDACT_LUA},
            opts=inside,
        )
        daemonset = shipper_daemonset(namespace, image, content_hash(config_text + REDACT_LUA))
        k8s.apps.v1.DaemonSet(f"{name}-daemonset", metadata=daemonset["metadata"], spec=daemonset["spec"], opts=inside)

        logstash = selector("logstash", "logging")  # the Logstash pods' labels in both ELK modes
        egress = [
            DNS_EGRESS,
            allow_to(logstash, logstash_port, namespace_labels={"kubernetes.io/metadata.name": app_namespace}),
            # The API server's address depends on the cluster (EKS: its endpoint ENIs); its port does not.
            {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]},
        ]
        policy = network_policy(APP, namespace, selector(APP, "logging"), ingress=[], egress=egress)
        k8s.networking.v1.NetworkPolicy(f"{name}-policy", metadata=policy["metadata"], spec=policy["spec"], opts=inside)
        self.namespace = namespace
        self.register_outputs({"namespace": namespace})
