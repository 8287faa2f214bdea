"""The Pulumi program: validate the stack's configuration, then build the stack."""

import sys
from pathlib import Path

import pulumi
import yaml

from rdagent_infra.cluster_check import problems_before_deploy
from rdagent_infra.config import ConfigError
from rdagent_infra.logic.secrets_at_rest import LOCAL_TIERS, example_passphrase_refusal, uses_example_passphrase
from rdagent_infra.program import build_stack
from rdagent_infra.stack_source import load_from_engine

# The Python SDK's exit status for "stopped after printing an error the user can act on": the engine
# then shows our messages without a generic "program exited" error.
EXIT_AFTER_USER_MESSAGE = 32

try:
    config = load_from_engine(pulumi.get_stack())
except ConfigError as error:
    for problem in error.problems:
        pulumi.log.error(f"{error.source}: {problem}")
    sys.exit(EXIT_AFTER_USER_MESSAGE)  # before any resource is registered

# An update (not a preview) of a stack beyond dev and test whose secrets the public example passphrase
# opens is refused before any resource is registered. The stack file's encryptionsalt is the signal
# (it holds however the passphrase reached the engine: PULUMI_CONFIG_PASSPHRASE, a _FILE, a fallback;
# the engine has already checked that passphrase against this salt before the program starts).
if not pulumi.runtime.is_dry_run() and config.tier.value not in LOCAL_TIERS:
    stack_file = Path(__file__).resolve().parent / f"Pulumi.{pulumi.get_stack()}.yaml"
    document = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else {}
    if uses_example_passphrase(document):
        pulumi.log.error(example_passphrase_refusal(config.tier.value, pulumi.get_stack()))
        sys.exit(EXIT_AFTER_USER_MESSAGE)

# An object whose API the cluster lacks would be retried for a minute, then fail obscurely.
missing = problems_before_deploy(config)
for problem in missing:
    pulumi.log.error(problem)
if missing:
    sys.exit(EXIT_AFTER_USER_MESSAGE)

for key, value in build_stack(config).items():
    pulumi.export(key, value)
