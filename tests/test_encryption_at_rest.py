"""Data at rest on EKS is encrypted: Kubernetes Secrets with a KMS key (envelope encryption, rotated),
ECR images, every EBS volume the cluster's classes and Karpenter's nodes create."""

from __future__ import annotations

import pytest

from tests.test_components import manifest, resources, synth


@pytest.fixture(scope="module", params=["staging", "prod"])
def stack(request):
    return synth(request.param)


def test_kubernetes_secrets_are_encrypted_with_a_rotated_kms_key(stack):
    _, result, _ = stack
    (cluster,) = resources(result, "aws:eks/cluster:Cluster")
    (key,) = resources(result, "aws:kms/key:Key")
    assert cluster.inputs["encryptionConfig"]["resources"] == ["secrets"]
    assert cluster.inputs["encryptionConfig"]["provider"]["keyArn"], "the cluster names no KMS key for its Secrets"
    assert key.inputs["enableKeyRotation"] is True


def test_images_and_volumes_are_encrypted(stack):
    _, result, manifests = stack
    repositories = resources(result, "aws:ecr/repository:Repository")
    assert repositories and all(r.inputs["encryptionConfigurations"][0]["encryptionType"] in ("AES256", "KMS") for r in repositories)
    classes = [m for m in manifests if m["kind"] == "StorageClass" and m["provisioner"] == "ebs.csi.aws.com"]
    assert classes and all(c["parameters"]["encrypted"] == "true" for c in classes)
    node_class = manifest(manifests, "EC2NodeClass", "gpu")
    assert all(device["ebs"]["encrypted"] is True for device in node_class["spec"]["blockDeviceMappings"])
