"""LLM API keys sourced from AWS Secrets Manager through the Secrets Store CSI driver (issue 21):
the configuration's refusals, what synth of prod makes of it (the SecretProviderClass, the pods'
volume and environment, one IAM role per reading ServiceAccount scoped to exactly the secrets, the
driver's chart), and the objects themselves on the real control plane (marker `cluster`)."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from rdagent_policies import rules

from rdagent_infra.config import LLM_KEY_SECRETS, ConfigError, SecretValue, load_stack_config
from rdagent_infra.logic import secrets_store
from rdagent_infra.logic.rdagent_env import SECRET_NAME
from rdagent_infra.stack_source import raw_stack_config
from tests.conftest import ROOT
from tests.test_bad_input import base
from tests.test_bad_input import synth as synth_cli
from tests.test_components import manifest, resources, synth

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rdagent/prod/deepseek-AbC123"
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET = SecretValue("s3cr3t")
# Only the LLM gateway holds provider keys: the runs send it the gateway key, the UI reads traces and
# asks no LLM; neither gets a key, the volume or a role.
READERS = ("rdagent-llm-gateway",)
IAM_RULE = {p.name: p for p in rules.RESOURCE_POLICIES}["no-wildcard-iam"]


@pytest.fixture(scope="module")
def prod():
    return synth("prod", secretsStore={"secrets": {"deepseekApiKey": ARN}, "kmsKeyArn": KMS_KEY})


def workload_pods(manifests) -> list[tuple[str, dict]]:
    """(name, pod spec) of every UI and LLM gateway Deployment and run Job."""
    found = [
        (m["metadata"]["name"], m["spec"]["template"]["spec"])
        for m in manifests
        if m["kind"] == "Deployment" and m["metadata"]["name"].startswith(("rdagent-ui", "rdagent-llm-gateway"))
    ]
    found += [
        (m["metadata"]["name"], m["spec"]["template"]["spec"]) for m in manifests if m["kind"] == "Job" and m["metadata"]["name"].startswith("rdagent-run")
    ]
    return found


def env_ref(container: dict, variable: str) -> dict:
    (entry,) = [e for e in container["env"] if e["name"] == variable]
    return entry["valueFrom"]["secretKeyRef"]


def test_the_provider_class_fetches_each_key_by_its_arn_and_syncs_the_secret_the_pods_read(prod):
    _, _, manifests = prod
    spc = manifest(manifests, "SecretProviderClass", secrets_store.PROVIDER_CLASS)
    assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1" and spc["metadata"]["namespace"] == "rdagent"
    parameters = spc["spec"]["parameters"]
    assert spc["spec"]["provider"] == "aws" and parameters["region"] == "us-east-1" and parameters["usePodIdentity"] == "false"
    assert yaml.safe_load(parameters["objects"]) == [{"objectName": ARN, "objectType": "secretsmanager", "objectAlias": "deepseek-api-key"}]
    assert spc["spec"]["secretObjects"] == [
        {"secretName": secrets_store.SYNCED_SECRET, "type": "Opaque", "data": [{"objectName": "deepseek-api-key", "key": "deepseek-api-key"}]}
    ]
    # The gateway's own Secret keeps the keys set as stack secrets, and not this one; the runs' Secret
    # (a Kaggle token, or the keys of a stack without a gateway) is not made.
    assert set(manifest(manifests, "Secret", "rdagent-llm-providers").get("stringData", {})) == {"openai-api-key"}
    assert not [m for m in manifests if m["kind"] == "Secret" and m["metadata"]["name"] == SECRET_NAME]


def test_the_gateway_pod_mounts_the_volume_and_reads_each_key_from_its_source_and_no_other_pod_does(prod):
    _, _, manifests = prod
    pods = workload_pods(manifests)
    readers = [(name, spec) for name, spec in pods if spec.get("serviceAccountName") in READERS]
    assert [name for name, _ in readers] == ["rdagent-llm-gateway"]
    for name, spec in readers:
        assert secrets_store.pod_volume() in spec["volumes"], name
        assert spec["automountServiceAccountToken"] is False, f"{name}: the driver requests the token, the pod mounts none"
        main = spec["containers"][0]
        assert {"name": "secrets-store", "mountPath": "/mnt/secrets-store", "readOnly": True} in main["volumeMounts"], name
        assert env_ref(main, "DEEPSEEK_API_KEY") == {"name": secrets_store.SYNCED_SECRET, "key": "deepseek-api-key"}, name
        assert env_ref(main, "OPENAI_API_KEY") == {"name": "rdagent-llm-providers", "key": "openai-api-key"}, name
    others = [(name, spec) for name, spec in pods if spec.get("serviceAccountName") not in READERS]
    assert {name.split("-")[1] for name, _ in others} == {"ui", "run"}, [name for name, _ in others]
    for name, spec in others:
        assert secrets_store.pod_volume() not in spec.get("volumes", []), name
        keys = {e["name"]: e["valueFrom"]["secretKeyRef"] for c in spec["containers"] for e in c.get("env", []) if e["name"].endswith("_API_KEY")}
        # A run holds the gateway key only (as OPENAI_API_KEY, which its LiteLLM client sends); the UI none.
        assert keys in ({}, {"OPENAI_API_KEY": {"name": "rdagent-llm-gateway-key", "key": "gateway-key"}}), (name, keys)


def test_each_reading_account_assumes_its_own_role_that_reads_exactly_those_secrets(prod):
    _, result, manifests = prod
    roles = {r.name: r for r in resources(result, "aws:iam/role:Role")}
    inline = {r.name: r for r in resources(result, "aws:iam/rolePolicy:RolePolicy")}
    for account in READERS:
        annotations = manifest(manifests, "ServiceAccount", account)["metadata"].get("annotations", {})
        assert annotations["eks.amazonaws.com/role-arn"].endswith(f"rdagent-secrets-store-{account}-role")
        trust = json.loads(roles[f"rdagent-secrets-store-{account}-role"].inputs["assumeRolePolicy"])
        (condition,) = [s["Condition"]["StringEquals"] for s in trust["Statement"]]
        assert [v for k, v in condition.items() if k.endswith(":sub")] == [f"system:serviceaccount:rdagent:{account}"]
        policy = json.loads(inline[f"rdagent-secrets-store-{account}-inline"].inputs["policy"])
        read, decrypt = policy["Statement"]
        assert read["Action"] == ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"] and read["Resource"] == [ARN]
        assert decrypt == {
            "Sid": "DecryptRdAgentSecrets",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KMS_KEY,
            "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}},
        }
        document = inline[f"rdagent-secrets-store-{account}-inline"]
        assert rules.evaluate(IAM_RULE, document.type, document.inputs) == []
    # No other ServiceAccount of the namespace is given a role.
    others = [
        m["metadata"]["name"] for m in manifests if m["kind"] == "ServiceAccount" and m["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn")
    ]
    assert sorted(others) == sorted(READERS)


def test_the_driver_comes_from_the_pinned_chart_with_secret_sync_and_runs_on_gpu_nodes_too(prod):
    config, result, _ = prod
    (release,) = [r for r in resources(result, "kubernetes:helm.sh/v3:Release") if r.name == "rdagent-secrets-store-csi"]
    chart = config.addons.secretsStoreCsiAws
    assert (release.inputs["chart"], release.inputs["version"], release.inputs["namespace"]) == (chart.chart, "3.1.1", "kube-system")
    assert release.inputs["repositoryOpts"] == {"repo": "https://aws.github.io/secrets-store-csi-driver-provider-aws"}
    driver = release.inputs["values"]["secrets-store-csi-driver"]
    assert driver["syncSecret"] == {"enabled": True} and driver["enableSecretRotation"] is True and driver["rotationPollInterval"] == "3600s"
    gpu_taint = [{"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    assert release.inputs["values"]["tolerations"] == driver["linux"]["tolerations"] == gpu_taint


def test_without_the_store_nothing_of_it_is_made():
    _, result, manifests = synth("prod")
    assert not [m for m in manifests if m["kind"] == "SecretProviderClass"]
    assert not [r for r in resources(result, "kubernetes:helm.sh/v3:Release") if r.name == "rdagent-secrets-store-csi"]
    for name, spec in workload_pods(manifests):
        assert not any("csi" in v for v in spec.get("volumes", [])), name
    assert not [m for m in manifests if m["kind"] == "ServiceAccount" and m["metadata"].get("annotations")]


def prod_raw() -> dict:
    """Pulumi.prod.yaml's rdagent: keys, without its LLM API key."""
    raw, _ = raw_stack_config(ROOT, "prod")
    raw["secrets"] = {k: v for k, v in raw["secrets"].items() if k not in LLM_KEY_SECRETS}
    return raw


def problems(raw: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, raw.get("tier", "prod"), "Pulumi.yaml")
    return caught.value.problems


def with_store(keys: dict, **overrides) -> dict:
    raw = prod_raw()
    raw["secretsStore"] = {"secrets": keys}
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value}
    return raw


def test_a_key_from_secrets_manager_alone_satisfies_prod():
    assert problems(prod_raw())[0].startswith("rdagent:secrets.openaiApiKey: prod needs at least one LLM API key")
    config = load_stack_config(with_store({"anthropicApiKey": ARN.replace("deepseek", "anthropic")}), "prod", "Pulumi.prod.yaml")
    assert config.llm_keys() == ["anthropicApiKey"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            with_store({"openaiApiKey": "arn:aws:secretsmanager:us-east-1:123456789012:secret:rdagent/openai"}),
            "rdagent:secretsStore.secrets.openaiApiKey: must be a Secrets Manager secret's full ARN, "
            "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX, the 6-character suffix included",
        ),
        (
            with_store({"openaiApiKey": ARN}, secrets={"openaiApiKey": SECRET}),
            "rdagent:secretsStore.secrets.openaiApiKey: comes from Secrets Manager and from secrets.openaiApiKey: one key, one source",
        ),
        (
            {**raw_stack_config(ROOT, "dev")[0], "tier": "dev", "secretsStore": {"secrets": {"deepseekApiKey": ARN}}},
            "rdagent:secretsStore.secrets: needs cluster.mode eks: the pods read Secrets Manager through IAM roles for their service accounts",
        ),
        (
            with_store({"openaiApiKey": ARN}, aws={"region": "eu-west-1"}),
            "rdagent:secretsStore.secrets: the secrets are in us-east-1, the stack in aws.region eu-west-1",
        ),
        (
            with_store({"openaiApiKey": ARN, "deepseekApiKey": ARN.replace("us-east-1", "us-west-2")}),
            "rdagent:secretsStore.secrets: the secrets are in several regions (us-east-1, us-west-2)",
        ),
        (
            with_store({"openaiApiKey": ARN}, secretsStore={"kmsKeyArn": "alias/rdagent"}),
            "rdagent:secretsStore.kmsKeyArn: has an invalid format",
        ),
    ],
    ids=["partial-arn", "two-sources", "not-eks", "other-region", "several-regions", "kms-alias"],
)
def test_the_configuration_refuses_what_cannot_work_with_one_clear_line(raw, expected):
    (found,) = problems(raw)
    assert found.startswith(expected), found


def test_synth_refuses_a_partial_arn_with_exit_2_and_writes_nothing(tmp_path):
    config = base()
    config["rdagent:secretsStore"] = {"secrets": {"deepseekApiKey": "rdagent/prod/deepseek"}}
    result, out = synth_cli(tmp_path, config)
    assert result.exit_code == 2, result.output
    assert "rdagent:secretsStore.secrets.deepseekApiKey: must be a Secrets Manager secret's full ARN" in result.output.replace("\n", " ")
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.cluster
def test_the_api_server_takes_the_provider_class_and_admits_a_gateway_pod_mounting_it(control_plane, prod):
    """The SecretProviderClass against the driver CRD's field types, with unknown fields refused; a
    run pod as synth makes it (claims swapped for emptyDir: kwok provisions no EBS or EFS) in a
    namespace enforcing the restricted Pod Security profile, which admits CSI inline volumes."""
    from tests.cluster import wait_for
    from tests.crds import SECRETS_STORE, register

    api = control_plane.api
    _, _, manifests = prod
    namespace = "secrets-store-checks"
    labels = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    api.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": labels}})
    register(api, SECRETS_STORE)

    spc = copy.deepcopy(manifest(manifests, "SecretProviderClass", secrets_store.PROVIDER_CLASS))
    spc["metadata"]["namespace"] = namespace
    path = f"/apis/secrets-store.csi.x-k8s.io/v1/namespaces/{namespace}/secretproviderclasses"
    api.request("POST", path, spc, params={"fieldValidation": "Strict"})
    stored = api.get(f"{path}/{secrets_store.PROVIDER_CLASS}")
    assert stored["spec"] == spc["spec"], "the API server pruned or changed the class"
    broken = copy.deepcopy(spc)
    broken["metadata"]["name"] = "misspelt"
    broken["spec"]["secretObject"] = broken["spec"].pop("secretObjects")
    with pytest.raises(Exception, match='unknown field "spec.secretObject"'):
        api.request("POST", path, broken, params={"fieldValidation": "Strict"})

    account = copy.deepcopy(manifest(manifests, "ServiceAccount", READERS[0]))
    account["metadata"]["namespace"] = namespace
    api.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", account, params={"fieldValidation": "Strict"})
    gateway = manifest(manifests, "Deployment", READERS[0])
    spec = copy.deepcopy(gateway["spec"]["template"]["spec"])
    spec["volumes"] = [{"name": v["name"], "emptyDir": {}} if "persistentVolumeClaim" in v else v for v in spec["volumes"]]
    spec.pop("nodeSelector", None)
    for container in spec["containers"]:
        container["resources"] = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gateway-reading-secrets-manager", "namespace": namespace}, "spec": spec}
    api.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod, params={"fieldValidation": "Strict"})
    created = api.get(f"/api/v1/namespaces/{namespace}/pods/gateway-reading-secrets-manager")
    assert secrets_store.pod_volume() in created["spec"]["volumes"]
    wait_for(lambda: api.get(f"/api/v1/namespaces/{namespace}/pods/gateway-reading-secrets-manager")["spec"].get("nodeName"), 60, "the pod to be scheduled")
    api.delete(f"/api/v1/namespaces/{namespace}")
