"""Image registry and images: ECR repositories (scan on push, immutable tags, KMS, lifecycle,
pull access for the nodes) or a plain registry address; images built with pulumi-docker when
`images.build` is on, otherwise pinned references."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi

from rdagent_infra.config import IMAGE_VARIANTS, ImagesConfig, StackConfig

IMAGES_DIR = Path(__file__).resolve().parent.parent / "images"


def lifecycle_policy(keep_release_tags: int, untagged_expiry_days: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"expire untagged images after {untagged_expiry_days} days",
                    "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": untagged_expiry_days},
                    "action": {"type": "expire"},
                },
                # One rule per tag form: a tag must match every pattern of one rule's list.
                *(
                    {
                        "rulePriority": priority,
                        "description": f"keep the last {keep_release_tags} release tags like {pattern}",
                        "selection": {
                            "tagStatus": "tagged",
                            "tagPatternList": [pattern],
                            "countType": "imageCountMoreThan",
                            "countNumber": keep_release_tags,
                        },
                        "action": {"type": "expire"},
                    }
                    for priority, pattern in ((2, "v*"), (3, "*.*.*"))
                ),
            ]
        },
        sort_keys=True,
    )


def pull_policy(node_role_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ClusterNodesPull",
                    "Effect": "Allow",
                    "Principal": {"AWS": node_role_arn},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                }
            ],
        },
        sort_keys=True,
    )


def image_reference(images: ImagesConfig, variant: str, repository: str) -> str:
    """`images.references` wins; otherwise `<repository>:<version>`."""
    return images.references.get(variant) or f"{repository}:{images.version}"


class ImageRegistry(pulumi.ComponentResource):
    """Outputs: `references`, a map from image variant to the reference workloads deploy."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        node_role_arn: pulumi.Input[str] | None = None,
        aws_provider: pulumi.ProviderResource | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:ImageRegistry", name, None, opts)
        self.aws_provider = aws_provider
        images = config.images
        self.version = images.version
        # Plain strings where the reference is known before any resource exists (a registry and a
        # version from config): a Job whose spec holds no Output is named from its spec at once.
        self.references: dict[str, pulumi.Input[str]] = {}
        self.repositories: dict[str, pulumi.Input[str]] = {}
        for variant in IMAGE_VARIANTS:
            ecr = self._ecr_repository(name, config, variant, node_role_arn) if images.ecr else None
            repository = ecr.repository_url if ecr is not None else f"{images.registry}/{variant}"
            self.repositories[variant] = repository
            if images.build:
                login = self._ecr_login(ecr) if ecr is not None else None
                self.references[variant] = self._build(name, images, variant, pulumi.Output.from_input(repository), login)
            elif isinstance(repository, str):
                self.references[variant] = image_reference(images, variant, repository)
            else:
                self.references[variant] = repository.apply(lambda repo, v=variant: image_reference(images, v, repo))
        self.register_outputs({"references": self.references})

    def image_for(self, variant: str, version: str | None = None) -> pulumi.Input[str]:
        """The reference to deploy: the configured one, or the repository at another version (rollouts)."""
        if version is None or version == self.version:
            return self.references[variant]
        repository = self.repositories[variant]
        if isinstance(repository, str):
            return f"{repository}:{version}"
        return repository.apply(lambda resolved: f"{resolved}:{version}")

    def _ecr_repository(self, name: str, config: StackConfig, variant: str, node_role_arn):
        """The variant's ECR repository (an aws.ecr.Repository), with its lifecycle and pull policies."""
        import pulumi_aws as aws

        images = config.images
        repository = aws.ecr.Repository(
            f"{name}-{variant}",
            name=config.ecr_repository(variant),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS" if images.kmsEncryption else "AES256"}],
            # Unprotected stacks (all but prod) are destroyed whole, images included; prod's are kept.
            force_delete=not config.protect,
            opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider, protect=config.protect, retain_on_delete=config.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-{variant}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(images.keepReleaseTags, images.untaggedExpiryDays),
            opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider),
        )
        if node_role_arn is not None:
            aws.ecr.RepositoryPolicy(
                f"{name}-{variant}-pull",
                repository=repository.name,
                policy=pulumi.Output.from_input(node_role_arn).apply(pull_policy),
                opts=pulumi.ResourceOptions(parent=self, provider=self.aws_provider),
            )
        return repository

    def _ecr_login(self, repository) -> dict[str, pulumi.Input[str]]:
        """What `docker login` would give the push: ECR's authorization token for the repository's
        registry (user `AWS`, a password valid 12 hours, read at every update), the password secret."""
        import pulumi_aws as aws

        token = aws.ecr.get_authorization_token_output(registry_id=repository.registry_id, opts=pulumi.InvokeOptions(provider=self.aws_provider))
        return {
            "server": repository.repository_url.apply(lambda url: url.split("/", 1)[0]),
            "username": token.user_name,
            "password": pulumi.Output.secret(token.password),
        }

    def _build(self, name: str, images: ImagesConfig, variant: str, repository: pulumi.Output[str], login: dict | None) -> pulumi.Output[str]:
        """Built and pushed by pulumi-docker; to ECR with the registry's own credentials (`login`)."""
        import pulumi_docker as docker

        image = docker.Image(
            f"{name}-{variant}-image",
            image_name=repository.apply(lambda repo: f"{repo}:{images.version}"),
            build={
                "context": str(IMAGES_DIR),
                "dockerfile": str(IMAGES_DIR / f"{variant}.Dockerfile"),
                "platform": "linux/amd64",
                "args": {"IMAGE_VERSION": images.version},
            },
            registry=login,
            skip_push=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return image.repo_digest
