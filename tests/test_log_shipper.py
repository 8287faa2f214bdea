"""The log shipper's parsing rules against real RD-Agent output.

Fluent Bit cannot be built or installed here (no Debian package in this release, no package in a
registry we reach, and it is C). So the real RD-Agent logger (the installed `rdagent` package in
.tools/rdagent) writes the lines, they are framed as the container runtime frames them (CRI), and
they go through a faithful implementation of the pipeline the DaemonSet's config declares:
the `cri` multiline parser, our regex multiline parser, and the parser filters with
`reserve_data on`. The regular expressions are the config's own, translated for Python's `re` only
where the syntax differs (`(?<name>)`), and `python_pattern` refuses any construct outside the
subset both engines read alike.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, datetime

import pytest
import yaml

from rdagent_infra.logic import log_shipper
from rdagent_infra.logic.log_shipper import python_pattern
from tests.conftest import ROOT

RDAGENT_PYTHON = ROOT / ".tools" / "rdagent" / "bin" / "python"
CRI_LINE = re.compile(r"^(?P<time>.+?) (?P<stream>stdout|stderr) (?P<_p>F|P) (?P<log>.*)$")  # Fluent Bit's built-in `cri`
CRI_MAX_LINE = 16 * 1024  # containerd splits longer lines into partial (P) records

RDAGENT_SCRIPT = r"""
import json
from rdagent.log import rdagent_logger as logger

def step():
    logger.info("loop 0: coding started")
    logger.warning("first line\nsecond line\n  indented third")
    try:
        1 / 0
    except ZeroDivisionError:
        import traceback
        logger.error("run failed:\n" + traceback.format_exc())
    print(json.dumps({"level": "INFO", "message": "a JSON line", "run": "ds-titanic"}), flush=True)
    logger.info("x" * 40000)

step()
"""


@pytest.fixture(scope="module")
def rdagent_output(tmp_path_factory) -> list[str]:
    assert RDAGENT_PYTHON.exists(), "the rdagent package is not installed: run make rdagent-venv"
    cwd = tmp_path_factory.mktemp("rdagent-run")
    result = subprocess.run([str(RDAGENT_PYTHON), "-c", RDAGENT_SCRIPT], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def cri_frame(lines: list[str]) -> list[str]:
    """The lines as containerd writes them to /var/log/pods: time, stream, P/F, content."""
    framed = []
    for line in lines:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        chunks = [line[i : i + CRI_MAX_LINE] for i in range(0, len(line), CRI_MAX_LINE)] or [""]
        for index, chunk in enumerate(chunks):
            framed.append(f"{stamp} stdout {'F' if index == len(chunks) - 1 else 'P'} {chunk}")
    return framed


def cri_parse(framed: list[str]) -> list[dict]:
    records, partial = [], ""
    for line in framed:
        match = CRI_LINE.match(line)
        assert match, f"not a CRI line: {line[:80]!r}"
        partial += match["log"]
        if match["_p"] == "F":
            records.append({"time": match["time"], "stream": match["stream"], "log": partial})
            partial = ""
    return records


def multiline(records: list[dict], parser: dict) -> list[dict]:
    """Fluent Bit's regex multiline parser: a start_state line opens a record, cont lines join it."""
    rules = {rule["state"]: re.compile(python_pattern(rule["regex"].strip("/"))) for rule in parser["rules"]}
    out: list[dict] = []
    pending: dict | None = None
    for record in records:
        if rules["start_state"].search(record["log"]):
            if pending:
                out.append(pending)
            pending = dict(record)
        elif pending and rules["cont"].search(record["log"]):
            pending["log"] += "\n" + record["log"]
        else:
            if pending:
                out.append(pending)
                pending = None
            out.append(record)
    if pending:
        out.append(pending)
    return out


def parser_filter(records: list[dict], key: str, parser: dict) -> list[dict]:
    """A parser filter with reserve_data on: parsed fields replace the key; unparsed records pass."""
    out = []
    for record in records:
        if key not in record:
            out.append(record)
            continue
        fields = None
        if parser["format"] == "json":
            try:
                value = json.loads(record[key])
            except ValueError:
                value = None
            fields = value if isinstance(value, dict) else None
        else:
            match = re.compile(python_pattern(parser["regex"])).search(record[key])
            fields = match.groupdict() if match else None
        out.append(record if fields is None else {**{k: v for k, v in record.items() if k != key}, **fields})
    return out


def pipeline(config: dict, framed: list[str]) -> list[dict]:
    filters = config["pipeline"]["filters"]
    parsers = {parser["name"]: parser for parser in config["parsers"]}
    multiline_parsers = {parser["name"]: parser for parser in config["multiline_parsers"]}
    assert config["pipeline"]["inputs"][0]["multiline.parser"] == "cri"
    records = cri_parse(framed)
    for step in filters:
        if step["name"] == "multiline":
            records = multiline(records, multiline_parsers[step["multiline.parser"]])
        elif step["name"] == "parser":
            assert step["reserve_data"] == "on"
            records = parser_filter(records, step["key_name"], parsers[step["parser"]])
    return records


@pytest.fixture(scope="module")
def shipped(rdagent_output) -> list[dict]:
    config = yaml.safe_load(log_shipper.render_config(log_shipper.fluent_bit_config(["rdagent"], "logstash.rdagent.svc.cluster.local", 5959)))
    return pipeline(config, cri_frame(rdagent_output))


def test_rdagent_writes_loguru_default_lines(rdagent_output):
    first = rdagent_output[0]
    assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \| INFO     \| __main__:step:\d+ - loop 0: coding started$", first), first


def test_each_rdagent_message_is_one_record_with_its_fields(shipped):
    assert [record.get("level") for record in shipped] == ["INFO", "WARNING", "ERROR", "INFO", "INFO"], shipped
    info, warning, error, as_json, long = shipped
    assert info["message"] == "loop 0: coding started" and info["logger"] == "__main__" and info["function"] == "step"
    assert warning["message"] == "first line\nsecond line\n  indented third"
    assert error["message"].startswith("run failed:\nTraceback (most recent call last):") and error["message"].rstrip().endswith(
        "ZeroDivisionError: division by zero"
    )
    assert as_json == {"time": as_json["time"], "stream": "stdout", "level": "INFO", "message": "a JSON line", "run": "ds-titanic"}
    assert long["message"] == "x" * 40000, "a line containerd split into partial records comes back whole"
    assert all("log" not in record for record in shipped), "every RD-Agent line was parsed"


def test_the_regexes_stay_in_the_shared_subset():
    for pattern in (log_shipper.LOGURU_LINE, log_shipper.LOGURU_START, log_shipper.LOGURU_CONTINUATION):
        re.compile(python_pattern(pattern))
    for construct in (r"\d+", r"(?<=a)b", r"a++", r"\h", r"\Ka", r"(?>a)", r"a$"):
        with pytest.raises(ValueError):
            python_pattern(construct)


def test_the_shipper_tails_our_namespaces_and_sends_json_lines_to_logstash():
    config = log_shipper.fluent_bit_config(["rdagent", "rdagent-jobs"], "logstash.rdagent.svc.cluster.local", 5959)
    assert config["pipeline"]["inputs"][0]["path"] == "/var/log/containers/*_rdagent_*.log,/var/log/containers/*_rdagent-jobs_*.log"
    output = config["pipeline"]["outputs"][0]
    assert (output["name"], output["host"], output["port"], output["format"]) == ("tcp", "logstash.rdagent.svc.cluster.local", 5959, "json_lines")
    kubernetes = next(step for step in config["pipeline"]["filters"] if step["name"] == "kubernetes")
    assert kubernetes["kube_tag_prefix"] == log_shipper.TAG_PREFIX and config["pipeline"]["inputs"][0]["tag"] == "kube.*"
