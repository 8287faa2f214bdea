"""`policy check --format`: the findings of a manifest check as text (one line each), JSON (one
object each), SARIF 2.1.0 (GitHub code scanning) or JUnit XML. Pure rendering: the check itself
lives in `manifest_check`; the exit status is decided there and in the command line, not here."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from rdagent_policies import __version__, rules
from rdagent_policies.manifest_check import Finding

FORMATS = ("text", "json", "sarif", "junit")
TOOL_NAME = "rdagent-policies"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SARIF_LEVELS = {"mandatory": "error", "advisory": "warning"}
STACK_FILE = "(all files)"


def render(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "text":
        return "".join(f"{finding.line()}\n" for finding in findings)
    if fmt == "json":
        return json.dumps([as_dict(finding) for finding in findings], indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(sarif(findings), indent=2) + "\n"
    if fmt == "junit":
        return junit(findings)
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def as_dict(finding: Finding) -> dict[str, Any]:
    kind, _, name = finding.object.partition("/")
    return {
        "file": finding.file,
        "kind": kind,
        "name": name,
        "policy": finding.policy,
        "level": finding.level,
        "message": finding.message,
    }


def catalogue() -> list[tuple[str, str, str]]:
    """(name, description, default level) of every policy, resource policies first."""
    return [(p.name, p.description, p.default_level) for p in rules.RESOURCE_POLICIES] + [
        (rules.STACK_POLICY_NAME, rules.STACK_POLICY_DESCRIPTION, "mandatory")
    ]


def document_lines(path: Path) -> dict[str, int]:
    """`Kind/name` -> the 1-based line where that object's YAML document (or List item) starts."""
    lines: dict[str, int] = {}
    try:
        nodes = list(yaml.compose_all(path.read_text()))
    except (OSError, yaml.YAMLError):
        return lines
    for node in nodes:
        for item in _objects(node):
            fields = {key.value: value for key, value in item.value if isinstance(key, yaml.ScalarNode)}
            metadata = fields.get("metadata")
            name = next((v.value for k, v in metadata.value if k.value == "name"), "?") if isinstance(metadata, yaml.MappingNode) else "?"
            kind = fields["kind"].value if isinstance(fields.get("kind"), yaml.ScalarNode) else "?"
            lines.setdefault(f"{kind}/{name}", item.start_mark.line + 1)
    return lines


def _objects(node: yaml.Node) -> Iterable[yaml.MappingNode]:
    if not isinstance(node, yaml.MappingNode):
        return []
    fields = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
    kind = fields.get("kind")
    if isinstance(kind, yaml.ScalarNode) and kind.value == "List" and isinstance(fields.get("items"), yaml.SequenceNode):
        return [item for item in fields["items"].value if isinstance(item, yaml.MappingNode)]
    return [node]


def sarif(findings: Sequence[Finding]) -> dict[str, Any]:
    policies = catalogue()
    index = {name: i for i, (name, _, _) in enumerate(policies)}
    lines: dict[str, dict[str, int]] = {}
    results = []
    for finding in findings:
        if finding.file != STACK_FILE and finding.file not in lines:
            lines[finding.file] = document_lines(Path(finding.file))
        result: dict[str, Any] = {
            "ruleId": finding.policy,
            "ruleIndex": index[finding.policy],
            "level": SARIF_LEVELS[finding.level],
            "message": {"text": finding.message},
            "locations": [_location(finding, lines.get(finding.file, {}))],
        }
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "rules": [
                            {
                                "id": name,
                                "name": name,
                                "shortDescription": {"text": description},
                                "fullDescription": {"text": description},
                                "help": {
                                    "text": f"{description} Exempt one resource with the annotations {rules.EXEMPT_ANNOTATION} and {rules.EXEMPT_REASON_ANNOTATION}."
                                },
                                "defaultConfiguration": {"level": SARIF_LEVELS[level]},
                            }
                            for name, description, level in policies
                        ],
                    }
                },
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def _location(finding: Finding, lines: dict[str, int]) -> dict[str, Any]:
    logical = {"fullyQualifiedName": finding.object, "kind": "resource"}
    if finding.file == STACK_FILE:
        return {"logicalLocations": [logical]}
    return {
        "physicalLocation": {"artifactLocation": {"uri": Path(finding.file).as_posix()}, "region": {"startLine": lines.get(finding.object, 1)}},
        "logicalLocations": [logical],
    }


def junit(findings: Sequence[Finding]) -> str:
    """One test suite per policy, one test case per finding (a failure when mandatory); a policy
    without findings has one passing case, so every policy shows in the report."""
    root = ET.Element("testsuites", name=TOOL_NAME)
    total = failures = 0
    for name, description, _level in catalogue():
        mine = [f for f in findings if f.policy == name]
        suite = ET.SubElement(root, "testsuite", name=name)
        ET.SubElement(suite, "properties").append(ET.Element("property", name="description", value=description))
        cases = mine or [None]
        failed = 0
        for finding in cases:
            if finding is None:
                ET.SubElement(suite, "testcase", classname=name, name="no findings")
                continue
            case = ET.SubElement(suite, "testcase", classname=name, name=f"{finding.object} ({finding.file})")
            if finding.level == "mandatory":
                failed += 1
                ET.SubElement(case, "failure", message=finding.message, type="mandatory").text = finding.message
            else:
                ET.SubElement(case, "system-out").text = f"advisory: {finding.message}"
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failed))
        suite.set("errors", "0")
        total += len(cases)
        failures += failed
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
