"""A copy of the project with its own file backend, driven through the real engine (scripts/pulumi)
and our own commands, its kubeconfig pointing at the control plane of tests/cluster.py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import yaml

from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.rollouts import file_backend_locks
from rdagent_infra.stack_source import load_from_files
from tests.cluster import BIN, ControlPlane
from tests.conftest import ROOT

PULUMI = ROOT / "scripts" / "pulumi"
RDAGENT_INFRA = ROOT / ".venv" / "bin" / "rdagent-infra"
# `pulumi up` as the tests run it: no preview, the test tier's policy pack.
UP = ("up", "--yes", "--skip-preview", "--policy-pack", str(ROOT / "policies"), "--policy-pack-config", str(ROOT / "policies/config/policy-config.test.json"))


class Project:
    """A copy of the project with its own file backend, its kubeconfig pointing at the test cluster."""

    def __init__(self, folder: Path, plane: ControlPlane, stack: str):
        self.stack = stack
        self.dir = folder / "project"
        self.dir.mkdir()
        for name in ("Pulumi.yaml", "__main__.py", f"Pulumi.{self.stack}.yaml"):
            shutil.copy(ROOT / name, self.dir / name)
        (self.dir / ".venv").symlink_to(ROOT / ".venv")
        self.state = folder / "state"
        self.state.mkdir()
        self.logs = folder / "logs"
        self.logs.mkdir()
        # The Kubernetes provider writes the kubeconfig it is given to a temporary file it never
        # removes: kept in the test's folder, not left in /tmp by every update.
        (folder / "tmp").mkdir()
        self.runs = 0
        self.plane = plane
        self.env = {
            **plane.env(),
            "PULUMI_BACKEND_URL": f"file://{self.state}",
            "PULUMI_CONFIG_PASSPHRASE": "rdagent-local",
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
            "TMPDIR": str(folder / "tmp"),
        }

    def run(self, command: list[str], check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        """Runs a command in the project; its output also goes to logs/<n>-<verb>.log, so that a
        command that runs out of time (killed with its process group) shows where it was."""
        self.runs += 1
        log = self.logs / f"{self.runs:03d}-{'-'.join(Path(c).name for c in command[:2])}.log"
        with log.open("w+") as out, (log.with_suffix(".err")).open("w+") as err:
            process = subprocess.Popen(command, cwd=self.dir, env=self.env, stdout=out, stderr=err, text=True, start_new_session=True)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill(process)
                raise AssertionError(
                    f"{' '.join(command[:3])} ran out of its {timeout:g} s:\n{log.read_text()[-6000:]}\n{log.with_suffix('.err').read_text()[-3000:]}\n"
                    f"{self.terminating()}"
                ) from None
            out.seek(0)
            err.seek(0)
            result = subprocess.CompletedProcess(command, process.returncode, out.read(), err.read())
        if check:
            assert result.returncode == 0, f"{' '.join(command[:3])} failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-4000:]}"
        return result

    def terminating(self) -> str:
        """What in the project's namespace is being deleted and what holds it (finalizers, owners,
        grace period, phase): said when a command runs past its time. Added for the 600 s
        deletions seen under a loaded `make test` (their cause: docs/cluster-tests.md, finding 15)."""
        namespace = getattr(self, "namespace", None)
        if namespace is None:
            return ""
        lines = []
        try:
            api = self.plane.api.fresh()
            for plural in ("pods", "persistentvolumeclaims"):
                for item in api.get(f"/api/v1/namespaces/{namespace}/{plural}").get("items", []):
                    meta = item["metadata"]
                    if meta.get("deletionTimestamp"):
                        owners = [(o["kind"], o["name"], o.get("blockOwnerDeletion")) for o in meta.get("ownerReferences", [])]
                        lines.append(
                            f"{plural}/{meta['name']}: finalizers {meta.get('finalizers')}, owners {owners}, "
                            f"grace {meta.get('deletionGracePeriodSeconds')}, phase {item.get('status', {}).get('phase')}"
                        )
        except Exception as error:  # a diagnosis must not hide the failure it explains
            lines.append(f"(could not list: {error})")
        return f"terminating in {namespace}:\n" + "\n".join(lines or ["(nothing)"])

    def start(self, *args: str) -> subprocess.Popen:
        """`pulumi ARGS` started, not awaited (its own process group); its output goes to
        logs/<n>-started.log (`finish` reads it)."""
        self.runs += 1
        log = self.logs / f"{self.runs:03d}-started.log"
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(PULUMI), *args, "--stack", self.stack, "--non-interactive"],
                cwd=self.dir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        process.log = log
        return process

    def kill_engine(self, process: subprocess.Popen) -> None:
        """SIGKILL the engine's process group, then the plugins it started (each plugin runs in a
        process group of its own and would outlive the engine for minutes): a runner that died."""
        with contextlib.suppress(ProcessLookupError):  # it had ended
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        marker = f"PULUMI_BACKEND_URL={self.env['PULUMI_BACKEND_URL']}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ProcessLookupError):
                continue

    def kill(self, process: subprocess.Popen) -> None:
        """Kills a command that ran out of its time, with its process group, and cancels the update it
        can no longer end (`pulumi cancel` removes its lock): the next command then fails (or not) on
        its own account, not with "the stack is currently locked" (one stuck update had failed the
        next test that way)."""
        self.kill_engine(process)
        if file_backend_locks(self.env["PULUMI_BACKEND_URL"], "rdagent-infra", self.stack):
            self.pulumi("cancel", "--yes", check=False)

    def finish(self, process: subprocess.Popen, timeout: float = 600) -> None:
        """Waits for a started command; fails with its output's end unless it succeeded."""
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(process)
        said = process.log.read_text()
        assert process.returncode == 0, f"pulumi failed ({process.returncode}):\n{said[-6000:]}"

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run([str(PULUMI), *args, "--stack", self.stack, "--non-interactive"], check=check)

    def up(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.pulumi(*UP, *extra, check=check)

    def rollout(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run([str(RDAGENT_INFRA), "rollout", *args, "--stack", self.stack], check=check)

    def edit_config(self, edit) -> None:
        path = self.dir / f"Pulumi.{self.stack}.yaml"
        document = yaml.safe_load(path.read_text())
        edit(document["config"])
        path.write_text(yaml.safe_dump(document, sort_keys=False))

    def plan(self):
        config, _ = load_from_files(self.dir, self.stack)
        return config, plan_rollout(config.rollout, config.workloads.ui.replicas)

    def kubernetes_resources(self) -> list[dict]:
        state = json.loads(self.pulumi("stack", "export").stdout)
        return [r for r in state["deployment"].get("resources", []) if r["type"].startswith("kubernetes:") and r["type"] != "pulumi:providers:kubernetes"]


def api_path(kind_group: str, version: str, namespace: str | None, name: str | None = None, plural: str | None = None) -> str:
    base = "/api/v1" if kind_group == "" else f"/apis/{kind_group}/{version}"
    return base + (f"/namespaces/{namespace}" if namespace else "") + (f"/{plural}" if plural else "") + (f"/{name}" if name else "")
