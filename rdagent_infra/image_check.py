"""Are the images the stack deploys in its ECR repositories? (eks mode, `images.ecr`, `images.build: false`)

With `images.build: false` the workloads deploy tags that `release.yml` pushes. On the first `up` of
a new account the repositories do not exist yet: that `up` would create them empty, and the UI,
the LLM gateway and every run would wait on images that never come until the `up` timed out. So the
program (`__main__.py`) asks ECR first, in every preview and update, and stops before any resource
with a message that names the way on: the first `up` builds and pushes (`images.build: true`), and
later versions are pushed by `release.yml` before the stack deploys them.

`deployed_images` and `image_problems` are pure; `ecr_listing` asks ECR through the Pulumi AWS
provider's data sources (`aws.ecr.get_repositories`, `aws.ecr.get_images`), which run in a preview.
"""

from __future__ import annotations

from collections.abc import Callable

from rdagent_infra.config import GATEWAY_IMAGE_VARIANT, StackConfig
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
    if not checks_images(config):
        return []
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
        return {tag for image in listed.image_ids for tag in ([image.image_tag] if image.image_tag else [])}

    return repositories, tags_of


def problems_before_deploy(config: StackConfig) -> list[str]:
    """The program's check (`__main__.py`): what ECR lacks, or why ECR could not be asked."""
    if not checks_images(config):
        return []
    try:
        repositories, tags_of = ecr_listing(config)
        return image_problems(config, repositories, tags_of)
    except Exception as error:  # the provider's own words: no credentials, no ecr:DescribeRepositories, ...
        return [
            f"cannot ask ECR in {config.aws.region} whether the images the stack deploys exist (rdagent:images.build is false): {error}. "
            "The deploying identity needs ecr:DescribeRepositories and ecr:ListImages"
        ]
