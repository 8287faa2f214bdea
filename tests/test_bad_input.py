"""Bad input is harmless: every broken stack file hypothesis generates is rejected through the CLI with
exit status 2 and a line naming the key, no traceback and nothing written; every valid one synthesizes."""

from __future__ import annotations

import copy
import os
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from rdagent_infra.cli import app
from tests.conftest import ROOT

SECURE = {"secure": "v1:ZmFrZQ==:ZmFrZQ=="}
BASE = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
PROJECT = (ROOT / "Pulumi.yaml").read_text()
runner = CliRunner()
IDENTIFIER = st.from_regex(r"[a-z][a-zA-Z]{2,12}", fullmatch=True)


def synth(tmp_path, config: dict, stack: str = "prod"):
    project = tmp_path / "p"
    project.mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text(PROJECT)
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    out = project / "out"
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = runner.invoke(app, ["synth", "--stack", stack, "--out", str(out)])
    finally:
        os.chdir(cwd)
    return result, out


def base() -> dict:
    return copy.deepcopy(BASE["config"])


# Each breakage: a strategy of (mutate(config), the key path the message must name).
def wrong_type():
    return st.sampled_from(
        [
            (("rdagent:workloads", "ui", "replicas"), "many", "rdagent:workloads.ui.replicas"),
            (("rdagent:redis", "storageSize"), [1, 2], "rdagent:redis.storageSize"),
            (("rdagent:monitoring", "alerts", "cpuPercent"), "hot", "rdagent:monitoring.alerts.cpuPercent"),
            (("rdagent:gpu", "pool", "spot"), "sometimes", "rdagent:gpu.pool.spot"),
            (("rdagent:logging", "retentionDays"), {"days": 3}, "rdagent:logging.retentionDays"),
        ]
    )


def bad_numbers():
    return st.one_of(
        st.integers(max_value=0).map(lambda n: (("rdagent:workloads", "ui", "replicas"), n, "rdagent:workloads.ui.replicas")),
        st.integers(min_value=101).map(lambda n: (("rdagent:workloads", "ui", "replicas"), n, "rdagent:workloads.ui.replicas")),
        st.integers(max_value=0).map(lambda n: (("rdagent:workloads", "ui", "port"), n, "rdagent:workloads.ui.port")),
        st.integers(min_value=65536).map(lambda n: (("rdagent:workloads", "ui", "port"), n, "rdagent:workloads.ui.port")),
        st.integers(max_value=0).map(lambda n: (("rdagent:logging", "retentionDays"), n, "rdagent:logging.retentionDays")),
        st.floats(min_value=100.001, max_value=1e9).map(
            lambda f: (("rdagent:monitoring", "alerts", "memoryPercent"), f, "rdagent:monitoring.alerts.memoryPercent")
        ),
    )


def set_path(config: dict, path: tuple, value) -> None:
    node = config.setdefault(path[0], {})
    for key in path[1:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(breakage=st.one_of(wrong_type(), bad_numbers()))
def test_bad_values_are_rejected(tmp_path, breakage):
    path, value, key = breakage
    config = base()
    set_path(config, path, value)
    check_rejected(tmp_path, config, key)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    section=st.sampled_from([(), ("rdagent:workloads",), ("rdagent:workloads", "ui"), ("rdagent:redis",), ("rdagent:rollout", "blueGreen")]), name=IDENTIFIER
)
def test_unknown_keys_are_rejected_at_every_level(tmp_path, section, name):
    config = base()
    if not section:
        config[f"rdagent:{name}"] = 1
        key = f"rdagent:{name}"
        if name in (
            "tier",
            "namespace",
            "protect",
            "cluster",
            "aws",
            "gpu",
            "images",
            "app",
            "llm",
            "secrets",
            "workloads",
            "cache",
            "redis",
            "logging",
            "monitoring",
            "rollout",
        ):
            return
    else:
        node = config.setdefault(section[0], {})
        for part in section[1:]:
            node = node.setdefault(part, {})
        if name in node or name in KNOWN_FIELDS.get(section, ()):
            return
        node[name] = 1
        key = ".".join([section[0], *section[1:], name])
    check_rejected(tmp_path, config, key, "unknown key")


KNOWN_FIELDS = {
    ("rdagent:workloads",): ("ui", "runs", "ompNumThreads"),
    ("rdagent:workloads", "ui"): ("replicas", "port", "probe", "resources", "autoscaling", "ingress"),
    ("rdagent:redis",): ("mode", "image", "maxmemory", "storageSize", "persistence", "resources", "elasticache"),
    ("rdagent:rollout", "blueGreen"): ("activeColor", "initialWeightPercent", "incrementPercent", "fullSwitchPercent", "scaleDownDelayMinutes"),
}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weights=st.lists(st.integers(1, 100), min_size=2, max_size=5).filter(lambda w: any(b <= a for a, b in zip(w, w[1:], strict=False))))
def test_descending_canary_weights_are_rejected(tmp_path, weights):
    config = base()
    config["rdagent:rollout"] = {"strategy": "canary", "canary": {"stages": [{"weightPercent": w, "durationMinutes": 5} for w in weights]}}
    check_rejected(tmp_path, config, "rdagent:rollout.canary.stages[")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(1, 8000), extra=st.integers(1, 8000), resource=st.sampled_from(["cpu", "memory"]))
def test_requests_above_limits_are_rejected(tmp_path, limit, extra, resource):
    unit = "m" if resource == "cpu" else "Mi"
    config = base()
    resources = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "100m", "memory": "128Mi"}}
    resources["limits"][resource] = f"{limit}{unit}"
    resources["requests"][resource] = f"{limit + extra}{unit}"
    config["rdagent:workloads"]["ui"]["resources"] = resources
    check_rejected(tmp_path, config, f"rdagent:workloads.ui.resources.requests.{resource}")


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["rdagent:images"].update(registry=""), "rdagent:images.registry"),
        (lambda c: c["rdagent:images"].update(references={"production": ""}), "rdagent:images.references.production"),
        (lambda c: c["rdagent:images"].update(version=""), "rdagent:images.version"),
        (lambda c: c["rdagent:secrets"].update(databaseUrl=c["rdagent:secrets"]["redisPassword"]), "rdagent:secrets.databaseUrl"),
        (lambda c: c["rdagent:secrets"].pop("redisPassword"), "rdagent:secrets.redisPassword"),
        (lambda c: c["rdagent:secrets"].update(openaiApiKey="sk-plain-text"), "rdagent:secrets.openaiApiKey"),
        (
            lambda c: c["rdagent:workloads"]["runs"][0].update(
                resources={"requests": {"cpu": "1", "memory": "1Gi", "gpu": 1}, "limits": {"cpu": "1", "memory": "1Gi", "gpu": 2}}
            ),
            "rdagent:workloads.runs[0].resources.limits.gpu",
        ),
        (lambda c: c["rdagent:workloads"]["ui"].update(port=0), "rdagent:workloads.ui.port"),
    ],
)
def test_named_breakages_are_rejected(tmp_path, mutate, key):
    config = base()
    mutate(config)
    check_rejected(tmp_path, config, key)


def check_rejected(tmp_path, config: dict, key: str, fragment: str = "") -> None:
    result, out = synth(tmp_path, config)
    output = result.output
    assert result.exit_code == 2, f"exit {result.exit_code} for {key}:\n{output}"
    lines = [line for line in output.splitlines() if line.startswith("Pulumi.prod.yaml: ")]
    assert any(line.startswith(f"Pulumi.prod.yaml: {key}") and fragment in line for line in lines), f"no line names {key}: {output}"
    assert "Traceback" not in output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert not out.exists(), "synth wrote output for an invalid stack"


@st.composite
def valid_configs(draw):
    config = base()
    config["rdagent:workloads"]["ui"]["replicas"] = draw(st.integers(2, 6))
    config["rdagent:workloads"]["ui"]["autoscaling"]["maxReplicas"] = 10
    strategy = draw(st.sampled_from(["rolling", "canary", "blueGreen"]))
    rollout = {"strategy": strategy, "stableVersion": "1.4.0", "trafficProvider": draw(st.sampled_from(["gatewayApi", "replicas"]))}
    if strategy != "rolling" and draw(st.booleans()):
        rollout["newVersion"] = "1.5.0"
        rollout["step"] = draw(st.integers(0, 2 if strategy == "canary" else 6))
    config["rdagent:rollout"] = rollout
    gpus = draw(st.integers(0, 4))
    config["rdagent:workloads"]["runs"][0]["resources"] = {
        "requests": {"cpu": "1", "memory": "2Gi", "gpu": gpus},
        "limits": {"cpu": "4", "memory": "8Gi", "gpu": gpus},
    }
    config["rdagent:redis"]["maxmemory"] = f"{draw(st.integers(1, 64))}gb"
    return config


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(config=valid_configs())
def test_valid_configs_synthesize(tmp_path, config):
    result, out = synth(tmp_path, config)
    assert result.exit_code == 0, result.output
    assert (out / "resources.json").exists()
    shutil.rmtree(tmp_path / "p")
