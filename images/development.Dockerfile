# Development image (seed matrix: development, python:3.10-slim, gpu_support: false,
# debugging_tools: true). One stage on purpose: developers build and debug inside it, so the
# compilers and the tools stay (vim, strace, less, procps; debugpy and ipython).
FROM python:3.10.19-slim-bookworm

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent

# Debian packages by name: the base is pinned, exact Debian revisions leave the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini git build-essential curl vim less procps strace \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" debugpy==1.8.22 ipython==8.37.0

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R 10001:10001 /app /workspace
USER 10001:10001
EXPOSE 19899
# The seed's timings; Streamlit answers /_stcore/health.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19899/_stcore/health', timeout=5)"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "ui", "--port", "19899", "--debug"]
