"""Verdicts and decisions of a rollout analysis, as a progressive-delivery controller makes them.

An analysis is one look at the new track's gates over the step's window:
- inconclusive: fewer than `minRequests` requests in the window, or a gate without data;
- fail: a gate outside its threshold (with enough requests);
- pass: every gate inside its threshold.

The decision after an analysis follows Argo Rollouts' and Flagger's limits:
- a failure aborts only at `failureLimit` consecutive failing analyses; until then it waits;
- inconclusive waits, and aborts once more than `inconclusiveLimit` inconclusive analyses were
  made after the step's duration ran out (before that, traffic is still arriving);
- a pass resets both counts, and advances once the step has run its duration.
Pure functions: the counts come in and go out; the command stores them in the stack config.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PASS = "pass"
FAIL = "fail"
INCONCLUSIVE = "inconclusive"


class Action(StrEnum):
    ADVANCE = "advance"
    WAIT = "wait"
    ABORT = "abort"


@dataclass(frozen=True)
class Measurement:
    """One gate's reading: `value` None means no data."""

    name: str
    value: float | None
    threshold: float
    above: bool  # the value must be above the threshold (else below it)
    unit: str

    @property
    def within(self) -> bool:
        if self.value is None:
            return False
        return self.value > self.threshold if self.above else self.value < self.threshold

    def describe(self) -> str:
        wanted = f"{'>' if self.above else '<'} {self.threshold:g}{self.unit}"
        shown = "no data" if self.value is None else f"{self.value:.4g}{self.unit}"
        return f"{self.name} {shown} (needs {wanted})"


@dataclass(frozen=True)
class Verdict:
    outcome: str  # PASS, FAIL or INCONCLUSIVE
    reasons: tuple[str, ...]
    requests: float | None

    def line(self) -> str:
        return f"{self.outcome}: {'; '.join(self.reasons)}"


def judge(measurements: list[Measurement], requests: float | None, min_requests: int) -> Verdict:
    """The verdict of one analysis over the window's request count and gate readings."""
    counted = "no requests" if requests is None else f"{requests:.0f} request(s)"
    if not measurements:
        return Verdict(PASS, (f"no gates at this step ({counted})",), requests)
    if requests is None or requests < min_requests:
        return Verdict(INCONCLUSIVE, (f"{counted} in the window, fewer than minRequests {min_requests}",), requests)
    missing = [m.describe() for m in measurements if m.value is None]
    if missing:
        return Verdict(INCONCLUSIVE, tuple(missing), requests)
    failed = [m.describe() for m in measurements if not m.within]
    if failed:
        return Verdict(FAIL, tuple(f"gate failed: {reason}" for reason in failed), requests)
    return Verdict(PASS, (f"{counted}", *(m.describe() for m in measurements)), requests)


@dataclass(frozen=True)
class Counts:
    """Consecutive failing analyses, and inconclusive ones after the step's duration."""

    failures: int = 0
    inconclusive: int = 0


@dataclass(frozen=True)
class Limits:
    failure_limit: int
    inconclusive_limit: int


@dataclass(frozen=True)
class Decision:
    action: Action
    counts: Counts
    reason: str


def decide(verdict: Verdict, counts: Counts, limits: Limits, step_done: bool) -> Decision:
    """What to do after an analysis, given the counts so far and whether the step has run its time."""
    if verdict.outcome == FAIL:
        failures = counts.failures + 1
        after = Counts(failures, counts.inconclusive)
        if failures >= limits.failure_limit:
            return Decision(Action.ABORT, after, f"{failures} consecutive failing analysis(es), failureLimit {limits.failure_limit}")
        return Decision(Action.WAIT, after, f"failing analysis {failures} of failureLimit {limits.failure_limit}: waiting for the next")
    if verdict.outcome == INCONCLUSIVE:
        if not step_done:
            return Decision(Action.WAIT, Counts(0, counts.inconclusive), "inconclusive while the step runs: waiting for traffic")
        inconclusive = counts.inconclusive + 1
        after = Counts(0, inconclusive)
        if inconclusive > limits.inconclusive_limit:
            return Decision(
                Action.ABORT, after, f"{inconclusive} inconclusive analyses after the step's duration, inconclusiveLimit {limits.inconclusive_limit}"
            )
        return Decision(Action.WAIT, after, f"inconclusive analysis {inconclusive} of inconclusiveLimit {limits.inconclusive_limit}: waiting")
    if not step_done:
        return Decision(Action.WAIT, Counts(), "the gates pass so far; the step has not run its duration")
    return Decision(Action.ADVANCE, Counts(), "the gates pass and the step has run its duration")
