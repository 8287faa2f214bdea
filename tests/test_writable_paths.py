"""Every path RD-Agent writes lies on a writable volume of its pod (the root file system is
read-only), for every RD-Agent container every stack renders (issue 27).

What rdagent 1.0.0 writes, read from its source (and seen in the sandbox of tests/test_app.py):
- its working directory: `selector.log` (rdagent/scenarios/data_science/proposal/exp_gen/select/submit.py,
  at import of the `rdagent` command), and the default trace folder `./log`;
- HOME: `~/.rdagent` (the artifact key when none is given), pip's and conda's caches;
- /tmp: Python's temporary files;
- the folders its settings name: WORKSPACE_PATH, LOG_TRACE_PATH, PICKLE_CACHE_FOLDER_PATH_STR, and
  the folder of the PROMPT_CACHE_PATH database.
"""

from __future__ import annotations

import copy
import posixpath

import pytest

from tests.conftest import STACKS
from tests.manifests import load_manifests
from tests.pod_sandbox import expand, image_of, pod_spec
from tests.test_rdagent_reads import rdagent_containers

FOLDER_SETTINGS = ("WORKSPACE_PATH", "LOG_TRACE_PATH", "PICKLE_CACHE_FOLDER_PATH_STR")
FILE_SETTINGS = ("PROMPT_CACHE_PATH",)
WRITABLE_SOURCES = ("emptyDir", "ephemeral", "persistentVolumeClaim")


def written_paths(container: dict) -> dict[str, str]:
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    env.setdefault("RDAGENT_POD_NAME", "a-pod")
    image = image_of(container["image"])
    paths = {"workingDir": container.get("workingDir") or image.workdir, "HOME": image.env.get("HOME", "/root"), "tmp": "/tmp"}
    for name in FOLDER_SETTINGS:
        if name in env:
            paths[name] = expand(env[name], env)
    for name in FILE_SETTINGS:
        if name in env:
            paths[name] = posixpath.dirname(expand(env[name], env))
    return paths


def unwritable(spec: dict, container: dict) -> list[str]:
    """The written paths of `container` that no writable volume of the pod holds."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    writable = [
        m["mountPath"] for m in container.get("volumeMounts", []) if not m.get("readOnly") and any(source in volumes[m["name"]] for source in WRITABLE_SOURCES)
    ]
    return [
        f"{what} {path}"
        for what, path in written_paths(container).items()
        if not any(path == mount or path.startswith(mount.rstrip("/") + "/") for mount in writable)
    ]


def containers_with_specs(out) -> list[tuple[str, dict, dict]]:
    """(where, pod spec, container) of every RD-Agent container in `out`."""
    manifests = {(m["kind"], m["metadata"]["name"]): m for m in load_manifests(out)}
    found = []
    for where, container, _ in rdagent_containers(out):
        kind, name = where.split()[:2]
        found.append((where, pod_spec(manifests[(kind, name)]), container))
    return found


@pytest.mark.parametrize("stack", STACKS)
def test_every_path_rdagent_writes_is_on_a_writable_volume(synthesized, stack):
    found = containers_with_specs(synthesized(stack))
    assert found, f"{stack}: no RD-Agent container"
    problems = [f"{where}: {path}" for where, spec, container in found for path in unwritable(spec, container)]
    assert problems == [], "RD-Agent writes here, on the read-only root:\n" + "\n".join(problems)


def test_the_check_catches_the_paths_that_were_wrong(synthesized):
    """The negative control: the two paths the sandbox found on the read-only root (the run's
    workspace beside its volume, the UI's working directory) are caught by the same check."""
    found = containers_with_specs(synthesized("test"))
    (run,) = [(spec, c) for where, spec, c in found if where.startswith("Job")]
    (ui,) = [(spec, c) for where, spec, c in found if where.startswith("Deployment")]
    spec, container = copy.deepcopy(run)
    for entry in container["env"]:
        if entry["name"] == "WORKSPACE_PATH":
            entry["value"] = "/workspace/RD-Agent_workspace"
    assert unwritable(spec, container) == ["WORKSPACE_PATH /workspace/RD-Agent_workspace"]
    spec, container = copy.deepcopy(ui)
    del container["workingDir"]
    assert unwritable(spec, container) == ["workingDir /app"]
    spec, container = copy.deepcopy(ui)
    for mount in container["volumeMounts"]:
        if mount["mountPath"] == "/tmp":
            mount["readOnly"] = True
    assert unwritable(spec, container) == ["tmp /tmp"]
