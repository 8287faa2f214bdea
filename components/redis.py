"""Redis, the L2 cache: an in-cluster StatefulSet (password from a secret, maxmemory, LRU,
persistence, non-root) behind the `redis` Service, or AWS ElastiCache (encrypted, auth token,
reachable from the cluster only, automatic failover)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.service_account import workload_service_account
from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic.network import allow_from, network_policy
from rdagent_infra.logic.pods import labels, selector, with_service_account
from rdagent_infra.logic.redis import AUTH_SECRET, SERVICE, redis_conf, redis_statefulset, redis_url
from rdagent_infra.logic.storage import with_classes


class Redis(pulumi.ComponentResource):
    """Outputs: `url` (a secret), `host`, `port`; `service_host`, the host pods of the app namespace use."""

    def __init__(self, name: str, config: StackConfig, provider: k8s.Provider, cluster=None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:Redis", name, None, opts)
        if config.redis.mode == "elasticache":
            self._elasticache(name, config, cluster)
        else:
            self._in_cluster(name, config, provider)
        self.port = seed.REDIS_PORT
        self.register_outputs({"host": self.host, "port": self.port})

    def _in_cluster(self, name: str, config: StackConfig, provider: k8s.Provider) -> None:
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = config.namespace
        redis = config.redis
        password = pulumi.Output.secret(config.secrets.redisPassword.value)
        k8s.core.v1.Secret(
            f"{name}-auth",
            metadata={"name": AUTH_SECRET, "namespace": namespace},
            type="Opaque",
            string_data={"password": password},
            opts=child,
        )
        k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": "redis-config", "namespace": namespace},
            data={"redis.conf": redis_conf(redis.maxmemory, redis.persistence)},
            opts=child,
        )
        workload_service_account(f"{name}-account", SERVICE, namespace, labels("redis", "cache"), child)
        k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            **with_classes(config, with_service_account(redis_statefulset(namespace, redis), SERVICE)),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect)),
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": SERVICE, "namespace": namespace, "labels": labels("redis", "cache")},
            spec={"selector": selector("redis", "cache"), "ports": [{"name": "redis", "port": seed.REDIS_PORT, "targetPort": "redis", "protocol": "TCP"}]},
            opts=child,
        )
        policy = network_policy(
            "redis-ingress",
            namespace,
            selector("redis", "cache"),
            ingress=[allow_from({"app.kubernetes.io/part-of": "rdagent"}, seed.REDIS_PORT)],
        )
        k8s.networking.v1.NetworkPolicy(f"{name}-ingress", metadata=policy["metadata"], spec=policy["spec"], opts=child)
        self.host = f"{SERVICE}.{namespace}.svc.cluster.local"
        # What the app namespace's own pods reach it by: the Service's name, resolved in their namespace.
        self.service_host = SERVICE
        self.url = password.apply(lambda secret: redis_url(self.host, secret))

    def _elasticache(self, name: str, config: StackConfig, cluster) -> None:
        import pulumi_aws as aws

        child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        token = config.secrets.redisPassword
        subnets = aws.elasticache.SubnetGroup(f"{name}-subnets", subnet_ids=cluster.private_subnet_ids, opts=child)
        group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=cluster.vpc_id,
            description="Redis from the cluster only",
            ingress=[{"protocol": "tcp", "from_port": seed.REDIS_PORT, "to_port": seed.REDIS_PORT, "security_groups": [cluster.cluster_security_group_id]}],
            opts=child,
        )
        replication = aws.elasticache.ReplicationGroup(
            f"{name}-replication",
            description="RD-Agent L2 cache",
            engine="redis",
            engine_version="7.1",
            node_type=config.redis.elasticache.nodeType,
            num_cache_clusters=config.redis.elasticache.replicas,
            automatic_failover_enabled=config.redis.elasticache.replicas > 1,
            multi_az_enabled=config.redis.elasticache.replicas > 1,
            at_rest_encryption_enabled=True,
            transit_encryption_enabled=True,
            auth_token=pulumi.Output.secret(token.value),
            subnet_group_name=subnets.name,
            security_group_ids=[group.id],
            port=seed.REDIS_PORT,
            snapshot_retention_limit=7,
            parameter_group_name="default.redis7",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, additional_secret_outputs=["authToken"])),
        )
        self.host = replication.primary_endpoint_address
        self.service_host = self.host
        self.url = pulumi.Output.all(replication.primary_endpoint_address, pulumi.Output.secret(token.value)).apply(
            lambda args: redis_url(args[0], args[1], tls=True)
        )
