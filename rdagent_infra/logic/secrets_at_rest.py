"""Is a stack still encrypted with the example passphrase? (pure: reads the stack file's text)

The signal is the stack file itself, not the environment: Pulumi's passphrase secrets manager writes
`encryptionsalt: v1:<salt>:<check>` where <check> is the word "pulumi" sealed with AES-256-GCM under
a key PBKDF2-HMAC-SHA256(passphrase, salt, 1,000,000 rounds, 32 bytes) (pkg/secrets/passphrase and
sdk/go/common/resource/config/crypt.go in pulumi/pulumi). If the example passphrase opens <check>,
every secret in the file is readable by anyone with the README, however the passphrase reaches the
engine (PULUMI_CONFIG_PASSPHRASE, PULUMI_CONFIG_PASSPHRASE_FILE, or our scripts' fallback). A stack
moved to a cloud KMS (`secretsprovider: awskms://...`) has no `encryptionsalt` at all, and one moved
to another passphrase has a new salt the example does not open.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

EXAMPLE_PASSPHRASE = "rdagent-local"
LOCAL_TIERS = ("dev", "test")
PBKDF2_ROUNDS = 1_000_000


def passphrase_opens(encryption_salt: str, passphrase: str) -> bool:
    """Whether `passphrase` is the one this `encryptionsalt` was made with."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    parts = encryption_salt.split(":")
    if len(parts) != 5 or parts[0] != "v1" or parts[2] != "v1":
        return False
    try:
        salt, nonce, sealed = (base64.b64decode(part, validate=True) for part in (parts[1], parts[3], parts[4]))
    except ValueError:
        return False
    key = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), salt, PBKDF2_ROUNDS, dklen=32)
    try:
        return AESGCM(key).decrypt(nonce, sealed, None) == b"pulumi"
    except (InvalidTag, ValueError):
        return False


def uses_example_passphrase(stack_document: Any) -> bool:
    """Whether the parsed stack file (Pulumi.<stack>.yaml) is encrypted with the example passphrase."""
    if not isinstance(stack_document, dict):
        return False
    provider = stack_document.get("secretsprovider")
    if isinstance(provider, str) and not provider.startswith("passphrase"):
        return False  # a cloud KMS or a service-managed key: no passphrase at all
    salt = stack_document.get("encryptionsalt")
    return isinstance(salt, str) and passphrase_opens(salt, EXAMPLE_PASSPHRASE)


def example_passphrase_refusal(tier: str, stack: str) -> str:
    """What to tell someone updating a staging or prod stack still on the example passphrase."""
    return (
        f"refusing to update the {tier} stack {stack}: its secrets are encrypted with the example passphrase "
        f"{EXAMPLE_PASSPHRASE!r}, which is public. Move it to a cloud KMS first: "
        f"pulumi stack change-secrets-provider --stack {stack} awskms://alias/<your-key>?region=<region> "
        f"(or a passphrase only your team knows: pulumi stack change-secrets-provider --stack {stack} passphrase), "
        f"then set each real secret again: pulumi config set --secret --stack {stack} <key> <value> "
        f"(see docs/security.md). Preview still runs."
    )
