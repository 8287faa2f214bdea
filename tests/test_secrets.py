"""Secrets stay secret: known secret values set through the config (as Pulumi secrets) appear in no
rendered manifest, no resources.json, no log line and no exported output in plain text."""

from __future__ import annotations

import logging
from pathlib import Path

import pulumi
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


def render_prod(folder: Path) -> tuple[Path, object, list[str]]:
    """prod synthesized in this process with the KNOWN secret values: its folder, result and log lines."""
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
    out = folder / "out"
    write_output(result, out)
    return out, result, records


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_prod(tmp_path_factory.mktemp("secrets"))


def plain_secrets(out: Path) -> list[tuple[str, str]]:
    """(secret name, file) for every KNOWN value, or part of one, that a rendered file holds in plain text."""
    found = []
    for path in sorted(Path(out).iterdir()):
        text = path.read_text()
        found += [(name, path.name) for name, value in KNOWN.items() if value in text]
        if "Kn0wn" in text and not any(value in text for value in KNOWN.values()):
            found.append(("part of a secret", path.name))
    return found


def test_no_known_secret_in_any_file(rendered):
    out, _, _ = rendered
    assert plain_secrets(out) == []


def test_the_scan_finds_a_secret_that_a_component_forgot_to_mark(tmp_path, monkeypatch):
    """The negative control: every component marks its secret inputs with Output.secret; with that
    forgotten (Output.secret made a plain Output), the same scan finds the values in the Secrets."""
    monkeypatch.setattr(pulumi.Output, "secret", staticmethod(pulumi.Output.from_input))
    out, _, _ = render_prod(tmp_path)
    found = plain_secrets(out)
    assert ("redisPassword", "Secret__rdagent__redis-auth.yaml") in found, found
    assert ("openaiApiKey", "Secret__rdagent__rdagent-llm-providers.yaml") in found, found
    assert ("oauth2CookieSecret", "Secret__rdagent__rdagent-ui-auth.yaml") in found, found


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
    # The LLM gateway alone holds the provider keys; the runs' Secret holds none (nor exists, without a Kaggle token).
    assert set(secrets["rdagent-llm-providers"]["stringData"]) == {"openai-api-key"}
    assert "rdagent-secrets" not in secrets
    assert set(secrets["rdagent-ui-ingress-tls"]["stringData"]) == {"tls.crt", "tls.key"}
    assert all(value == "[secret]" for secret in secrets.values() for value in secret["stringData"].values())


def test_the_stack_file_loader_marks_secure_values(tmp_path):
    config, _ = load_from_files(ROOT, "prod")
    assert isinstance(config.secrets.openaiApiKey, SecretValue)
    assert "synth-placeholder" in config.secrets.openaiApiKey.value and "placeholder" not in repr(config.secrets.openaiApiKey)
