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
import os
import re
import shutil
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
    # LiteLLM's cost map from the package (as the pods have it), not fetched over the network at import.
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    result = subprocess.run([str(RDAGENT_PYTHON), "-c", RDAGENT_SCRIPT], capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
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


# --- redaction: the config's own Lua script, run by LuaJIT (the Lua Fluent Bit embeds) -------------

LUA_DRIVER = r"""
-- Feeds records to the script's function as Fluent Bit's lua filter does: one table a record.
dofile(arg[1])
local function read_chunk()
  local size = io.read("*l")
  if not size then return nil end
  return io.read(tonumber(size))
end
while true do
  local count = io.read("*l")
  if not count then break end
  local record = {}
  for _ = 1, tonumber(count) do
    local key = read_chunk()
    record[key] = read_chunk()
  end
  local code, _, out = _G[arg[2]]("kube.x", 0, record)
  if code == 0 then out = record end
  local n = 0
  for _ in pairs(out) do n = n + 1 end
  io.write(n, "\n")
  for key, value in pairs(out) do
    io.write(#key, "\n", key, #value, "\n", value)
  end
end
"""


def lua_filter(records: list[dict], config: dict, tmp_path) -> list[dict]:
    """The lua filter of the config, its script run by LuaJIT over the string fields of each record."""
    assert shutil.which("luajit"), "LuaJIT is missing: make test installs Debian's luajit package"
    (step,) = [s for s in config["pipeline"]["filters"] if s["name"] == "lua"]
    script = tmp_path / "redact.lua"
    script.write_text(log_shipper.REDACT_LUA)
    assert step["script"].endswith("/" + log_shipper.REDACT_SCRIPT)
    driver = tmp_path / "driver.lua"
    driver.write_text(LUA_DRIVER)
    payload = b""
    for record in records:
        fields = {k: v for k, v in record.items() if isinstance(v, str)}
        payload += f"{len(fields)}\n".encode()
        for key, value in fields.items():
            for chunk in (key.encode(), value.encode()):
                payload += f"{len(chunk)}\n".encode() + chunk
    result = subprocess.run(["luajit", str(driver), str(script), step["call"]], input=payload, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    data, out = result.stdout, []
    position = 0

    def chunk() -> str:
        nonlocal position
        end = data.index(b"\n", position)
        size = int(data[position:end])
        position = end + 1 + size
        return data[end + 1 : position].decode()

    for record in records:
        end = data.index(b"\n", position)
        count = int(data[position:end])
        position = end + 1
        fields = dict(chunk_pair for chunk_pair in ((chunk(), chunk()) for _ in range(count)))
        out.append({**record, **fields})
    return out


def shipped_and_redacted(lines: list[str], tmp_path) -> list[dict]:
    config = yaml.safe_load(log_shipper.render_config(log_shipper.fluent_bit_config(["rdagent"], "logstash", 5959)))
    return lua_filter(pipeline(config, cri_frame(lines)), config, tmp_path)


STARTUP_SCRIPT = r"""
from rdagent.oai.backend.litellm import LiteLLMAPIBackend
LiteLLMAPIBackend()  # logs its settings, as every run does on its first LLM call
"""
SENTINEL_KEY = "sk-proj-sentinel0123456789abcdefXYZ"


def test_the_shipper_masks_the_llm_key_rdagent_prints_at_start_up(tmp_path):
    """The real package's start-up line, through the shipper's parsing and its redaction script."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPENAI_API_KEY": SENTINEL_KEY,
        "LOG_TRACE_PATH": str(tmp_path / "trace"),
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }
    result = subprocess.run([str(RDAGENT_PYTHON), "-c", STARTUP_SCRIPT], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(f"openai_api_key='{SENTINEL_KEY}'" in line for line in lines), "rdagent no longer prints its key: the test lost its subject"
    unredacted = pipeline(yaml.safe_load(log_shipper.render_config(log_shipper.fluent_bit_config(["rdagent"], "logstash", 5959))), cri_frame(lines))
    assert SENTINEL_KEY in json.dumps(unredacted), "the negative control: without the lua filter the key is shipped"
    shipped = shipped_and_redacted(lines, tmp_path)
    assert SENTINEL_KEY not in json.dumps(shipped)
    (settings,) = [r for r in shipped if "openai_api_key=" in r.get("message", "")]
    assert "openai_api_key='[REDACTED]'" in settings["message"] and "chat_openai_api_key=None" in settings["message"]
    assert re.search(r"chat_model='[^']+'", settings["message"]), "the rest of the line is kept"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Authorization: Bearer abc.DEF-123_x/y+z==", "Authorization: Bearer [REDACTED]"),
        ("calling with key sk-live0123456789abcdefghij now", "calling with key sk-[REDACTED] now"),
        ("a task-1234 and sk-short stay", "a task-1234 and sk-short stay"),
        ('{"api_key": "abc123", "model": "gpt-4o"}', '{"api_key": "[REDACTED]", "model": "gpt-4o"}'),
        ("REDIS_PASSWORD=hunter2 other=1", "REDIS_PASSWORD=[REDACTED] other=1"),
        ('client_secret="s3cr3t" chat_max_tokens=4096', 'client_secret="[REDACTED]" chat_max_tokens=4096'),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_the_redaction_rules(line, expected, tmp_path):
    """Expectations written by hand, one per rule (and what must stay)."""
    config = log_shipper.fluent_bit_config(["rdagent"], "logstash", 5959)
    (out,) = lua_filter([{"log": line}], config, tmp_path)
    assert out["log"] == expected
