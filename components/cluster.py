"""The Kubernetes cluster and the one provider every Kubernetes resource uses.

Three modes: `render` (no cluster: the provider writes manifests to a folder), `kubeconfig`
(an existing cluster, by context), `eks` (an EKS cluster in a new or existing VPC, with an
OIDC provider for IAM roles for service accounts).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_kubernetes as k8s

from rdagent_infra.config import ClusterConfig, StackConfig
from rdagent_infra.logic.karpenter import DISCOVERY_TAG, cluster_name_of

EKS_SERVICE_PRINCIPAL = "eks.amazonaws.com"


def assume_role_policy(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def kubeconfig_for(name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with `aws eks get-token` (no static credentials)."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            "current-context": name,
            "users": [
                {
                    "name": name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": ["eks", "get-token", "--cluster-name", name, "--region", region],
                        }
                    },
                }
            ],
        }
    )


class Cluster(pulumi.ComponentResource):
    """Outputs: `provider` (Kubernetes), and for EKS `cluster_name`, `oidc_provider_arn`, `private_subnet_ids`,
    `vpc_id`, `cluster_security_group_id`."""

    def __init__(self, name: str, config: StackConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rdagent:index:Cluster", name, None, opts)
        cluster: ClusterConfig = config.cluster
        self.cluster_name: pulumi.Output[str] | None = None
        self.oidc_provider_arn: pulumi.Output[str] | None = None
        self.oidc_issuer: pulumi.Output[str] | None = None
        self.private_subnet_ids: list[pulumi.Output[str]] = []
        self.owns_subnets = False
        self.vpc_id: pulumi.Output[str] | None = None
        self.cluster_security_group_id: pulumi.Output[str] | None = None
        # The one AWS provider every AWS resource of the stack uses (None without EKS).
        self.aws_provider = None
        self.kubernetes_version = cluster.eks.version

        if cluster.mode == "render":
            self.provider = k8s.Provider(
                f"{name}-k8s",
                render_yaml_to_directory=cluster.renderDir,
                enable_server_side_apply=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        elif cluster.mode == "kubeconfig":
            self.provider = k8s.Provider(
                f"{name}-k8s",
                context=cluster.kubeconfigContext,
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            self._eks(name, config)

        self.register_outputs({"cluster_name": self.cluster_name, "vpc_id": self.vpc_id, "oidc_provider_arn": self.oidc_provider_arn})

    def addon_version(self, addon: str, pinned: str | None) -> pulumi.Input[str]:
        """`pinned`, or the version AWS makes the default of the EKS add-on `addon` for this cluster's
        Kubernetes version (what `aws eks create-addon` installs when given none), read at every
        preview and update."""
        if pinned:
            return pinned
        import pulumi_aws as aws

        default = aws.eks.get_addon_version_output(
            addon_name=addon, kubernetes_version=self.kubernetes_version, most_recent=False, opts=pulumi.InvokeOutputOptions(provider=self.aws_provider)
        )
        return default.version

    def _eks(self, name: str, config: StackConfig) -> None:
        import pulumi_aws as aws

        eks_config = config.cluster.eks
        self.aws_provider = aws.Provider(
            f"{name}-aws",
            region=config.aws.region,
            allowed_account_ids=[config.aws.accountId] if config.aws.accountId else None,
            default_tags={"tags": {"app.kubernetes.io/part-of": "rdagent", "rdagent.io/tier": config.tier.value, "managed-by": "pulumi"}},
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=self.aws_provider)
        protected = pulumi.ResourceOptions(parent=self, provider=self.aws_provider, protect=config.protect)

        # Whether this program made the subnets (and tags them itself) or was given them.
        self.owns_subnets = not eks_config.existingVpcId
        if eks_config.existingVpcId:
            self.vpc_id = pulumi.Output.from_input(eks_config.existingVpcId)
            self.private_subnet_ids = [pulumi.Output.from_input(subnet) for subnet in eks_config.existingSubnetIds]
        else:
            self._vpc(name, config, aws, child)

        eks_cluster = self._control_plane(name, config, aws, child, protected)
        self.cluster_name = eks_cluster.name
        self._access_entries(name, config, aws, eks_cluster, child)
        self.cluster_security_group_id = eks_cluster.vpc_config.cluster_security_group_id
        issuer = eks_cluster.identities[0].oidcs[0].issuer
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        self.oidc_provider_arn = oidc.arn
        self.oidc_issuer = issuer
        kubeconfig = pulumi.Output.all(eks_cluster.name, eks_cluster.endpoint, eks_cluster.certificate_authority.data).apply(
            lambda args: kubeconfig_for(args[0], args[1], args[2], config.aws.region)
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _access_entries(self, name: str, config: StackConfig, aws, eks_cluster, child: pulumi.ResourceOptions) -> None:
        """Each configured IAM principal: an access entry and its EKS access policy (cluster or namespaces)."""
        for index, entry in enumerate(config.cluster.eks.accessEntries):
            access = aws.eks.AccessEntry(f"{name}-access-{index}", cluster_name=eks_cluster.name, principal_arn=entry.principalArn, type="STANDARD", opts=child)
            scope = {"type": "namespace", "namespaces": list(entry.namespaces)} if entry.namespaces else {"type": "cluster"}
            aws.eks.AccessPolicyAssociation(
                f"{name}-access-{index}-policy",
                cluster_name=eks_cluster.name,
                principal_arn=entry.principalArn,
                policy_arn=f"arn:aws:eks::aws:cluster-access-policy/{entry.policy}",
                access_scope=scope,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[access])),
            )

    def _control_plane(self, name: str, config: StackConfig, aws, child: pulumi.ResourceOptions, protected: pulumi.ResourceOptions):
        """The EKS cluster: its role, the KMS key that envelope-encrypts its secrets, its endpoint and logs."""
        eks_config = config.cluster.eks
        role = aws.iam.Role(
            f"{name}-control-plane-role",
            assume_role_policy=assume_role_policy(EKS_SERVICE_PRINCIPAL),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-control-plane-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        secrets_key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"Envelope encryption of Kubernetes secrets in {name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=protected,
        )
        cluster_name = cluster_name_of(config)
        # EKS writes to this group; made first, it gets a retention (EKS's own never expires).
        logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs", name=f"/aws/eks/{cluster_name}/cluster", retention_in_days=eks_config.logRetentionDays, opts=child
        )
        eks_cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            role_arn=role.arn,
            version=eks_config.version,
            vpc_config={
                "subnet_ids": self.private_subnet_ids,
                "endpoint_private_access": eks_config.endpointPrivateAccess,
                "endpoint_public_access": eks_config.endpointPublicAccess,
                "public_access_cidrs": eks_config.publicAccessCidrs or None,
            },
            enabled_cluster_log_types=list(eks_config.logTypes),
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            access_config={"authentication_mode": "API_AND_CONFIG_MAP"},
            opts=pulumi.ResourceOptions.merge(protected, pulumi.ResourceOptions(depends_on=[attachment, logs])),
        )
        return eks_cluster

    def _vpc(self, name: str, config: StackConfig, aws, child: pulumi.ResourceOptions) -> None:
        """A VPC with two public subnets (NAT, load balancers) and two private ones (nodes)."""
        cidr = config.cluster.eks.vpcCidr
        prefix = cidr.split(".")[0] + "." + cidr.split(".")[1]
        zones = config.zone_ids()  # zone IDs: a zone name means a different zone in each account
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_hostnames=True, enable_dns_support=True, opts=child)
        self.vpc_id = vpc.id
        gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, opts=child)
        public_route = {"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}
        public_cidrs = [f"{prefix}.{index}.0/24" for index in range(len(zones))]
        public_subnets = self._subnets(
            name, "public", aws, vpc, zones, public_cidrs, public_route, {"kubernetes.io/role/elb": "1"}, child, map_public_ip_on_launch=False
        )
        # A public NAT gateway and its Elastic IP need the VPC's Internet gateway attached first.
        after_gateway = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[gateway]))
        nat_ip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", opts=after_gateway)
        nat = aws.ec2.NatGateway(f"{name}-nat", subnet_id=public_subnets[0].id, allocation_id=nat_ip.id, opts=after_gateway)
        private_route = {"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat.id}
        private_cidrs = [f"{prefix}.{16 + 16 * index}.0/20" for index in range(len(zones))]
        private_tags = {"kubernetes.io/role/internal-elb": "1"}
        if config.gpu.enabled:
            # Where Karpenter launches nodes, in the subnet's own tags: a separate aws.ec2.Tag on a
            # subnet this program manages fights its `tags` (a diff on every update, the tag gone
            # after a refresh, and Karpenter then finds no subnet).
            private_tags[DISCOVERY_TAG] = cluster_name_of(config)
        private_subnets = self._subnets(name, "private", aws, vpc, zones, private_cidrs, private_route, private_tags, child)
        self.private_subnet_ids.extend(subnet.id for subnet in private_subnets)

    def _subnets(
        self, name: str, kind: str, aws, vpc, zones: list[str], cidrs: list[str], route: dict, tags: dict, child: pulumi.ResourceOptions, **extra
    ) -> list:
        """A route table with `route`, and a subnet per zone associated with it."""
        routes = aws.ec2.RouteTable(f"{name}-{kind}-routes", vpc_id=vpc.id, routes=[route], opts=child)
        subnets = []
        for index, (zone, cidr_block) in enumerate(zip(zones, cidrs, strict=True)):
            subnet = aws.ec2.Subnet(f"{name}-{kind}-{index}", vpc_id=vpc.id, cidr_block=cidr_block, availability_zone_id=zone, **extra, tags=tags, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-{kind}-{index}-routes", subnet_id=subnet.id, route_table_id=routes.id, opts=child)
            subnets.append(subnet)
        return subnets
