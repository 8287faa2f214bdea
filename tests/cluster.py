"""A real Kubernetes control plane for the `cluster` tests, on loopback, in a folder of its own.

etcd, kube-apiserver (admission with PodSecurity on), kube-controller-manager, kube-scheduler and
kwok, all built by scripts/controlplane-toolchain.sh. kwok stands in for the kubelets: it marks the
Node objects created here Ready and takes the pods scheduled to them through its stages (Running,
Ready). Nodes look like our node pools: CPU nodes, and GPU nodes with the GPU pool's labels, taint
and `nvidia.com/gpu` capacity. kwok's volume stages provision a bound PersistentVolume for every
claim of the `kwok-volume` StorageClass, which is the cluster's default class here.

Pods of batch runs (label `rdagent.io/run`) never complete here unless they carry the annotation
`test.rdagent.io/complete: "true"`: a run takes hours, and kwok's own stage would finish it in a
second, hiding anything that waits for it (see docs/cluster-tests.md). Other Jobs' pods (set-up
steps such as the certificates Job, which take seconds for real) complete as kwok's stage says.

A pod being deleted first has its containers stopped (`pod-stop`, written here), then is deleted
with grace 0, as a kubelet does. kwok's own `pod-delete` deletes at once with the containers still
running, and Kubernetes' PVC protection then never frees the pod's ephemeral claim when it has
already looked at the claim (it is told of a pod again only once its containers have stopped): a
Deployment deleted in the foreground waits on that claim forever. Under load that happened, with
kwok a few seconds late (see `test_a_pod_deleted_in_the_foreground_frees_its_ephemeral_claim`).

Every port is picked free (bind port 0), every wait is bounded, and stop() kills each process
group, so that several runs on one machine never meet.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import ipaddress
import os
import secrets
import signal
import ssl
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from components.gpu_node_pool import GPU_POOL_LABEL
from rdagent_infra import defaults as seed
from tests.conftest import budget

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "controlplane"
BIN = TOOLS / "bin"
STAGES = TOOLS / "stages"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
BUILD_HINT = "run scripts/controlplane-toolchain.sh (or make cluster-tools) to build it from the Go module proxy"
CONTEXT = "rdagent-e2e"
STORAGE_CLASS = "kwok-volume"
COMPLETE_ANNOTATION = "test.rdagent.io/complete"
RUN_LABEL = "rdagent.io/run"
# Bounds for every wait: the machine is shared and loaded, so generous, but never unbounded.
START_TIMEOUT = float(os.environ.get("RDAGENT_CLUSTER_START_TIMEOUT", "180"))
STAGE_FILES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
    "volume/fast/pvc-provision.yaml",
    "volume/fast/pv-bind.yaml",
    "volume/fast/pv-delete.yaml",
    "volume/fast/pvc-delete.yaml",
)
CPU_NODES = ("cpu-0", "cpu-1", "cpu-2")
GPU_NODES = ("gpu-0",)
GPU_LABELS = {**GPU_POOL_LABEL, "nvidia.com/gpu.present": "true"}
GPU_TAINT = {"key": seed.GPU_TAINT_KEY, "value": seed.GPU_TAINT_VALUE, "effect": seed.GPU_TAINT_EFFECT}
GPUS_PER_NODE = 4


class ClusterError(RuntimeError):
    pass


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if not os.access(BIN / name, os.X_OK)] + ([] if STAGES.is_dir() else ["kwok stages"])


def wait_for(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Polls check() until it returns something truthy; fails after `timeout` seconds (scaled by
    RDAGENT_TEST_TIME_SCALE, tests/conftest.py) naming `what`."""
    timeout = budget(timeout)
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, ClusterError) as error:
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise ClusterError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


# --- certificates --------------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _certificate(
    subject: str, key, issuer_key, issuer: x509.Name | None, ca: bool, sans: list | None = None, days: int = 1, server_auth: bool = False
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if server_auth:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def stop_group(process: subprocess.Popen | None, grace: float = 15) -> None:
    """Stops a controller started in its own session (start_new_session): SIGTERM to its process
    group, SIGKILL after `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def write_certificates(folder: Path) -> None:
    """ca.crt, apiserver.crt/.key (IP SAN 127.0.0.1), sa.key/sa.pub (service-account tokens)."""
    ca_key = _key()
    ca = _certificate("rdagent-e2e-ca", ca_key, ca_key, None, ca=True)
    server_key = _key()
    sans = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("10.96.0.1")),
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes.default.svc"),
    ]
    server = _certificate("kube-apiserver", server_key, ca_key, ca.subject, ca=False, sans=sans)
    sa_key = _key()
    (folder / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "apiserver.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "apiserver.key").write_bytes(_pem_key(server_key))
    (folder / "sa.key").write_bytes(_pem_key(sa_key))
    (folder / "sa.pub").write_bytes(sa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))


# --- the API -------------------------------------------------------------------------------------


class Api:
    """A thin client of the API server's REST interface (admin token, the cluster's CA)."""

    def __init__(self, url: str, token: str, ca: Path):
        self.url = url
        # trust_env=False: REQUESTS_CA_BUNDLE/SSL_CERT_FILE and proxies of the machine must not apply.
        self.http = httpx.Client(
            base_url=url, verify=ssl.create_default_context(cafile=str(ca)), headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=30
        )
        self._token, self._ca = token, ca

    def fresh(self) -> Api:
        """Another client (httpx clients are not shared between threads)."""
        return Api(self.url, self._token, self._ca)

    def request(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202), **kwargs) -> dict:
        response = self.http.request(method, path, json=body, **kwargs)
        if response.status_code not in ok:
            try:
                detail = response.json().get("message", response.text)
            except ValueError:
                detail = response.text
            raise ClusterError(f"{method} {path}: {response.status_code} {detail[:1200]}")
        return response.json() if response.content else {}

    def get(self, path: str, **params) -> dict:
        return self.request("GET", path, params=params or None)

    def exists(self, path: str) -> bool:
        return self.http.get(path).status_code == 200

    def items(self, path: str, **params) -> list[dict]:
        return self.get(path, **params)["items"]

    def create(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body)

    def apply(self, path: str, body: dict) -> dict:
        """Creates the object, or leaves it as it is when it exists (409)."""
        return self.request("POST", path, body, ok=(200, 201, 202, 409))

    def delete(self, path: str) -> dict:
        return self.request("DELETE", path, ok=(200, 202, 404))

    def close(self) -> None:
        self.http.close()


def is_ready(obj: dict) -> bool:
    conditions = obj.get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


# --- processes -----------------------------------------------------------------------------------


class Process:
    def __init__(self, name: str, args: list[str], logs: Path):
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as out:
            # Its own process group (session), so stop() reaches every child.
            self.popen = subprocess.Popen([str(BIN / name), *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.popen.poll() is not None:
            raise ClusterError(f"{self.name} exited with status {self.popen.returncode}; last lines of {self.log}:\n{self.tail()}")

    def stop(self, grace: float = 10) -> None:
        if self.popen.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        else:
            # The leader is gone; children of its group may not be.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)


# --- the control plane ---------------------------------------------------------------------------


# How late the stand-in kubelet stops a deleted pod (a Go duration): a loaded kwok's lateness, on purpose.
STOP_DELAY_ANNOTATION = "test.rdagent.io/stop-delay"
RUNNING = ".status.containerStatuses.[].state.running.startedAt"
STOP_DELAY = f'.metadata.annotations["{STOP_DELAY_ANNOTATION}"]'
# What a kubelet writes when it has stopped a deleted pod's containers (SIGTERM, exit 143), before it
# deletes the pod with grace 0. The phase is left as it is: a Job's pods are not to count as done.
POD_STOP = f"""
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-stop
spec:
  resourceRef: {{apiGroup: v1, kind: Pod}}
  selector:
    matchExpressions:
    - {{key: .metadata.deletionTimestamp, operator: Exists}}
    - {{key: '{RUNNING}', operator: Exists}}
  delay:
    durationMilliseconds: 0
    durationFrom: {{expressionFrom: '{STOP_DELAY}'}}
  next:
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - {{type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{{{ $now | Quote }}}}}}
      - {{type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{{{ $now | Quote }}}}}}
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - name: {{{{ .name | Quote }}}}
        image: {{{{ .image | Quote }}}}
        ready: false
        started: false
        restartCount: 0
        state: {{terminated: {{exitCode: 143, reason: Error, finishedAt: {{{{ $now | Quote }}}}}}}}
      {{{{ end }}}}
"""


def kwok_stages(stop_before_delete: bool = True) -> str:
    """kwok's own stages, with the pods of batch runs completing only when annotated, and deleted pods
    stopped before they are deleted (see the module docstring). kwok ANDs a selector's expressions, so
    the one `pod-complete` stage becomes two: pods of Jobs that are not runs (set-up steps such as the
    certificates Job), and runs' pods annotated. `stop_before_delete=False` is kwok's own deletion,
    kept for the test that shows what it does."""
    documents = [yaml.safe_load(POD_STOP)] if stop_before_delete else []
    for relative in STAGE_FILES:
        for document in yaml.safe_load_all((STAGES / relative).read_text()):
            if document and document["metadata"]["name"] == "pod-delete":
                if stop_before_delete:
                    document["spec"]["selector"]["matchExpressions"].append({"key": RUNNING, "operator": "DoesNotExist"})
                else:
                    document["spec"]["delay"] = {"durationMilliseconds": 0, "durationFrom": {"expressionFrom": STOP_DELAY}}
            if document and document["metadata"]["name"] == "pod-complete":
                on_request = copy.deepcopy(document)
                on_request["metadata"]["name"] = "pod-complete-on-request"
                on_request["spec"]["selector"]["matchExpressions"].append(
                    {"key": f'.metadata.annotations["{COMPLETE_ANNOTATION}"]', "operator": "In", "values": ["true"]}
                )
                documents.append(on_request)
                document["spec"]["selector"]["matchExpressions"].append({"key": f'.metadata.labels["{RUN_LABEL}"]', "operator": "DoesNotExist"})
            if document:
                documents.append(document)
    return yaml.safe_dump_all(documents)


def node_manifest(name: str, labels: dict[str, str], capacity: dict[str, str], taints: list[dict] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": "us-east-1a",
                "type": "kwok",
                **labels,
            },
        },
        "spec": {"taints": taints or []},
        "status": {"capacity": capacity, "allocatable": capacity},
    }


class ControlPlane:
    """start() brings the cluster up (or raises with the failing component's log); stop() always tears down."""

    PORTS = ("etcd", "etcd-peer", "apiserver")

    def __init__(self, folder: Path, ports: list[int], stop_before_delete: bool = True, gpu_nodes: bool = True):
        """`ports`: free loopback ports for PORTS (tests/ports.py); `stop_before_delete`: see kwok_stages;
        `gpu_nodes`: False for no static GPU node (Karpenter brings them: tests/karpenter.py)."""
        self.folder = folder
        self.stop_before_delete = stop_before_delete
        self.gpu_nodes = GPU_NODES if gpu_nodes else ()
        self.processes: list[Process] = []
        self.token = secrets.token_hex(16)
        self.ports = dict(zip(self.PORTS, ports, strict=True))
        self.url = f"https://127.0.0.1:{self.ports['apiserver']}"
        self.kubeconfig = folder / "kubeconfig"
        self.api: Api | None = None
        self.timings: dict[str, float] = {}

    def _start(self, name: str, args: list[str]) -> Process:
        process = Process(name, args, self.folder)
        self.processes.append(process)
        return process

    def start(self) -> ControlPlane:
        missing = missing_binaries()
        if missing:
            raise ClusterError(f"the test control plane is not built (missing in {BIN}: {', '.join(missing)}): {BUILD_HINT}")
        began = time.monotonic()
        write_certificates(self.folder)
        (self.folder / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        self._write_kubeconfig()
        etcd = self._start("etcd", self._etcd_args())
        apiserver = self._start("kube-apiserver", self._apiserver_args())
        self.api = Api(self.url, self.token, self.folder / "ca.crt")

        def ready() -> bool:
            etcd.check_alive()
            apiserver.check_alive()
            return self.api.http.get("/readyz").status_code == 200

        wait_for(ready, START_TIMEOUT, "the API server's /readyz")
        self.timings["apiserver ready"] = time.monotonic() - began
        kubeconfig = ["--kubeconfig", str(self.kubeconfig)]
        self._start(
            "kube-controller-manager",
            [
                *kubeconfig,
                f"--service-account-private-key-file={self.folder / 'sa.key'}",
                f"--root-ca-file={self.folder / 'ca.crt'}",
                "--leader-elect=false",
                "--secure-port=0",
            ],
        )
        self._start("kube-scheduler", [*kubeconfig, "--leader-elect=false", "--secure-port=0"])
        (self.folder / "kwok-stages.yaml").write_text(kwok_stages(self.stop_before_delete))
        self._start(
            "kwok",
            [
                *kubeconfig,
                f"--config={self.folder / 'kwok-stages.yaml'}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--cidr=10.244.0.0/16",
                "--node-ip=127.0.0.1",
                "--server-address=127.0.0.1:0",
            ],
        )
        self._nodes_and_storage()
        self.timings["cluster ready"] = time.monotonic() - began
        return self

    def _etcd_args(self) -> list[str]:
        client, peer = f"http://127.0.0.1:{self.ports['etcd']}", f"http://127.0.0.1:{self.ports['etcd-peer']}"
        return [
            f"--data-dir={self.folder / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=default={peer}",
            "--unsafe-no-fsync",
            "--log-level=warn",
        ]

    def _apiserver_args(self) -> list[str]:
        folder = self.folder
        return [
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={folder / 'apiserver-certs'}",
            f"--tls-cert-file={folder / 'apiserver.crt'}",
            f"--tls-private-key-file={folder / 'apiserver.key'}",
            f"--client-ca-file={folder / 'ca.crt'}",
            f"--token-auth-file={folder / 'tokens.csv'}",
            f"--service-account-key-file={folder / 'sa.pub'}",
            f"--service-account-signing-key-file={folder / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=Node,RBAC",
            # PodSecurity is on by default; named so that nobody turns it off by accident.
            "--enable-admission-plugins=PodSecurity,DefaultStorageClass,StorageObjectInUseProtection",
            # A loopback address is no valid endpoint: the `kubernetes` Endpoints could never be written.
            "--endpoint-reconciler-type=none",
            "--profiling=false",
        ]

    def _write_kubeconfig(self) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": CONTEXT, "cluster": {"server": self.url, "certificate-authority": str(self.folder / "ca.crt")}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin"}}],
            "current-context": CONTEXT,
        }
        self.kubeconfig.write_text(yaml.safe_dump(config))
        self.kubeconfig.chmod(0o600)

    def _nodes_and_storage(self) -> None:
        cpu = {"cpu": "16", "memory": "64Gi", "pods": "110", "ephemeral-storage": "200Gi"}
        for name in CPU_NODES:
            self.api.apply("/api/v1/nodes", node_manifest(name, {"rdagent.io/pool": "cpu"}, cpu))
        gpu = {"cpu": "32", "memory": "240Gi", "pods": "110", "ephemeral-storage": "500Gi", seed.GPU_RESOURCE: str(GPUS_PER_NODE)}
        for name in self.gpu_nodes:
            self.api.apply("/api/v1/nodes", node_manifest(name, GPU_LABELS, gpu, [GPU_TAINT]))
        storage_class = yaml.safe_load((STAGES / "volume/fast/storage-class.yaml").read_text())
        assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        self.api.apply("/apis/storage.k8s.io/v1/storageclasses", storage_class)

        def nodes_ready() -> bool:
            self.check_alive()
            nodes = self.api.items("/api/v1/nodes")
            return len(nodes) == len(CPU_NODES) + len(self.gpu_nodes) and all(is_ready(node) for node in nodes)

        wait_for(nodes_ready, START_TIMEOUT, "the simulated nodes to be Ready")

        def default_service_account() -> bool:
            self.check_alive()
            return self.api.exists("/api/v1/namespaces/default/serviceaccounts/default")

        wait_for(default_service_account, START_TIMEOUT, "the controller manager to create the default ServiceAccount")

    def check_alive(self) -> None:
        for process in self.processes:
            process.check_alive()

    def logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log})\n{p.tail(15)}" for p in self.processes)

    def env(self) -> dict[str, str]:
        """The environment for a client of this cluster (kubectl, the Pulumi provider)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def kubectl(self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([str(BIN / "kubectl"), f"--kubeconfig={self.kubeconfig}", *args], input=input, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        return result

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.api:
            self.api.close()
