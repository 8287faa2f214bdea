"""One rendered container run as a process of the real `rdagent` package, under bubblewrap, the way
the kubelet would start it (issue 27's pod sandbox).

From the synth output: the pod spec of a Deployment, Job or CronJob; the container's `command` and
`args` (the image's ENTRYPOINT and CMD where the container has none, read from the image's
Dockerfile in images/); `env` and `envFrom`, with `secretKeyRef` and `configMapKeyRef` resolved from
the rendered Secrets and ConfigMaps and `fieldRef` like the kubelet, `$(VAR)` expanded like the
kubelet; `workingDir`; `runAsUser`/`runAsGroup`; every `volumeMount` at its `mountPath` (an emptyDir a
fresh folder of the pod's own, a claim a folder shared by every sandboxed pod that mounts it,
`readOnly` kept); the root file system read-only; a network namespace of loopback only (the test's
`PodNetwork`, which the LLM stand-in shares).

What differs from a real pod, and why:
- the image's files are this machine's, plus the `rdagent` virtualenv of `make rdagent-venv` at
  /opt/venv (first on PATH; also at its own path, which its scripts name as their interpreter) and
  the files the Dockerfile copies from images/: the images cannot be built here (no Docker daemon),
  so a tool an image installs and this machine lacks (a conda environment) is missing;
- secret values the synth output redacts (`[secret]`) are supplied by the test;
- no cgroup limits (resources are not enforced), no probes run by a kubelet (the test asks);
- every rendered Service's DNS name resolves to loopback (its /etc/hosts), where the test starts
  what serves it (the LLM gateway's pod, Debian's redis-server for Redis).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import budget

ROOT = Path(__file__).resolve().parent.parent
RDAGENT_VENV = ROOT / ".tools" / "rdagent"
# The image variants whose /opt/venv is another virtualenv than rdagent's: the LLM gateway's LiteLLM
# proxy (`make litellm-venv`, requirements-litellm.txt).
VENVS = {"llm-gateway": ROOT / ".tools" / "litellm"}
IMAGES = ROOT / "images"
VENV_IN_IMAGE = "/opt/venv"
# What a root file system has that the sandbox takes from this machine, read-only.
HOST_DIRS = ("usr", "etc", "var")
HOST_LINKS = ("bin", "lib", "lib64", "sbin")
REDACTED = "[secret]"


class SandboxError(RuntimeError):
    pass


def bwrap() -> str:
    found = shutil.which("bwrap")
    if not found:
        raise SandboxError("bubblewrap is not installed: make test installs Debian's bubblewrap package (apt-get install bubblewrap)")
    return found


# --- the image, from its Dockerfile -------------------------------------------------------------


@dataclass
class Image:
    variant: str
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    workdir: str = "/"
    user: tuple[int, int] = (0, 0)
    copies: dict[str, Path] = field(default_factory=dict)  # path in the image -> file in images/


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _exec_form(value: str) -> list[str]:
    return yaml.safe_load(value) if value.startswith("[") else ["/bin/sh", "-c", value]


def image_of(reference: str) -> Image:
    """The image facts of a reference such as `registry/rdagent/production:1.4.0` (the variant is the
    repository's last part), read from the last stage of images/<variant>.Dockerfile."""
    variant = reference.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    dockerfile = IMAGES / f"{variant}.Dockerfile"
    if not dockerfile.exists():
        raise SandboxError(f"no images/{variant}.Dockerfile for the image {reference}")
    stages = re.split(r"(?m)^FROM ", dockerfile.read_text())
    image = Image(variant)
    for word, rest in _instructions("FROM " + stages[-1]):
        if word == "ENV":
            for name, value in re.findall(r'(\w+)=("[^"]*"|\S+)', rest):
                value = value.strip('"').replace("$PATH", image.env.get("PATH", "/usr/local/bin:/usr/bin:/bin"))
                image.env[name] = value
        elif word == "ENTRYPOINT":
            image.entrypoint, image.cmd = _exec_form(rest), []  # a new ENTRYPOINT resets CMD
        elif word == "CMD":
            image.cmd = _exec_form(rest)
        elif word == "WORKDIR":
            image.workdir = rest
        elif word == "USER":
            uid, _, gid = rest.partition(":")
            image.user = (int(uid), int(gid or uid))
        elif word == "COPY" and "--from=" not in rest:
            *sources, target = rest.split()
            for source in sources:
                image.copies[target if not target.endswith("/") else target + source] = IMAGES / source
    return image


# --- the rendered objects ------------------------------------------------------------------------


def load_objects(folder: Path) -> list[dict]:
    return [doc for path in sorted(folder.glob("*.yaml")) for doc in yaml.safe_load_all(path.read_text()) if doc]


def pod_spec(obj: dict) -> dict:
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def _find(objects: list[dict], kind: str, name: str) -> dict:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"] == name:
            return obj
    raise SandboxError(f"the rendered objects have no {kind} {name}")


def _secret_value(objects: list[dict], name: str, key: str, supplied: dict[tuple[str, str], str]) -> str:
    secret = _find(objects, "Secret", name)
    if key in (secret.get("stringData") or {}):
        value = secret["stringData"][key]
    elif key in (secret.get("data") or {}):
        value = base64.b64decode(secret["data"][key]).decode()
    else:
        raise SandboxError(f"the Secret {name} has no key {key}")
    if value == REDACTED:
        if (name, key) not in supplied:
            raise SandboxError(f"the Secret {name}'s key {key} is redacted in the synth output: the test must supply it")
        return supplied[(name, key)]
    return value


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\$")


def expand(value: str, known: dict[str, str]) -> str:
    """The kubelet's $(VAR) expansion: defined variables are replaced, $$ escapes, others stay."""
    return _VAR.sub(lambda m: "$" if m.group(0) == "$$" else known.get(m.group(1), m.group(0)), value)


def container_env(objects, container: dict, image: Image, pod_name: str, namespace: str, supplied) -> dict[str, str]:
    env = dict(image.env)
    env["PATH"] = f"{VENV_IN_IMAGE}/bin:" + env.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("HOME", "/root")
    env["HOSTNAME"] = pod_name
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        if "configMapRef" in source:
            env.update({prefix + k: v for k, v in (_find(objects, "ConfigMap", source["configMapRef"]["name"]).get("data") or {}).items()})
        if "secretRef" in source:
            secret = _find(objects, "Secret", source["secretRef"]["name"])
            for key in {*(secret.get("stringData") or {}), *(secret.get("data") or {})}:
                env[prefix + key] = _secret_value(objects, secret["metadata"]["name"], key, supplied)
    fields = {"metadata.name": pod_name, "metadata.namespace": namespace, "status.podIP": "127.0.0.1", "spec.nodeName": "sandbox"}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
            continue
        source = item["valueFrom"]
        if "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            env[item["name"]] = _secret_value(objects, ref["name"], ref["key"], supplied)
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[item["name"]] = _find(objects, "ConfigMap", ref["name"])["data"][ref["key"]]
        elif "fieldRef" in source:
            env[item["name"]] = fields[source["fieldRef"]["fieldPath"]]
        else:
            raise SandboxError(f"env {item['name']}: {sorted(source)} is not supported by the sandbox")
    return env


def argv(container: dict, image: Image, env: dict[str, str]) -> list[str]:
    """Kubernetes' rule: `command` replaces ENTRYPOINT (and drops CMD), `args` replaces CMD."""
    if container.get("command"):
        words = [*container["command"], *(container.get("args") or [])]
    else:
        words = [*image.entrypoint, *(container["args"] if container.get("args") is not None else image.cmd)]
    if not words:
        raise SandboxError("the container has no command and its image no ENTRYPOINT or CMD")
    return [expand(word, env) for word in words]


# --- the network and the sandbox -------------------------------------------------------------------


class PodNetwork:
    """A network namespace with loopback only, shared by the sandboxed pods of one test and the
    processes they talk to (the LLM stand-in); nothing in it reaches this machine's network."""

    def __init__(self):
        self.name = f"rdagent-app-{secrets.token_hex(4)}"
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        subprocess.run(["ip", "-n", self.name, "link", "set", "lo", "up"], check=True, capture_output=True)

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    def run(self, command: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix(), *command], **kwargs)

    def close(self) -> None:
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)


@dataclass
class Pod:
    """A sandboxed container that runs (or ran): its process, its output, its volumes on the host."""

    name: str
    process: subprocess.Popen
    volumes: dict[str, Path]
    log: Path
    argv: list[str]
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        timeout = budget(timeout)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"the pod {self.name} ran past its {timeout:g} s:\n{self.output()[-6000:]}") from None

    def pid_1(self) -> int:
        """The container's PID 1 as this machine numbers it: bubblewrap's child."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        if len(children) != 1:
            raise SandboxError(f"bubblewrap ({self.process.pid}) has children {children}, not one container process")
        return int(children[0])

    def terminate(self) -> None:
        """What the kubelet does on delete: SIGTERM to the container's PID 1 (from outside its PID
        namespace: the kernel delivers it only if PID 1 handles SIGTERM, as in a container)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid_1(), signal.SIGTERM)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class Sandbox:
    """Runs rendered containers under bubblewrap. `claims` is the folder that holds one folder per
    PersistentVolumeClaim (shared by every pod here); each pod's emptyDirs are its own."""

    def __init__(self, objects: list[dict], work: Path, network: PodNetwork, supplied: dict[tuple[str, str], str] | None = None):
        if not (RDAGENT_VENV / "bin" / "rdagent").exists():
            raise SandboxError("the rdagent virtualenv is missing: run make rdagent-venv")
        self.objects = objects
        self.work = work
        self.claims = work / "claims"
        self.claims.mkdir(parents=True, exist_ok=True)
        self.network = network
        self.supplied = supplied or {}

    def claim(self, name: str) -> Path:
        folder = self.claims / name
        folder.mkdir(exist_ok=True)
        return folder

    def start(self, obj: dict, container_name: str, pod_name: str, command: list[str] | None = None) -> Pod:
        """Starts the container as its pod spec says; `command` replaces its command and arguments
        (as `kubectl debug --copy-to` would), for probes run with the container's own spec."""
        spec = pod_spec(obj)
        container = next(c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["name"] == container_name)
        if command is not None:
            container = {**container, "command": command, "args": []}
        image = image_of(container["image"])
        namespace = obj["metadata"].get("namespace", "default")
        env = container_env(self.objects, container, image, pod_name, namespace, self.supplied)
        words = argv(container, image, env)
        pod_dir = self.work / "pods" / pod_name
        pod_dir.mkdir(parents=True)
        security = {**(spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
        uid = security.get("runAsUser", image.user[0])
        gid = security.get("runAsGroup", image.user[1])

        # --as-pid-1: the container's first process is PID 1 of its PID namespace, as in a pod: it gets
        # the kubelet's SIGTERM and, like any PID 1, ignores it unless it handles it.
        command = [bwrap(), "--die-with-parent", "--unshare-pid", "--as-pid-1", "--unshare-ipc", "--unshare-uts", "--unshare-user"]
        command += ["--uid", str(uid), "--gid", str(gid), "--hostname", pod_name]
        command += ["--tmpfs", "/"]  # the new root: read-only once everything is mounted (--remount-ro below)
        for folder in HOST_DIRS:
            if Path("/" + folder).is_dir():
                command += ["--ro-bind", "/" + folder, "/" + folder]
        for link in HOST_LINKS:
            path = Path("/" + link)
            if path.is_symlink():
                command += ["--symlink", os.readlink(path), "/" + link]
            elif path.is_dir():
                command += ["--ro-bind", "/" + link, "/" + link]
        command += ["--dev", "/dev", "--proc", "/proc"]
        # The cluster's DNS names of the rendered Services, each on loopback (the kubelet writes a
        # pod's /etc/hosts too); a Service's port is its pods' port in every stack we render.
        hosts = pod_dir / "hosts"
        hosts.write_text(self.hosts())
        command += ["--ro-bind", str(hosts), "/etc/hosts"]
        venv = VENVS.get(image.variant, RDAGENT_VENV)
        if not (venv / "bin" / "python").exists():
            raise SandboxError(f"the virtualenv of the {image.variant} image is missing: run make test's install steps (make litellm-venv)")
        command += ["--ro-bind", str(venv), VENV_IN_IMAGE]
        for target, source in image.copies.items():
            command += ["--ro-bind", str(source), target]
        if Path("/root/.pyenv").exists():  # the virtualenv's interpreter lives there on this kind of machine
            command += ["--ro-bind", "/root/.pyenv", "/root/.pyenv"]

        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        mounted: dict[str, Path] = {}
        for mount in sorted(container.get("volumeMounts") or [], key=lambda m: m["mountPath"].count("/")):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume or "ephemeral" in volume:
                source = pod_dir / "volumes" / mount["name"]
            elif "persistentVolumeClaim" in volume:
                source = self.claim(volume["persistentVolumeClaim"]["claimName"])
            elif "configMap" in volume or "secret" in volume:
                source = self._files(pod_dir / "volumes" / mount["name"], volume)
            else:
                raise SandboxError(f"volume {mount['name']}: {sorted(set(volume) - {'name'})} is not supported by the sandbox")
            if mount.get("subPath"):
                source = source / mount["subPath"]
            source.mkdir(parents=True, exist_ok=True)
            mounted[mount["mountPath"]] = source
            command += ["--ro-bind" if mount.get("readOnly") else "--bind", str(source), mount["mountPath"]]
        # The virtualenv's scripts name their interpreter by its path on this machine: it is there too,
        # after the volumes, so that a pod's own /tmp does not hide a checkout under /tmp.
        command += ["--ro-bind", str(venv), str(venv)]
        workdir = container.get("workingDir") or image.workdir
        command += ["--dir", workdir] if not any(workdir == p or workdir.startswith(p + "/") for p in mounted) else []
        command += ["--remount-ro", "/", "--chdir", workdir, "--clearenv"]
        for name, value in env.items():
            command += ["--setenv", name, value]
        command += ["--", *words]

        log = pod_dir / "output.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*self.network.prefix(), *command], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        (pod_dir / "command.txt").write_text(shlex.join(command))
        return Pod(pod_name, process, mounted, log, words, env)

    def hosts(self) -> str:
        lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
        for obj in self.objects:
            if obj["kind"] == "Service":
                name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace", "default")
                lines.append(f"127.0.0.1 {name}.{namespace}.svc.cluster.local {name}.{namespace}.svc {name}.{namespace} {name}")
        return "\n".join(lines) + "\n"

    def _files(self, folder: Path, volume: dict) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            data = _find(self.objects, "ConfigMap", volume["configMap"]["name"]).get("data") or {}
        else:
            name = volume["secret"]["secretName"]
            secret = _find(self.objects, "Secret", name)
            data = {key: _secret_value(self.objects, name, key, self.supplied) for key in {*(secret.get("stringData") or {}), *(secret.get("data") or {})}}
        for key, value in data.items():
            (folder / key).write_text(value)
        return folder


def terminate(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; waits for the process either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(check, timeout: float, what: str, interval: float = 0.5):
    """Polls check() until it is truthy, for `timeout` seconds scaled by RDAGENT_TEST_TIME_SCALE."""
    timeout = budget(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout:g} s")


STANDIN_PORT = 18080  # in the test's own network namespace: always free


class LlmStandIn:
    """tests/llm_standin.py started in a pod network: `base` is the OpenAI API base the pods are
    pointed at, `requests()` what they sent."""

    def __init__(self, network: PodNetwork, folder: Path, port: int):
        folder.mkdir(parents=True, exist_ok=True)
        self.record = folder / "requests.jsonl"
        self.record.touch()
        port_file = folder / "port"
        port_file.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [
                *network.prefix(),
                str(ROOT / ".venv" / "bin" / "python"),
                str(ROOT / "tests" / "llm_standin.py"),
                "--record",
                str(self.record),
                "--port-file",
                str(port_file),
                "--port",
                str(port),
            ],
            stdout=(folder / "standin.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: port_file.exists() and port_file.read_text(), 20, "the LLM stand-in listening", interval=0.05)
        self.base = f"http://127.0.0.1:{port}/v1"

    def requests(self) -> list[dict]:
        import json

        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


REDIS_PORT = 6379  # the rendered Redis Service's port, in the test's own network namespace


class RedisServer:
    """Debian's redis-server in a pod network, on the Redis Service's port, with the stack's password:
    what the rendered `redis` Service reaches in the cluster."""

    def __init__(self, network: PodNetwork, folder: Path, password: str):
        folder.mkdir(parents=True, exist_ok=True)
        server = shutil.which("redis-server")
        if not server:
            raise SandboxError("redis-server is not installed: make test installs Debian's redis-server package")
        self.network, self.password = network, password
        self.process = subprocess.Popen(
            [*network.prefix(), server, "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--requirepass", password]
            + ["--save", "", "--appendonly", "no", "--dir", str(folder)],
            stdout=(folder / "redis.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(lambda: self.command("PING") == ["PONG"], 20, "redis-server answering PING", interval=0.1)

    def command(self, *words: str) -> list[str]:
        """A redis-cli command's output lines (empty if it failed)."""
        result = self.network.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(REDIS_PORT), "--no-auth-warning", "-a", self.password, *words],
            capture_output=True,
            text=True,
            timeout=20,
        )
        return result.stdout.split() if result.returncode == 0 else []

    def scan(self) -> list[str]:
        return sorted(self.command("--scan"))

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def http_status(network: PodNetwork, url: str, timeout: float = 5) -> int:
    """The status of a GET from inside the pod network (0 if nothing answered)."""
    probe = (
        "import sys, urllib.request, urllib.error\n"
        "try:\n    print(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).status)\n"
        "except urllib.error.HTTPError as e:\n    print(e.code)\nexcept Exception:\n    print(0)\n"
    )
    result = network.run([str(ROOT / ".venv" / "bin" / "python"), "-c", probe, url, str(timeout)], capture_output=True, text=True, timeout=timeout + 20)
    return int(result.stdout.strip() or 0)


def start_ready(sandbox: Sandbox, obj: dict, container_name: str, pod_name: str, timeout: float = 120) -> Pod:
    """A Deployment's container started as rendered, once its readiness probe (an httpGet on a named or
    numbered port) answers 200, as the kubelet would mark it ready."""
    container = next(c for c in pod_spec(obj)["containers"] if c["name"] == container_name)
    probe = container["readinessProbe"]["httpGet"]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    port = ports.get(probe["port"], probe["port"])
    pod = sandbox.start(obj, container_name, pod_name)

    def ready() -> bool:
        if pod.process.poll() is not None:
            raise AssertionError(f"{pod_name} exited with {pod.process.returncode} before it was ready:\n{pod.output()[-4000:]}")
        return http_status(sandbox.network, f"http://127.0.0.1:{port}{probe['path']}") == 200

    try:
        wait_until(ready, timeout, f"{pod_name}'s readiness probe", interval=0.5)
    except AssertionError:
        pod.kill()
        raise
    return pod


GATEWAY = "rdagent-llm-gateway"


@contextlib.contextmanager
def running_gateway(sandbox: Sandbox, supplied: dict[tuple[str, str], str], folder: Path, pod_name: str = f"{GATEWAY}-6f9d8-k2x7q"):
    """The stack's LLM gateway as rendered (its Deployment's LiteLLM container, its config file from
    its ConfigMap, its keys from its Secrets), ready, with the stack's Redis behind it; yields the
    gateway's pod and the Redis server."""
    redis = RedisServer(sandbox.network, folder / "redis", supplied[("redis-auth", "password")])
    try:
        deployment = _find(sandbox.objects, "Deployment", GATEWAY)
        pod = start_ready(sandbox, deployment, "litellm", pod_name)
        try:
            yield pod, redis
        finally:
            pod.kill()
    finally:
        redis.close()
