"""The UI is internal unless exposed, and an exposed UI is reached only through oauth2-proxy, over TLS,
with NetworkPolicies that let only the proxies (and the rollout's load Job) reach the UI pods.

Under mocks and synth, and against the real oauth2-proxy (the release the image runs, built by
scripts/oauth2-proxy-toolchain.sh) started with the arguments the program writes."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from typer.testing import CliRunner

from rdagent_infra import defaults as seed
from rdagent_infra.cli import app
from rdagent_infra.config import SecretValue, load_stack_config
from rdagent_infra.config.errors import ConfigError
from rdagent_infra.config.ui_access import cookie_secret_problem
from rdagent_infra.logic.gates import analysis_for
from rdagent_infra.logic.rollout import plan_rollout
from rdagent_infra.logic.ui_auth import oauth2_proxy_args
from rdagent_infra.stack_source import raw_stack_config
from tests.conftest import ROOT
from tests.loopback_http import LoopbackServer
from tests.ports import PortTaken, bind_failed, on_free_ports
from tests.test_components import manifest, synth

OAUTH2_PROXY = ROOT / ".tools" / "bin" / "oauth2-proxy"
PROXY_SELECTOR = {"app.kubernetes.io/name": "rdagent-ui", "app.kubernetes.io/component": "auth"}
SECRET = SecretValue("x" * 32)
AUTH = {"enabled": True, "oidcIssuerUrl": "https://login.example.com", "clientId": "rdagent-ui", "emailDomains": ["example.com"]}
runner = CliRunner()


def kinds(manifests, kind: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def arg(container: dict, flag: str) -> list[str]:
    return [a.split("=", 1)[1] for a in container["args"] if a.startswith(f"--{flag}=")]


def proxies(manifests) -> dict[str, dict]:
    """Proxy Deployment name -> its oauth2-proxy container."""
    return {
        name: d["spec"]["template"]["spec"]["containers"][0]
        for name, d in kinds(manifests, "Deployment").items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "auth"
    }


def ui_ingress_rules(manifests) -> list[dict]:
    return manifest(manifests, "NetworkPolicy", "rdagent-ui")["spec"]["ingress"]


# --- internal by default ---------------------------------------------------------------


def test_the_ui_is_internal_by_default():
    """No ingress: ClusterIP Services only, no route, no Ingress, no proxy, no Gateway."""
    _, _, manifests = synth("dev")
    # ClusterIP, the default when a Service names no type: nothing outside the cluster reaches it.
    assert {s["spec"].get("type", "ClusterIP") for s in kinds(manifests, "Service").values()} == {"ClusterIP"}
    assert not [m for m in manifests if m["kind"] in ("HTTPRoute", "Ingress", "Gateway")]
    assert not proxies(manifests)


# --- synth --stack prod: exposed, signed in, TLS, NetworkPolicies ------------------------


def test_prod_exposes_the_ui_only_through_oauth2_proxy(synthesized):
    out = synthesized("prod")
    manifests = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]
    (route,) = kinds(manifests, "HTTPRoute").values()
    backends = {ref["name"]: ref["weight"] for rule in route["spec"]["rules"] for ref in rule["backendRefs"]}
    assert backends == {"rdagent-ui-active-auth": 100}, f"the route must send only to the proxies: {backends}"
    service = manifest(manifests, "Service", "rdagent-ui-active-auth")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["selector"]["app.kubernetes.io/component"] == "auth"
    (container,) = proxies(manifests).values()
    assert container["image"] == "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"
    assert arg(container, "upstream") == ["http://rdagent-ui-active.rdagent.svc.cluster.local:80/"]
    assert arg(container, "provider") == ["oidc"] and arg(container, "oidc-issuer-url") == ["https://login.example.com/realms/rdagent"]
    assert arg(container, "email-domain") == ["example.com"] and arg(container, "cookie-secure") == ["true"]
    assert arg(container, "redirect-url") == ["https://rdagent.example.com/oauth2/callback"]
    secrets = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert secrets == {
        "OAUTH2_PROXY_CLIENT_SECRET": {"name": "rdagent-ui-auth", "key": "client-secret"},
        "OAUTH2_PROXY_COOKIE_SECRET": {"name": "rdagent-ui-auth", "key": "cookie-secret"},
    }
    # The secrets are Pulumi secrets: synth shows no value.
    assert set(manifest(manifests, "Secret", "rdagent-ui-auth")["stringData"].values()) == {"[secret]"}
    # TLS: the route attaches to the Gateway's HTTPS listener, which serves the stack's certificate.
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
    (gateway,) = kinds(manifests, "Gateway").values()
    https = [listener for listener in gateway["spec"]["listeners"] if listener["name"] == "https"]
    assert https and https[0]["protocol"] == "HTTPS" and https[0]["tls"]["certificateRefs"] == [{"kind": "Secret", "name": "shared-gateway-tls"}]
    assert manifest(manifests, "Secret", "shared-gateway-tls")["type"] == "kubernetes.io/tls"


def test_prod_network_policies_admit_only_the_proxies(synthesized):
    out = synthesized("prod")
    manifests = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]
    traffic, stats = ui_ingress_rules(manifests)
    assert traffic["ports"] == [{"protocol": "TCP", "port": 8080}]
    peers = [peer["podSelector"]["matchLabels"] for peer in traffic["from"]]
    assert peers == [PROXY_SELECTOR, {"app.kubernetes.io/name": "rdagent-ui-load", "app.kubernetes.io/component": "load-hook"}]
    assert all(set(peer) == {"podSelector"} for peer in traffic["from"]), "no namespace may reach the UI pods' traffic port"
    # The Envoy sidecar's stats port (it serves /stats/prometheus only) stays open to the Prometheus scrape.
    assert stats == {"ports": [{"protocol": "TCP", "port": 9902}]}
    proxy = manifest(manifests, "NetworkPolicy", "rdagent-ui-auth")["spec"]
    assert proxy["podSelector"]["matchLabels"] == PROXY_SELECTOR
    assert proxy["ingress"] == [{"ports": [{"protocol": "TCP", "port": 4180}]}]
    to_ui = [rule for rule in proxy["egress"] if rule["to"][0].get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "ui"]
    assert to_ui and to_ui[0]["ports"] == [{"protocol": "TCP", "port": 8080}]
    # The proxies mount no ServiceAccount token.
    account = manifest(manifests, "ServiceAccount", "rdagent-ui-auth")
    assert account["automountServiceAccountToken"] is False


def prod_without_auth(tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    del document["config"]["rdagent:workloads"]["ui"]["ingress"]["auth"]
    (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document))
    return project


def test_prod_without_authentication_is_refused(tmp_path):
    project = prod_without_auth(tmp_path)
    out = project / "out"
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = runner.invoke(app, ["synth", "--stack", "prod", "--out", str(out)])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 2, result.output
    assert "rdagent:workloads.ui.ingress.auth.enabled: required in prod" in result.output
    assert "oauth2-proxy" in result.output and "Traceback" not in result.output
    assert not out.exists(), "nothing may be written for a refused config"


# --- the rules, one by one --------------------------------------------------------------


def load(stack: str, **sections):
    raw, source = raw_stack_config(ROOT, stack)
    raw = copy.deepcopy(raw)
    for key, value in sections.items():
        raw[key] = value
    return load_stack_config(raw, stack, source)


def ingress_with(stack: str, **keys):
    raw, _ = raw_stack_config(ROOT, stack)
    workloads = copy.deepcopy(raw["workloads"])
    workloads["ui"].setdefault("ingress", {}).update(keys)
    return workloads


def problems(stack: str, **sections) -> str:
    with pytest.raises(ConfigError) as caught:
        load(stack, **sections)
    return "\n".join(caught.value.problems)


def test_staging_refuses_a_rollout_route_without_sign_in():
    """A weighted rollout routes the UI through the Gateway even with ingress off: that is exposure too."""
    workloads = ingress_with("staging", enabled=False, auth={"enabled": False})
    message = problems("staging", workloads=workloads)
    assert "rdagent:workloads.ui.ingress.auth.enabled: required in staging" in message and "rollout.trafficProvider gatewayApi" in message


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"auth": {**AUTH, "oidcIssuerUrl": None}}, "rdagent:workloads.ui.ingress.auth.oidcIssuerUrl: required when auth is enabled"),
        ({"auth": {**AUTH, "emailDomains": []}}, "rdagent:workloads.ui.ingress.auth.emailDomains: say who may sign in"),
        ({"auth": {**AUTH, "oidcIssuerUrl": "http://login.example.com"}}, "rdagent:workloads.ui.ingress.auth.oidcIssuerUrl"),
        ({"auth": AUTH, "tls": False}, "rdagent:workloads.ui.ingress.tls: must be true in prod"),
        ({"auth": AUTH, "certManager": {"issuer": "letsencrypt"}}, "rdagent:workloads.ui.ingress.certManager: one certificate, one source"),
        (
            {"auth": {**AUTH, "trustedProxyCidrs": ["10.0.0.1/8"]}},
            "rdagent:workloads.ui.ingress.auth.trustedProxyCidrs[0]: not a CIDR block (10.0.0.1/8 has host bits set)",
        ),
    ],
)
def test_prod_access_rules_name_the_key(keys, expected):
    assert expected in problems("prod", workloads=ingress_with("prod", **keys))


def test_the_proxy_believes_forwarded_headers_only_from_the_cluster():
    """`--reverse-proxy` alone makes oauth2-proxy believe X-Forwarded-* from any address (it warns at
    start, which tests/test_ui_sign_in.py checks it no longer does): in eks mode the cluster's VPC, the
    configured CIDRs when given, and oauth2-proxy's default only where the program cannot know."""
    raw, _ = raw_stack_config(ROOT, "prod")
    vpc = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())["config"]["rdagent:cluster"]["eks"]["vpcCidr"]
    assert trusted(load("prod")) == [vpc] == ["10.50.0.0/16"]
    assert trusted(load("prod", workloads=ingress_with("prod", auth={**raw["workloads"]["ui"]["ingress"]["auth"], "trustedProxyCidrs": ["10.9.0.0/20"]}))) == [
        "10.9.0.0/20"
    ]
    existing_vpc = {**raw["cluster"], "eks": {**raw["cluster"]["eks"], "existingVpcId": "vpc-0abc", "existingSubnetIds": ["subnet-1", "subnet-2"]}}
    assert trusted(load("prod", cluster=existing_vpc)) == []


def trusted(config) -> list[str]:
    return [a.split("=", 1)[1] for a in oauth2_proxy_args(config, "rdagent-ui-active") if a.startswith("--trusted-proxy-ip=")]


def test_sign_in_needs_its_secrets_and_a_cookie_secret_oauth2_proxy_accepts():
    raw, _ = raw_stack_config(ROOT, "prod")
    secrets = {k: v for k, v in raw["secrets"].items() if k != "oauth2ClientSecret"}
    assert "rdagent:secrets.oauth2ClientSecret: required when workloads.ui.ingress.auth is enabled" in problems("prod", secrets=secrets)
    bad_cookie = {**raw["secrets"], "oauth2CookieSecret": SecretValue("too-short")}
    assert "rdagent:secrets.oauth2CookieSecret: must be 16, 24 or 32 bytes" in problems("prod", secrets=bad_cookie)
    plain = {**raw["secrets"], "oauth2ClientSecret": "in-the-clear"}
    assert "rdagent:secrets.oauth2ClientSecret: must be set as a secret" in problems("prod", secrets=plain)


def test_staging_gets_its_certificate_from_cert_manager(synthesized):
    out = synthesized("staging")
    manifests = [yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))]
    (certificate,) = kinds(manifests, "Certificate").values()
    assert certificate["metadata"]["namespace"] == "gateway-system"
    assert certificate["spec"]["secretName"] == "shared-gateway-tls" and certificate["spec"]["dnsNames"] == ["rdagent.staging.example.com"]
    assert certificate["spec"]["issuerRef"] == {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"}
    (gateway,) = kinds(manifests, "Gateway").values()
    assert [listener["tls"]["certificateRefs"] for listener in gateway["spec"]["listeners"] if "tls" in listener] == [
        [{"kind": "Secret", "name": "shared-gateway-tls"}]
    ]


def test_an_existing_tls_secret_is_referenced_not_created():
    _, _, manifests = synth("dev", workloads={"ui": {"ingress": {"enabled": True, "kind": "ingress", "tlsSecretName": "corp-wildcard"}}})
    (ingress,) = kinds(manifests, "Ingress").values()
    assert ingress["spec"]["tls"] == [{"hosts": ["rdagent.example.com"], "secretName": "corp-wildcard"}]
    assert "corp-wildcard" not in kinds(manifests, "Secret")


# --- rollouts: one proxy per routed track, the gates still see the tracks --------------------


def test_canary_with_ingress_nginx_routes_each_track_through_its_own_proxy():
    workloads = ingress_with("staging", kind="ingress", certManager=None, tlsSecretName="rdagent-staging-tls")
    rollout = {"strategy": "canary", "trafficProvider": "ingressNginx", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": 1}
    config, _, manifests = synth("staging", workloads=workloads, rollout=rollout)
    ingresses = kinds(manifests, "Ingress")
    backends = {name: i["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] for name, i in ingresses.items()}
    assert backends == {"rdagent-ui": "rdagent-ui-stable-auth", "rdagent-ui-canary-auth": "rdagent-ui-canary-auth"}
    assert ingresses["rdagent-ui-canary-auth"]["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "25"
    upstreams = {name: arg(c, "upstream")[0] for name, c in proxies(manifests).items()}
    assert upstreams == {
        "rdagent-ui-stable-auth": "http://rdagent-ui-stable.rdagent.svc.cluster.local:80/",
        "rdagent-ui-canary-auth": "http://rdagent-ui-canary.rdagent.svc.cluster.local:80/",
    }
    # ingress-nginx labels the canary's requests with the backend the weight chose: the canary's proxy.
    analysis = analysis_for(config, plan_rollout(config.rollout, config.workloads.ui.replicas))
    assert analysis is not None and 'canary="rdagent-rdagent-ui-canary-auth-80"' in analysis.requests_query
    # Without a sidecar the UI pods' traffic port is Streamlit's, still open to the proxies only.
    (traffic,) = ui_ingress_rules(manifests)
    assert traffic["ports"] == [{"protocol": "TCP", "port": 19899}] and traffic["from"][0]["podSelector"]["matchLabels"] == PROXY_SELECTOR


def test_blue_green_weights_apply_to_the_proxies():
    rollout = {"strategy": "blueGreen", "trafficProvider": "gatewayApi", "stableVersion": "1.4.0", "newVersion": "1.5.0", "step": 1}
    _, _, manifests = synth("prod", rollout=rollout)
    (route,) = kinds(manifests, "HTTPRoute").values()
    backends = {ref["name"]: ref["weight"] for ref in route["spec"]["rules"][0]["backendRefs"]}
    assert backends == {"rdagent-ui-active-auth": 70, "rdagent-ui-preview-auth": 30}
    assert {name: arg(c, "upstream")[0].split(".")[0] for name, c in proxies(manifests).items()} == {
        "rdagent-ui-active-auth": "http://rdagent-ui-active",
        "rdagent-ui-preview-auth": "http://rdagent-ui-preview",
    }
    # The gates read each pod's sidecar, whoever sends the requests: the new colour's track label.
    traffic, _ = ui_ingress_rules(manifests)
    assert traffic["ports"] == [{"protocol": "TCP", "port": 8080}]


# --- the real oauth2-proxy -----------------------------------------------------------------


class Issuer:
    """An OIDC issuer on loopback: the discovery document and an empty key set (enough to start)."""

    def __init__(self):
        documents = {"/keys": {"keys": []}}
        self.server = LoopbackServer(
            lambda path, _: 200 if path in documents else 404,
            lambda path: json.dumps(documents.get(path, {})).encode(),
            "application/json",
        )
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.discovery = {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/keys",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }
        documents["/.well-known/openid-configuration"] = self.discovery

    def close(self):
        self.server.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str) -> tuple[int, dict]:
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers)


@pytest.fixture
def issuer():
    server = Issuer()
    yield server
    server.close()


def start_proxy(issuer: Issuer, upstream_url: str, cookie_secret: str) -> tuple[subprocess.Popen, int, str | None]:
    """The real oauth2-proxy with the program's arguments, on a free port: (the process, its port,
    None once it answers, or what it said when it stopped without answering)."""
    assert OAUTH2_PROXY.exists(), "oauth2-proxy is not built: run make oauth2-proxy (scripts/oauth2-proxy-toolchain.sh)"
    return on_free_ports(1, lambda ports: _start_proxy_on(ports[0], issuer, upstream_url, cookie_secret))


def _start_proxy_on(port: int, issuer: Issuer, upstream_url: str, cookie_secret: str) -> tuple[subprocess.Popen, int, str | None]:
    config = load("prod")
    args = []
    for argument in oauth2_proxy_args(config, "rdagent-ui-active"):
        flag = argument.split("=", 1)[0]
        # Only where it listens, where it sends and the issuer are the test's (loopback); the rest is the program's.
        replaced = {"--http-address": f"127.0.0.1:{port}", "--upstream": upstream_url, "--oidc-issuer-url": issuer.url}
        args.append(f"{flag}={replaced[flag]}" if flag in replaced else argument)
    env = {"PATH": os.environ.get("PATH", ""), "OAUTH2_PROXY_CLIENT_SECRET": "client-secret", "OAUTH2_PROXY_COOKIE_SECRET": cookie_secret}
    process = subprocess.Popen([str(OAUTH2_PROXY), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if wait_ready(process, port):
        return process, port, None
    said = stop(process)
    if bind_failed(said):
        raise PortTaken(said[-500:])
    return process, port, said


def wait_ready(process: subprocess.Popen, port: int) -> bool:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if get(f"http://127.0.0.1:{port}/ping")[0] == 200:
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop(process: subprocess.Popen) -> str:
    if process.stdout.closed:
        return ""  # stopped and read before
    if process.poll() is None:
        process.terminate()
    output, _ = process.communicate(timeout=10)
    return output


def test_real_oauth2_proxy_runs_our_arguments_and_lets_no_one_through_unsigned(issuer):
    upstream = LoopbackServer(lambda path, number: 200)
    process, port, refused = start_proxy(issuer, f"http://127.0.0.1:{upstream.port}/", "c" * 32)
    try:
        assert refused is None, refused
        assert get(f"http://127.0.0.1:{port}/ready")[0] == 200
        status, headers = get(f"http://127.0.0.1:{port}/")
        assert status == 302, (status, headers)
        location = urlparse(headers["Location"])
        query = parse_qs(location.query)
        assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer.url}/authorize"
        assert query["client_id"] == ["rdagent-ui"] and query["redirect_uri"] == ["https://rdagent.example.com/oauth2/callback"]
        assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid email profile"]
        # A browser's request for the UI's websocket, unsigned: sent to sign in, like the page.
        status, headers = get(f"http://127.0.0.1:{port}/_stcore/stream")
        assert status == 302 and headers["Location"].startswith(f"{issuer.url}/authorize?"), (status, headers)
        assert upstream.paths == [], "an unsigned request reached the UI"
    finally:
        stop(process)
        upstream.close()


@pytest.mark.parametrize(
    "secret",
    ["c" * 32, "0123456789abcdef", "q6N2tIUu-_KcwXJxCNqzPe14XFx8bSrWTsCHk_C8kOI=", "q6N2tIUu+/KcwXJxCNqzPe14XFx8bSrWTsCHk/C8kOI=", "too-short", "x" * 33],
)
def test_the_cookie_secret_rule_agrees_with_oauth2_proxy(issuer, secret):
    """What the config refuses is exactly what oauth2-proxy refuses to start with."""
    process, _, refused = start_proxy(issuer, "http://127.0.0.1:9/", secret)
    started = refused is None
    output = stop(process) if started else refused
    assert started == (cookie_secret_problem(secret) is None), output
    if not started:
        # Refused for its cookie secret, not for anything else that stops a start.
        length = len(secret.encode())
        assert f"cookie_secret must be 16, 24, or 32 bytes to create an AES cipher, but is {length} bytes" in output, output


def test_the_tested_oauth2_proxy_is_the_release_the_image_runs():
    script = (ROOT / "scripts" / "oauth2-proxy-toolchain.sh").read_text()
    assert f"VERSION={seed.OAUTH2_PROXY_VERSION} " in script
    assert load("prod").workloads.ui.ingress.auth.image.endswith(f":{seed.OAUTH2_PROXY_VERSION}")
