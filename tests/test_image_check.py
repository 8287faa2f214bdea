"""Issue 28 item 2: with `images.build: false`, the program asks ECR whether the images the stack
deploys are there before it registers any resource (rdagent_infra/image_check.py), so a first `up`
into empty repositories stops at once with the way on, not after the workloads' timeouts.

AWS cannot be reached here: ECR is a stand-in answering the two data sources through Pulumi's
mocks (the SDK's real invoke path, tokens and arguments). It shows what we ask and what we do with
the answers, not ECR's behaviour. The images each stack deploys are written out by hand below.
"""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from rdagent_infra import image_check
from rdagent_infra.stack_source import load_from_files
from tests.conftest import ROOT

REPOSITORIES = "aws:ecr/getRepositories:getRepositories"
IMAGES = "aws:ecr/getImages:getImages"
# What staging and prod deploy from ECR, read from their stack files by hand: the UI (production),
# the data_science runs (data-science), the LLM gateway, and prod's general_model run (qlib).
STAGING = {"rdagent-staging/production": "1.4.0", "rdagent-staging/data-science": "1.4.0", "rdagent-staging/llm-gateway": "1.4.0"}
PROD = {"rdagent-prod/production": "1.4.0", "rdagent-prod/data-science": "1.4.0", "rdagent-prod/llm-gateway": "1.4.0", "rdagent-prod/qlib": "1.4.0"}


class StandInEcr(pulumi_mocks.Mocks):
    """An account's ECR as the two data sources return it: `pushed` maps a repository to its tags."""

    def __init__(self, pushed: dict[str, set[str]] | None = None, refuse: str | None = None):
        self.pushed = pushed or {}
        self.refuse = refuse
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args):
        raise AssertionError(f"the check registered a resource: {args.typ} {args.name}")

    def call(self, args):
        self.calls.append((args.token, dict(args.args)))
        if self.refuse:
            raise Exception(self.refuse)
        if args.token == REPOSITORIES:
            return {"id": "us-east-1", "names": sorted(self.pushed), "region": args.args.get("region")}
        if args.token == IMAGES:
            tags = self.pushed[args.args["repositoryName"]]
            return {
                "id": args.args["repositoryName"],
                "imageIds": [{"imageDigest": f"sha256:{index:064x}", "imageTag": tag} for index, tag in enumerate(sorted(tags))],
            }
        raise AssertionError(f"the check called {args.token}")


def check(stack: str, ecr: StandInEcr, change=None) -> list[str]:
    config = load_from_files(ROOT, stack)[0]
    if change is not None:
        config = config.model_copy(update=change(config))
    pulumi_mocks.set_mocks(ecr, project="rdagent-infra", stack=stack, preview=True)
    try:
        return image_check.problems_before_deploy(config)
    finally:
        pulumi.runtime.settings.configure(pulumi.runtime.Settings(project="rdagent-infra", stack=stack))


def images_asked(ecr: StandInEcr) -> dict[str, str]:
    return {args["repositoryName"]: args.get("region") for token, args in ecr.calls if token == IMAGES}


@pytest.mark.parametrize(("stack", "expected"), [("staging", STAGING), ("prod", PROD)])
def test_a_first_up_into_an_account_without_the_repositories_stops_and_names_the_way_on(stack, expected):
    ecr = StandInEcr()
    (problem,) = check(stack, ecr)
    for repository in expected:
        assert repository in problem, problem
    assert "do not exist yet" in problem and "rdagent:images.build true" in problem and "Images on the first up" in problem, problem
    assert ecr.calls == [(REPOSITORIES, {"region": "us-east-1"})]


@pytest.mark.parametrize(("stack", "expected"), [("staging", STAGING), ("prod", PROD)])
def test_with_every_image_pushed_the_check_passes_having_asked_for_each_repository(stack, expected):
    ecr = StandInEcr({repository: {tag, "1.3.0"} for repository, tag in expected.items()} | {"someone-else/tool": {"1.0.0"}})
    assert check(stack, ecr) == []
    assert images_asked(ecr) == {repository: "us-east-1" for repository in expected}


def test_an_unpushed_version_and_a_canarys_unpushed_version_are_named():
    pushed = {repository: {"1.4.0"} for repository in STAGING}
    pushed["rdagent-staging/llm-gateway"] = {"1.3.0"}
    (problem,) = check("staging", StandInEcr(pushed))
    assert "ECR has no image rdagent-staging/llm-gateway:1.4.0" in problem and "release.yml" in problem, problem

    def canary(config):
        return {"rollout": config.rollout.model_copy(update={"newVersion": "1.5.0", "step": 1})}

    (problem,) = check("staging", StandInEcr({repository: {"1.4.0"} for repository in STAGING}), canary)
    assert "rdagent-staging/production:1.5.0" in problem, problem
    assert "llm-gateway:1.5.0" not in problem and "data-science:1.5.0" not in problem, problem  # only the UI takes part in a rollout


def test_an_explicit_reference_is_not_looked_for_in_the_repositories():
    def pinned(config):
        return {"images": config.images.model_copy(update={"references": {"llm-gateway": "registry.example/litellm@sha256:" + "a" * 64}})}

    ecr = StandInEcr({repository: {"1.4.0"} for repository in STAGING if not repository.endswith("llm-gateway")})
    assert check("staging", ecr, pinned) == []
    assert "rdagent-staging/llm-gateway" not in images_asked(ecr)


def test_ecr_refusing_the_question_is_a_problem_not_a_pass():
    (problem,) = check("staging", StandInEcr(refuse="AccessDeniedException: not authorized to perform ecr:DescribeRepositories"))
    assert "AccessDeniedException" in problem and "ecr:DescribeRepositories and ecr:ListImages" in problem, problem


@pytest.mark.parametrize(
    ("stack", "change"),
    [
        ("staging", lambda config: {"images": config.images.model_copy(update={"build": True})}),  # the first up builds and pushes
        ("test", None),  # a cluster of one's own, no ECR
        ("e2e", None),
    ],
)
def test_nothing_is_asked_where_the_stack_builds_or_has_no_ecr(stack, change):
    ecr = StandInEcr()
    assert check(stack, ecr, change) == []
    assert ecr.calls == []
