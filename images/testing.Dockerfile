# Testing image (seed matrix: testing, python:3.11-slim, test_frameworks: true). One stage: every
# package it installs ships wheels, so no compiler is needed and there is nothing to leave behind.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent

# Debian packages by name: the base is pinned by digest, exact revisions leave the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" pytest==9.2.0 pytest-cov==7.0.0 coverage==7.11.0

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R 10001:10001 /app /workspace
USER 10001:10001
EXPOSE 19899
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19899/_stcore/health', timeout=5)"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "ui", "--port", "19899"]
