"""Nothing updates staging or prod with the example passphrase: the check on the stack file's
encryptionsalt, the rollout commands' refusal, and (marker `engine`) the program under the real engine."""

from __future__ import annotations

import base64
import os
import shutil

import pytest
import yaml

from rdagent_infra.logic.secrets_at_rest import EXAMPLE_PASSPHRASE, PBKDF2_ROUNDS, passphrase_opens, uses_example_passphrase
from rdagent_infra.rollouts import UnsafeEngineSettings, engine_environment
from tests.conftest import ROOT


def _salt(passphrase: str) -> str:
    """An encryptionsalt as Pulumi's passphrase manager writes it (v1:<salt>:v1:<nonce>:<sealed "pulumi">)."""
    import hashlib

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, nonce = os.urandom(8), os.urandom(12)
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, PBKDF2_ROUNDS, dklen=32)
    sealed = AESGCM(key).encrypt(nonce, b"pulumi", None)
    return ":".join(["v1", base64.b64encode(salt).decode(), "v1", base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode()])


@pytest.mark.parametrize("stack", ["dev", "test", "staging", "prod"])
def test_the_committed_stacks_are_on_the_example_passphrase(stack):
    # The salts in the repo were written by the real engine (pulumi stack init with rdagent-local).
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    assert uses_example_passphrase(document)
    assert not passphrase_opens(document["encryptionsalt"], "not-the-example")


def test_another_passphrase_or_a_kms_is_not_the_example():
    assert not uses_example_passphrase({"encryptionsalt": _salt("only-the-team-knows")})
    assert uses_example_passphrase({"encryptionsalt": _salt(EXAMPLE_PASSPHRASE)})
    assert not uses_example_passphrase({"secretsprovider": "awskms://alias/rdagent?region=us-east-1", "encryptedkey": "AQIC..."})
    assert not uses_example_passphrase({"encryptionsalt": "v1:garbage"})


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_rollout_refuses_staging_and_prod_on_the_example_passphrase(tmp_path, stack):
    shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    environ = {"PULUMI_BACKEND_URL": "s3://team-state/rdagent", "PULUMI_CONFIG_PASSPHRASE": EXAMPLE_PASSPHRASE}
    with pytest.raises(UnsafeEngineSettings, match="pulumi stack change-secrets-provider") as refused:
        engine_environment(stack, tmp_path, stack, environ)
    assert "example passphrase" in str(refused.value) and "pulumi config set --secret" in str(refused.value)
    # the same file moved to another passphrase (a stand-in for a cloud KMS) proceeds
    document = yaml.safe_load((tmp_path / f"Pulumi.{stack}.yaml").read_text())
    document["encryptionsalt"] = _salt("only-the-team-knows")
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    env = engine_environment(stack, tmp_path, stack, {**environ, "PULUMI_CONFIG_PASSPHRASE": "only-the-team-knows"})
    assert env["PULUMI_CONFIG_PASSPHRASE"] == "only-the-team-knows"
    # dev and test keep the example passphrase
    shutil.copy(ROOT / "Pulumi.test.yaml", tmp_path / "Pulumi.test.yaml")
    assert engine_environment("test", tmp_path, "test", {})["PULUMI_CONFIG_PASSPHRASE"] == EXAMPLE_PASSPHRASE
