"""The only IAM statements that may allow `"Resource": "*"`: each one where AWS offers nothing narrower,
with its reason. The `no-wildcard-iam` policy flags every other one, and every allowed action with a
`*` in it (`"*"`, `"s3:*"`, `"ec2:Describe*"`) anywhere.

A statement matches an exception by its `Sid`, and only for the actions listed here: adding an
action to an excepted statement makes it a violation until the action is listed with its reason.
rdagent_infra.logic.iam writes these statements with these Sids (tests/test_iam.py holds them to it).

Sources: the Service Authorization Reference (an action whose "Resource types" column is empty
supports no resource-level permissions and needs `"Resource": "*"`), the EC2 API Reference ("Amazon
EC2 ec2:Describe* API actions do not support resource-level permissions"), and Karpenter's
reference controller policy (v1, its getting-started CloudFormation template), which the
controller policy follows statement by statement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WildcardException:
    sid: str
    actions: frozenset[str]
    reason: str


WILDCARD_RESOURCE_EXCEPTIONS: tuple[WildcardException, ...] = (
    WildcardException(
        "AllowRegionalReadActions",
        frozenset(
            {
                "ec2:DescribeCapacityReservations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
            }
        ),
        "EC2 Describe actions support no resource-level permissions; the statement is held to the stack's "
        "region by an aws:RequestedRegion condition instead (Karpenter discovers AMIs, subnets, security "
        "groups, instance types and prices)",
    ),
    WildcardException(
        "AllowPricingReadActions",
        frozenset({"pricing:GetProducts"}),
        "the Price List API has no resource types; Karpenter reads on-demand prices to choose instances",
    ),
    WildcardException(
        "AllowUnscopedInstanceProfileListAction",
        frozenset({"iam:ListInstanceProfiles"}),
        "Karpenter lists instance profiles to find the ones it made for its EC2NodeClasses; its reference "
        "policy grants the list unscoped (a list returns names only; every action that changes a profile "
        "is scoped to this cluster's tags)",
    ),
)

# AWS-managed policies the roles attach (written by AWS, not here): each with why it is attached.
MANAGED_POLICIES: dict[str, str] = {
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy": "the EKS control plane's service role",
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy": "nodes join the cluster",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy": "the VPC CNI on the nodes assigns pod IPs",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly": "nodes pull images, ours and the EKS add-ons' (AWS-owned registries)",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": "node access through Session Manager instead of SSH",
    "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy": "the EBS CSI driver (IRSA, kube-system/ebs-csi-controller-sa)",
    "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy": "the EFS CSI driver (IRSA, kube-system/efs-csi-controller-sa)",
}


def wildcard_exception(sid: str | None) -> WildcardException | None:
    return next((e for e in WILDCARD_RESOURCE_EXCEPTIONS if e.sid == sid), None)
