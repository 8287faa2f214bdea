# Production image (seed matrix: production, python:3.11-slim, security hardening; the seed's
# hardened example builds `FROM python:3.11-slim as base`). Two stages: the builder has the
# compilers RD-Agent's dependencies may need and installs everything into /opt/venv; the runtime
# stage gets only that virtualenv, security updates, a non-root user and RD-Agent's UI on 19899.
# Both stages use the same base by digest, so the virtualenv's interpreter link resolves.
# Read-only root friendly: nothing is written outside /tmp, /home/rdagent, /app/logs, /app/cache
# and /workspace (the pod mounts volumes there) and bytecode is compiled at build time.

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder
ARG RDAGENT_VERSION=1.0.0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# Debian packages by name: the base is pinned by digest, and exact Debian revisions vanish from
# the archive at each point release, which would break every rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}"

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
ARG IMAGE_VERSION=0.0.0
LABEL org.opencontainers.image.title="rdagent" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="rdagent-infra/images/production.Dockerfile"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/rdagent
# Security updates (the seed's `apt-get upgrade`) and tini; no compilers, no curl, no git at run time.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get upgrade -y \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home --shell /usr/sbin/nologin rdagent
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R 10001:10001 /app /workspace
USER 10001:10001
# 19899, not the seed's 8000: the seed's own health check and every probe use RD-Agent's UI port.
EXPOSE 19899
# The seed's timings. Streamlit answers /_stcore/health (the seed's /health does not exist on it);
# Python's urllib asks, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19899/_stcore/health', timeout=5)"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "ui", "--port", "19899"]
