"""Secrets stay secret: known secret values set through the config (as Pulumi secrets) appear in no
rendered manifest, no resources.json, no log line and no exported output in plain text."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from rdagent_infra.config import SecretValue, load_stack_config
from rdagent_infra.stack_source import load_from_files, raw_stack_config
from rdagent_infra.synth import run_program, write_output
from tests.conftest import ROOT
from tests.manifests import load_manifests, pod_spec

KNOWN = {
    "redisPassword": "Kn0wn-redis-pass",
    "openaiApiKey": "sk-Kn0wn-openai-key",
    "elasticPassword": "Kn0wn-elastic-pass",
    "tlsCertificate": "-----BEGIN CERTIFICATE-----Kn0wnCert",
    "tlsPrivateKey": "-----BEGIN PRIVATE KEY-----Kn0wnKey",
    "oauth2ClientSecret": "Kn0wn-oidc-client-secret",
    "oauth2CookieSecret": "Kn0wnCookieSecretKn0wnCookieSecr",  # 32 bytes, as oauth2-proxy wants
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, request):
    raw, source = raw_stack_config(ROOT, "prod")
    raw["secrets"] = {key: SecretValue(value) for key, value in KNOWN.items()}
    config = load_stack_config(raw, "prod", source)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Collect()
    logging.getLogger().addHandler(handler)
    try:
        result = run_program(config, "rdagent-infra", "prod")
    finally:
        logging.getLogger().removeHandler(handler)
    out = tmp_path_factory.mktemp("secrets") / "out"
    write_output(result, out)
    return out, result, records


def test_no_known_secret_in_any_file(rendered):
    out, _, _ = rendered
    for path in Path(out).iterdir():
        text = path.read_text()
        for name, value in KNOWN.items():
            assert value not in text, f"{name} appears in plain text in {path.name}"
            assert "Kn0wn" not in text, f"part of a secret appears in {path.name}"


def test_no_known_secret_in_logs_or_outputs(rendered):
    _, result, records = rendered
    for line in records:
        assert "Kn0wn" not in line, f"a log line shows a secret: {line}"
    assert result.secret_outputs >= {"redisUrl"}, "the Redis URL (with its password) is exported without the secret flag"
    for key, value in result.outputs.items():
        if "Kn0wn" in str(value):
            assert key in result.secret_outputs, f"output {key} carries a secret but is not marked secret"


def test_secret_env_only_through_secret_key_refs(rendered):
    out, _, _ = rendered
    for manifest in load_manifests(out):
        if manifest["kind"] not in ("Deployment", "StatefulSet", "Job", "CronJob", "DaemonSet"):
            continue
        spec = pod_spec(manifest)
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            for env in container.get("env", []):
                if any(word in env["name"] for word in ("KEY", "PASSWORD", "TOKEN")):
                    assert "value" not in env and "secretKeyRef" in env.get("valueFrom", {}), (
                        f"{manifest['metadata']['name']}/{container['name']}: {env['name']} is not a secretKeyRef"
                    )


def test_secret_objects_keep_their_keys(rendered):
    out, _, _ = rendered
    secrets = {m["metadata"]["name"]: m for m in load_manifests(out) if m["kind"] == "Secret"}
    assert set(secrets["rdagent-secrets"]["stringData"]) == {"openai-api-key"}
    assert set(secrets["rdagent-ui-ingress-tls"]["stringData"]) == {"tls.crt", "tls.key"}
    assert all(value == "[secret]" for secret in secrets.values() for value in secret["stringData"].values())


def test_the_stack_file_loader_marks_secure_values(tmp_path):
    config, _ = load_from_files(ROOT, "prod")
    assert isinstance(config.secrets.openaiApiKey, SecretValue)
    assert "synth-placeholder" in config.secrets.openaiApiKey.value and "placeholder" not in repr(config.secrets.openaiApiKey)
