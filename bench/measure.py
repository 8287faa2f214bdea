"""Whole-process measurements: wall time, CPU time (user + system, the process and every child
it waited for) and peak RSS (the largest process of the tree), from wait4(2)'s rusage."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # seconds, user + system
    rss_mb: float  # peak resident set of the largest process in the tree


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 3600, ok: tuple[int, ...] = (0,)) -> Sample:
    """One whole process; any exit status outside `ok` is an error (a baseline that failed half way measures nothing)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            process.kill()
            raise RuntimeError(f"{command[0]}: no result after {timeout:.0f} s")
        time.sleep(0.005)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}:\n{stderr[-2000:]}")
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.wall for s in samples), statistics.median(s.cpu for s in samples), statistics.median(s.rss_mb for s in samples))


def repeated(count: int, command: list[str], **kwargs) -> Sample:
    return median([run(command, **kwargs) for _ in range(count)])


def interleaved(count: int, *commands: tuple[list[str], dict]) -> list[Sample]:
    """Each command `count` times, alternating, so load changes hit all of them alike; medians."""
    samples: list[list[Sample]] = [[] for _ in commands]
    for _ in range(count):
        for index, (command, kwargs) in enumerate(commands):
            samples[index].append(run(command, **kwargs))
    return [median(each) for each in samples]
