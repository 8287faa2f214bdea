"""LLM API keys from AWS Secrets Manager through the Secrets Store CSI driver and its AWS provider
(ASCP): the SecretProviderClass, the pods' volume, the IAM policy of the pods' roles, the chart values.

How a key reaches RD-Agent, which reads it from the environment (LLMSettings, LiteLLM):
1. A UI or run pod mounts the CSI volume of the SecretProviderClass `rdagent-secrets-manager`.
2. Before any container starts, the driver asks ASCP to fetch each secret. ASCP calls Secrets
   Manager with the pod's identity: a token of the pod's ServiceAccount (requested by the driver
   for the audience sts.amazonaws.com), exchanged for the role its IRSA annotation names. The pod
   itself mounts no token.
3. The driver writes each value as a file in the volume and, because the class lists it under
   `secretObjects`, into the Kubernetes Secret `rdagent-secrets-manager` (encrypted with the
   cluster's KMS key), which the containers' environment reads. The driver deletes that Secret
   once no pod mounts the volume.

A secret that cannot be fetched (no such ARN, no permission) fails the mount: the pod stays in
ContainerCreating with the reason in its events, and never starts without its key.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from rdagent_infra.logic.pods import gpu_scheduling
from rdagent_infra.logic.rdagent_env import LLM_SECRET_ENV

PROVIDER_CLASS = "rdagent-secrets-manager"
SYNCED_SECRET = "rdagent-secrets-manager"
VOLUME = "secrets-store"
MOUNT_PATH = "/mnt/secrets-store"
CSI_DRIVER = "secrets-store.csi.k8s.io"
API_VERSION = "secrets-store.csi.x-k8s.io/v1"


def provider_class(namespace: str, region: str, keys: list[tuple[str, str]]) -> dict[str, Any]:
    """The SecretProviderClass. `keys`: (Kubernetes Secret key, secret ARN), e.g. ("openai-api-key", "arn:...")."""
    objects = [{"objectName": arn, "objectType": "secretsmanager", "objectAlias": key} for key, arn in keys]
    return {
        "apiVersion": API_VERSION,
        "kind": "SecretProviderClass",
        "metadata": {"name": PROVIDER_CLASS, "namespace": namespace},
        "spec": {
            "provider": "aws",
            # ASCP reads `objects` as a YAML list in a string. The region is given, so no node lookup.
            "parameters": {"region": region, "objects": yaml.safe_dump(objects, sort_keys=False), "usePodIdentity": "false"},
            "secretObjects": [{"secretName": SYNCED_SECRET, "type": "Opaque", "data": [{"objectName": key, "key": key} for key, _ in keys]}],
        },
    }


def pod_volume() -> dict[str, Any]:
    return {"name": VOLUME, "csi": {"driver": CSI_DRIVER, "readOnly": True, "volumeAttributes": {"secretProviderClass": PROVIDER_CLASS}}}


def container_mount() -> dict[str, Any]:
    return {"name": VOLUME, "mountPath": MOUNT_PATH, "readOnly": True}


def read_policy(secret_arns: list[str], region: str, kms_key_arn: str | None) -> str:
    """What a pod's role may do: read exactly these secrets and, with a customer managed key, decrypt
    through Secrets Manager only (kms:ViaService)."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadRdAgentSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": sorted(secret_arns),
        }
    ]
    if kms_key_arn is not None:
        statements.append(
            {
                "Sid": "DecryptRdAgentSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def chart_values(rotation_poll_seconds: int) -> dict[str, Any]:
    """ASCP's chart with the driver as its dependency: the driver syncs Kubernetes Secrets (off by
    default) and fetches again for running pods every `rotation_poll_seconds`. Both run on every
    node a UI or run pod may land on: the GPU nodes' taint is tolerated (a GPU run mounts the volume
    there too), nothing else is."""
    tolerations = gpu_scheduling(1)["tolerations"]
    return {
        "tolerations": tolerations,
        "secrets-store-csi-driver": {
            "install": True,
            "syncSecret": {"enabled": True},
            "enableSecretRotation": True,
            "rotationPollInterval": f"{rotation_poll_seconds}s",
            "linux": {"tolerations": tolerations},
        },
    }


def llm_key_refs(held: dict[str, str], stored: set[str], own_secret: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Where a pod reads each LLM key from. `held`: stack secret field -> value of the keys the stack
    holds, which go into the program's Secret `own_secret`; `stored`: the fields that come from
    Secrets Manager, read from the Secret the CSI driver syncs. Returns that Secret's data (Secret key
    -> value) and (Kubernetes Secret, key, variable) of every key."""
    data: dict[str, str] = {}
    refs: list[tuple[str, str, str]] = []
    for key, variable, field in LLM_SECRET_ENV:
        if field in held:
            data[key] = held[field]
            refs.append((own_secret, key, variable))
        elif field in stored:
            refs.append((SYNCED_SECRET, key, variable))
    return data, refs
