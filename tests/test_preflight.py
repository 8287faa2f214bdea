"""rdagent-infra preflight: the seed's pre-deployment checklist, checked from the stack."""

from __future__ import annotations

import shutil

import pytest
import yaml

from rdagent_infra.preflight import FAIL, NA, PASS, run_checklist
from tests.conftest import ROOT, run_cli

ITEMS = ["configuration complete and valid", "secrets and certificates", "rollback strategy", "alerts", "backups", "performance capacity", "security scan"]


def project_with(tmp_path, stack: str, edit) -> object:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", project / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    (project / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return project


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_our_production_stacks_pass(stack):
    items = {item.name: item for item in run_checklist(ROOT, stack)}
    assert list(items)[: len(ITEMS)] == ITEMS
    # The committed files name no account and only a documentation CIDR: those two items say what to set.
    unset = {"AWS account": "rdagent:aws.accountId", "API endpoint access": "rdagent:cluster.eks.publicAccessCidrs"}
    assert all(items[name].status == FAIL and key in items[name].reason for name, key in unset.items())
    others = {n: (i.status, i.reason) for n, i in items.items() if n not in ("database migrations", *unset)}
    assert all(status == PASS for status, _ in others.values()), others
    assert "checkov" in items["security scan"].reason and "0 failed" in items["security scan"].reason


def test_dev_marks_what_does_not_apply():
    items = {item.name: item for item in run_checklist(ROOT, "dev", scan=False)}
    assert items["rollback strategy"].status == NA and items["performance capacity"].status == NA
    assert items["configuration complete and valid"].status == PASS


def table_rows(text: str) -> dict[str, tuple[str, str]]:
    """The checklist table as printed: item -> (result, why), the why's wrapped lines joined."""
    rows: dict[str, list[str]] = {}
    item = None
    for line in text.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0]:
            item = cells[0]
            rows[item] = [cells[1], cells[2]]
        elif item is not None:
            rows[item][1] += " " + cells[2]
    return {name: (result, why) for name, (result, why) in rows.items()}


def test_a_missing_secret_fails_naming_the_item(tmp_path):
    project = project_with(tmp_path, "prod", lambda config: config["rdagent:secrets"].pop("openaiApiKey"))
    result = run_cli("preflight", "--stack", "prod", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "preflight: failed: configuration complete and valid, secrets and certificates" in result.stderr
    rows = table_rows(result.stdout)
    expected = (
        "Pulumi.prod.yaml: rdagent:secrets.openaiApiKey: prod needs at least one LLM API key (openaiApiKey, azureOpenaiApiKey, "
        "deepseekApiKey, anthropicApiKey), as a stack secret or from secretsStore.secrets"
    )
    assert rows["secrets and certificates"] == ("fail", expected), rows
    assert rows["rollback strategy"] == ("n/a", "not checked: the configuration is invalid"), rows
    items = {item.name: item for item in run_checklist(project, "prod")}
    assert items["secrets and certificates"].status == FAIL and "rdagent:secrets.openaiApiKey" in items["secrets and certificates"].reason


@pytest.mark.parametrize(
    ("edit", "item", "fragment"),
    [
        (lambda c: c["rdagent:rollout"].update(strategy="rolling"), "rollback strategy", "rolling updates only"),
        (lambda c: c.setdefault("rdagent:monitoring", {}).update(enabled=False), "alerts", "monitoring is disabled"),
        (lambda c: c["rdagent:logging"]["elasticsearch"].pop("snapshotRepository"), "backups", "no snapshot repository"),
        (lambda c: c["rdagent:workloads"]["ui"]["autoscaling"].update(maxReplicas=3), "performance capacity", "cannot scale out"),
    ],
)
def test_each_item_fails_for_its_reason(tmp_path, edit, item, fragment):
    project = project_with(tmp_path, "prod", edit)
    items = {i.name: i for i in run_checklist(project, "prod", scan=False)}
    assert items[item].status == FAIL and fragment in items[item].reason, (items[item].status, items[item].reason)
