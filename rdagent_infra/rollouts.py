"""`rdagent-infra rollout`: move a canary or blue-green rollout on its gates.

A move is a set of stack-config changes (`plan_move`, pure); `apply_move` writes them into the stack
through the Pulumi Automation API and runs the update with the policy pack, on the engine that
scripts/engine-toolchain.sh built.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rdagent_infra import rollout_journal as journal
from rdagent_infra.config import RolloutConfig, StackConfig
from rdagent_infra.logic.rollout import RolloutPlan, plan_rollout
from rdagent_infra.logic.secrets_at_rest import EXAMPLE_PASSPHRASE, LOCAL_TIERS, example_passphrase_refusal, uses_example_passphrase
from rdagent_infra.logic.steps import rollout_steps
from rdagent_infra.logic.verdicts import Action, Counts, Decision, Limits, Verdict, decide
from rdagent_infra.rollout_journal import remove_cut_sidecars, stale_lock

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools"
PREFIX = "rdagent:rollout."


class RolloutError(Exception):
    """The move cannot be made (no rollout under way, nothing to promote, ...)."""


class UnsafeEngineSettings(RolloutError):
    """A stack beyond dev and test would run on the local fallbacks: refused before anything is written."""


@dataclass(frozen=True)
class Move:
    summary: str
    # rollout key -> new value; None removes the key.
    changes: dict[str, str | None]


def current_plan(config: StackConfig) -> RolloutPlan:
    return plan_rollout(config.rollout, config.workloads.ui.replicas)


def _in_progress(config: StackConfig) -> None:
    rollout = config.rollout
    if rollout.strategy == "rolling":
        raise RolloutError("the stack uses rolling updates (rdagent:rollout.strategy is rolling): there is nothing to move")
    if not rollout.newVersion:
        raise RolloutError("no rollout is under way: set rdagent:rollout.newVersion to start one")


def _stamp(now: datetime) -> str:
    return now.isoformat(timespec="seconds")


def step_duration(config: StackConfig, plan: RolloutPlan) -> timedelta:
    """How long the current step must run before its gates can pass it."""
    scale = config.rollout.durationScale
    if plan.strategy == "canary":
        return timedelta(minutes=config.rollout.canary.stages[plan.step].durationMinutes * scale)
    if plan.final:  # the old colour is at zero, kept for rollback this long before promotion removes it
        return timedelta(minutes=config.rollout.blueGreen.scaleDownDelayMinutes * scale)
    return timedelta(minutes=config.rollout.blueGreen.stepDurationMinutes * scale)


def analysis_interval(config: StackConfig) -> float:
    """Seconds between two analyses of `rollout run`."""
    return config.rollout.analysis.intervalSeconds * config.rollout.durationScale


def time_left(config: StackConfig, now: datetime) -> timedelta | None:
    """How much longer the current step must run; None when it is done or its start is unknown."""
    started = config.rollout.stepStartedAt
    if started is None:
        return None
    left = started + step_duration(config, current_plan(config)) - now
    return left if left > timedelta(0) else None


def _reset_counts(config: StackConfig) -> dict[str, str | None]:
    rollout = config.rollout
    return {key: None for key in ("failedAnalyses", "inconclusiveAnalyses") if getattr(rollout, key)}


def count_changes(config: StackConfig, counts: Counts) -> dict[str, str | None]:
    """The config writes that store the analysis counts (none when they did not change)."""
    changes: dict[str, str | None] = {}
    for key, value in (("failedAnalyses", counts.failures), ("inconclusiveAnalyses", counts.inconclusive)):
        if getattr(config.rollout, key) != value:
            changes[key] = str(value) if value else None
    return changes


def judge_step(config: StackConfig, verdict: Verdict, now: datetime, force: bool = False) -> tuple[Decision, Move | None]:
    """The decision after an analysis of the current step, and the move it makes (None: wait)."""
    _in_progress(config)
    rollout = config.rollout
    step_done = force or time_left(config, now) is None
    limits = Limits(rollout.analysis.failureLimit, rollout.analysis.inconclusiveLimit)
    decision = decide(verdict, Counts(rollout.failedAnalyses, rollout.inconclusiveAnalyses), limits, step_done)
    if decision.action == Action.ADVANCE:
        return decision, advancement(config, now)
    if decision.action == Action.ABORT:
        return decision, abortion(config)
    return decision, None


def start(config: StackConfig, version: str, now: datetime) -> Move:
    rollout = config.rollout
    if rollout.strategy == "rolling":
        raise RolloutError("the stack uses rolling updates: set rdagent:rollout.strategy to canary or blueGreen first")
    if rollout.newVersion:
        raise RolloutError(f"a rollout of {rollout.newVersion} is under way: promote or abort it first")
    if version == (rollout.stableVersion or config.images.version):
        raise RolloutError(f"{version} is already the stable version")
    weight = rollout_steps(rollout)[0]
    changes = {"newVersion": version, "step": "0", "stepStartedAt": _stamp(now), **_reset_counts(config)}
    return Move(f"start {version}: {weight}% of traffic at step 0", changes)


def promotion(config: StackConfig) -> Move:
    _in_progress(config)
    rollout = config.rollout
    changes: dict[str, str | None] = {"stableVersion": rollout.newVersion, "newVersion": None, "step": "0", "stepStartedAt": None, **_reset_counts(config)}
    if rollout.strategy == "blueGreen":
        changes["blueGreen.activeColor"] = "green" if rollout.blueGreen.activeColor == "blue" else "blue"
    return Move(f"promote {rollout.newVersion}: it becomes the stable version", changes)


def abortion(config: StackConfig) -> Move:
    _in_progress(config)
    return Move(
        f"abort {config.rollout.newVersion}: all traffic back to {config.rollout.stableVersion or 'the stable version'}",
        {"newVersion": None, "step": "0", "stepStartedAt": None, **_reset_counts(config)},
    )


def advancement(config: StackConfig, now: datetime) -> Move:
    """The move after the current step's gates passed."""
    _in_progress(config)
    plan = current_plan(config)
    if plan.final:
        if plan.strategy == "canary" and not config.rollout.canary.stages[plan.step].autoPromote:
            raise RolloutError("the last canary stage does not auto-promote: run rollout promote to finish")
        return promotion(config)
    step = plan.step + 1
    weight = rollout_steps(config.rollout)[step]
    changes = {"step": str(step), "stepStartedAt": _stamp(now), **_reset_counts(config)}
    return Move(f"advance to step {step}: {weight}% of traffic to {config.rollout.newVersion}", changes)


def rollout_after(config: StackConfig, move: Move) -> RolloutConfig:
    """The rollout config as it will be once the move is written."""
    data = config.rollout.model_dump(exclude_none=True)
    for key, value in move.changes.items():
        *path, last = key.split(".")
        target = data
        for part in path:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return RolloutConfig.model_validate(data)


def missing_cluster_apis(config: StackConfig, move: Move) -> list[str]:
    """What the cluster lacks for the objects the move would create (the route of a starting rollout)."""
    from rdagent_infra.cluster_check import ClusterUnreachable, missing_apis
    from rdagent_infra.logic.cluster_apis import apis_for_plan

    plan = plan_rollout(rollout_after(config, move), config.workloads.ui.replicas)
    try:
        return missing_apis(config, apis_for_plan(config, plan))
    except ClusterUnreachable as error:
        raise RolloutError(f"cannot check the cluster before the move: {error}") from error


def engine_environment(tier: str, work_dir: Path, stack_name: str, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The engine settings for a move. dev and test may fall back to the local file backend and the
    example passphrase (as scripts/pulumi does); any other tier must set both explicitly (or name a
    secrets provider in its stack file), or the move is refused before anything is written."""
    environ = dict(os.environ if environ is None else environ)
    if tier not in LOCAL_TIERS:
        missing = []
        if not environ.get("PULUMI_BACKEND_URL"):
            missing.append("PULUMI_BACKEND_URL (the team's state backend, e.g. s3://bucket/prefix)")
        if not (environ.get("PULUMI_CONFIG_PASSPHRASE") or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE") or _secrets_provider(work_dir, stack_name)):
            missing.append(f"PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or a secrets provider in Pulumi.{stack_name}.yaml (secretsprovider:)")
        if missing:
            raise UnsafeEngineSettings(f"refusing to move the {tier} stack {stack_name} on a local fallback: set " + "; ".join(missing))
        if uses_example_passphrase(_stack_document(work_dir, stack_name)):
            raise UnsafeEngineSettings(example_passphrase_refusal(tier, stack_name))
    return {
        "PULUMI_HOME": environ.get("PULUMI_HOME", str(TOOLS / "pulumi-home")),
        "PULUMI_BACKEND_URL": environ.get("PULUMI_BACKEND_URL", f"file://{ROOT / '.pulumi-state'}"),
        **({} if environ.get("PULUMI_CONFIG_PASSPHRASE_FILE") else {"PULUMI_CONFIG_PASSPHRASE": environ.get("PULUMI_CONFIG_PASSPHRASE", EXAMPLE_PASSPHRASE)}),
        **({"PULUMI_CONFIG_PASSPHRASE_FILE": environ["PULUMI_CONFIG_PASSPHRASE_FILE"]} if environ.get("PULUMI_CONFIG_PASSPHRASE_FILE") else {}),
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PATH": f"{TOOLS / 'bin'}{os.pathsep}{ROOT / '.venv' / 'bin'}{os.pathsep}{environ.get('PATH', '')}",
    }


def _stack_document(work_dir: Path, stack_name: str) -> object:
    import yaml

    try:
        return yaml.safe_load((work_dir / f"Pulumi.{stack_name}.yaml").read_text()) or {}
    except (OSError, yaml.YAMLError):
        return {}


def _secrets_provider(work_dir: Path, stack_name: str) -> str | None:
    document = _stack_document(work_dir, stack_name)
    provider = document.get("secretsprovider") if isinstance(document, dict) else None
    return provider if isinstance(provider, str) and not provider.startswith("passphrase") else None


def file_backend_locks(backend: str, project: str, stack_name: str) -> list[Path]:
    """The lock files a file:// backend holds for the stack (left behind by an interrupted update)."""
    if not backend.startswith("file://"):
        return []
    # pkg/backend/diy: .pulumi/locks/<fully qualified stack name: organization/<project>/<stack>>/<lock id>.json
    locks = Path(backend[len("file://") :]) / ".pulumi" / "locks"
    return sorted(path for path in locks.glob(f"*/{project}/{stack_name}/*.json"))


class _Stack:
    """The stack through the Automation API; every config change can be put back byte for byte."""

    def __init__(self, stack_name: str, tier: str, work_dir: Path, recovering: bool = False):
        from pulumi import automation as auto

        self.env = engine_environment(tier, work_dir, stack_name)
        if not (TOOLS / "bin" / "pulumi").exists():
            raise RolloutError("the Pulumi engine is not built: run make up (scripts/engine-toolchain.sh)")
        self.name = stack_name
        self.tier = tier
        self.step = "stack select"
        self.file = work_dir / f"Pulumi.{stack_name}.yaml"
        backend = self.env["PULUMI_BACKEND_URL"]
        if backend.startswith("file://"):
            Path(backend[len("file://") :]).mkdir(parents=True, exist_ok=True)
        from rdagent_infra.stack_source import read_project

        project = str(read_project(work_dir)["name"])
        locks = file_backend_locks(backend, project, stack_name)
        # After an interrupted move, the lock its killed update left is cleared (`pulumi cancel`),
        # but only when that update ran here and no longer runs.
        self.stale_lock = bool(locks) and recovering and all(stale_lock(lock) for lock in locks)
        if locks and not self.stale_lock:
            raise RolloutError(
                f"the stack {stack_name} is locked by an update that is running or was interrupted ({locks[0]}); "
                f"no change made: wait for it, or once no update runs, scripts/pulumi cancel --stack {stack_name} (docs/runbook.md)"
            )
        if recovering and backend.startswith("file://"):
            remove_cut_sidecars(Path(backend[len("file://") :]), project, stack_name)
        options = auto.LocalWorkspaceOptions(
            work_dir=str(work_dir), pulumi_home=self.env["PULUMI_HOME"], env_vars=self.env, pulumi_command=auto.PulumiCommand(root=str(TOOLS))
        )
        try:
            self.stack = auto.create_or_select_stack(stack_name=stack_name, work_dir=str(work_dir), opts=options)
        except auto.CommandError as exc:
            raise RolloutError(f"cannot open the stack {stack_name} (no change made): {_last_error(exc)}") from None

    def write(self, changes: dict[str, str | None]) -> None:
        from pulumi import automation as auto

        self.step = "config set"
        for key, value in changes.items():
            if value is None:
                self.stack.remove_config(PREFIX + key, path=True)
            else:
                self.stack.set_config(PREFIX + key, auto.ConfigValue(value), path=True)

    def up(self, echo: Callable[[str], None], recovering: bool = False) -> None:
        if recovering:
            # The runbook's recovery after an interrupted update: the lock, the creates the engine
            # never recorded, then an update that adopts what the killed one created.
            if self.stale_lock:
                echo(f"rollout: clearing the lock the interrupted update left (pulumi cancel --stack {self.name})")
                self.step = "cancel"
                self.stack.cancel()
            self.step = "refresh --clear-pending-creates"
            self.stack.refresh(clear_pending_creates=True, on_output=echo)
            self.stack.workspace.env_vars["PULUMI_K8S_ENABLE_PATCH_FORCE"] = "true"
        self.step = "up"
        self.stack.up(
            on_output=echo,
            policy_packs=[str(ROOT / "policies")],
            policy_pack_configs=[str(ROOT / "policies" / "config" / f"policy-config.{self.tier}.json")],
        )


def apply_move(move: Move, stack_name: str, tier: str, work_dir: Path, echo: Callable[[str], None]) -> None:
    """Write the move into the stack's config and run `pulumi up` with the policy pack. When the
    update fails, the stack file is put back as it was: the move is not recorded. A journal is
    kept while the move runs; when a killed move left one, this move recovers the stack first."""
    interrupted = journal.read(work_dir, stack_name)
    stack = _Stack(stack_name, tier, work_dir, recovering=interrupted is not None)  # refuses unsafe settings and a locked stack
    before = stack.file.read_bytes()
    if interrupted is None:
        journal.write(work_dir, stack_name, move.summary, move.changes)
    try:
        stack.write(move.changes)
        stack.up(echo, recovering=interrupted is not None)
    except BaseException as exc:
        if interrupted is not None:
            raise RolloutError(
                f"the stack {stack_name}: pulumi {stack.step} failed: {_last_error(exc)}. "
                f"The recovery did not complete: {interrupted.line()}, and it still is; run rollout status, then retry"
            ) from None
        stack.file.write_bytes(before)
        journal.clear(work_dir, stack_name)
        raise RolloutError(
            f"the stack {stack_name}: pulumi {stack.step} failed: {_last_error(exc)}; "
            f"the update did not complete, so the move ({move.summary}) is not recorded: {stack.file.name} is back as it was. "
            "The cluster may hold part of the move; run rollout status, then retry or run rollout abort."
        ) from None
    journal.clear(work_dir, stack_name)


def _last_error(exc: BaseException) -> str:
    """The line of an engine error that says what went wrong: the first error naming a resource
    (its URN), else the last error line. The engine has redacted secrets from all of it."""
    detail = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    errors = [line for line in detail if "error" in line.lower()]
    naming = [line for line in errors if "urn:pulumi:" in line]
    reason = naming[0] if naming else errors[-1] if errors else detail[-1] if detail else type(exc).__name__
    return reason[:400]


def record(changes: dict[str, str | None], stack_name: str, tier: str, work_dir: Path) -> None:
    """Write rollout bookkeeping (analysis counts) into the stack config, with no update."""
    from pulumi import automation as auto

    stack = _Stack(stack_name, tier, work_dir)
    try:
        stack.write(changes)
    except auto.CommandError as exc:
        raise RolloutError(f"the stack {stack_name}: pulumi {stack.step} failed: {_last_error(exc)}") from None
