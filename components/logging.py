"""ELK logging: Elasticsearch (security on, credentials from a secret, PVC per node), Logstash
with the seed's TCP JSON input on 5959 and an Elasticsearch output, Kibana, and index retention
through an ILM policy that Logstash installs with its index template.

Two modes: our own StatefulSets and Deployments, or custom resources for the Elastic operator
(ECK). The bodies come from `rdagent_infra.logic.elk`, `.elk_statefulsets` and `.eck`; this
component turns them into resources."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import eck, elk_statefulsets
from rdagent_infra.logic.elk import ELASTIC_SECRET, KIBANA_PORT, service, setup_documents, snapshot_claim
from rdagent_infra.logic.storage import with_classes


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
        k8s.apps.v1.StatefulSet(f"{name}-elasticsearch", **with_classes(config, elk_statefulsets.elasticsearch_statefulset(namespace, logging)), opts=protected)
        for service_name, body in elk_statefulsets.elasticsearch_services(namespace):
            k8s.core.v1.Service(f"{name}-{service_name}-service", **body, opts=child)

        pipeline = elk_statefulsets.logstash_files(logging, self.elasticsearch_url)
        k8s.core.v1.ConfigMap(f"{name}-logstash-pipeline", metadata={"name": "logstash-pipeline", "namespace": namespace}, data=pipeline, opts=child)
        k8s.apps.v1.Deployment(f"{name}-logstash", **elk_statefulsets.logstash_deployment(namespace, logging, self.elasticsearch_url), opts=child)
        k8s.core.v1.Service(f"{name}-logstash-service", **service("logstash", namespace, "tcp-json", seed.LOGSTASH_PORT), opts=child)
        k8s.apps.v1.Deployment(f"{name}-kibana", **elk_statefulsets.kibana_deployment(namespace, logging.version, self.elasticsearch_url), opts=child)
        k8s.core.v1.Service(f"{name}-kibana-service", **service("kibana", namespace, "http", KIBANA_PORT), opts=child)
        self._network_policies(name, elk_statefulsets.statefulset_network_policies(namespace), child)

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
        self._network_policies(name, eck.eck_network_policies(namespace, logging.eckOperatorNamespace), child)

    def _network_policies(self, name: str, policies: list[dict], child: pulumi.ResourceOptions) -> None:
        for policy in policies:
            k8s.networking.v1.NetworkPolicy(f"{name}-{policy['metadata']['name']}", metadata=policy["metadata"], spec=policy["spec"], opts=child)
