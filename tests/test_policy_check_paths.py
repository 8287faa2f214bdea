"""`policy check` gives the same findings, in the same order, however it parses: PyYAML's
pure-Python loader in one process (how it worked before libyaml), libyaml's loader, and
libyaml in worker processes over chunks of files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from rdagent_policies import manifest_check

PURE = {"jobs": 1, "loader": manifest_check.PURE_LOADER}
VARIANTS = [{"jobs": 1}, {"jobs": 2}, {"jobs": 3}, {}]


def deployment(index: int, track: str | None = None, port: int = 8080) -> dict:
    labels = {"app.kubernetes.io/name": f"app-{index % 4}", **({"rdagent.io/track": track} if track else {})}
    security = {"runAsNonRoot": True, "readOnlyRootFilesystem": index % 2 == 0, "capabilities": {"drop": ["ALL"]}}
    if index % 3 == 0:
        security = {"runAsUser": 0, "privileged": True}
    container = {
        "name": "web",
        "image": f"example.com/web:1.{index}",
        "ports": [{"containerPort": port}],
        "securityContext": security,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"web-{index}", "namespace": "ns", "annotations": {"note": "é — 中 😀"}},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}},
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, synth_base) -> Path:
    from tests.conftest import synth_dir

    root = tmp_path_factory.mktemp("corpus")
    for stack in ("dev", "prod"):
        shutil.copytree(synth_dir(stack, synth_base), root / stack, ignore=shutil.ignore_patterns("*.json", ".rdagent-synth"))
    generated = root / "generated"
    generated.mkdir()
    for index in range(120):
        track = ("blue", "green", "stable", "canary")[index % 4] if index % 5 == 0 else None
        (generated / f"d-{index:03d}.yaml").write_text(yaml.safe_dump(deployment(index, track), allow_unicode=True))
    (generated / "multi.yaml").write_text(yaml.safe_dump_all([deployment(500), None, "text", deployment(501)]))
    (generated / "list.yml").write_text(
        yaml.safe_dump({"kind": "List", "items": [deployment(600), deployment(601, "canary", 9090), deployment(605, "stable")]})
    )
    anchors = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: &l {a: b}}\nspec:\n  containers:\n  - &c {name: c, image: i}\n  initContainers: [*c]\n  nodeSelector:\n    <<: *l\n"
    (generated / "anchors.yaml").write_text(anchors)
    return root


def lines(paths: list[Path], **how) -> list[str]:
    try:
        return [finding.line() for finding in manifest_check.check(paths, manifest_check.load_levels(None), **how)]
    except manifest_check.ManifestError as exc:
        return [f"error: {exc}"]


def test_the_same_findings_whichever_parser_and_processes(corpus):
    before = lines([corpus])
    assert len(before) > 300 and any("(all files)" in line for line in before), "the corpus exercises too little"
    assert lines([corpus], **PURE) == before
    for how in VARIANTS:
        assert lines([corpus], **how) == before, how


@pytest.mark.parametrize("text", ["a: [1, 2\nb: c\n", "kind: Pod\n  bad: indent\n", "\tkey: tab\n", "a: b\n---\n- [\n"])
def test_invalid_yaml_gives_the_same_message(corpus, tmp_path, text):
    bad = tmp_path / "zz-bad.yaml"
    bad.write_text(text)
    expected = lines([corpus, bad], **PURE)
    assert expected[0].startswith("error: ") and str(bad) in expected[0]
    for how in VARIANTS:
        assert lines([corpus, bad], **how) == expected, how
