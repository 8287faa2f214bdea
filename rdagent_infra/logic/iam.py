"""IAM policy documents as plain JSON: trust policies for IAM roles for service accounts (IRSA) and
Karpenter's controller policy (from Karpenter's getting-started CloudFormation template, v1)."""

from __future__ import annotations

import json

from rdagent_policies.iam_exceptions import wildcard_exception


def irsa_trust_policy(oidc_provider_arn: str, issuer_url: str, namespace: str, service_account: str | tuple[str, ...]) -> str:
    """Only `namespace/service_account` (or each of several) of this cluster may assume the role, for STS only."""
    host = issuer_url.removeprefix("https://")
    accounts = [service_account] if isinstance(service_account, str) else list(service_account)
    subjects = [f"system:serviceaccount:{namespace}:{account}" for account in accounts]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host}:sub": subjects[0] if len(subjects) == 1 else subjects,
                            f"{host}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def ebs_kms_policy(key_arn: str) -> str:
    """What the EBS CSI driver needs on a customer-managed key to create and attach encrypted volumes
    (the EBS CSI driver's documentation), each action named (no `*`), on that key only."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "GrantsForVolumes",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": [key_arn],
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "UseForVolumes",
                    "Effect": "Allow",
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncryptFrom",
                        "kms:ReEncryptTo",
                        "kms:GenerateDataKey",
                        "kms:GenerateDataKeyWithoutPlaintext",
                        "kms:DescribeKey",
                    ],
                    "Resource": [key_arn],
                },
            ],
        },
        sort_keys=True,
    )


def _listed_wildcard(sid: str) -> dict:
    """A `"Resource": "*"` statement: only those rdagent_policies.iam_exceptions lists, with exactly its actions."""
    exception = wildcard_exception(sid)
    if exception is None:
        raise ValueError(f"{sid} is not a listed wildcard-resource exception")
    return {"Sid": sid, "Effect": "Allow", "Resource": "*", "Action": sorted(exception.actions)}


def _owned(cluster: str) -> dict:
    return {f"aws:ResourceTag/kubernetes.io/cluster/{cluster}": "owned"}


def _request_tags(cluster: str) -> dict:
    return {f"aws:RequestTag/kubernetes.io/cluster/{cluster}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}


def _ec2_statements(cluster: str, region: str) -> list[dict]:
    """Launch, tag and end instances and launch templates of this cluster's NodePools only."""
    ec2 = f"arn:aws:ec2:{region}"
    request_tags = _request_tags(cluster)
    nodepool_request = {"aws:RequestTag/karpenter.sh/nodepool": "*"}
    nodepool_resource = {"aws:ResourceTag/karpenter.sh/nodepool": "*"}
    launched = [f"{ec2}:*:{kind}/*" for kind in ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    return [
        {
            "Sid": "AllowScopedEC2InstanceAccessActions",
            "Effect": "Allow",
            "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*", f"{ec2}:*:capacity-reservation/*"],
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
        },
        {
            "Sid": "AllowScopedEC2LaunchTemplateAccessActions",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:launch-template/*",
            "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
            "Condition": {"StringEquals": _owned(cluster), "StringLike": nodepool_resource},
        },
        {
            "Sid": "AllowScopedEC2InstanceActionsWithTags",
            "Effect": "Allow",
            "Resource": launched,
            "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
            "Condition": {"StringEquals": request_tags, "StringLike": nodepool_request},
        },
        {
            "Sid": "AllowScopedResourceCreationTagging",
            "Effect": "Allow",
            "Resource": launched,
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": {**request_tags, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                "StringLike": nodepool_request,
            },
        },
        {
            "Sid": "AllowScopedResourceTagging",
            "Effect": "Allow",
            "Resource": f"{ec2}:*:instance/*",
            "Action": "ec2:CreateTags",
            "Condition": {
                "StringEquals": _owned(cluster),
                "StringLike": nodepool_resource,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]},
            },
        },
        {
            "Sid": "AllowScopedDeletion",
            "Effect": "Allow",
            "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            "Condition": {"StringEquals": _owned(cluster), "StringLike": nodepool_resource},
        },
    ]


def _iam_statements(cluster: str, region: str, account: str, node_role_arn: str) -> list[dict]:
    """Pass the node role to EC2; create, tag and delete the instance profiles Karpenter makes."""
    request_tags = _request_tags(cluster)
    profile = f"arn:aws:iam::{account}:instance-profile/*"
    nodeclass_request = {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}
    return [
        {
            "Sid": "AllowPassingInstanceRole",
            "Effect": "Allow",
            "Resource": node_role_arn,
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com"]}},
        },
        {
            "Sid": "AllowScopedInstanceProfileCreationActions",
            "Effect": "Allow",
            "Resource": profile,
            "Action": ["iam:CreateInstanceProfile"],
            "Condition": {"StringEquals": {**request_tags, "aws:RequestTag/topology.kubernetes.io/region": region}, "StringLike": nodeclass_request},
        },
        {
            "Sid": "AllowScopedInstanceProfileTagActions",
            "Effect": "Allow",
            "Resource": profile,
            "Action": ["iam:TagInstanceProfile"],
            "Condition": {
                "StringEquals": {
                    **_owned(cluster),
                    "aws:ResourceTag/topology.kubernetes.io/region": region,
                    **request_tags,
                    "aws:RequestTag/topology.kubernetes.io/region": region,
                },
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", **nodeclass_request},
            },
        },
        {
            "Sid": "AllowScopedInstanceProfileActions",
            "Effect": "Allow",
            "Resource": profile,
            "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
            "Condition": {
                "StringEquals": {**_owned(cluster), "aws:ResourceTag/topology.kubernetes.io/region": region},
                "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"},
            },
        },
        _listed_wildcard("AllowUnscopedInstanceProfileListAction"),
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": profile, "Action": "iam:GetInstanceProfile"},
    ]


def karpenter_controller_policy(cluster: str, region: str, account: str, node_role_arn: str, queue_arn: str) -> str:
    """What Karpenter's controller may do: launch and end instances of its NodePools only, pass the node
    role to EC2, manage the instance profiles it creates, read its interruption queue and discover."""
    statements = [
        *_ec2_statements(cluster, region),
        *_iam_statements(cluster, region, account, node_role_arn),
        {
            "Sid": "AllowAPIServerEndpointDiscovery",
            "Effect": "Allow",
            "Resource": f"arn:aws:eks:{region}:{account}:cluster/{cluster}",
            "Action": "eks:DescribeCluster",
        },
        {
            "Sid": "AllowInterruptionQueueActions",
            "Effect": "Allow",
            "Resource": queue_arn,
            "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
        },
        {**_listed_wildcard("AllowRegionalReadActions"), "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "AllowSSMReadActions", "Effect": "Allow", "Resource": f"arn:aws:ssm:{region}::parameter/aws/service/*", "Action": "ssm:GetParameter"},
        _listed_wildcard("AllowPricingReadActions"),
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def interruption_queue_policy(queue_arn: str) -> str:
    """EventBridge may send to the queue; nothing may use it without TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "EC2InterruptionPolicy",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                    "Action": "sqs:SendMessage",
                    "Resource": queue_arn,
                },
                {
                    "Sid": "DenyHTTP",
                    "Effect": "Deny",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    "Principal": "*",
                },
            ],
        }
    )
