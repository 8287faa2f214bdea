"""ELK logging: Elasticsearch (security on, credentials from a secret, PVC per node), Logstash
with the seed's TCP JSON input on 5959 and an Elasticsearch output, Kibana, and index retention
through an ILM policy that Logstash installs with its index template.

Two modes: our own StatefulSets and Deployments, or custom resources for the Elastic operator
(ECK). The bodies come from `rdagent_infra.logic.elk`, `.elk_statefulsets` and `.eck`; this
component turns them into resources."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.service_account import workload_service_account
from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import eck, elk_statefulsets
from rdagent_infra.logic.elastic_security import SETUP_APP, certs_job, certs_role_rules
from rdagent_infra.logic.elk import (
    ELASTIC_CONTAINER_SECURITY,
    ELASTIC_IMAGE_SKIP_REASONS,
    ELASTIC_SECRET,
    ELASTIC_UID,
    KIBANA_PORT,
    service,
    setup_documents,
    snapshot_claim,
)
from rdagent_infra.logic.pods import labels, pod_security_context, with_service_account
from rdagent_infra.logic.storage import with_classes


def shipper_namespace(config: StackConfig) -> str | None:
    """The node log shipper's namespace, which may send to Logstash (None when it is off)."""
    return config.logging.shipper.namespace if config.logging.shipper.enabled else None


class ElkLogging(pulumi.ComponentResource):
    """Outputs: `logstash_host` (the seed's `logstash.internal`), `elasticsearch_url`."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:ElkLogging", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        protected = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect))
        self.logstash_host = f"logstash.{config.namespace}.svc.cluster.local"
        if config.logging.mode == "eck":
            self._eck(name, config, child, protected)
        else:
            self._statefulsets(name, config, child, protected)
        self.register_outputs({"logstash_host": self.logstash_host, "elasticsearch_url": self.elasticsearch_url})

    def _statefulsets(self, name: str, config: StackConfig, child: pulumi.ResourceOptions, protected: pulumi.ResourceOptions) -> None:
        namespace = config.namespace
        logging = config.logging
        self.elasticsearch_url = elk_statefulsets.statefulset_url(namespace)
        k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata={"name": ELASTIC_SECRET, "namespace": namespace},
            type="Opaque",
            string_data={"password": pulumi.Output.secret(config.secrets.elasticPassword.value)},
            opts=child,
        )
        if logging.elasticsearch.snapshotRepository:
            k8s.core.v1.PersistentVolumeClaim(f"{name}-snapshots", **with_classes(config, snapshot_claim(namespace, logging.elasticsearch)), opts=protected)
        self._certificates(name, config, child)
        for app in ("elasticsearch", "logstash", "kibana"):
            workload_service_account(f"{name}-{app}-account", app, namespace, labels(app, "logging"), child)
        statefulset = with_service_account(elk_statefulsets.elasticsearch_statefulset(namespace, logging), "elasticsearch")
        k8s.apps.v1.StatefulSet(f"{name}-elasticsearch", **with_classes(config, statefulset), opts=protected)
        for service_name, body in elk_statefulsets.elasticsearch_services(namespace):
            k8s.core.v1.Service(f"{name}-{service_name}-service", **body, opts=child)

        pipeline = elk_statefulsets.logstash_files(logging, self.elasticsearch_url)
        k8s.core.v1.ConfigMap(f"{name}-logstash-pipeline", metadata={"name": "logstash-pipeline", "namespace": namespace}, data=pipeline, opts=child)
        logstash = with_service_account(elk_statefulsets.logstash_deployment(namespace, logging, self.elasticsearch_url), "logstash")
        k8s.apps.v1.Deployment(f"{name}-logstash", **logstash, opts=child)
        k8s.core.v1.Service(f"{name}-logstash-service", **service("logstash", namespace, "tcp-json", seed.LOGSTASH_PORT), opts=child)
        kibana = with_service_account(elk_statefulsets.kibana_deployment(namespace, logging.version, self.elasticsearch_url), "kibana")
        k8s.apps.v1.Deployment(f"{name}-kibana", **kibana, opts=child)
        k8s.core.v1.Service(f"{name}-kibana-service", **service("kibana", namespace, "http", KIBANA_PORT), opts=child)
        self._network_policies(name, elk_statefulsets.statefulset_network_policies(namespace, shipper_namespace(config)), child)

    def _eck(self, name: str, config: StackConfig, child: pulumi.ResourceOptions, protected: pulumi.ResourceOptions) -> None:
        """The same stack as custom resources of the Elastic operator (ECK), which runs the pods,
        generates the elastic user's password and serves Elasticsearch over TLS."""
        namespace = config.namespace
        logging = config.logging
        self.elasticsearch_url = eck.eck_url(namespace)
        if logging.elasticsearch.snapshotRepository:
            k8s.core.v1.PersistentVolumeClaim(f"{name}-snapshots", **with_classes(config, snapshot_claim(namespace, logging.elasticsearch)), opts=protected)
        k8s.apiextensions.CustomResource(f"{name}-elasticsearch", **with_classes(config, eck.eck_elasticsearch(namespace, logging)), opts=protected)
        k8s.apiextensions.CustomResource(f"{name}-kibana", **eck.eck_kibana(namespace, logging.version), opts=child)
        k8s.apiextensions.CustomResource(f"{name}-logstash", **eck.eck_logstash(namespace, logging.version), opts=child)
        # The seed's `logstash.internal:5959`, under the name the workloads' logging config uses.
        k8s.core.v1.Service(f"{name}-logstash-service", **service("logstash", namespace, "tcp-json", seed.LOGSTASH_PORT), opts=child)

        setup = setup_documents(logging)
        k8s.core.v1.ConfigMap(f"{name}-setup", metadata={"name": eck.SETUP, "namespace": namespace}, data=setup, opts=child)
        k8s.batch.v1.Job(f"{name}-setup-job", **eck.setup_job(namespace, logging), opts=child)
        self._network_policies(name, eck.eck_network_policies(namespace, logging.eckOperatorNamespace, shipper_namespace(config)), child)

    def _certificates(self, name: str, config: StackConfig, child: pulumi.ResourceOptions) -> None:
        """Transport TLS certificates and the kibana_system password, made at deploy time by a Job
        whose ServiceAccount may create Secrets and read only the two it makes."""
        namespace = config.namespace
        meta = {"name": SETUP_APP, "namespace": namespace, "labels": labels(SETUP_APP, "logging")}
        account = k8s.core.v1.ServiceAccount(f"{name}-certs-account", metadata=meta, automount_service_account_token=False, opts=child)
        role = k8s.rbac.v1.Role(f"{name}-certs-role", metadata=meta, rules=certs_role_rules(), opts=child)
        binding = k8s.rbac.v1.RoleBinding(
            f"{name}-certs-binding",
            metadata=meta,
            role_ref={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": SETUP_APP},
            subjects=[{"kind": "ServiceAccount", "name": SETUP_APP, "namespace": namespace}],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[account, role])),
        )
        es = config.logging.elasticsearch
        body = certs_job(
            namespace,
            config.logging.version,
            es.replicas,
            ELASTIC_CONTAINER_SECURITY,
            pod_security_context(ELASTIC_UID, ELASTIC_UID),
            ELASTIC_IMAGE_SKIP_REASONS,
        )
        k8s.batch.v1.Job(f"{name}-certs-job", **body, opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[binding])))

    def _network_policies(self, name: str, policies: list[dict], child: pulumi.ResourceOptions) -> None:
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"], opts=child)
