"""RD-Agent's settings: the Secret of LLM keys, the Ingress certificate, the shared traces volume,
and the environment every RD-Agent container gets (only what the package reads: see
rdagent_infra/logic/rdagent_env.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.signing_key import ArtifactSigningKey
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import llm_gateway, secrets_store
from rdagent_infra.logic.app_files import content_hash, render_json
from rdagent_infra.logic.pods import labels
from rdagent_infra.logic.rdagent_env import (
    DATA_DIR,
    KAGGLE_TOKEN,
    LLM_SECRET_ENV,
    SECRET_NAME,
    SIGNING_SECRET,
    SIGNING_SECRET_KEY,
    TRACES_DIR,
    common_env,
    run_env,
    ui_env,
)
from rdagent_infra.logic.storage import claim_spec
from rdagent_infra.logic.ui_auth import tls_secret_name

TRACES_CLAIM = "rdagent-traces"
DATA_CLAIM = "rdagent-data"


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

        # With the LLM gateway, it alone holds the provider keys (components/llm_gateway.py): the runs
        # send the gateway key, and read nothing from Secrets Manager.
        gateway = config.llm.gateway.enabled
        store = dict(config.secretsStore.arns())
        from_store = {} if gateway else store
        string_data, secret_keys = self._run_secrets(config, from_store)
        if string_data:  # keys the runs read themselves: a Kaggle token, the LLM keys when there is no gateway
            k8s.core.v1.Secret(f"{name}-secret", metadata={"name": SECRET_NAME, "namespace": namespace}, type="Opaque", string_data=string_data, opts=child)
        self._signing_secret(name, config, child)
        self._secrets_roles = secrets_roles or {}
        self._secrets_store(name, config, store, runs_read_it=bool(from_store), child=child)

        llm = config.llm
        direct = not gateway
        common = common_env(
            backend=llm.backend,
            chat_model=llm.chatModel if direct else llm_gateway.client_model(llm.chatModel),
            embedding_model=llm.embeddingModel if direct else llm_gateway.client_model(llm.embeddingModel),
            openai_api_base=llm.openaiApiBase if direct else llm_gateway.service_url(),
            azure=(llm.azureApiBase, llm.azureApiVersion) if direct and llm.azureApiBase and llm.azureApiVersion else None,
            log_level=config.app.logLevel,
            log_chat_content=config.log_llm_chat_content(),
            cache_path=config.cache.l3.path,
            omp_num_threads=config.workloads.ompNumThreads,
            settings=config.app.settings,
        )
        self.ui_env = ui_env(common)
        self.run_env = run_env(common, secret_keys, data=config.workloads.data is not None)
        self.config_hash = content_hash(render_json({"ui": self.ui_env, "run": self.run_env}))

        # Every run writes its trace here and the UI reads every trace here: pods on many nodes, so
        # ReadWriteMany (on EKS an EFS class).
        traces = config.workloads.traces
        self._shared_claim(f"{name}-traces", TRACES_CLAIM, "traces", config, traces.size, traces.storageClassName, child)
        self.traces_volume = {"name": "traces", "persistentVolumeClaim": {"claimName": TRACES_CLAIM}}
        # The runs' input data: a claim the team fills, or one it made already.
        data = config.workloads.data
        self.data_volume: dict | None = None
        if data is not None:
            if data.existingClaim is None:
                self._shared_claim(f"{name}-data", DATA_CLAIM, "data", config, data.size, data.storageClassName, child)
            self.data_volume = {"name": "data", "persistentVolumeClaim": {"claimName": data.existingClaim or DATA_CLAIM}}

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

    def _run_secrets(self, config: StackConfig, from_store: dict[str, str]) -> tuple[dict[str, pulumi.Input[str]], list[tuple[str, str, str]]]:
        """The runs' Secret data, and (Kubernetes Secret, key, variable) of each LLM key the runs read:
        the gateway key only, with a gateway; sets `kaggle_env`."""
        if config.llm.gateway.enabled:
            string_data: dict[str, pulumi.Input[str]] = {}
            secret_keys = [(llm_gateway.KEY_SECRET, llm_gateway.KEY_SECRET_KEY, "OPENAI_API_KEY")]
        else:
            held, secret_keys = secrets_store.llm_key_refs(config.held_llm_keys(), set(from_store), SECRET_NAME)
            string_data = {key: pulumi.Output.secret(value) for key, value in held.items()}
        key, variable, _ = KAGGLE_TOKEN
        self.kaggle_env: list[dict] = []
        if config.secrets.kaggleApiToken is not None:
            string_data[key] = pulumi.Output.secret(config.secrets.kaggleApiToken.value)
            self.kaggle_env = [{"name": variable, "valueFrom": {"secretKeyRef": {"name": SECRET_NAME, "key": key}}}]
        return string_data, secret_keys

    def _secrets_store(self, name: str, config: StackConfig, store: dict[str, str], *, runs_read_it: bool, child: pulumi.ResourceOptions) -> None:
        """The SecretProviderClass of the keys in Secrets Manager (mounted by the LLM gateway, or by the
        runs when there is none); sets the runs' `secret_volumes` and `secret_mounts`."""
        self.secret_volumes: list[dict] = []
        self.secret_mounts: list[dict] = []
        if store:
            store_keys = [(key, store[field]) for key, _, field in LLM_SECRET_ENV if field in store]
            body = secrets_store.provider_class(config.namespace, config.secretsStore.region(), store_keys)
            k8s.apiextensions.CustomResource(
                f"{name}-secrets-manager", api_version=body["apiVersion"], kind=body["kind"], metadata=body["metadata"], spec=body["spec"], opts=child
            )
        if runs_read_it:
            self.secret_volumes = [secrets_store.pod_volume()]
            self.secret_mounts = [secrets_store.container_mount()]

    def _signing_secret(self, name: str, config: StackConfig, child: pulumi.ResourceOptions) -> None:
        """One signing key for the UI and every run: a trace is readable only under the key that signed it."""
        signing_key = ArtifactSigningKey(f"{name}-signing-key", opts=pulumi.ResourceOptions(parent=self, protect=config.protect))
        k8s.core.v1.Secret(
            f"{name}-signing-secret",
            metadata={"name": SIGNING_SECRET, "namespace": config.namespace},
            type="Opaque",
            string_data={SIGNING_SECRET_KEY: pulumi.Output.secret(signing_key.key)},
            opts=child,
        )

    @staticmethod
    def _shared_claim(
        resource_name: str, claim: str, component: str, config: StackConfig, size: str, storage_class: str | None, child: pulumi.ResourceOptions
    ) -> None:
        """A ReadWriteMany claim that pods on many nodes share (on EKS an EFS class), kept when the stack is protected."""
        spec = claim_spec(config, ["ReadWriteMany"], size)
        if storage_class:
            spec["storageClassName"] = storage_class
        k8s.core.v1.PersistentVolumeClaim(
            resource_name,
            metadata={"name": claim, "namespace": config.namespace, "labels": labels(f"rdagent-{component}", component)},
            spec=spec,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect, retain_on_delete=config.protect)),
        )

    def account_annotations(self, account: str) -> dict[str, pulumi.Input[str]]:
        """A ServiceAccount's annotations: the IRSA role ASCP assumes for its pods, if they read Secrets Manager."""
        role = self._secrets_roles.get(account)
        return {} if role is None else {"eks.amazonaws.com/role-arn": role}

    @staticmethod
    def data_mount(read_only: bool) -> dict:
        return {"name": "data", "mountPath": DATA_DIR, "readOnly": read_only}

    @staticmethod
    def traces_mount(read_only: bool) -> dict:
        return {"name": "traces", "mountPath": TRACES_DIR, "readOnly": read_only}
