"""The journal of a rollout move: written before a move touches the stack file, removed once its
`pulumi up` succeeded. A journal that is still there means the move was interrupted (the command
was killed, the machine went away): the stack file may hold the move while the cluster holds only
part of it. `rollout status` reports it; the next move (`rollout run` finishes it, `rollout abort`
goes back) recovers the stack first (real-cluster findings 5 and 6).

It lives beside the stack file, `.rdagent-rollout-<stack>.json`, never in the stack's config.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Interrupted:
    summary: str
    changes: dict[str, str | None]
    started: str
    pid: int
    host: str

    def line(self) -> str:
        return f"the move '{self.summary}' (started {self.started} by pid {self.pid} on {self.host}) was interrupted before its update finished"


def path(work_dir: Path, stack_name: str) -> Path:
    return work_dir / f".rdagent-rollout-{stack_name}.json"


def write(work_dir: Path, stack_name: str, summary: str, changes: dict[str, str | None]) -> None:
    record = {
        "summary": summary,
        "changes": changes,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "pid": os.getpid(),
        "host": socket.gethostname(),
    }
    target = path(work_dir, stack_name)
    partial = target.with_suffix(".tmp")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(target)  # never half a journal


def read(work_dir: Path, stack_name: str) -> Interrupted | None:
    """The interrupted move, if any; a journal whose command still runs on this host is not one."""
    try:
        record = json.loads(path(work_dir, stack_name).read_text())
        found = Interrupted(str(record["summary"]), dict(record["changes"]), str(record["started"]), int(record["pid"]), str(record["host"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Interrupted("(unreadable journal)", {}, "?", 0, "?")
    return None if found.host == socket.gethostname() and found.pid != os.getpid() and process_alive(found.pid) else found


def clear(work_dir: Path, stack_name: str) -> None:
    path(work_dir, stack_name).unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    """Whether `pid` still runs. A zombie does not: a killed engine whose parent was killed too is
    handed to PID 1, and where PID 1 does not reap orphans (a container without an init, as on
    many CI runners) it stays a zombie for ever, yet `kill(pid, 0)` still succeeds on it."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return process_state(pid) not in ("Z", "X", None)


def process_state(pid: int) -> str | None:
    """The state letter of /proc/<pid>/stat (R, S, D, Z, ...), "?" where /proc is not Linux's, None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else "?"
    except OSError:
        return "?"
    # The command name is in parentheses and may itself hold spaces or parentheses.
    return stat[stat.rfind(")") + 2 :].split(" ", 1)[0] or "?"


def stale_lock(lock: Path) -> bool:
    """A file backend's lock (pkg/backend/diy writes pid, username, hostname, timestamp) whose
    update ran on this host and no longer runs."""
    try:
        record = json.loads(lock.read_text())
        return record["hostname"] == socket.gethostname() and not process_alive(int(record["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return False


def remove_cut_sidecars(state: Path, project: str, stack_name: str) -> None:
    """A kill can leave the file backend's metadata sidecar of the stack's state (gocloud
    fileblob's `<stack>.json.attrs`, written in place) empty, and the engine then fails with
    "failed to load checkpoint: EOF"; the state file itself is written to a temporary file and
    renamed, so it is whole. An empty sidecar holds nothing: it is removed."""
    for sidecar in (state / ".pulumi" / "stacks" / project).glob(f"{stack_name}.json*.attrs"):
        if sidecar.stat().st_size == 0:
            sidecar.unlink()
