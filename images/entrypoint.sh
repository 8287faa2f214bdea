#!/bin/sh
# Starts the LiteLLM proxy on loopback, then runs the RD-Agent command given (default: data_science).
set -eu
litellm --config /opt/rdagent/litellm.yaml --host 127.0.0.1 --port 4000 &
export OPENAI_API_BASE="${OPENAI_API_BASE:-http://127.0.0.1:4000}"
if [ "$#" -eq 0 ]; then
  set -- rdagent data_science
fi
exec "$@"
