"""RD-Agent batch runs (`rdagent data_science`, `fin_factor`, ...) as Jobs, or CronJobs when
scheduled; GPU runs land on the tainted GPU pool. Each run gets a workspace volume; none gets
a Docker socket (RD-Agent runs its experiments in conda environments)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.app_settings import AppSettings
from components.run_queue import kueue_object
from components.service_account import workload_service_account
from rdagent_infra.config import RunConfig, StackConfig
from rdagent_infra.logic.network import network_policy
from rdagent_infra.logic.pods import (
    container_security_context,
    gpu_scheduling,
    labels,
    pod_security_context,
    resource_requirements,
    writable_volumes,
)
from rdagent_infra.logic.queue import local_queue, run_queue_labels
from rdagent_infra.logic.rdagent_env import RUN_VOLUME_DIR
from rdagent_infra.logic.runs import APP, SKIP_AWAIT, job_name
from rdagent_infra.logic.storage import claim_spec

RUN_ACCOUNT = APP  # every run's pods: one ServiceAccount, no token

WORKSPACE = RUN_VOLUME_DIR  # the run's own volume: its working directory and RD-Agent's WORKSPACE_PATH


def run_command(run: RunConfig) -> list[str]:
    command = ["rdagent", run.scenario]
    if run.competition:
        command += ["--competition", run.competition]
    return command + list(run.args) + run.bound_args()


def run_job_spec(config: StackConfig, run: RunConfig, image: pulumi.Input[str], settings: AppSettings) -> dict:
    scratch_volumes, scratch_mounts = writable_volumes(("logs", "/app/logs"), ("tmp", "/tmp"), ("home", "/home/rdagent"))
    pod_labels = labels(APP, "run", **{"rdagent.io/run": run.name})
    return {
        "backoffLimit": run.backoffLimit,
        "activeDeadlineSeconds": run.deadlineSeconds,
        "ttlSecondsAfterFinished": run.ttlSecondsAfterFinished,
        "template": {
            # Karpenter must not take a node from under a running run to pack pods tighter.
            "metadata": {"labels": pod_labels, "annotations": {"rdagent.io/config-hash": settings.config_hash, "karpenter.sh/do-not-disrupt": "true"}},
            "spec": {
                "restartPolicy": "Never",
                "serviceAccountName": RUN_ACCOUNT,
                "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                **gpu_scheduling(run.resources.gpus),
                "containers": [
                    {
                        "name": "rdagent",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        # Arguments, not a command: the image's ENTRYPOINT (tini) stays PID 1.
                        "args": run_command(run),
                        "workingDir": WORKSPACE,
                        # Only data_science downloads from Kaggle: only its runs get the token.
                        "env": settings.run_env + (settings.kaggle_env if run.scenario == "data_science" else []),
                        "resources": resource_requirements(run.resources),
                        "securityContext": container_security_context(),
                        "volumeMounts": [
                            *scratch_mounts,
                            {"name": "workspace", "mountPath": WORKSPACE},
                            {"name": "cache", "mountPath": config.cache.l3.path},
                            settings.traces_mount(read_only=False),
                            # data_science unzips its competition and writes its sample data beside it
                            # (rdagent/scenarios/kaggle/kaggle_crawler.py: download_data); others only read.
                            *([settings.data_mount(read_only=run.scenario != "data_science")] if settings.data_volume else []),
                            *settings.secret_mounts,
                        ],
                    }
                ],
                "volumes": [
                    *scratch_volumes,
                    {"name": "workspace", "persistentVolumeClaim": {"claimName": f"{APP}-{run.name}-workspace"}},
                    {"name": "cache", "emptyDir": {"sizeLimit": "10Gi"}},
                    settings.traces_volume,
                    *([settings.data_volume] if settings.data_volume else []),
                    *settings.secret_volumes,
                ],
            },
        },
    }


class BatchRuns(pulumi.ComponentResource):
    """Outputs: `job_names`."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        image_for,
        settings: AppSettings,
        egress: list[dict],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:BatchRuns", name, None, opts)
        # What the runs mount goes with the namespace, never on its own (see rdagent_infra.program).
        child = pulumi.ResourceOptions(parent=self, provider=provider, deleted_with=opts.deleted_with if opts else None)
        namespace = config.namespace
        self.job_names: list[str] = []
        if config.workloads.runs:
            workload_service_account(f"{name}-account", RUN_ACCOUNT, namespace, labels(APP, "run"), child, settings.account_annotations(RUN_ACCOUNT))
        run_opts = child
        if config.queue_enabled() and config.workloads.runs:
            # The runs' queue in the namespace; Kueue admits each run's Job from it (rdagent_infra/logic/queue.py).
            queue = kueue_object(f"{name}-local-queue", local_queue(config), child)
            run_opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[queue]))
        for run in config.workloads.runs:
            k8s.core.v1.PersistentVolumeClaim(
                f"{name}-{run.name}-workspace",
                metadata={"name": f"{APP}-{run.name}-workspace", "namespace": namespace, "labels": labels(APP, "workspace")},
                spec=claim_spec(config, ["ReadWriteOnce"], run.workspaceSize),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=config.protect)),
            )
            image = image_for(run.image_variant)
            spec = run_job_spec(config, run, image, settings)
            queue_labels = run_queue_labels(config, run)
            metadata = {"name": f"{APP}-{run.name}", "namespace": namespace, "labels": {**labels(APP, "run", **{"rdagent.io/run": run.name}), **queue_labels}}
            if run.schedule:
                k8s.batch.v1.CronJob(
                    f"{name}-{run.name}",
                    metadata=metadata,
                    spec={
                        "schedule": run.schedule,
                        "concurrencyPolicy": "Forbid",
                        "successfulJobsHistoryLimit": 3,
                        "failedJobsHistoryLimit": 3,
                        # The Jobs it makes carry the run's labels like a one-off run's Job (a Job
                        # takes its labels from here, not from the CronJob's).
                        "jobTemplate": {"metadata": {"labels": metadata["labels"]}, "spec": spec},
                    },
                    opts=run_opts,
                )
                self.job_names.append(metadata["name"])
            else:
                # The name hashes the spec, whose only Output can be the image: resolve just that one
                # (Output.from_input over the whole spec would make the SDK walk every field).
                # The queue's labels are part of the name: a Job that changes queue or priority is a new
                # Job (Kueue refuses to move a running Job to another queue).
                if isinstance(image, str):
                    job = job_name(run.name, spec, queue_labels)
                else:
                    job = pulumi.Output.from_input(image).apply(
                        lambda resolved, r=run, q=queue_labels: job_name(r.name, run_job_spec(config, r, resolved, settings), q)
                    )
                self.job_names.append(self._job(f"{name}-{run.name}", metadata, spec, job, run_opts))
        if config.workloads.runs:
            policy = network_policy("rdagent-run-egress", namespace, {"app.kubernetes.io/name": APP}, egress=egress)
            k8s.networking.v1.NetworkPolicy(f"{name}-egress", metadata=policy["metadata"], spec=policy["spec"], opts=child)
        self.register_outputs({"job_names": self.job_names})

    @staticmethod
    def _job(resource_name: str, metadata: dict, spec: dict, name: pulumi.Input[str], child: pulumi.ResourceOptions) -> pulumi.Input[str]:
        """A Job the engine creates and leaves to run (see rdagent_infra.logic.runs)."""
        k8s.batch.v1.Job(
            resource_name,
            metadata={**metadata, "name": name, "annotations": SKIP_AWAIT},
            spec=spec,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        return name
