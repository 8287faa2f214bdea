"""The program: the whole stack built from one validated configuration.

`__main__.py` calls `build_stack` under the real engine; `rdagent-infra synth` calls it under
Pulumi's mocks. Nothing else creates resources.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components.app_settings import AppSettings
from components.batch_runs import BatchRuns
from components.cert_manager import CertManager
from components.cluster import Cluster
from components.eks_addons import EksAddons
from components.gateway import GatewayController
from components.gpu_node_pool import GpuNodePool
from components.karpenter import Karpenter
from components.llm_gateway import LlmGateway
from components.log_shipper import LogShipper
from components.logging import ElkLogging
from components.monitoring import Monitoring
from components.namespace import AppNamespace
from components.prometheus_stack import PrometheusStack
from components.rdagent_ui import RdAgentUi
from components.redis import Redis
from components.registry import ImageRegistry
from components.run_queue import RunQueue
from components.secrets_store import SecretsStore
from components.storage import Storage
from rdagent_infra import defaults as seed
from rdagent_infra.config import GATEWAY_IMAGE_VARIANT, StackConfig
from rdagent_infra.logic.llm_gateway import ACCOUNT as GATEWAY_ACCOUNT
from rdagent_infra.logic.network import app_egress
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.runs import APP as RUN_ACCOUNT


def cluster_platform(config: StackConfig, cluster: Cluster) -> tuple[Any, list, dict, list]:
    """On EKS: nodes, add-ons, storage classes, GPU autoscaling, cert-manager and the UI's issuer,
    the Gateway, the Prometheus Operator and the Secrets Store driver. Returns the node role, what the application must wait for
    (nothing elsewhere: an existing cluster brings its own, which preflight checks) and the roles
    of the ServiceAccounts that read Secrets Manager, and the nodes (for charts installed later)."""
    if config.cluster.mode != "eks":
        return None, [], {}, []
    pools = GpuNodePool("rdagent-nodes", config, cluster)
    EksAddons("rdagent-addons", config, cluster, pools.nodes)
    ready: list = list(Storage("rdagent-storage", config, cluster).classes)
    if config.gpu.enabled:
        Karpenter("rdagent-karpenter", config, cluster, pools.nodes)
    issuer: list = []
    ingress = config.workloads.ui.ingress
    if ingress.tls and ingress.certManager is not None:
        # Nothing else would serve the UI's Certificate on a cluster this `up` creates.
        issuer = CertManager("rdagent-cert-manager", config, cluster.provider, pools.nodes).ready
        ready.extend(issuer)
    if ingress.enabled or config.rollout.trafficProvider == "gatewayApi":
        ready.append(GatewayController("rdagent-gateway", config, cluster.provider, pools.nodes, certificate_after=issuer))
    if config.monitoring.enabled and config.monitoring.prometheusOperator:
        ready.append(PrometheusStack("rdagent-prometheus", config, cluster.provider, pools.nodes))
    roles: dict = {}
    if config.secretsStore.enabled:
        # Only the LLM gateway reads the provider keys (without one, the runs do): the UI reads traces
        # and asks no LLM.
        reader = GATEWAY_ACCOUNT if config.llm.gateway.enabled else RUN_ACCOUNT
        store = SecretsStore("rdagent-secrets-store", config, cluster, (reader,), pools.nodes)
        ready.append(store.release)
        roles = store.roles
    return pools.node_role_arn, ready, roles, pools.nodes


def build_stack(config: StackConfig) -> dict[str, Any]:
    cluster = Cluster("rdagent", config)
    provider = cluster.provider
    node_role_arn, platform, secrets_roles, nodes = cluster_platform(config, cluster)
    registry = ImageRegistry("rdagent-images", config, node_role_arn, aws_provider=cluster.aws_provider)

    queue = RunQueue("rdagent-queue", config, provider, nodes).ready if config.queue_enabled() else []
    platform = [*platform, *queue]
    # After the queue: on destroy the namespace (and the runs holding quota) goes before the ClusterQueue.
    namespace = AppNamespace("rdagent", config.namespace, provider, protect=config.protect, depends_on=queue)
    # deleted_with: on destroy the namespace's deletion removes what is in it. Claims a running Job
    # mounts cannot be deleted before its pods are (PVC protection), and the runs' Jobs are retained
    # on delete (logic/runs.py): deleting those claims one by one would wait forever. Rendered files
    # have no namespace that cascades, so in render mode each file is deleted on its own.
    cascades = config.cluster.mode != "render"
    in_namespace = pulumi.ResourceOptions(depends_on=[namespace, *platform], deleted_with=namespace.resource if cascades else None)
    redis = Redis("rdagent-redis", config, provider, cluster, opts=in_namespace)
    logging = ElkLogging("rdagent-logging", config, provider, opts=in_namespace) if config.logging.enabled else None
    if logging is not None and config.logging.shipper.enabled:
        shipper = config.logging.shipper
        LogShipper(
            "rdagent-log-shipper",
            namespace=shipper.namespace,
            app_namespace=config.namespace,
            image=shipper.image,
            logstash_host=logging.logstash_host,
            logstash_port=seed.LOGSTASH_PORT,
            provider=provider,
            protect=config.protect,
        )
    settings = AppSettings("rdagent-settings", config, provider, secrets_roles, opts=in_namespace)
    egress = app_egress(config)
    runs_opts = in_namespace
    if config.llm.gateway.enabled:
        image = registry.image_for(GATEWAY_IMAGE_VARIANT)
        gateway = LlmGateway(
            "rdagent-llm-gateway", config, provider, image, redis.service_host, settings.account_annotations(GATEWAY_ACCOUNT), opts=in_namespace
        )
        # A run's first request goes to the gateway: it starts once the gateway is ready.
        runs_opts = pulumi.ResourceOptions.merge(in_namespace, pulumi.ResourceOptions(depends_on=[gateway.deployment]))
    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    ui = RdAgentUi("rdagent-ui", config, provider, plan, registry.image_for, settings, egress, opts=in_namespace)
    runs = BatchRuns("rdagent-runs", config, provider, registry.image_for, settings, egress, opts=runs_opts)
    if config.monitoring.enabled:
        Monitoring("rdagent-monitoring", config, provider, opts=in_namespace)

    return {
        "tier": config.tier.value,
        "namespace": config.namespace,
        "uiService": ui.service_name,
        "uiDeployments": ui.deployment_names,
        "runs": runs.job_names,
        "rollout": {"strategy": plan.strategy, "step": plan.step, "weights": plan.weights, "newWeightPercent": plan.new_weight},
        "images": registry.references,
        "redisUrl": redis.url,
        "clusterName": cluster.cluster_name,
        # For IAM roles for service accounts (IRSA) that other stacks attach to the cluster.
        "oidcProviderArn": cluster.oidc_provider_arn,
        "renderDir": config.cluster.renderDir if config.cluster.mode == "render" else None,
    }
