"""The Pulumi program: validate the stack's configuration, then build the stack."""

import sys

import pulumi

from rdagent_infra.config import ConfigError
from rdagent_infra.program import build_stack
from rdagent_infra.stack_source import load_from_engine

try:
    config = load_from_engine(pulumi.get_stack())
except ConfigError as error:
    for problem in error.problems:
        pulumi.log.error(problem)
    # Stop before any resource is registered; the engine has already printed each problem.
    sys.exit(1)

for key, value in build_stack(config).items():
    pulumi.export(key, value)
