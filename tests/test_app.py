"""RD-Agent itself, run from the pod specs we render (issue 27): the installed `rdagent` package
under each rendered container's own spec in the bubblewrap sandbox of tests/pod_sandbox.py, in a
network namespace of loopback only, against the LLM stand-in of tests/llm_standin.py.

Each stack is synthesized from a copy of its stack file whose `rdagent:llm.openaiApiBase` points at
the stand-in (the one change); the secret values synth redacts are supplied as sentinels, so that
the requests show which key a pod sent. Runs reach the stand-in through the stack's LLM gateway,
started from its rendered Deployment in the same sandbox, with Debian's redis-server as its cache
(tests/pod_sandbox.py, running_gateway). What the stand-in's answers make RD-Agent do is not a claim
about any real model: a run "ends on its own" here because the stand-in writes no usable code.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, run_cli
from tests.pod_sandbox import STANDIN_PORT, PodNetwork, Sandbox, load_objects, pod_spec, running_gateway, wait_until
from tests.test_log_shipper import shipped_and_redacted

pytestmark = pytest.mark.app
STANDIN_BASE = f"http://127.0.0.1:{STANDIN_PORT}/v1"
SIGNING_KEY = "s" * 64
GATEWAY_KEY = "sk-" + "g" * 64  # as the program makes it: LiteLLM takes master keys that start with sk-
RUN_SECONDS = 420  # a run of general_model against the stand-in takes about a minute here
UI_START_SECONDS = 120


# What this worker has synthesized, by stack and stack file: a stack file synthesized once is copied
# from its first output (kept in a folder of the worker's own), a synth less for every test of the
# same stack.
SYNTHESIZED: dict[tuple[str, str], Path] = {}


@functools.cache
def synth_cache() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="rdagent-synth-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def synth_for_app(stack: str, folder: Path, edit=None) -> tuple[list[dict], dict]:
    """The stack's objects, synthesized with its LLM endpoint pointed at the stand-in; and its config."""
    project = folder / "project"
    project.mkdir(parents=True)
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = document["config"]
    config.setdefault("rdagent:llm", {})["openaiApiBase"] = STANDIN_BASE
    if edit:
        edit(config)
    text = yaml.safe_dump(document, sort_keys=False)
    (project / f"Pulumi.{stack}.yaml").write_text(text)
    if (stack, text) in SYNTHESIZED:
        shutil.copytree(SYNTHESIZED[(stack, text)], folder / "out")
    else:
        result = run_cli("synth", "--stack", stack, "--out", str(folder / "out"), cwd=project)
        assert result.returncode == 0, result.stderr
        SYNTHESIZED[(stack, text)] = shutil.copytree(folder / "out", synth_cache() / str(len(SYNTHESIZED)))
    return load_objects(folder / "out"), config


def sentinels(objects: list[dict]) -> dict[tuple[str, str], str]:
    """A value of its own for every redacted key of every rendered Secret (the signing key: SIGNING_KEY)."""
    supplied = {}
    for obj in objects:
        if obj["kind"] == "Secret":
            for key in {**(obj.get("stringData") or {}), **(obj.get("data") or {})}:
                supplied[(obj["metadata"]["name"], key)] = f"sentinel-{obj['metadata']['name']}-{key}-0123456789abcdef"
    supplied[("rdagent-artifact-signing", "artifact-signing-key")] = SIGNING_KEY
    supplied[("rdagent-llm-gateway-key", "gateway-key")] = GATEWAY_KEY
    return supplied


def workload(objects: list[dict], kind_names: tuple[str, ...], label: str, value: str) -> dict:
    (found,) = [o for o in objects if o["kind"] in kind_names and o["metadata"].get("labels", {}).get(label) == value]
    return found


def run_object(objects: list[dict], run: str) -> dict:
    return workload(objects, ("Job", "CronJob"), "rdagent.io/run", run)


def ui_deployment(objects: list[dict]) -> dict:
    (found,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] in ("rdagent-ui-stable", "rdagent-ui-blue", "rdagent-ui")]
    return found


def write_report(path: Path) -> None:
    """A one-page PDF with PyMuPDF, the PDF library RD-Agent itself reads reports with."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = "import fitz, sys; d = fitz.open(); d.new_page().insert_text((72, 72), 'A linear model y = W x + b, trained by SGD.'); d.save(sys.argv[1])"
    subprocess.run([str(ROOT / ".tools" / "rdagent" / "bin" / "python"), "-W", "ignore", "-c", script, str(path)], check=True)


def seed_data(sandbox: Sandbox, objects: list[dict], run_obj: dict) -> None:
    """What the team puts on the data volume for this run: its report, or its competition's folder."""
    container = pod_spec(run_obj)["containers"][0]
    args = container.get("args") or []
    data = sandbox.claim("rdagent-data")
    if args[1] == "general_model":
        write_report(data / Path(args[2]).relative_to("/data"))
    elif args[1] == "data_science":
        # As the README tells a team: the archive `kaggle competitions download` makes, and the
        # competition's description beside it.
        name = args[args.index("--competition") + 1]
        (data / "zip_files").mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(data / "zip_files" / f"{name}.zip", "w") as archive:
            archive.writestr("train.csv", "x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
            archive.writestr("test.csv", "x\n" + "".join(f"{i}\n" for i in range(40, 50)))
            archive.writestr("sample_submission.csv", "x,y\n" + "".join(f"{i},0\n" for i in range(40, 50)))
        with zipfile.ZipFile(data / "zip_files" / f"{name}.zip") as archive:
            archive.extractall(data / name)
        (data / name / "description.md").write_text("# A competition\nPredict `y` from `x`; the metric is accuracy, higher is better.\n")


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("│", "╰", "╭"))]
    return lines[-1] if lines else ""


# --- the runs --------------------------------------------------------------------------------------


def runs_of(scenario: str) -> list[tuple[str, str]]:
    """(stack, run) of every run of `scenario` the stacks configure, read from the stack files."""
    found = []
    for stack in ("dev", "test", "e2e", "staging", "prod"):
        document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
        found += [(stack, r["name"]) for r in (document["config"].get("rdagent:workloads") or {}).get("runs", []) if r["scenario"] == scenario]
    return found


@pytest.mark.parametrize(("stack", "run"), runs_of("general_model"))
def test_a_general_model_run_starts_from_its_pod_spec_and_ends_on_its_own(stack, run, tmp_path, pod_network):
    network, llm = pod_network
    objects, config = synth_for_app(stack, tmp_path)
    supplied = sentinels(objects)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)
    job = run_object(objects, run)
    seed_data(sandbox, objects, job)
    pod_name = f"rdagent-run-{run}-x7k2p"
    with running_gateway(sandbox, supplied, tmp_path) as (_, redis):
        pod = sandbox.start(job, "rdagent", pod_name)
        status = pod.wait(RUN_SECONDS)
        cached = redis.scan()
    out = pod.output()

    assert "Read-only file system" not in out, out[-4000:]
    # Its workspace and its trace, on its own volumes.
    workspace = sandbox.claims / f"rdagent-run-{run}-workspace" / "RD-Agent_workspace"
    assert workspace.is_dir() and any(workspace.iterdir()), f"no workspace under {workspace}"
    trace = sandbox.claims / "rdagent-traces" / pod_name
    assert list(trace.rglob("*.pkl")), f"no trace under {trace}"
    assert (trace / "load_experiment").is_dir(), sorted(p.name for p in trace.iterdir())
    # Its requests, through the stack's LLM gateway: the configured model, sent by the gateway with
    # the provider key only the gateway holds; the run held the gateway key and no provider key.
    requests = llm.requests()
    assert requests, "no request reached the LLM endpoint through the gateway"
    chat = [r for r in requests if r["path"].endswith("/chat/completions")]
    assert chat, [r["path"] for r in requests]
    model = (config.get("rdagent:llm") or {}).get("chatModel", "gpt-4o")
    assert {r["body"]["model"] for r in chat} == {model}
    provider_key = supplied[("rdagent-llm-providers", "openai-api-key")]
    assert {r["authorization"] for r in chat} == {f"Bearer {provider_key}"}
    assert pod.env["OPENAI_API_KEY"] == GATEWAY_KEY and provider_key not in pod.env.values()
    assert cached, "the gateway cached no answer in Redis"
    # Its stdout, as the node's log shipper parses and redacts it, holds no secret of the stack
    # (RD-Agent prints its LLM key, the gateway key, in its settings line as it starts).
    assert GATEWAY_KEY in out, "the run no longer prints its key: this check lost its subject"
    shipped = json.dumps(shipped_and_redacted(out.splitlines(), tmp_path))
    assert [name for name, value in supplied.items() if value in shipped] == []
    # general_model is no loop: it extracts the report's models, codes them, and stops. The stand-in
    # writes no code, so the coder fails every task and says so as its last word.
    assert status == 1, f"exit status {status}:\n{out[-3000:]}"
    assert re.search(r"CoderError: All tasks are failed", last_line(out)), last_line(out)


@pytest.mark.parametrize(("stack", "run"), runs_of("data_science"))
def test_a_data_science_run_finds_its_data_and_reaches_its_runtime_check(stack, run, tmp_path, pod_network):
    """As far as this machine lets a data_science run go. From its rendered Job: it finds its
    competition on the data volume (no Kaggle download), writes its workspace and trace on its own
    volumes and nothing on the read-only root, and reaches RD-Agent's runtime check of the image's
    `kaggle` conda environment (`conda run -n kaggle`, then strace and coverage in it). That
    environment cannot be built here (conda-forge is not reachable), so the run stops there, before
    its first LLM request, unless RD-Agent's check misreads its own output (below); the image's
    environment passing that check is tests/test_images.py's
    test_the_kaggle_environment_passes_rdagents_runtime_check."""
    network, llm = pod_network

    def short(config):  # the run's own bounds, shortened: should it get past its check, it ends soon
        for entry in config["rdagent:workloads"]["runs"]:
            if entry["name"] == run:
                entry.update(loopN=1, allDurationMinutes=1)

    objects, config = synth_for_app(stack, tmp_path, short)
    supplied = sentinels(objects)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)
    job = run_object(objects, run)
    seed_data(sandbox, objects, job)
    pod_name = f"rdagent-run-{run}-d3s9x"
    with running_gateway(sandbox, supplied, tmp_path):
        status = sandbox.start(job, "rdagent", pod_name).wait(RUN_SECONDS)
    out = (tmp_path / "sandbox" / "pods" / pod_name / "output.log").read_text()
    assert "Read-only file system" not in out and "KaggleError" not in out and "kaggle competitions download" not in out, out[-3000:]
    assert (sandbox.claims / f"rdagent-run-{run}-workspace" / "RD-Agent_workspace").is_dir()
    assert (sandbox.claims / "rdagent-traces" / pod_name / "competition").is_dir(), "the run logged no competition to its trace"
    assert status == 1, out[-3000:]
    requests = [r for r in llm.requests() if r["method"] == "POST"]  # the gateway lists the provider's models (GET) as it starts
    if "RuntimeError: `coverage` module not found or not runnable in the target environment." in " ".join(out.split()):
        assert requests == []
    else:
        # RD-Agent's check reads `... || echo MISSING` from stdout and stderr in the order they
        # arrive: when the shell's error comes last it misses its own MISSING and the run goes on.
        # Then it reached its first request, with the stack's model and key.
        chat = [r for r in requests if r["path"].endswith("/chat/completions")]
        assert chat, out[-3000:]
        assert {r["body"]["model"] for r in chat} == {(config.get("rdagent:llm") or {}).get("chatModel", "gpt-4o")}
        assert {r["authorization"] for r in chat} == {f"Bearer {supplied[('rdagent-llm-providers', 'openai-api-key')]}"}


def test_the_sandbox_refuses_a_write_outside_the_pods_volumes(tmp_path, pod_network):
    """The negative control of 'writes nothing outside its volumes': the run container's own spec,
    writing once into its volume and once beside it."""
    network, _ = pod_network
    objects, _ = synth_for_app("test", tmp_path)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, sentinels(objects))
    job = run_object(objects, "model-report-smoke")
    script = "touch /workspace/rdagent-run/inside && echo inside-ok; touch /workspace/outside && echo outside-ok; touch /data/x && echo data-ok; exit 0"
    pod = sandbox.start(job, "rdagent", "rdagent-run-probe", command=["sh", "-c", script])
    assert pod.wait(30) == 0
    out = pod.output()
    assert "inside-ok" in out and (sandbox.claims / "rdagent-run-model-report-smoke-workspace" / "inside").exists(), out
    assert "outside-ok" not in out and "Read-only file system" in out, out
    assert "data-ok" not in out, "the data volume is mounted read-only"


# --- the UI ----------------------------------------------------------------------------------------


def health(network: PodNetwork, port: int) -> str:
    probe = f"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}/_stcore/health', timeout=5).read().decode())"
    result = network.run([str(ROOT / ".venv" / "bin" / "python"), "-c", probe], capture_output=True, text=True, timeout=30)
    return result.stdout.strip() if result.returncode == 0 else ""


PAGE = r"""
import json, sys
from importlib.resources import files
from streamlit.testing.v1 import AppTest
sys.argv = ["app.py", *sys.argv[1:]]  # the arguments `rdagent ui` gives the page's script
page = AppTest.from_file(str(files("rdagent.log.ui") / "app.py"), default_timeout=120)
page.run()
print(json.dumps({"exceptions": [e.value for e in page.exception], "traces": [list(s.options) for s in page.selectbox]}))
"""


def open_page(sandbox: Sandbox, ui: dict, name: str) -> dict:
    """RD-Agent's UI page run once by Streamlit's own AppTest, under the UI container's spec, with the
    arguments `rdagent ui` passes it (`--log_dir`): what a browser's first visit makes it do."""
    container = pod_spec(ui)["containers"][0]
    log_dir = container["args"][container["args"].index("--log-dir") + 1]
    page = sandbox.start(ui, "ui", name, command=["python", "-W", "ignore", "-c", PAGE, f"--log_dir={log_dir}"])
    assert page.wait(240) == 0, page.output()[-3000:]
    return json.loads(page.output().strip().splitlines()[-1])


def test_the_ui_page_opens_on_an_empty_traces_volume(tmp_path, pod_network):
    network, _ = pod_network
    objects, _ = synth_for_app("test", tmp_path)
    ui = ui_deployment(objects)
    # The negative control: without the init container, the page fails on the empty volume.
    bare = Sandbox(objects, tmp_path / "bare", network, sentinels(objects))
    assert open_page(bare, ui, "rdagent-ui-bare")["exceptions"] == ["list index out of range"]
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, sentinels(objects))
    assert sandbox.start(ui, "traces-placeholder", "rdagent-ui-init").wait(60) == 0
    assert open_page(sandbox, ui, "rdagent-ui-page") == {"exceptions": [], "traces": [["~no-trace-yet"]]}


def ui_in_sandbox(tmp_path: Path, network: PodNetwork) -> tuple[Sandbox, dict, dict]:
    """The test stack's sandbox, its UI Deployment and the UI container."""
    objects, _ = synth_for_app("test", tmp_path)
    ui = ui_deployment(objects)
    return Sandbox(objects, tmp_path / "sandbox", network, sentinels(objects)), ui, pod_spec(ui)["containers"][0]


READ_TRACE = """
import json, sys
from rdagent.core.serialization import UntrustedArtifactError
from rdagent.log.storage import FileStorage
try:
    tags = sorted({m.tag for m in FileStorage(sys.argv[1]).iter_msg()})
    print(json.dumps({"tags": tags}))
except UntrustedArtifactError as error:
    print(json.dumps({"refused": str(error)}))
"""


def test_the_ui_opens_the_trace_a_run_wrote_and_a_ui_with_another_key_cannot(tmp_path, pod_network):
    """A run writes its trace on the shared traces claim; the UI's own pod spec (its env, its
    read-only mount, its signing key) reads it with RD-Agent's own storage code, as the UI does."""
    network, _ = pod_network
    objects, _ = synth_for_app("test", tmp_path)
    supplied = sentinels(objects)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)
    job = run_object(objects, "model-report-smoke")
    seed_data(sandbox, objects, job)
    run_pod = "rdagent-run-model-report-smoke-q8w4z"
    with running_gateway(sandbox, supplied, tmp_path):
        sandbox.start(job, "rdagent", run_pod).wait(RUN_SECONDS)

    ui = ui_deployment(objects)
    assert sandbox.start(ui, "traces-placeholder", "rdagent-ui-init").wait(60) == 0
    page = open_page(sandbox, ui, "rdagent-ui-page")
    assert page == {"exceptions": [], "traces": [[run_pod, "~no-trace-yet"]]}, "the page lists the run's trace first"
    read = sandbox.start(ui, "ui", "rdagent-ui-reader", command=["python", "-c", READ_TRACE, f"/traces/{run_pod}"])
    assert read.wait(120) == 0, read.output()[-3000:]
    seen = json.loads(read.output().strip().splitlines()[-1])
    assert {"scenario", "load_experiment"} <= set(seen.get("tags", [])), seen

    # The negative control: the same UI with a key of its own (as every pod had before the stack's key).
    other = Sandbox(objects, tmp_path / "sandbox", network, {**supplied, ("rdagent-artifact-signing", "artifact-signing-key"): "o" * 64})
    refused = other.start(ui, "ui", "rdagent-ui-other-key", command=["python", "-c", READ_TRACE, f"/traces/{run_pod}"])
    assert refused.wait(120) == 0, refused.output()[-3000:]
    assert json.loads(refused.output().strip().splitlines()[-1]) == {"refused": "Artifact signature verification failed"}


def stop_seconds(pod, network: PodNetwork, port: int, patience: float) -> float | None:
    """Seconds from the kubelet's SIGTERM to the pod's exit, or None if it outlived `patience`."""
    wait_until(lambda: health(network, port) == "ok" or pod.process.poll() is not None, UI_START_SECONDS, "the UI's health answer")
    assert pod.process.poll() is None, pod.output()[-3000:]
    started = time.monotonic()
    pod.terminate()
    try:
        pod.process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        pod.kill()
        return None
    return time.monotonic() - started


def test_the_ui_starts_on_an_empty_traces_volume_answers_its_probe_and_stops_on_sigterm(tmp_path, pod_network):
    """The UI container as rendered: it answers its readiness probe on an empty traces volume,
    writes nothing there, asks no LLM, and stops well within its grace period: the image's tini is
    PID 1 and passes SIGTERM to rdagent and Streamlit."""
    network, llm = pod_network
    sandbox, ui, container = ui_in_sandbox(tmp_path, network)
    port = container["ports"][0]["containerPort"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/_stcore/health"
    grace = pod_spec(ui)["terminationGracePeriodSeconds"]
    assert "command" not in container and container["args"][:2] == ["rdagent", "ui"], "the image's ENTRYPOINT must stay"
    pod = sandbox.start(ui, "ui", "rdagent-ui-stable-5d9c8-abcde")
    try:
        seconds = stop_seconds(pod, network, port, grace)  # after the health answer
    finally:
        pod.kill()
    assert seconds is not None and seconds < grace / 3, f"stopped after {seconds} s of a {grace} s grace period"
    out = pod.output()
    assert "Traceback" not in out and "Read-only file system" not in out, out[-4000:]
    assert not (sandbox.claims / "rdagent-traces").exists() or not any((sandbox.claims / "rdagent-traces").iterdir()), "the UI wrote to the traces volume"
    assert llm.requests() == [], "the UI asked the LLM"


def test_rdagent_as_pid_1_ignores_sigterm(tmp_path, pod_network):
    """The negative control of the stop above: the same container with rdagent as PID 1 (a
    `command` bypasses the ENTRYPOINT) ignores SIGTERM until the grace period ends in SIGKILL."""
    network, _ = pod_network
    sandbox, ui, container = ui_in_sandbox(tmp_path, network)
    bare = sandbox.start(ui, "ui", "rdagent-ui-bare-pid1", command=container["args"])
    assert stop_seconds(bare, network, container["ports"][0]["containerPort"], 5) is None, "rdagent as PID 1 stopped on SIGTERM: the control no longer holds"


def test_a_run_reaches_an_azure_openai_deployment_with_its_endpoint_version_and_key(tmp_path, pod_network):
    """rdagent:llm with an Azure deployment: the run asks the stack's LLM gateway for the deployment by
    its configured name, and the gateway sends Azure's request (deployment in the path, the API
    version in the query, the Azure key only the gateway holds in `api-key`) to the configured endpoint."""
    network, llm = pod_network

    def azure(config):
        config["rdagent:llm"].update(chatModel="azure/rdagent-gpt-4o", azureApiBase=f"http://127.0.0.1:{STANDIN_PORT}", azureApiVersion="2024-10-21")
        config["rdagent:secrets"]["azureOpenaiApiKey"] = config["rdagent:secrets"]["openaiApiKey"]  # a secret, its value supplied below

    objects, _ = synth_for_app("test", tmp_path, azure)
    supplied = sentinels(objects)
    sandbox = Sandbox(objects, tmp_path / "sandbox", network, supplied)
    job = run_object(objects, "model-report-smoke")
    seed_data(sandbox, objects, job)
    with running_gateway(sandbox, supplied, tmp_path):
        pod = sandbox.start(job, "rdagent", "rdagent-run-azure-p2k9d")
        pod.wait(RUN_SECONDS)
    chat = [r for r in llm.requests() if "/chat/completions" in r["path"]]
    assert chat, pod.output()[-3000:]
    assert {r["path"] for r in chat} == {"/openai/deployments/rdagent-gpt-4o/chat/completions?api-version=2024-10-21"}
    assert {r["api_key"] for r in chat} == {supplied[("rdagent-llm-providers", "azure-openai-api-key")]}


def test_a_data_science_run_without_its_archive_downloads_with_the_stacks_kaggle_token(tmp_path, pod_network):
    """With no archive on the data volume RD-Agent downloads the competition with Kaggle's client.
    Without a token that client refuses before any request ("Authentication required"); with the
    stack's `secrets.kaggleApiToken` it goes ahead and meets the sandbox's closed network, which
    shows the token reached it. The token is in the run's env and nowhere in what the shipper sends."""
    network, _ = pod_network

    def with_token(config):
        config["rdagent:secrets"]["kaggleApiToken"] = config["rdagent:secrets"]["openaiApiKey"]  # a secret; its value is supplied below

    outputs = {}
    for name, edit in (("without", None), ("with", with_token)):
        objects, _ = synth_for_app("e2e", tmp_path / name, edit)
        supplied = sentinels(objects)
        sandbox = Sandbox(objects, tmp_path / name / "sandbox", network, supplied)
        job = run_object(objects, "ds-titanic-gpu")
        token = [e for e in pod_spec(job)["containers"][0]["env"] if e["name"] == "KAGGLE_API_TOKEN"]
        assert bool(token) == (edit is not None), token
        pod = sandbox.start(job, "rdagent", f"rdagent-run-kaggle-{name}")
        assert pod.wait(RUN_SECONDS) == 1
        outputs[name] = (pod.output(), supplied)
    without, _ = outputs["without"]
    assert "KaggleError: Download failed" in without and "Authentication required" in without, without[-2000:]
    out, supplied = outputs["with"]
    assert "KaggleError: Download failed" in out and "Authentication required" not in out, out[-2000:]
    assert "getaddrinfo" in out, "the authenticated client did not try the network"
    shipped = json.dumps(shipped_and_redacted(out.splitlines(), tmp_path))
    assert supplied[("rdagent-secrets", "kaggle-api-token")] not in shipped
