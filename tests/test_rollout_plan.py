"""The rollout plan: properties over every configuration hypothesis generates, and synth at each stage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rdagent_infra.config import BlueGreenConfig, CanaryConfig, CanaryStage, RolloutConfig, load_stack_config
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.steps import rollout_steps
from rdagent_infra.stack_source import raw_stack_config
from rdagent_infra.synth import kubernetes_object, run_program
from tests.conftest import ROOT
from tests.manifests import find, one, replicas_of


@st.composite
def canaries(draw):
    weights = sorted(draw(st.sets(st.integers(1, 99), max_size=5))) + [100]
    return CanaryConfig(stages=[CanaryStage(weightPercent=w, durationMinutes=5) for w in weights])


@st.composite
def blue_greens(draw):
    initial = draw(st.integers(1, 100))
    return BlueGreenConfig(
        activeColor=draw(st.sampled_from(["blue", "green"])),
        initialWeightPercent=initial,
        incrementPercent=draw(st.integers(1, 100)),
        fullSwitchPercent=draw(st.integers(initial, 100)),
    )


@st.composite
def rollouts(draw):
    strategy = draw(st.sampled_from(["canary", "blueGreen"]))
    return RolloutConfig(
        strategy=strategy,
        trafficProvider=draw(st.sampled_from(["gatewayApi", "ingressNginx", "replicas"])),
        stableVersion="1.0.0",
        newVersion="1.1.0",
        canary=draw(canaries()),
        blueGreen=draw(blue_greens()),
    )


@settings(max_examples=300, deadline=None)
@given(rollout=rollouts(), replicas=st.integers(1, 12))
def test_every_step_of_every_rollout(rollout, replicas):
    steps = rollout_steps(rollout)
    previous = -1
    for step in range(len(steps)):
        plan = plan_rollout(rollout.model_copy(update={"step": step}), replicas)
        old, new = plan.tracks
        if plan.weights:
            assert sum(plan.weights.values()) == 100, plan.weights
            assert all(0 <= weight <= 100 for weight in plan.weights.values())
        assert plan.new_weight >= previous, "traffic to the new version went backwards"
        previous = plan.new_weight
        # Whoever receives traffic has pods to serve it, and the service keeps its size.
        if plan.new_weight > 0:
            assert new.replicas >= 1
        if plan.new_weight < 100:
            assert old.replicas >= 1
        if plan.provider != "replicas" or plan.new_weight >= 100:
            assert old.replicas + new.replicas >= replicas or new.replicas >= replicas
        # The HPA follows the track with the larger share, which always has pods.
        assert plan.autoscaled_track is None or plan.autoscaled_track.replicas >= 1
    final = plan_rollout(rollout.model_copy(update={"step": len(steps) - 1}), replicas)
    assert final.final and final.new_weight == 100, "the last step must send all traffic to the new version"


def test_rest_and_rolling_plans():
    rolling = plan_rollout(RolloutConfig(), 3)
    assert [(t.deployment, t.replicas) for t in rolling.tracks] == [("rdagent-ui", 3)] and rolling.weights == {}
    at_rest = plan_rollout(RolloutConfig(strategy="canary", stableVersion="1.0.0"), 2)
    assert [t.deployment for t in at_rest.tracks] == ["rdagent-ui-stable"]


def synth_at(rollout: dict, ingress_kind: str = "gatewayApi", **ingress) -> list[dict]:
    """The prod stack's objects with this rollout (and `ingress` settings), from the program run in
    this process (the command's own output is tested in tests/test_synth_cli.py)."""
    raw, source = raw_stack_config(ROOT, "prod")
    raw["rollout"] = rollout
    raw["workloads"]["ui"]["ingress"].update(kind=ingress_kind, **ingress)
    result = run_program(load_stack_config(raw, "prod", source), "rdagent-infra", "prod")
    return [m for m in (kubernetes_object(r) for r in result.registrations) if m]


def route_weights(manifests) -> dict[str, int]:
    """UI Service -> weight: prod signs users in, so the route sends to each UI Service's oauth2-proxy."""
    route = one(manifests, "HTTPRoute", "rdagent-ui")
    weights = {}
    for ref in route["spec"]["rules"][0]["backendRefs"]:
        assert ref["name"].endswith("-auth"), f"the route sends to {ref['name']}, not to a sign-in proxy"
        upstream = one(manifests, "Deployment", ref["name"])["spec"]["template"]["metadata"]["labels"]["rdagent.io/upstream"]
        weights[upstream] = ref["weight"]
    return weights


@pytest.mark.parametrize(("step", "canary_weight"), [(0, 5), (1, 25), (2, 100)])
def test_canary_stages_on_the_route(step, canary_weight):
    manifests = synth_at({"strategy": "canary", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": step})
    assert route_weights(manifests) == {"rdagent-ui-stable": 100 - canary_weight, "rdagent-ui-canary": canary_weight}
    stable = one(manifests, "Deployment", "rdagent-ui-stable")
    canary = one(manifests, "Deployment", "rdagent-ui-canary")
    assert stable["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.4.0")
    assert canary["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":1.5.0")
    assert replicas_of(manifests, "rdagent-ui-stable") == 3
    hpa = one(manifests, "HorizontalPodAutoscaler", "rdagent-ui")["spec"]["scaleTargetRef"]["name"]
    assert hpa == ("rdagent-ui-canary" if canary_weight >= 50 else "rdagent-ui-stable"), "the HPA follows the larger share"


@pytest.mark.parametrize(("step", "green_weight", "blue_replicas"), [(0, 10, 3), (1, 30, 3), (2, 50, 3), (3, 70, 3), (4, 90, 3), (5, 100, 3), (6, 100, 0)])
def test_blue_green_steps_then_scales_the_old_colour_down(step, green_weight, blue_replicas):
    manifests = synth_at({"strategy": "blueGreen", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": step})
    assert route_weights(manifests) == {"rdagent-ui-active": 100 - green_weight, "rdagent-ui-preview": green_weight}
    assert replicas_of(manifests, "rdagent-ui-blue") == blue_replicas
    assert replicas_of(manifests, "rdagent-ui-green") == 3
    hpa = one(manifests, "HorizontalPodAutoscaler", "rdagent-ui")["spec"]["scaleTargetRef"]["name"]
    assert hpa == ("rdagent-ui-green" if green_weight >= 50 else "rdagent-ui-blue"), "an HPA must never revive the scaled-down colour"
    services = {s["metadata"]["name"]: s["spec"]["selector"].get("rdagent.io/track") for s in find(manifests, "Service")}
    assert services["rdagent-ui-active"] == "blue" and services["rdagent-ui-preview"] == "green"


def test_ingress_nginx_canary_annotations():
    manifests = synth_at({"strategy": "canary", "trafficProvider": "ingressNginx", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": 1}, "ingress")
    canary = one(manifests, "Ingress", "rdagent-ui-canary-auth")
    assert canary["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": "25"}
    assert canary["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "rdagent-ui-canary-auth"
    assert one(manifests, "Ingress", "rdagent-ui")["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "rdagent-ui-stable-auth"


def test_replica_ratio_without_a_traffic_provider():
    manifests = synth_at({"strategy": "canary", "trafficProvider": "replicas", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": 1})
    assert one(manifests, "Deployment", "rdagent-ui-stable")["spec"]["replicas"] == 2
    assert one(manifests, "Deployment", "rdagent-ui-canary")["spec"]["replicas"] == 1
