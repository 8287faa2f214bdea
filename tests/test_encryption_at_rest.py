"""Data at rest on EKS is encrypted: Kubernetes Secrets with a KMS key (envelope encryption, rotated),
ECR images, every EBS volume the cluster's classes, the CPU node group and Karpenter's nodes create."""

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


def test_cpu_nodes_boot_from_an_encrypted_disk_with_imdsv2_only(stack):
    """Not left to the account's EBS default: the node group's launch template says so."""
    config, result, _ = stack
    (template,) = resources(result, "aws:ec2/launchTemplate:LaunchTemplate")
    (group,) = resources(result, "aws:eks/nodeGroup:NodeGroup")
    (root,) = template.inputs["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda" and root["ebs"]["encrypted"] == "true" and root["ebs"]["volumeType"] == "gp3"
    assert root["ebs"]["volumeSize"] == config.gpu.cpuPool.diskSizeGb
    assert template.inputs["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    # EKS refuses a node group with both a launch template and diskSize.
    assert group.inputs["launchTemplate"] == {"id": f"{template.name}-id", "version": "1"} and "diskSize" not in group.inputs
