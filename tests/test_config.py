"""Stack configuration: every stack file validates; bad input gives one clear line per problem."""

from __future__ import annotations

import pytest

from rdagent_infra.config import ConfigError, SecretValue, Tier, load_stack_config
from rdagent_infra.logic.steps import blue_green_weights
from rdagent_infra.stack_source import load_from_files
from tests.conftest import ROOT, STACKS

SECRET = SecretValue("s3cr3t")
BASE = {"secrets": {"redisPassword": SECRET, "elasticPassword": SECRET}}
PROD_SECRETS = {"secrets": {**BASE["secrets"], "openaiApiKey": SECRET}}


def problems(raw: dict, stack: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack, f"Pulumi.{stack}.yaml")
    return caught.value.problems


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_validates(stack):
    config, project = load_from_files(ROOT, stack)
    assert project == "rdagent-infra"
    assert config.tier == Tier(stack)


def test_seed_defaults():
    config = load_stack_config(BASE, "dev", "x")
    ui = config.workloads.ui
    assert (ui.port, ui.probe.path, ui.probe.initialDelaySeconds, ui.probe.periodSeconds) == (19899, "/_stcore/health", 30, 10)
    assert (ui.resources.requests.cpu, ui.resources.requests.memory, ui.resources.limits.cpu, ui.resources.limits.memory) == ("1000m", "2Gi", "4000m", "8Gi")
    assert [(s.weightPercent, s.durationMinutes) for s in config.rollout.canary.stages] == [(5, 5), (25, 15), (100, 30)]
    assert config.rollout.canary.stages[0].successRatePercent == 99 and config.rollout.canary.stages[0].latencyThresholdMs == 200
    assert config.rollout.canary.stages[1].errorRatePercent == 0.1 and config.rollout.canary.stages[2].autoPromote
    assert blue_green_weights(config.rollout.blueGreen) == [10, 30, 50, 70, 90, 100]
    assert (config.cache.l1.size, config.cache.l1.ttlSeconds, config.cache.l2.ttlSeconds, config.cache.l3.ttlSeconds) == ("1GB", 300, 3600, 86400)
    assert config.workloads.ompNumThreads == 4


def test_issue_example_three_problems_at_once():
    raw = {**PROD_SECRETS, "workloads": {"ui": {"replicas": -1}}, "colour": "blue", "images": {"version": "latest"}}
    assert problems(raw, "prod") == [
        "rdagent:colour: unknown key",
        "rdagent:images.version: the tag latest is not allowed in prod: use a semantic version such as 1.2.3",
        "rdagent:workloads.ui.replicas: must be >= 1, got -1",
    ]


@pytest.mark.parametrize(
    ("raw", "stack", "expected"),
    [
        ({"workloads": {"ui": {"replicas": 1}}}, "prod", "rdagent:workloads.ui.replicas: must be >= 2 in prod"),
        ({"workloads": {"ui": {"replicsa": 2}}}, "dev", "rdagent:workloads.ui.replicsa: unknown key (did you mean 'replicas'?)"),
        ({"workloads": {"ui": {"port": 70000}}}, "dev", "rdagent:workloads.ui.port: must be <= 65535, got 70000"),
        (
            {"workloads": {"ui": {"resources": {"requests": {"cpu": "5", "memory": "1Gi"}, "limits": {"cpu": "4", "memory": "2Gi"}}}}},
            "dev",
            "rdagent:workloads.ui.resources.requests.cpu: request 5 is above the limit 4",
        ),
        (
            {"workloads": {"ui": {"resources": {"requests": {"cpu": "1", "memory": "3Gi"}, "limits": {"cpu": "4", "memory": "2048Mi"}}}}},
            "dev",
            "rdagent:workloads.ui.resources.requests.memory: request 3Gi is above the limit 2048Mi",
        ),
        (
            {
                "workloads": {
                    "runs": [
                        {
                            "name": "r",
                            "scenario": "general_model",
                            "args": ["/data/paper.pdf"],
                            "resources": {"requests": {"cpu": "1", "memory": "1Gi", "gpu": 1}, "limits": {"cpu": "1", "memory": "1Gi", "gpu": 2}},
                        }
                    ]
                }
            },
            "dev",
            "rdagent:workloads.runs[0].resources.limits.gpu: must equal requests.gpu (1), got 2",
        ),
        (
            {
                "workloads": {
                    "runs": [
                        {
                            "name": "r",
                            "scenario": "general_model",
                            "args": ["/data/paper.pdf"],
                            "resources": {"requests": {"cpu": "lots", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                        }
                    ]
                }
            },
            "dev",
            "rdagent:workloads.runs[0].resources.requests.cpu: 'lots' is not a Kubernetes quantity",
        ),
        (
            {
                "rollout": {
                    "canary": {
                        "stages": [
                            {"weightPercent": 50, "durationMinutes": 5},
                            {"weightPercent": 25, "durationMinutes": 5},
                            {"weightPercent": 100, "durationMinutes": 5},
                        ]
                    }
                }
            },
            "dev",
            "rdagent:rollout.canary.stages[1].weightPercent: stage weights must rise strictly: 25 follows 50",
        ),
        (
            {"rollout": {"canary": {"stages": [{"weightPercent": 150, "durationMinutes": 5}]}}},
            "dev",
            "rdagent:rollout.canary.stages[0].weightPercent: must be <= 100, got 150",
        ),
        ({"rollout": {"blueGreen": {"incrementPercent": 0}}}, "dev", "rdagent:rollout.blueGreen.incrementPercent: must be > 0, got 0"),
        ({"images": {"references": {"production": "repo/rdagent"}}}, "staging", "rdagent:images.references.production: 'repo/rdagent' has no tag"),
        (
            {"images": {"references": {"production": "repo/rdagent:latest"}}},
            "prod",
            "rdagent:images.references.production: 'repo/rdagent:latest' uses the tag latest",
        ),
        ({"images": {"registry": ""}}, "dev", "rdagent:images.registry: must not be empty"),
        ({"tier": "qa"}, "dev", "rdagent:tier: must be one of dev, test, staging, prod, got 'qa'"),
    ],
)
def test_bad_values_name_the_key(raw, stack, expected):
    merged = {**(PROD_SECRETS if stack in ("staging", "prod") else BASE), **raw}
    found = problems(merged, stack)
    assert any(line.startswith(expected) for line in found), f"expected a line starting {expected!r}, got {found}"


def test_secret_keys_must_be_secrets():
    found = problems({"secrets": {"redisPassword": "plain-text", "elasticPassword": SECRET}})
    assert found == ["rdagent:secrets.redisPassword: must be set as a secret (pulumi config set --secret), not as plain text"]


def test_prod_requires_its_secrets():
    found = problems(BASE, "prod")
    assert found == [
        "rdagent:secrets.openaiApiKey: prod needs at least one LLM API key (openaiApiKey, azureOpenaiApiKey, deepseekApiKey, anthropicApiKey), "
        "as a stack secret or from secretsStore.secrets"
    ]


def test_seed_keys_rdagent_does_not_read_are_refused_with_what_to_do():
    found = problems({**PROD_SECRETS, "secrets": {**PROD_SECRETS["secrets"], "databaseUrl": SECRET}, "app": {"sslCertPath": "/etc/ssl/x.crt"}}, "prod")
    assert found == [
        "rdagent:app.sslCertPath: RD-Agent reads no SSL_CERT_PATH; the certificate (secrets.tlsCertificate/tlsPrivateKey) is served by the Ingress: remove app.sslCertPath",
        "rdagent:secrets.databaseUrl: RD-Agent reads no database URL (its state is its trace folders and workspaces): remove rdagent:secrets.databaseUrl",
    ]


def test_rdagent_settings_are_checked_against_the_package():
    found = problems({**BASE, "app": {"settings": {"CHAT_TEMPERATURE": "0.2", "NOT_A_SETTING": "1", "CHAT_MODEL": "x", "CHAT_AZURE_DEEPSEEK_KEY": "k"}}})
    assert found == ["rdagent:app.settings.NOT_A_SETTING: rdagent 1.0.0 reads no setting NOT_A_SETTING: use a name its settings classes read (upper case)"]
    assert problems({**BASE, "app": {"settings": {"CHAT_MODEL": "x"}}}) == [
        "rdagent:app.settings.CHAT_MODEL: set by the program from rdagent:llm, rdagent:secrets or rdagent:workloads: use those keys"
    ]
    assert problems({**BASE, "app": {"settings": {"CHAT_AZURE_DEEPSEEK_KEY": "k"}}}) == [
        "rdagent:app.settings.CHAT_AZURE_DEEPSEEK_KEY: looks like a secret: secrets go under rdagent:secrets, never in plain settings"
    ]


def test_run_command_lines_are_checked_against_the_cli():
    def run(**fields):
        return problems({**BASE, "workloads": {"runs": [{"name": "r", **fields}]}})

    assert run(scenario="general_model", competition="titanic", args=["/data/a.pdf"]) == [
        "rdagent:workloads.runs[0].competition: `rdagent general_model` takes no --competition"
    ]
    assert run(scenario="kaggle", competition="titanic")[0].startswith("rdagent:workloads.runs[0].scenario:")
    assert run(scenario="data_science", competition="titanic", allDurationMinutes=30, args=["--loops", "2"]) == [
        "rdagent:workloads.runs[0].args[0]: `rdagent data_science` has no option --loops "
        "(its options: --path, --checkout, --no-checkout, --step-n, --loop-n, --timeout, --competition)"
    ]
    assert run(scenario="general_model") == ["rdagent:workloads.runs[0].args: `rdagent general_model` needs its report_file_path as the first argument"]


def test_latest_is_fine_in_dev():
    assert load_stack_config({**BASE, "images": {"version": "latest"}}, "dev", "x").images.version == "latest"


def test_stack_file_errors(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: demo\nruntime: python\n")
    with pytest.raises(ConfigError) as missing:
        load_from_files(tmp_path, "dev")
    assert "Pulumi.dev.yaml: no such stack file" in missing.value.problems[0]
    (tmp_path / "Pulumi.dev.yaml").write_text("config:\n  rdagent:images: [unclosed\n")
    with pytest.raises(ConfigError) as broken:
        load_from_files(tmp_path, "dev")
    assert "Pulumi.dev.yaml:3:1: not valid YAML" in broken.value.problems[0]


def test_an_azure_deployment_needs_its_endpoint_version_and_key():
    def llm(stack="dev", secrets=None, **fields):
        return problems({"secrets": {**BASE["secrets"], **(secrets or {})}, "llm": fields}, stack)

    assert llm(chatModel="azure/gpt4o", azureApiVersion="2024-10-21") == [
        "rdagent:llm.azureApiBase: required: chatModel 'azure/gpt4o' is an Azure OpenAI deployment"
    ]
    assert llm(embeddingModel="azure/emb", azureApiBase="https://x.openai.azure.com") == [
        "rdagent:llm.azureApiVersion: required: embeddingModel 'azure/emb' is an Azure OpenAI deployment"
    ]
    assert llm(azureApiBase="https://x.openai.azure.com") == [
        "rdagent:llm.azureApiBase: set, but neither chatModel nor embeddingModel is an Azure deployment (azure/<deployment>)"
    ]
    assert llm("test", chatModel="azure/gpt4o", azureApiBase="https://x.openai.azure.com", azureApiVersion="2024-10-21") == [
        "rdagent:secrets.azureOpenaiApiKey: required: rdagent:llm names an Azure OpenAI deployment"
    ]
    config = load_stack_config(
        {**BASE, "llm": {"chatModel": "azure/gpt4o", "azureApiBase": "https://x.openai.azure.com", "azureApiVersion": "2024-10-21"}}, "dev", "Pulumi.dev.yaml"
    )
    assert (config.llm.azureApiBase, config.llm.azureApiVersion) == ("https://x.openai.azure.com", "2024-10-21")


def test_runs_are_bounded_below_their_deadline():
    def run(**fields):
        base = {"name": "r", "scenario": "data_science", "competition": "c", **fields}
        return problems({**BASE, "workloads": {"data": {}, "runs": [base]}})

    assert run() == [
        "rdagent:workloads.runs[0].allDurationMinutes: required: `rdagent data_science` loops until it is stopped; "
        "bound it (passed as --timeout) so that it ends before deadlineSeconds (86400 s)"
    ]
    assert run(allDurationMinutes=60, deadlineSeconds=3600) == [
        "rdagent:workloads.runs[0].allDurationMinutes: 60 min leaves less than 600 s before deadlineSeconds (3600 s) for the last step to finish: "
        "at most 50 min, or raise deadlineSeconds"
    ]
    assert run(allDurationMinutes=30, args=["--loop-n", "3"]) == [
        "rdagent:workloads.runs[0].args[0]: set the run's bounds with loopN and allDurationMinutes, not in args"
    ]
    assert problems({**BASE, "workloads": {"data": {}, "runs": [{"name": "g", "scenario": "general_model", "args": ["/data/a.pdf"], "loopN": 2}]}}) == [
        "rdagent:workloads.runs[0].loopN: `rdagent general_model` takes no --loop-n: it is not a loop and ends on its own"
    ]
    assert problems({**BASE, "workloads": {"runs": [{"name": "q", "scenario": "fin_factor"}]}})[0].startswith(
        "rdagent:workloads.runs[0].scenario: fin_factor cannot run in a pod: rdagent 1.0.0 builds its Qlib data only in Docker"
    )
    assert problems({**BASE, "workloads": {"runs": [{"name": "g", "scenario": "general_model", "args": ["/data/a.pdf"]}]}}) == [
        "rdagent:workloads.data: required by runs[0] (general_model): the claim its input data is on (mounted at /data)"
    ]
    config = load_stack_config(
        {**BASE, "workloads": {"data": {}, "runs": [{"name": "r", "scenario": "data_science", "competition": "c", "loopN": 2, "allDurationMinutes": 90}]}},
        "dev",
        "x",
    )
    assert config.workloads.runs[0].bound_args() == ["--loop-n", "2", "--timeout", "90m"]
