"""Issue 28 items 2 and 6: before it registers any resource, the program asks AWS
(rdagent_infra/account_check.py) whether the images the stack deploys are in ECR when it does not
build them, so a first `up` into empty repositories stops at once with the way on, not after the
workloads' timeouts; and whether the existing cluster's Kubernetes version can move to the
configured one in one update, as EKS requires.

AWS cannot be reached here: EKS and ECR are a stand-in answering the data sources through Pulumi's
mocks (the SDK's real invoke path, tokens and arguments). It shows what we ask and what we do with
the answers, not AWS's behaviour. The images each stack deploys are written out by hand below.
"""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import mocks as pulumi_mocks

from rdagent_infra import account_check
from rdagent_infra.stack_source import load_from_files
from tests.conftest import ROOT

REPOSITORIES = "aws:ecr/getRepositories:getRepositories"
IMAGES = "aws:ecr/getImages:getImages"
CLUSTERS = "aws:eks/getClusters:getClusters"
CLUSTER = "aws:eks/getCluster:getCluster"
# What staging and prod deploy from ECR, read from their stack files by hand: the UI (production),
# the data_science runs (data-science), the LLM gateway, and prod's general_model run (qlib).
STAGING = {"rdagent-staging/production": "1.4.0", "rdagent-staging/data-science": "1.4.0", "rdagent-staging/llm-gateway": "1.4.0"}
PROD = {"rdagent-prod/production": "1.4.0", "rdagent-prod/data-science": "1.4.0", "rdagent-prod/llm-gateway": "1.4.0", "rdagent-prod/qlib": "1.4.0"}


class StandInEcr(pulumi_mocks.Mocks):
    """An account's ECR and EKS as the data sources return them: `pushed` maps a repository to its
    tags, `clusters` a cluster's name to its Kubernetes version."""

    def __init__(self, pushed: dict[str, set[str]] | None = None, refuse: str | None = None, clusters: dict[str, str] | None = None):
        self.pushed = pushed or {}
        self.refuse = refuse
        self.clusters = clusters or {}
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args):
        raise AssertionError(f"the check registered a resource: {args.typ} {args.name}")

    def call(self, args):
        self.calls.append((args.token, dict(args.args)))
        if self.refuse:
            raise Exception(self.refuse)
        if args.token == CLUSTERS:
            return {"id": "us-east-1", "names": sorted(self.clusters)}
        if args.token == CLUSTER:
            return {"id": args.args["name"], "name": args.args["name"], "version": self.clusters[args.args["name"]]}
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
        return account_check.problems_before_deploy(config)
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
    assert ecr.calls == [(CLUSTERS, {"region": "us-east-1"}), (REPOSITORIES, {"region": "us-east-1"})]


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
    assert "AccessDeniedException" in problem and "eks:ListClusters" in problem and "ecr:ListImages" in problem, problem


def test_where_the_stack_builds_its_images_only_the_cluster_is_asked_for():
    ecr = StandInEcr()
    assert check("staging", ecr, lambda config: {"images": config.images.model_copy(update={"build": True})}) == []
    assert ecr.calls == [(CLUSTERS, {"region": "us-east-1"})]


@pytest.mark.parametrize("stack", ["test", "e2e"])
def test_nothing_is_asked_for_a_cluster_of_ones_own(stack):
    ecr = StandInEcr()
    assert check(stack, ecr) == []
    assert ecr.calls == []


PUSHED = {repository: {"1.4.0"} for repository in STAGING}


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        (None, None),  # the first up creates the cluster at 1.35
        ("1.35", None),
        ("1.34", None),  # one step up
        ("1.33", "runs 1.33, and EKS moves a cluster up one minor version per update: set 1.34 then 1.35, one pulumi up each"),
        ("1.36", "runs 1.36, and EKS cannot move a cluster down"),
    ],
)
def test_a_version_move_eks_refuses_is_named_before_anything_changes(live, expected):
    ecr = StandInEcr(PUSHED, clusters={"someone-elses": "1.30"} | ({"rdagent-staging": live} if live else {}))
    problems = check("staging", ecr)
    if expected is None:
        assert problems == []
    else:
        (problem,) = problems
        assert problem.startswith("rdagent:cluster.eks.version 1.35: the cluster rdagent-staging ") and expected in problem, problem
    asked = [args for token, args in ecr.calls if token == CLUSTER]
    assert asked == ([{"name": "rdagent-staging", "region": "us-east-1"}] if live else [])
