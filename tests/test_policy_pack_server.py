"""The CrossGuard pack started as the Pulumi engine starts it: `python -m pulumi.policy <engine> <pack dir>`,
then asked over its Analyzer gRPC API (on loopback) to analyze resources."""

from __future__ import annotations

import subprocess
import sys

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from rdagent_policies import rules

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def analyzer():
    # The engine address is only used for logging, which these requests do not trigger.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(ROOT / "policies")],
        cwd=ROOT / "policies",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip()
        assert port.isdigit(), f"the pack did not print its port: {port!r} {process.stderr.read() if process.poll() is not None else ''}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=30)
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        process.kill()
        process.wait(timeout=10)


def analyze(stub, resource_type: str, name: str, props: dict):
    struct = struct_pb2.Struct()
    struct.update(props)
    request = analyzer_pb2.AnalyzeRequest(type=resource_type, name=name, urn=f"urn:pulumi:test::p::{resource_type}::{name}", properties=struct)
    return stub.Analyze(request, timeout=30).diagnostics


def test_pack_describes_every_policy(analyzer):
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "rdagent-policies"
    assert {policy.name for policy in info.policies} == set(rules.ALL_POLICY_NAMES)


def test_pack_reports_a_root_container_as_mandatory(analyzer):
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:latest", "securityContext": {"runAsUser": 0}}]},
            },
        },
    }
    diagnostics = analyze(analyzer, "kubernetes:apps/v1:Deployment", "web", deployment)
    by_policy = {d.policyName: d for d in diagnostics}
    assert "run-as-non-root" in by_policy and "runAsUser is 0" in by_policy["run-as-non-root"].message
    assert by_policy["run-as-non-root"].enforcementLevel == analyzer_pb2.MANDATORY
    assert by_policy["pinned-image-tags"].enforcementLevel == analyzer_pb2.MANDATORY
    assert by_policy["read-only-root-filesystem"].enforcementLevel == analyzer_pb2.ADVISORY


def test_pack_passes_a_compliant_ecr_repository(analyzer):
    repository = {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE"}
    assert list(analyze(analyzer, "aws:ecr/repository:Repository", "repo", repository)) == []
