"""synth writes the same bytes whichever YAML emitter wrote a manifest: libyaml's C emitter is
used only where it matches PyYAML's pure-Python one (rdagent_infra/logic/yaml_dump.py); and
resources.json is json.dumps(indent=2)'s bytes whether orjson or json wrote it."""

from __future__ import annotations

import json
import shutil
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rdagent_infra.logic import yaml_dump
from rdagent_infra.stack_source import load_from_files
from rdagent_infra.synth import resources_json, run_program, write_output
from tests.conftest import ROOT

# Strings from everywhere: printable ASCII runs, punctuation YAML cares about, line breaks,
# control characters, Latin-1, BMP and non-BMP characters, the odd separators.
PIECES = [*"abc xyz", "word", "x" * 40, ": ", " #", "'", '"', "\\", "-", "{", "[", "*", "&", "!", "|", ">", "?", "%", "@", "`", ","]
PIECES += ["\n", "\n  ", "\t", "\r", "\x00", "\x07", "\x1b", "\x7f", "\x85", "\xa0", "\xad", "é", "ü", "—", "中", "\u2028", "\u2029", "\ufeff"]
PIECES += ["\ufffe", "\ue000", "😀", "\U00010000", "true", "null", "1.5", "0x1F", "~"]
TEXT = st.lists(st.sampled_from(PIECES), max_size=60).map("".join) | st.text(max_size=80)
KEYS = st.text(alphabet=string.ascii_letters + string.digits + "._/-", min_size=1, max_size=40) | TEXT
LEAF = TEXT | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
TREE = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=25)


def strings_and_keys(value, strings: list[str], keys: set[str]) -> None:
    if isinstance(value, dict):
        keys.update(value)
        for item in value.values():
            strings_and_keys(item, strings, keys)
    elif isinstance(value, list):
        for item in value:
            strings_and_keys(item, strings, keys)
    elif isinstance(value, str):
        strings.append(value)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(KEYS, TREE, min_size=1, max_size=5))
def test_the_c_emitter_is_used_only_where_it_writes_the_same_bytes(document):
    strings: list[str] = []
    keys: set[str] = set()
    strings_and_keys(document, strings, keys)
    if all(map(yaml_dump.same_in_both, strings)) and yaml_dump.keys_same_in_both(keys):
        assert yaml_dump.dump(document, yaml_dump.FAST_DUMPER) == yaml_dump.dump(document, yaml_dump.PURE_DUMPER)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(KEYS, TREE, min_size=1, max_size=5), st.sampled_from([yaml_dump.FAST_DUMPER, yaml_dump.PURE_DUMPER]))
def test_dump_writes_what_yaml_dump_writes(document, dumper):
    # dump builds the nodes itself (no representer dispatch); the same text either way.
    shared = {"a": [1, 2]}
    # PyYAML's own dumper, without the remembered tags.
    plain = yaml.CSafeDumper if dumper is yaml_dump.FAST_DUMPER else yaml.SafeDumper
    assert yaml_dump.dump(document, dumper) == yaml.dump(document, Dumper=plain, **yaml_dump.DUMP_OPTIONS)
    assert yaml_dump.dump({"x": shared, "y": shared}, dumper) == yaml.dump({"x": shared, "y": shared}, Dumper=plain, **yaml_dump.DUMP_OPTIONS)


def has_float(value) -> bool:
    if isinstance(value, dict):
        return any(has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(has_float(item) for item in value)
    return isinstance(value, float)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.dictionaries(KEYS, TREE, max_size=5), max_size=4))
def test_resources_json_is_json_dumps_byte_for_byte(resources):
    # synth reports whether an input holds a float (redact turns whole ones into integers).
    assert resources_json(resources, floats=has_float(resources)) == json.dumps(resources, indent=2) + "\n"


def test_resources_json_takes_the_c_encoder_for_plain_inputs(monkeypatch):
    # DEL is not plain: json.dumps escapes it (\u007f), orjson writes it as it is (the property above found it).
    plain = [{"type": "kubernetes:core/v1:ConfigMap", "inputs": {"data": {"k": "v\n\t\x01~"}, "n": 2**63 - 1, "e": [], "m": {}}}]
    monkeypatch.setattr(json, "dumps", lambda *a, **k: pytest.fail("fell back to json.dumps"))
    assert resources_json(plain, floats=False).startswith('[\n  {\n    "type": "kubernetes:core/v1:ConfigMap"')


def test_the_fast_emitter_is_really_libyaml():
    # Without libyaml the fast path silently becomes the slow one; the pinned wheel has it.
    assert yaml.__with_libyaml__ and issubclass(yaml_dump.FAST_DUMPER, yaml.CSafeDumper)


def files_of(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def exotic_project(folder: Path) -> Path:
    """The test stack with batch runs whose arguments hold what the emitters write differently."""
    folder.mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", folder / "Pulumi.yaml")
    document = yaml.safe_load((ROOT / "Pulumi.test.yaml").read_text())
    run = document["config"]["rdagent:workloads"]["runs"][0]
    odd = ["😀 emoji", "line\u2028sep", "nel\x85here", "日本語 テキスト", "x " * 90, "tab\there", "multi\nline\n  indented", "", "bom\ufeff"]
    report = run["args"][0]  # general_model's report, on the data volume
    document["config"]["rdagent:workloads"]["runs"] = [
        run,
        {**run, "name": "odd-args", "args": [report, *odd]},
        {**run, "name": "long", "args": [report, "y" * 300]},
    ]
    (folder / "Pulumi.test.yaml").write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return folder


@pytest.mark.parametrize("stack", ["prod", "exotic"])
def test_synth_writes_the_bytes_pyyaml_alone_writes(stack, tmp_path, monkeypatch):
    project = exotic_project(tmp_path / "project") if stack == "exotic" else ROOT
    config, name = load_from_files(project, "test" if stack == "exotic" else stack)
    result = run_program(config, name, stack)
    write_output(result, tmp_path / "fast")
    monkeypatch.setattr(yaml_dump, "FAST_DUMPER", yaml_dump.PURE_DUMPER)
    write_output(result, tmp_path / "pure")
    fast, pure = files_of(tmp_path / "fast"), files_of(tmp_path / "pure")
    assert fast.keys() == pure.keys()
    assert [name for name in fast if fast[name] != pure[name]] == []
    if stack == "exotic":
        (odd_job,) = (tmp_path / "fast").glob("Job__rdagent__rdagent-run-odd-args-*.yaml")  # named by a hash of its spec
        assert "😀 emoji" in odd_job.read_text()
