"""`rdagent-infra synth`: run the program offline under Pulumi's mocks and write what it declares.

Output: one YAML file per Kubernetes object (`<Kind>__<namespace>__<name>.yaml`, so files sort by
kind and name) and `resources.json` with every resource's type token, name, parent and inputs as
the engine receives them (camelCase), secrets redacted. Two runs give identical bytes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from rdagent_infra.config import StackConfig
from rdagent_infra.logic import yaml_dump
from rdagent_infra.program import build_stack

REDACTED = "[secret]"
MARKER = ".rdagent-synth"
ACCOUNT = "123456789012"
# Kubernetes provider resources that are no single object: a Helm release is a chart, named and
# pinned in resources.json (its objects are rendered by Helm at `pulumi up`).
NOT_MANIFESTS = {"kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes"}


@dataclass
class Registration:
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool = False
    retain_on_delete: bool = False
    provider: str = ""
    strings_same: bool = False  # every string one libyaml writes like PyYAML (see logic/yaml_dump.py)
    floats: bool = True  # holds a number that is no whole number (see resources_json)
    # For the dependency graph (logic/crd_servers.py); not written to resources.json.
    urn: str = ""
    parent_urn: str = ""
    dependencies: tuple[str, ...] = ()


class Walk:
    """What `redact` saw: every mapping key, and whether all strings are ones libyaml's
    emitter writes like PyYAML's (see logic/yaml_dump.py)."""

    def __init__(self, keys: set[str]):
        self.keys = keys
        self.strings_same = True
        self.floats = False  # a number that is no whole number (JSON encoders write some differently)


def redact(value: Any, walk: Walk | None = None) -> Any:
    """Secrets become `[secret]` (a secret map keeps its keys); whole numbers lose the float
    that protobuf's Struct gave them; maps come back with their keys sorted. One pass does all
    three and fills `walk`."""
    if type(value) is str:
        if walk is not None and walk.strings_same and not yaml_dump.same_in_both(value):
            walk.strings_same = False
        return value
    if isinstance(value, dict):
        secret = rpc.is_rpc_secret(value)
        if secret:
            value = rpc.unwrap_rpc_secret(value)
            if not isinstance(value, dict):
                return REDACTED
        if walk is not None:
            walk.keys.update(value)
        return {key: REDACTED if secret else redact(value[key], walk) for key in sorted(value)}
    if isinstance(value, list):
        return [redact(item, walk) for item in value]
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        if walk is not None:
            walk.floats = True
    return value


def _name_from_urn(urn: str) -> str | None:
    if not urn or urn.split("::")[-2].endswith("pulumi:pulumi:Stack"):
        return None
    return urn.split("::")[-1]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also recording each registration's parent and options. The
    inputs are the ones the mock monitor deserialised for `SynthMocks.new_resource` (once)."""

    def __init__(self, mocks: SynthMocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.keys: set[str] = set()  # every mapping key in any registration's inputs
        self._lock = threading.Lock()

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            walk = Walk(self.keys)
            inputs = redact(self.mocks.received.inputs, walk)
            with self._lock:
                self.registrations.append(
                    Registration(
                        type=request.type,
                        name=request.name,
                        parent=_name_from_urn(request.parent),
                        custom=bool(request.custom),
                        inputs=inputs,
                        protect=bool(request.protect),
                        retain_on_delete=bool(request.retainOnDelete),
                        provider=request.provider,
                        strings_same=walk.strings_same,
                        floats=walk.floats,
                        urn=response.urn,
                        parent_urn=request.parent,
                        dependencies=tuple(request.dependencies),
                    )
                )
        return response


# Outputs the providers would compute, for the resources our program reads outputs of.
def _aws_state(token: str, name: str, inputs: dict[str, Any], region: str) -> dict[str, Any]:
    arn = f"arn:aws:{token.split(':')[1].split('/')[0]}:{region}:{ACCOUNT}:{name}"
    state: dict[str, Any] = {"arn": arn, "id": f"{name}-id"}
    if token == "aws:ecr/repository:Repository":
        state.update(repositoryUrl=f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{inputs.get('name', name)}", registryId=ACCOUNT)
    elif token == "aws:eks/cluster:Cluster":
        state.update(
            endpoint=f"https://{name}.gr7.{region}.eks.amazonaws.com",
            certificateAuthority={"data": "bW9jay1jYQ=="},
            identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{name.upper()}"}]}],
            vpcConfig={**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": f"sg-{name}"},
        )
    elif token == "aws:elasticache/replicationGroup:ReplicationGroup":
        state["primaryEndpointAddress"] = f"master.{name}.cache.amazonaws.com"
    elif token == "aws:iam/role:Role":
        state["name"] = inputs.get("name", name)
    elif token == "aws:ec2/launchTemplate:LaunchTemplate":
        state["latestVersion"] = 1  # EC2 numbers a template's versions from 1
    return state


class SynthMocks(pulumi_mocks.Mocks):
    def __init__(self, region: str):
        self.region = region
        # The inputs of the registration this thread is serving (the monitor records them).
        self.received = threading.local()

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        self.received.inputs = args.inputs
        state = dict(args.inputs)
        if args.typ.startswith("aws:"):
            state = {**_aws_state(args.typ, args.name, args.inputs, self.region), **state}
        elif args.typ == "pulumi-python:dynamic:Resource":
            state["key"] = "0" * 64  # the artifact signing key, made by the engine at deploy time (a secret)
        elif args.typ == "docker:index/image:Image":
            state["repoDigest"] = f"{args.inputs.get('imageName', args.name)}@sha256:{'0' * 64}"
        return f"{args.name}-id", state

    def call(self, args: pulumi_mocks.MockCallArgs):
        # Every invoke of the program is mocked here on purpose; any other fails.
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            # ECR's login for an image push (images.build with ECR): a placeholder password, offline.
            registry = args.args.get("registryId") or ACCOUNT
            return {
                "id": self.region,
                "registryId": registry,
                "userName": "AWS",
                "password": "offline-ecr-password",
                "proxyEndpoint": f"https://{registry}.dkr.ecr.{self.region}.amazonaws.com",
            }
        if args.token == "aws:eks/getAddonVersion:getAddonVersion":
            # The add-on version AWS makes the default for a Kubernetes version: known only to AWS, so a
            # placeholder that says so.
            version = f"aws-default-for-{args.args['kubernetesVersion']}"
            return {"id": args.args["addonName"], "addonName": args.args["addonName"], "kubernetesVersion": args.args["kubernetesVersion"], "version": version}
        raise RuntimeError(f"synth: the program called {args.token}, which has no offline mock")


@dataclass
class SynthResult:
    registrations: list[Registration]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    keys: set[str] | None = None  # every mapping key in the inputs (None: unknown, emit with PyYAML)


def _close_loop() -> None:
    """Close the loop the SDK ran on now, rather than in a finaliser at exit (which fails noisily)."""
    loop = _ensure_event_loop()
    if not loop.is_running() and not loop.is_closed():
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    # The next run (tests, preflight) gets a fresh loop from the SDK.
    asyncio.set_event_loop(None)


def run_program(config: StackConfig, project: str, stack: str) -> SynthResult:
    """Run `build_stack` under mocks and return what it registered, sorted."""
    mocks = SynthMocks(config.aws.region)
    monitor = RecordingMonitor(mocks)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    settings = pulumi.runtime.settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    def program():
        declared = build_stack(config)
        for key, value in declared.items():
            output = pulumi.Output.from_input(value)
            if _sync_await(output.is_secret()):
                secret_outputs.add(key)
        resolved = pulumi.Output.from_input(declared).apply(lambda values: outputs.update(values))
        return _sync_await(resolved.future())

    _sync_await(run_pulumi_func(program))
    _close_loop()
    registrations = sorted(monitor.registrations, key=lambda r: (r.type, r.name))
    return SynthResult(registrations, outputs, secret_outputs, monitor.keys)


def kubernetes_object(registration: Registration) -> dict[str, Any] | None:
    """The manifest a Kubernetes resource stands for (None for non-Kubernetes resources):
    apiVersion, kind and metadata first, then the rest by key (`redact` sorted every map)."""
    if not registration.type.startswith("kubernetes:") or not registration.custom:
        return None
    if registration.type in NOT_MANIFESTS:
        return None
    inputs = dict(registration.inputs)
    head = {"apiVersion": inputs.pop("apiVersion"), "kind": inputs.pop("kind"), "metadata": inputs.pop("metadata", {})}
    return {**head, **inputs}


def manifest_file_name(manifest: dict[str, Any]) -> str:
    metadata = manifest.get("metadata", {})
    parts = [manifest["kind"], metadata.get("namespace"), metadata["name"]]
    return "__".join(part for part in parts if part) + ".yaml"


class OutputDirError(Exception):
    pass


def resources_json(resources: list[dict[str, Any]], floats: bool) -> str:
    """`json.dumps(resources, indent=2)` and a line break, byte for byte; with orjson's C encoder
    where the two write alike: only printable ASCII and the escapes both spell alike (json escapes
    the rest, DEL included, as \\uXXXX; orjson writes UTF-8 and DEL as it is), no number that is no
    whole number (their float notations differ), integers within 64 bits."""
    if not floats:
        try:
            text = orjson.dumps(resources, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE).decode()
        except TypeError:  # an integer beyond 64 bits
            text = ""
        if text and text.isascii() and "\x7f" not in text:
            return text
    return json.dumps(resources, indent=2, sort_keys=False) + "\n"


def write_output(result: SynthResult, out: Path) -> list[Path]:
    """Write the manifests and resources.json into `out`, replacing an earlier synth's output."""
    out = out.resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise OutputDirError(f"{out} exists and was not written by synth: refusing to replace it (choose an empty or new folder)")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    written: list[Path] = []
    try:
        keys_same = result.keys is not None and yaml_dump.keys_same_in_both(result.keys)
        names: set[str] = set()
        for registration in result.registrations:
            manifest = kubernetes_object(registration)
            if manifest is None:
                continue
            name = manifest_file_name(manifest)
            if name in names:
                raise OutputDirError(f"two Kubernetes objects render to {name}: names must be unique per kind and namespace")
            names.add(name)
            dumper = yaml_dump.FAST_DUMPER if keys_same and registration.strings_same else yaml_dump.PURE_DUMPER
            (staging / name).write_text(yaml_dump.dump(manifest, dumper))
            written.append(out / name)
        resources = [
            {"type": r.type, "name": r.name, "parent": r.parent, "inputs": r.inputs, "protect": r.protect, "retainOnDelete": r.retain_on_delete}
            for r in result.registrations
        ]
        (staging / "resources.json").write_text(resources_json(resources, floats=any(r.floats for r in result.registrations)))
        (staging / MARKER).write_text("written by rdagent-infra synth; the whole folder is replaced on the next run\n")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return written
