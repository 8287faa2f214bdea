"""The LLM gateway: a LiteLLM proxy Deployment and Service per stack, its config file rendered from
rdagent:llm, the gateway key it accepts (generated, a Pulumi secret), the provider keys only it
reads, Redis as its shared response cache, a disruption budget and a network policy (RD-Agent's
pods reach it; it reaches DNS, Redis and the providers only). What it renders is decided in
`rdagent_infra.logic.llm_gateway`."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.gateway_key import GatewayKey
from components.service_account import workload_service_account
from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import llm_gateway as gw
from rdagent_infra.logic import secrets_store
from rdagent_infra.logic.app_files import content_hash
from rdagent_infra.logic.network import HTTPS_PORT, gateway_rules, network_policy, redis_egress
from rdagent_infra.logic.pods import labels, resource_requirements, selector
from rdagent_infra.logic.redis import AUTH_SECRET
from rdagent_infra.logic.yaml_dump import dump as dump_yaml


class LlmGateway(pulumi.ComponentResource):
    """Output: `deployment` (what runs wait for). Runs and the UI reach it at `gw.service_url()`."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        image: pulumi.Input[str],
        redis_host: pulumi.Input[str],
        account_annotations: dict[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:LlmGateway", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = config.namespace
        gateway = config.llm.gateway
        meta = {"namespace": namespace, "labels": labels(gw.APP, gw.COMPONENT)}

        key = GatewayKey(f"{name}-key", opts=pulumi.ResourceOptions(parent=self, protect=config.protect))
        k8s.core.v1.Secret(
            f"{name}-key-secret",
            metadata={**meta, "name": gw.KEY_SECRET},
            type="Opaque",
            string_data={gw.KEY_SECRET_KEY: pulumi.Output.secret(key.key)},
            opts=child,
        )
        provider_keys, volumes, mounts = self._provider_keys(name, config, meta, child)
        in_cluster = config.redis.mode == "inCluster"
        redis_password = (AUTH_SECRET, "password") if in_cluster else (gw.PROVIDER_SECRET, gw.REDIS_PASSWORD_KEY)
        env = gw.container_env(provider_keys, redis_password=redis_password if gateway.cache else None)

        body = pulumi.Output.from_input(redis_host).apply(lambda host: dump_yaml(self._proxy_config(config, host)))
        auth = gw.AUTH_SOURCE.read_text()
        k8s.core.v1.ConfigMap(f"{name}-config", metadata={**meta, "name": gw.CONFIG_MAP}, data={gw.CONFIG_FILE: body, gw.AUTH_FILE: auth}, opts=child)
        workload_service_account(f"{name}-account", gw.ACCOUNT, namespace, labels(gw.APP, gw.COMPONENT), child, account_annotations)
        template = gw.pod_template(
            image=image,
            env=env,
            resources=resource_requirements(gateway.resources),
            config_hash=body.apply(lambda text: content_hash(text, auth)),
            extra_volumes=volumes,
            extra_mounts=mounts,
        )
        match = selector(gw.APP, gw.COMPONENT)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={**meta, "name": gw.APP},
            spec={"replicas": gateway.replicas, "revisionHistoryLimit": 5, "selector": {"matchLabels": match}, "template": template},
            opts=child,
        )
        k8s.core.v1.Service(
            f"{name}-service",
            metadata={**meta, "name": gw.SERVICE},
            spec={"type": "ClusterIP", "selector": match, "ports": [{"name": "http", "port": gw.PORT, "targetPort": "http", "protocol": "TCP"}]},
            opts=child,
        )
        if gateway.replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb", metadata={**meta, "name": gw.APP}, spec={"minAvailable": 1, "selector": {"matchLabels": match}}, opts=child
            )
        rules = gateway_rules(
            redis_rule=redis_egress(config),
            provider_cidrs=config.llm.egressCidrs,
            provider_ports=[HTTPS_PORT],
            scraped_from=gw.PROMETHEUS_PEER if config.monitoring.enabled else None,
        )
        policy = network_policy(gw.APP, namespace, match, **rules)
        k8s.networking.v1.NetworkPolicy(f"{name}-policy", metadata=policy["metadata"], spec=policy["spec"], opts=child)
        self.register_outputs({})

    def _provider_keys(self, name: str, config: StackConfig, meta: dict, child: pulumi.ResourceOptions) -> tuple[list[tuple[str, str, str]], list, list]:
        """The provider keys as (Secret, key, variable), and the Secrets Manager volume and mount when
        keys come from there. Writes the gateway's own Secret of the keys the stack holds (and the
        ElastiCache auth token, which no Kubernetes Secret holds otherwise)."""
        from_store = dict(config.secretsStore.arns())
        held, keys = secrets_store.llm_key_refs(config.held_llm_keys(), set(from_store), gw.PROVIDER_SECRET)
        data: dict[str, pulumi.Input[str]] = {key: pulumi.Output.secret(value) for key, value in held.items()}
        if config.redis.mode != "inCluster" and config.secrets.redisPassword is not None:
            data[gw.REDIS_PASSWORD_KEY] = pulumi.Output.secret(config.secrets.redisPassword.value)
        k8s.core.v1.Secret(f"{name}-providers", metadata={**meta, "name": gw.PROVIDER_SECRET}, type="Opaque", string_data=data, opts=child)
        if not from_store:
            return keys, [], []
        return keys, [secrets_store.pod_volume()], [secrets_store.container_mount()]

    @staticmethod
    def _proxy_config(config: StackConfig, redis_host: str) -> dict:
        llm = config.llm
        return gw.proxy_config(
            [llm.chatModel, llm.embeddingModel],
            keys=set(config.llm_keys()),
            openai_api_base=llm.openaiApiBase,
            azure=(llm.azureApiBase, llm.azureApiVersion) if llm.azureApiBase and llm.azureApiVersion else None,
            redis=(redis_host, seed.REDIS_PORT, config.redis.mode != "inCluster") if llm.gateway.cache else None,
            cache_ttl_seconds=config.cache.l2.ttlSeconds,
            metrics=config.monitoring.enabled,
        )
