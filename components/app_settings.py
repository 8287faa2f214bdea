"""RD-Agent's settings: the Secret built from Pulumi secrets, the logging and cache ConfigMaps,
the TLS certificate Secret, and the environment every RD-Agent container gets."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.app_files import CONFIG_DIR, app_env, cache_config, content_hash, logging_dict_config, render_json

SECRET_NAME = "rdagent-secrets"
TLS_SECRET_NAME = "rdagent-tls"
LOGGING_CONFIG_MAP = "rdagent-logging"
CACHE_CONFIG_MAP = "rdagent-cache"

# Secret key in the Kubernetes Secret -> (environment variable, stack secret).
SECRET_ENV = (
    ("database-url", "DATABASE_URL", "databaseUrl"),
    ("openai-api-key", "OPENAI_API_KEY", "openaiApiKey"),
    ("azure-openai-api-key", "AZURE_OPENAI_API_KEY", "azureOpenaiApiKey"),
    ("deepseek-api-key", "DEEPSEEK_API_KEY", "deepseekApiKey"),
    ("anthropic-api-key", "ANTHROPIC_API_KEY", "anthropicApiKey"),
)
REDIS_URL_KEY = "redis-url"


class AppSettings(pulumi.ComponentResource):
    """Outputs: `env` (container env list), `volumes`, `volume_mounts`, `config_hash`."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        redis_url: pulumi.Output[str] | None,
        redis_host: str | None,
        redis_port: int,
        logstash_host: str | None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:AppSettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace = config.namespace
        secrets = config.secrets

        string_data: dict[str, pulumi.Input[str]] = {}
        env = app_env(config)
        for key, variable, field in SECRET_ENV:
            value = getattr(secrets, field)
            if value is not None:
                string_data[key] = pulumi.Output.secret(value.value)
                env.append({"name": variable, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}})
        if redis_url is not None:
            string_data[REDIS_URL_KEY] = redis_url
            env.append({"name": "REDIS_URL", "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": REDIS_URL_KEY}}})

        k8s.core.v1.Secret(
            f"{name}-secret",
            metadata={"name": SECRET_NAME, "namespace": namespace},
            type="Opaque",
            string_data=string_data,
            opts=child,
        )

        logging_json = render_json(logging_dict_config(config.app.logLevel, logstash_host))
        cache_json = render_json(cache_config(config.cache, redis_host, redis_port))
        files = (("logging", LOGGING_CONFIG_MAP, "logging.json", logging_json), ("cache", CACHE_CONFIG_MAP, "cache.json", cache_json))
        for part, config_map, file, document in files:
            k8s.core.v1.ConfigMap(f"{name}-{part}", metadata={"name": config_map, "namespace": namespace}, data={file: document}, opts=child)
        self.config_hash = content_hash(logging_json, cache_json)
        self.volumes: list[dict] = [
            {"name": "logging-config", "configMap": {"name": LOGGING_CONFIG_MAP}},
            {"name": "cache-config", "configMap": {"name": CACHE_CONFIG_MAP}},
        ]
        self.volume_mounts: list[dict] = [
            {"name": "logging-config", "mountPath": f"{CONFIG_DIR}/logging", "readOnly": True},
            {"name": "cache-config", "mountPath": f"{CONFIG_DIR}/cache", "readOnly": True},
        ]

        if config.app.sslCertPath and secrets.tlsCertificate and secrets.tlsPrivateKey:
            self._tls(name, config, child, env)
        self.env = env
        self.register_outputs({"config_hash": self.config_hash})

    def _tls(self, name: str, config: StackConfig, child: pulumi.ResourceOptions, env: list[dict]) -> None:
        """The certificate Secret and its one file mounted at app.sslCertPath."""
        secrets = config.secrets
        namespace = config.namespace
        k8s.core.v1.Secret(
            f"{name}-tls",
            metadata={"name": TLS_SECRET_NAME, "namespace": namespace},
            type="kubernetes.io/tls",
            string_data={
                "tls.crt": pulumi.Output.secret(secrets.tlsCertificate.value),
                "tls.key": pulumi.Output.secret(secrets.tlsPrivateKey.value),
            },
            opts=child,
        )
        # Mount the one file: a volume on the certificate's folder (often /etc/ssl/certs) would hide
        # the system CA bundle that HTTPS calls to the LLM endpoints need.
        self.volumes.append({"name": "tls", "secret": {"secretName": TLS_SECRET_NAME, "items": [{"key": "tls.crt", "path": "tls.crt"}]}})
        self.volume_mounts.append({"name": "tls", "mountPath": config.app.sslCertPath, "subPath": "tls.crt", "readOnly": True})
        env.append({"name": "SSL_CERT_PATH", "value": config.app.sslCertPath})
