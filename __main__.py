"""The Pulumi program: validate the stack's configuration, then build the stack."""

import sys

import pulumi

from rdagent_infra.cluster_check import problems_before_deploy
from rdagent_infra.config import ConfigError
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

# An object whose API the cluster lacks would be retried for a minute, then fail obscurely.
missing = problems_before_deploy(config)
for problem in missing:
    pulumi.log.error(problem)
if missing:
    sys.exit(EXIT_AFTER_USER_MESSAGE)

for key, value in build_stack(config).items():
    pulumi.export(key, value)
