"""`rdagent:storage`: which StorageClass each claim names.

In eks mode the program creates both classes (EBS for ReadWriteOnce, made the cluster default;
EFS for ReadWriteMany) under these names (defaults `gp3-encrypted`, `efs-shared`). Otherwise they
name classes the cluster already has; unset, claims use the cluster's default class.
`rdagent_infra.logic.storage` resolves the names (and builds claim specs) for every component.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from rdagent_infra.config.base import Model

ClassName = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]


class EbsConfig(Model):
    volumeType: Literal["gp3", "io2"] = "gp3"
    # A customer-managed KMS key for the volumes, by its ARN (the CSI driver's role gets grants on it);
    # unset: the account's aws/ebs key. Volumes are always encrypted.
    kmsKeyId: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]+$")] | None = None


class EfsConfig(Model):
    # Shared (ReadWriteMany) claims get an EFS file system; off: a stack that has such a claim is refused.
    enabled: bool = True
    throughputMode: Literal["bursting", "elastic"] = "elastic"


class StorageConfig(Model):
    blockClass: ClassName | None = None
    sharedClass: ClassName | None = None
    ebs: EbsConfig = EbsConfig()
    efs: EfsConfig = EfsConfig()
