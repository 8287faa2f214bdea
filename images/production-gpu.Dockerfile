# Production GPU image (seed matrix: production has gpu_support: true, but python:3.11-slim has no
# CUDA runtime). The production image's build on NVIDIA's CUDA runtime base: the image the matrix
# selects for GPU batch runs of scenarios that would otherwise use production (general_model).
# Two stages as in production: compilers and Python headers only in the builder, the runtime gets
# the virtualenv. Python is Ubuntu 22.04's 3.10 (RD-Agent supports 3.10 and the seed's CI tests
# it); the CUDA base has no 3.11 outside a release candidate. torch 2.5.1's wheels are built for
# CUDA 12.4, the base's CUDA version. The base is pinned by tag only: NVIDIA re-pushes its tags
# and the public digests for this one disagree, so no digest is claimed here.

FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04 AS builder
ARG RDAGENT_VERSION=1.0.0
ARG TORCH_VERSION=2.5.1
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 DEBIAN_FRONTEND=noninteractive
# Ubuntu packages by name: the base is pinned, exact revisions leave the archive with updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential python3 python3-dev python3-venv \
    && rm -rf /var/lib/apt/lists/*
# Ubuntu's venv seeds pip 22.0; a current pip resolves RD-Agent's large dependency tree.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir pip==25.0 \
    && /opt/venv/bin/pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" "torch==${TORCH_VERSION}"

FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04
ARG IMAGE_VERSION=0.0.0
LABEL org.opencontainers.image.title="rdagent-gpu" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="rdagent-infra/images/production-gpu.Dockerfile"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/rdagent \
    DEBIAN_FRONTEND=noninteractive
# Security updates and the interpreter the virtualenv links to; nothing else.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get upgrade -y \
    && apt-get install -y --no-install-recommends tini python3 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home --shell /usr/sbin/nologin rdagent
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R 10001:10001 /app /workspace
USER 10001:10001
# The same program as production (the UI by default); GPU batch runs replace the command.
EXPOSE 19899
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19899/_stcore/health', timeout=5)"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "ui", "--port", "19899"]
