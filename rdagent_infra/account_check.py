"""What the AWS account must hold before an EKS stack deploys, asked of AWS by the program
(`__main__.py`) in every preview and update, before any resource is registered. AWS is read through
the Pulumi AWS provider's data sources, which run in a preview too.

**Images** (`images.ecr`, `images.build: false`). The workloads deploy tags that `release.yml`
pushes. On the first `up` of a new account the repositories do not exist yet: that `up` would create
them empty, and the UI, the LLM gateway and every run would wait on images that never come until
the `up` timed out. So ECR is asked first (`aws.ecr.get_repositories`, `aws.ecr.get_images`), and a
missing repository or tag stops the program with the way on: the first `up` builds and pushes
(`images.build: true`), and later versions are pushed by `release.yml` before the stack deploys them.

**The Kubernetes version step.** EKS moves a cluster up one minor version per update and never
down; a stack whose `cluster.eks.version` jumps further fails at AWS after its plan is half
applied. When the stack's cluster exists (`aws.eks.get_clusters`, `aws.eks.get_cluster`), its live
version is compared first.

`deployed_images`, `image_problems` and `version_problems` are pure.
"""

from __future__ import annotations

from collections.abc import Callable

from rdagent_infra.config import GATEWAY_IMAGE_VARIANT, StackConfig
from rdagent_infra.logic.karpenter import cluster_name_of
from rdagent_infra.logic.rollout import plan_rollout

FIRST_UP = "docs/deploy-aws.md, 'Images on the first up'"


def deployed_images(config: StackConfig) -> set[tuple[str, str]]:
    """(variant, tag) of every image the stack's workloads run from its own repositories: the UI's
    at each rollout track's version, every run's and the LLM gateway's at `images.version`. A variant
    with an explicit `images.references` entry is not taken from the repositories at that version."""
    version = config.images.version
    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    wanted = {(config.images.ui, track.version or version) for track in plan.tracks}
    wanted |= {(run.image_variant, version) for run in config.workloads.runs}
    if config.llm.gateway.enabled:
        wanted.add((GATEWAY_IMAGE_VARIANT, version))
    return {(variant, tag) for variant, tag in wanted if not (tag == version and variant in config.images.references)}


def checks_images(config: StackConfig) -> bool:
    return config.cluster.mode == "eks" and config.images.ecr and not config.images.build


def image_problems(config: StackConfig, repositories: set[str], tags_of: Callable[[str], set[str]]) -> list[str]:
    """What ECR lacks of `deployed_images`, given the region's repository names and a repository's tags."""
    missing_repositories: list[str] = []
    missing_tags: list[str] = []
    for variant, tag in sorted(deployed_images(config)):
        repository = config.ecr_repository(variant)
        if repository not in repositories:
            missing_repositories.append(repository)
        elif tag not in tags_of(repository):
            missing_tags.append(f"{repository}:{tag}")
    problems = []
    if missing_repositories:
        problems.append(
            f"rdagent:images.build is false, and the ECR repositories {', '.join(sorted(set(missing_repositories)))} do not exist yet: "
            "this up would create them empty and the workloads would wait for images that never come. "
            f"Make the first up of an account build and push them (pulumi config set --path rdagent:images.build true; {FIRST_UP}), "
            "then set it back to false"
        )
    if missing_tags:
        problems.append(
            f"rdagent:images.version and rdagent:rollout: ECR has no image {', '.join(missing_tags)}: push the release first "
            "(release.yml pushes each tag to the stack's repositories), or build it with rdagent:images.build true"
        )
    return problems


def ecr_listing(config: StackConfig) -> tuple[set[str], Callable[[str], set[str]]]:
    """The repository names in the stack's region and a function giving a repository's tags, read
    from ECR with the credentials the engine's AWS provider uses."""
    import pulumi_aws as aws

    region = config.aws.region
    repositories = set(aws.ecr.get_repositories(region=region).names)

    def tags_of(repository: str) -> set[str]:
        listed = aws.ecr.get_images(region=region, repository_name=repository)
        return {image.image_tag for image in listed.image_ids if image.image_tag}

    return repositories, tags_of


def _minor(version: str) -> int:
    return int(version.split(".")[1])


def version_problems(config: StackConfig, live_version: str | None) -> list[str]:
    """A move of the cluster's Kubernetes version that EKS refuses: more than one minor version up, or
    down. `live_version` is the existing cluster's (None: no cluster yet)."""
    if config.cluster.mode != "eks" or live_version is None:
        return []
    wanted = config.cluster.eks.version
    key = "rdagent:cluster.eks.version"
    if _minor(wanted) < _minor(live_version):
        return [f"{key} {wanted}: the cluster {cluster_name_of(config)} runs {live_version}, and EKS cannot move a cluster down"]
    if _minor(wanted) > _minor(live_version) + 1:
        steps = [f"1.{minor}" for minor in range(_minor(live_version) + 1, _minor(wanted) + 1)]
        return [
            f"{key} {wanted}: the cluster {cluster_name_of(config)} runs {live_version}, and EKS moves a cluster up one minor "
            f"version per update: set {' then '.join(steps)}, one pulumi up each (the add-ons follow each step)"
        ]
    return []


def live_cluster_version(config: StackConfig) -> str | None:
    """The Kubernetes version of the stack's EKS cluster, or None when it does not exist yet."""
    import pulumi_aws as aws

    name = cluster_name_of(config)
    if name not in set(aws.eks.get_clusters(region=config.aws.region).names):
        return None
    return aws.eks.get_cluster(name=name, region=config.aws.region).version


def problems_before_deploy(config: StackConfig) -> list[str]:
    """The program's check (`__main__.py`): what the account lacks, or why AWS could not be asked."""
    if config.cluster.mode != "eks":
        return []
    problems: list[str] = []
    asking = "the EKS cluster's version"
    try:
        problems += version_problems(config, live_cluster_version(config))
        if checks_images(config):
            asking = "whether the images the stack deploys exist (rdagent:images.build is false)"
            repositories, tags_of = ecr_listing(config)
            problems += image_problems(config, repositories, tags_of)
    except Exception as error:  # the provider's own words: no credentials, no permission, ...
        problems.append(
            f"cannot ask AWS in {config.aws.region} {asking}: {error}. The deploying identity needs eks:ListClusters, "
            "eks:DescribeCluster, ecr:DescribeRepositories and ecr:ListImages"
        )
    return problems
