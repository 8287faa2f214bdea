"""The CrossGuard policy pack: wraps the rule functions of `rdagent_policies.rules` in pulumi-policy's
API. Building the pack starts the analyzer server; importing this module does not."""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from rdagent_policies import rules

PACK_NAME = "rdagent-policies"
LEVELS = {"advisory": EnforcementLevel.ADVISORY, "mandatory": EnforcementLevel.MANDATORY, "disabled": EnforcementLevel.DISABLED}


def resource_policy(policy: rules.Policy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for message in rules.evaluate(policy, args.resource_type, args.props, args.get_config()):
            report_violation(message)

    return ResourceValidationPolicy(
        name=policy.name,
        description=policy.description,
        enforcement_level=LEVELS[policy.default_level],
        validate=validate,
        config_schema=PolicyConfigSchema(properties={k: dict(v) for k, v in policy.config_schema.items()}) if policy.config_schema else None,
    )


def stack_policy() -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [(r.resource_type, r.name, r.props) for r in args.resources]
        for message in rules.rollout_consistency(resources):
            report_violation(message)

    return StackValidationPolicy(
        name=rules.STACK_POLICY_NAME,
        description=rules.STACK_POLICY_DESCRIPTION,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def build_pack() -> PolicyPack:
    return PolicyPack(
        name=PACK_NAME,
        enforcement_level=EnforcementLevel.MANDATORY,
        policies=[*(resource_policy(p) for p in rules.RESOURCE_POLICIES), stack_policy()],
    )
