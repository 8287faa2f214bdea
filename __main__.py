"""The Pulumi program: validate the stack's configuration, then build the stack."""

import sys
from pathlib import Path

import pulumi
import yaml

from rdagent_infra.account_check import problems_before_deploy as account_problems
from rdagent_infra.cluster_check import problems_before_deploy
from rdagent_infra.config import ConfigError
from rdagent_infra.program import build_stack
from rdagent_infra.stack_source import load_from_engine
from rdagent_infra.update_guard import update_refusals

# The Python SDK's exit status for "stopped after printing an error the user can act on": the engine
# then shows our messages without a generic "program exited" error.
EXIT_AFTER_USER_MESSAGE = 32

try:
    config = load_from_engine(pulumi.get_stack())
except ConfigError as error:
    for problem in error.problems:
        pulumi.log.error(f"{error.source}: {problem}")
    sys.exit(EXIT_AFTER_USER_MESSAGE)  # before any resource is registered

# An update (not a preview) is refused before any resource is registered when the public example
# passphrase opens a stack beyond dev and test (the stack file's encryptionsalt is the signal: the
# engine has already checked the passphrase against it), or when the EKS API would be open only to a
# documentation range (rdagent_infra/update_guard.py).
if not pulumi.runtime.is_dry_run():
    stack_file = Path(__file__).resolve().parent / f"Pulumi.{pulumi.get_stack()}.yaml"
    document = yaml.safe_load(stack_file.read_text()) if stack_file.exists() else {}
    refusals = update_refusals(config, pulumi.get_stack(), document or {})
    for refusal in refusals:
        pulumi.log.error(refusal)
    if refusals:
        sys.exit(EXIT_AFTER_USER_MESSAGE)

# An object whose API the cluster lacks would be retried for a minute, then fail obscurely; an
# image ECR lacks would keep its workloads waiting until the update timed out.
missing = problems_before_deploy(config) + account_problems(config)
for problem in missing:
    pulumi.log.error(problem)
if missing:
    sys.exit(EXIT_AFTER_USER_MESSAGE)

for key, value in build_stack(config).items():
    pulumi.export(key, value)
