"""Kueue beside the test control plane: the real Kueue (v0.16.2, scripts/kueue-toolchain.sh) run
outside the cluster, with its webhooks and conversion webhook served on loopback.

What stands in for what, against Kueue's own install (config/default of its module):
- The Deployment is a process here, with `--kubeconfig` (the cluster's admin) and a Configuration file
  written here: leader election off, the webhook, metrics and health servers on free loopback ports,
  only the `batch/job` integration, `manageJobsWithoutQueueName: false`, and the VisibilityOnDemand
  feature gate off (its aggregated API server needs an APIService routed into the cluster).
- The webhook Service is a URL: Kueue's Mutating/ValidatingWebhookConfigurations (the module's
  config/components/webhook/manifests.yaml, copied by scripts/crds-toolchain.sh) and the conversion
  webhook its kustomization patches into five CRDs call https://127.0.0.1:PORT<path>.
- Internal certificate management stays on, as installed (off, Kueue reads its metrics certificate
  from /etc/kueue/metrics/certs, a path of the pod's). Its cert rotator finds the Secret
  `kueue-webhook-server-cert` seeded here with a CA (SAN `kueue-ca`) and a serving certificate (SANs
  the Service's name and 127.0.0.1), both valid beyond its 90-day look-ahead so that it keeps them,
  and the webhook server reads the same files from the certDir written here (in the pod, the Secret
  is mounted there). An unseeded or unusable Secret makes Kueue wait for certificates for ever:
  start() is bounded and kills it.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import ipaddress
import os
import subprocess
from pathlib import Path

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.cluster import Api, ClusterError, ControlPlane, _certificate, _key, _pem_key, stop_group, wait_for
from tests.conftest import ROOT
from tests.crds import CRD_PATH, UPSTREAM, established, upstream
from tests.ports import PortTaken, bind_failed, on_free_ports

BINARY = ROOT / ".tools" / "bin" / "kueue"
BUILD_HINT = "run make cluster-tools (scripts/kueue-toolchain.sh, scripts/crds-toolchain.sh)"
WEBHOOK_MANIFESTS = UPSTREAM / "kueue-webhooks" / "manifests.yaml"
GROUP = "kueue.x-k8s.io"
API = f"/apis/{GROUP}/v1beta2"
CRDS = (
    "resourceflavors",
    "clusterqueues",
    "localqueues",
    "workloads",
    "workloadpriorityclasses",
    "admissionchecks",
    "cohorts",
    "topologies",
    "multikueueclusters",
    "multikueueconfigs",
    "provisioningrequestconfigs",
)
# The CRDs Kueue's kustomization gives a conversion webhook (config/components/crd/kustomization.yaml),
# the ones its cert rotator injects the CA into (pkg/util/cert): it is not ready until it could.
CONVERTED = ("localqueues", "clusterqueues", "cohorts", "workloads", "multikueueclusters")
NAMESPACE = "kueue-system"  # Kueue's default `namespace`: where its rotator reads the Secret
SECRET = "kueue-webhook-server-cert"
SERVICE_DNS = f"kueue-webhook-service.{NAMESPACE}.svc"  # what the rotator checks the serving certificate against
CA_NAME = "kueue-ca"
CERT_DAYS = 365  # beyond the rotator's 90-day look-ahead, or it replaces the seeded certificates
# config/default/kustomization.yaml prefixes every name with `kueue-`; the rotator injects the CA by these names.
WEBHOOK_CONFIGURATIONS = {
    "MutatingWebhookConfiguration": ("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", "kueue-mutating-webhook-configuration"),
    "ValidatingWebhookConfiguration": ("/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", "kueue-validating-webhook-configuration"),
}
# config/components/webhook/kustomization.yaml's patch: these webhooks skip Kubernetes' and Kueue's namespaces.
SYSTEM_NAMESPACES = {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", NAMESPACE]}]}
SKIPS_SYSTEM = {f"{prefix}{kind}.kb.io" for prefix in "mv" for kind in ("pod", "deployment", "statefulset")}
START_TIMEOUT = 90
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def certificates() -> dict[str, bytes]:
    """The Secret's data as Kueue's rotator (open-policy-agent/cert-controller) writes it: ca.crt,
    ca.key (PKCS#1: it parses no other), tls.crt, tls.key."""
    ca_key, server_key = _key(), _key()
    ca = _certificate(CA_NAME, ca_key, ca_key, None, True, [x509.DNSName(CA_NAME)], days=CERT_DAYS)
    sans = [x509.DNSName(SERVICE_DNS), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = _certificate(SERVICE_DNS, server_key, ca_key, ca.subject, False, sans, days=CERT_DAYS, server_auth=True)
    pkcs1 = ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    pem = serialization.Encoding.PEM
    return {"ca.crt": ca.public_bytes(pem), "ca.key": pkcs1, "tls.crt": server.public_bytes(pem), "tls.key": _pem_key(server_key)}


def configuration(ports: dict[str, int], cert_dir: Path) -> dict:
    return {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "namespace": NAMESPACE,
        "leaderElection": {"leaderElect": False},
        "webhook": {"host": "127.0.0.1", "port": ports["webhook"], "certDir": str(cert_dir)},
        "metrics": {"bindAddress": f"127.0.0.1:{ports['metrics']}"},
        "health": {"healthProbeBindAddress": f"127.0.0.1:{ports['health']}"},
        "internalCertManagement": {"enable": True},
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job"]},
        "featureGates": {"VisibilityOnDemand": False},
    }


def webhook_configurations(url: str, ca_bundle: str) -> list[dict]:
    """The module's webhook configurations, named as installed, calling `url` instead of the Service."""
    documents = [d for d in yaml.safe_load_all(WEBHOOK_MANIFESTS.read_text()) if d]
    for document in documents:
        document["metadata"] = {"name": WEBHOOK_CONFIGURATIONS[document["kind"]][1]}
        for hook in document["webhooks"]:
            hook["clientConfig"] = {"url": url + hook["clientConfig"]["service"]["path"], "caBundle": ca_bundle}
            if hook["name"] in SKIPS_SYSTEM:
                hook["namespaceSelector"] = copy.deepcopy(SYSTEM_NAMESPACES)
    return documents


def put(api: Api, collection: str, body: dict) -> dict:
    """Creates the cluster-scoped object, or replaces the one of that name."""
    path = f"{collection}/{body['metadata']['name']}"
    if not api.exists(path):
        return api.create(collection, body)
    body = copy.deepcopy(body)
    body["metadata"]["resourceVersion"] = api.get(path)["metadata"]["resourceVersion"]
    return api.request("PUT", path, body)


def crd(plural: str, url: str, ca_bundle: str) -> dict:
    """The module's CRD; for CONVERTED, with the conversion webhook of patches/webhook_in_<plural>.yaml."""
    definition = upstream(GROUP, plural)
    if plural in CONVERTED:
        webhook = {"clientConfig": {"url": f"{url}/convert", "caBundle": ca_bundle}, "conversionReviewVersions": ["v1"]}
        definition["spec"]["conversion"] = {"strategy": "Webhook", "webhook": webhook}
    return definition


class Kueue:
    PORTS = ("webhook", "metrics", "health")

    def __init__(self, plane: ControlPlane, folder: Path, overrides: dict | None = None):
        self.plane, self.folder, self.overrides = plane, folder, overrides or {}
        self.cert_dir = folder / "certs"
        self.config = folder / "kueue-config.yaml"
        self.log = folder / "kueue.log"
        self.process: subprocess.Popen | None = None
        self.ca_bundle = ""
        self.ports: dict[str, int] = {}

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise ClusterError(f"kueue exited with status {self.process.returncode}:\n{self.tail()}")

    def seed_certificates(self) -> None:
        """The namespace, the Secret the rotator reads, and its files in certDir."""
        api = self.plane.api
        data = certificates()
        self.cert_dir.mkdir(parents=True, exist_ok=True)
        for name in ("tls.crt", "tls.key", "ca.crt"):
            (self.cert_dir / name).write_bytes(data[name])
        (self.cert_dir / "tls.key").chmod(0o600)
        self.ca_bundle = base64.b64encode(data["ca.crt"]).decode()
        api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "type": "Opaque",
            "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
        }
        # Fresh each time: a plane that ran Kueue before (the session's) keeps the old Secret.
        api.delete(f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}")
        api.create(f"/api/v1/namespaces/{NAMESPACE}/secrets", secret)

    def register(self) -> None:
        """The CRDs (the converted ones calling this start's port) and the webhook configurations."""
        api, url = self.plane.api, f"https://127.0.0.1:{self.ports['webhook']}"
        for plural in CRDS:
            put(api, CRD_PATH, crd(plural, url, self.ca_bundle))
        for plural in CRDS:
            wait_for(lambda name=f"{plural}.{GROUP}": established(api, name), START_TIMEOUT, f"the CRD {plural}.{GROUP} to be served")
        for document in webhook_configurations(url, self.ca_bundle):
            put(api, WEBHOOK_CONFIGURATIONS[document["kind"]][0], document)

    def start(self, ports: list[int]) -> Kueue:
        self.ports = dict(zip(self.PORTS, ports, strict=True))
        self.config.write_text(yaml.safe_dump({**configuration(self.ports, self.cert_dir), **self.overrides}))
        self.register()
        args = [str(BINARY), f"--config={self.config}", f"--kubeconfig={self.plane.kubeconfig}", "--zap-log-level=2"]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(self._ready, START_TIMEOUT, "Kueue to be ready and its webhooks to answer")
        except (AssertionError, ClusterError) as error:
            output = self.tail(200)
            self.stop()
            if bind_failed(output):
                raise PortTaken(str(error)) from None
            raise ClusterError(f"{error}\nlast lines of {self.log}:\n{self.tail()}") from None
        return self

    def _ready(self) -> bool:
        """/readyz (certificates in place, webhook server listening), then the API server's call of
        the webhooks: a dry-run ResourceFlavor passes Kueue's mutating and validating webhooks."""
        if self.process.poll() is not None:
            raise AssertionError(f"kueue exited with status {self.process.returncode}:\n{self.tail()}")
        if httpx.get(f"http://127.0.0.1:{self.ports['health']}/readyz", timeout=5, trust_env=False).status_code != 200:
            return False
        flavor = {"apiVersion": f"{GROUP}/v1beta2", "kind": "ResourceFlavor", "metadata": {"name": "kueue-harness-probe"}}
        self.plane.api.request("POST", f"{API}/resourceflavors", flavor, params={"dryRun": "All"})
        return True

    def unregister(self) -> None:
        """The webhook configurations go (the API server must not call a stopped Kueue: they fail
        closed), and the CRDs convert no more; the CRDs and Kueue's objects stay, like Karpenter's (tests/karpenter.py)."""
        api = self.plane.api
        with contextlib.suppress(httpx.HTTPError, ClusterError):
            for collection, name in WEBHOOK_CONFIGURATIONS.values():
                api.delete(f"{collection}/{name}")
            for plural in CONVERTED:
                patch = {"spec": {"conversion": {"strategy": "None", "webhook": None}}}
                api.request("PATCH", f"{CRD_PATH}/{plural}.{GROUP}", patch, headers=MERGE_PATCH)

    def stop(self) -> None:
        """Kueue first (its cert rotator would otherwise write the CA back while unregister() runs),
        then its webhooks."""
        stop_group(self.process)
        self.unregister()


@contextlib.contextmanager
def running_kueue(plane: ControlPlane, folder: Path, config_overrides: dict | None = None):
    """Kueue's CRDs (upstream, .tools/crds), its certificates and webhooks, and Kueue running against
    `plane`; stopped, and its webhooks unregistered, however the block ends. `config_overrides`:
    top-level fields of the Configuration that replace the ones written here."""
    if not BINARY.exists() or not WEBHOOK_MANIFESTS.exists():
        raise AssertionError(f"Kueue is not built, or its manifests are missing: {BUILD_HINT}")
    folder.mkdir(parents=True, exist_ok=True)
    kueue = Kueue(plane, folder, config_overrides)
    kueue.seed_certificates()
    kueue = on_free_ports(len(Kueue.PORTS), kueue.start)
    try:
        yield kueue
    finally:
        kueue.stop()


def condition(obj: dict, kind: str) -> dict:
    """A Kueue object's (or a Job's) condition of that type, {} when it has none."""
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c["type"] == kind), {})


def workloads(api: Api, namespace: str) -> dict[str, dict]:
    """Each Job's Workload in `namespace`, by the Job's name."""
    return {
        owner["name"]: w
        for w in api.items(f"{API}/namespaces/{namespace}/workloads")
        for owner in w["metadata"].get("ownerReferences") or []
        if owner["kind"] == "Job"
    }
