"""The node-level log shipper (Fluent Bit) as plain data: its YAML configuration and parsers.

RD-Agent logs with loguru to stdout, in loguru's default format unless LOG_FORMAT_CONSOLE is set:
`2026-12-01 19:40:00.123 | INFO     | rdagent.app.cli:main:42 - message`, a message that spans
lines continuing on the following lines. Fluent Bit tails the container runtime's files for our
namespaces, joins the CRI partial lines (`cri`), joins a loguru message's continuation lines
(`rdagent_loguru_multiline`), adds Kubernetes metadata, parses JSON lines or loguru lines, and
redacts secrets from every string field (`redact.lua`, below), and sends JSON lines to Logstash's
TCP input, whose Elasticsearch output applies the retention policy.

Redaction: RD-Agent 1.0.0 prints its LiteLLM settings at INFO as it starts, `openai_api_key='...'`
included, and LiteLLM and HTTP clients may print bearer tokens; nothing of that may leave the node.
The Lua filter (Fluent Bit runs LuaJIT) masks the value of every `*key`, `*password`, `*secret` and
`*token` field written as `name='value'`, `name="value"`, `name=value` or `"name": "value"`, bearer
tokens, and OpenAI-style `sk-...` keys, in every string field of a record after parsing.

The regular expressions are Onigmo (Fluent Bit's engine). They are written in the subset of syntax
that Onigmo and Python's `re` read the same way (ASCII classes, `[\\s\\S]`, `(?!...)`, named groups),
so tests run them through Python: `python_pattern` is the only translation, and it refuses anything
outside that subset.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}"
# loguru's default format: "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{function}:{line} - {message}"
LOGURU_LINE = rf"^(?<logged_at>{TIMESTAMP}) \| (?<level>[A-Z]+) *\| (?<logger>[^: ]+):(?<function>[^: ]*):(?<line>[0-9]+) - (?<message>[\s\S]*)"
LOGURU_START = rf"^{TIMESTAMP} \| "
# A continuation line: neither a loguru line nor a one-line JSON object (those are records of their own).
LOGURU_CONTINUATION = rf'^(?!{TIMESTAMP} \| )(?!\{{")'

JSON_PARSER = "rdagent_json"
LOGURU_PARSER = "rdagent_loguru"
MULTILINE_PARSER = "rdagent_loguru_multiline"
TAG_PREFIX = "kube.var.log.containers."
HEALTH_PORT = 2020
DB_DIR = "/var/lib/rdagent-log-shipper"
CONFIG_DIR = "/fluent-bit/etc/rdagent"
REDACT_SCRIPT = "redact.lua"
REDACT_CALL = "redact"
MASK = "[REDACTED]"
# Lua patterns (Lua 5.1, which LuaJIT implements): no alternation, so one rule a field-name ending.
REDACT_LUA = r"""-- rdagent-infra: masks secrets in every string field of a record (Fluent Bit lua filter).
local MASK = "[REDACTED]"
local NAMES = { "[Kk][Ee][Yy]", "[Pp][Aa][Ss][Ss][Ww][Oo][Rr][Dd]", "[Ss][Ee][Cc][Rr][Ee][Tt]", "[Tt][Oo][Kk][Ee][Nn]" }

local function mask_fields(text)
  for _, name in ipairs(NAMES) do
    -- name='value' / name="value" (Python reprs, pydantic settings)
    text = text:gsub("([%w_]*" .. name .. "%s*=%s*')[^']*(')", "%1" .. MASK .. "%2")
    text = text:gsub('([%w_]*' .. name .. '%s*=%s*")[^"]*(")', "%1" .. MASK .. "%2")
    -- "name": "value" (JSON)
    text = text:gsub('([%w_]*' .. name .. '"%s*:%s*")[^"]*(")', "%1" .. MASK .. "%2")
    -- name=value (environment dumps, command lines): up to a space, comma or quote
    text = text:gsub("([%w_]*" .. name .. "=)([^%s,'\"][^%s,'\"]*)", function(prefix, value)
      if value == "None" or value == MASK then return prefix .. value end
      return prefix .. MASK
    end)
  end
  return text
end

local function redact_text(text)
  text = mask_fields(text)
  text = text:gsub("([Bb][Ee][Aa][Rr][Ee][Rr]%s+)[%w%-%._~%+/]+=*", "%1" .. MASK)
  text = text:gsub("%f[%w]sk%-[%w%-_]+", function(key)
    if #key >= 20 then return "sk-" .. MASK end
    return key
  end)
  return text
end

function redact(tag, timestamp, record)
  local changed = false
  for field, value in pairs(record) do
    if type(value) == "string" then
      local masked = redact_text(value)
      if masked ~= value then
        record[field] = masked
        changed = true
      end
    end
  end
  if changed then return 1, timestamp, record end
  return 0, timestamp, record
end
"""

# The Onigmo constructs we allow: each is read the same way by Python's `re`.
_SAFE_TOKEN = re.compile(
    r"""\(\?<[a-z_]+>   # named group (Python spells it (?P<name>)
      | \(\?!           # negative lookahead
      | \[\\s\\S\]      # any character, newlines included
      | \[\^?[a-zA-Z0-9:_ -]+\]   # an ASCII class
      | \\[.|\[\](){}]  # an escaped literal
      | \{[0-9]+\}      # a fixed count
      | [\^()*+ :|"a-zA-Z0-9_-]  # anchors, groups, quantifiers and literals
    """,
    re.VERBOSE,
)


def _is_quantifier(token: str) -> bool:
    return token in ("*", "+") or token.startswith("{")


def python_pattern(onigmo: str) -> str:
    """The same regular expression for Python's `re`; raises ValueError on constructs outside the shared subset."""
    position, previous = 0, ""
    while position < len(onigmo):
        match = _SAFE_TOKEN.match(onigmo, position)
        token = match.group() if match else ""
        # A quantifier on a quantifier (possessive `a++`, `a*+`) is read differently by older engines.
        if match is None or (_is_quantifier(token) and _is_quantifier(previous)):
            raise ValueError(f"construct at {position} of {onigmo!r} is not in the subset Onigmo and Python read alike: {onigmo[position:]!r}")
        position, previous = match.end(), token
    return re.sub(r"\(\?<([a-z_]+)>", r"(?P<\1>", onigmo)


def tail_paths(namespaces: list[str]) -> str:
    """The kubelet's symlinks for the containers of our namespaces: <pod>_<namespace>_<container>-<id>.log."""
    return ",".join(f"/var/log/containers/*_{namespace}_*.log" for namespace in namespaces)


def fluent_bit_config(namespaces: list[str], logstash_host: str, logstash_port: int) -> dict[str, Any]:
    """Fluent Bit's YAML configuration (the `fluent-bit.yaml` the DaemonSet mounts)."""
    return {
        "service": {
            "flush": 5,
            "log_level": "info",
            "http_server": "on",
            "http_listen": "0.0.0.0",
            "http_port": HEALTH_PORT,
            "health_check": "on",
        },
        "parsers": [
            {"name": JSON_PARSER, "format": "json"},
            {"name": LOGURU_PARSER, "format": "regex", "regex": LOGURU_LINE},
        ],
        "multiline_parsers": [
            {
                "name": MULTILINE_PARSER,
                "type": "regex",
                "flush_timeout": 2000,
                "rules": [
                    {"state": "start_state", "regex": f"/{LOGURU_START}/", "next_state": "cont"},
                    {"state": "cont", "regex": f"/{LOGURU_CONTINUATION}/", "next_state": "cont"},
                ],
            }
        ],
        "pipeline": {
            "inputs": [
                {
                    "name": "tail",
                    "tag": "kube.*",
                    "path": tail_paths(namespaces),
                    "multiline.parser": "cri",
                    "db": f"{DB_DIR}/tail.db",
                    "mem_buf_limit": "50MB",
                    "skip_long_lines": "on",
                    "refresh_interval": 10,
                }
            ],
            "filters": [
                {
                    "name": "multiline",
                    "match": "kube.*",
                    "multiline.key_content": "log",
                    "multiline.parser": MULTILINE_PARSER,
                    "buffer": "on",
                    "flush_ms": 2000,
                },
                {
                    "name": "kubernetes",
                    "match": "kube.*",
                    "kube_url": "https://kubernetes.default.svc:443",
                    "kube_tag_prefix": TAG_PREFIX,
                    "merge_log": "off",
                    "labels": "on",
                    "annotations": "off",
                },
                # One parser a filter: a JSON line loses its `log` key to the fields it holds, so the
                # loguru filter only sees the lines that were not JSON.
                {"name": "parser", "match": "kube.*", "key_name": "log", "parser": JSON_PARSER, "reserve_data": "on"},
                {"name": "parser", "match": "kube.*", "key_name": "log", "parser": LOGURU_PARSER, "reserve_data": "on"},
                # Last: every field the parsers made (message, log, ...) is masked before it leaves.
                {"name": "lua", "match": "kube.*", "script": f"{CONFIG_DIR}/{REDACT_SCRIPT}", "call": REDACT_CALL},
            ],
            "outputs": [
                {
                    "name": "tcp",
                    "match": "kube.*",
                    "host": logstash_host,
                    "port": logstash_port,
                    "format": "json_lines",
                    "json_date_key": "@timestamp",
                    "json_date_format": "iso8601",
                    "retry_limit": "no_limits",
                }
            ],
        },
    }


def render_config(config: dict[str, Any]) -> str:
    return yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
