"""RD-Agent's settings: the Secret of LLM keys, the Ingress certificate, the shared traces volume,
and the environment every RD-Agent container gets (only what the package reads: see
rdagent_infra/logic/rdagent_env.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.config import StackConfig
from rdagent_infra.logic import secrets_store
from rdagent_infra.logic.app_files import content_hash, render_json
from rdagent_infra.logic.pods import labels
from rdagent_infra.logic.rdagent_env import LLM_SECRET_ENV, SECRET_NAME, TRACES_DIR, common_env, run_env, ui_env
from rdagent_infra.logic.storage import claim_spec
from rdagent_infra.logic.ui_auth import tls_secret_name

TRACES_CLAIM = "rdagent-traces"


class AppSettings(pulumi.ComponentResource):
    """Outputs: `ui_env`, `run_env` (container env lists), `traces_volume` and `traces_mount(read_only)`, `config_hash`;
    `secret_volumes` and `secret_mounts` (the Secrets Store volume, when keys come from Secrets Manager) and
    `account_annotations(account)` (the IRSA role of a ServiceAccount that reads them). `secrets_roles`: ServiceAccount
    name -> the ARN of the role it assumes to read Secrets Manager."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        secrets_roles: dict[str, pulumi.Output[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:AppSettings", name, None, opts)
        # What the runs mount goes with the namespace, never on its own (see rdagent_infra.program).
        child = pulumi.ResourceOptions(parent=self, provider=provider, deleted_with=opts.deleted_with if opts else None)
        namespace = config.namespace
        secrets = config.secrets

        string_data: dict[str, pulumi.Input[str]] = {}
        secret_keys: list[tuple[str, str, str]] = []
        from_store = dict(config.secretsStore.arns())
        for key, variable, field in LLM_SECRET_ENV:
            value = getattr(secrets, field)
            if value is not None:
                string_data[key] = pulumi.Output.secret(value.value)
                secret_keys.append((SECRET_NAME, key, variable))
            elif field in from_store:
                secret_keys.append((secrets_store.SYNCED_SECRET, key, variable))
        k8s.core.v1.Secret(f"{name}-secret", metadata={"name": SECRET_NAME, "namespace": namespace}, type="Opaque", string_data=string_data, opts=child)
        self._secrets_roles = secrets_roles or {}
        self.secret_volumes: list[dict] = []
        self.secret_mounts: list[dict] = []
        if from_store:
            store_keys = [(key, from_store[field]) for key, _, field in LLM_SECRET_ENV if field in from_store]
            body = secrets_store.provider_class(namespace, config.secretsStore.region(), store_keys)
            k8s.apiextensions.CustomResource(
                f"{name}-secrets-manager", api_version=body["apiVersion"], kind=body["kind"], metadata=body["metadata"], spec=body["spec"], opts=child
            )
            self.secret_volumes = [secrets_store.pod_volume()]
            self.secret_mounts = [secrets_store.container_mount()]

        llm = config.llm
        common = common_env(
            backend=llm.backend,
            chat_model=llm.chatModel,
            embedding_model=llm.embeddingModel,
            openai_api_base=llm.openaiApiBase,
            log_level=config.app.logLevel,
            cache_path=config.cache.l3.path,
            omp_num_threads=config.workloads.ompNumThreads,
            secret_keys=secret_keys,
            settings=config.app.settings,
        )
        self.ui_env = ui_env(common)
        self.run_env = run_env(common)
        self.config_hash = content_hash(render_json({"ui": self.ui_env, "run": self.run_env}))

        # Every run writes its trace here and the UI reads every trace here: pods on many nodes, so
        # ReadWriteMany (on EKS an EFS class).
        traces = config.workloads.traces
        traces_claim = claim_spec(config, ["ReadWriteMany"], traces.size)
        if traces.storageClassName:
            traces_claim["storageClassName"] = traces.storageClassName
        k8s.core.v1.PersistentVolumeClaim(
            f"{name}-traces",
            metadata={"name": TRACES_CLAIM, "namespace": namespace, "labels": labels("rdagent-traces", "traces")},
            spec=traces_claim,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect)),
        )
        self.traces_volume = {"name": "traces", "persistentVolumeClaim": {"claimName": TRACES_CLAIM}}

        if secrets.tlsCertificate and secrets.tlsPrivateKey:
            k8s.core.v1.Secret(
                f"{name}-tls",
                metadata={"name": tls_secret_name(config, "ingress"), "namespace": namespace},
                type="kubernetes.io/tls",
                string_data={
                    "tls.crt": pulumi.Output.secret(secrets.tlsCertificate.value),
                    "tls.key": pulumi.Output.secret(secrets.tlsPrivateKey.value),
                },
                opts=child,
            )
        self.register_outputs({"config_hash": self.config_hash})

    def account_annotations(self, account: str) -> dict[str, pulumi.Input[str]]:
        """A ServiceAccount's annotations: the IRSA role ASCP assumes for its pods, if they read Secrets Manager."""
        role = self._secrets_roles.get(account)
        return {} if role is None else {"eks.amazonaws.com/role-arn": role}

    @staticmethod
    def traces_mount(read_only: bool) -> dict:
        return {"name": "traces", "mountPath": TRACES_DIR, "readOnly": read_only}
