# Kaggle GPU image (seed matrix: kaggle_gpu, the Kaggle GPU base, kaggle_tools: true; seed's
# DS_docker adds curl, vim, git, build-essential and strace). One stage like the seed: Kaggle
# notebooks' code compiles and gets debugged in place. Pinned by release tag instead of latest;
# Google's registry publishes no digest we could confirm, so none is claimed.
FROM gcr.io/kaggle-gpu-images/python:v160

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent

# Distribution packages by name: the base is pinned, exact revisions leave the archive.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini curl vim git build-essential strace \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" \
    && mkdir -p /workspace /app/logs /app/cache && chown -R 10001:10001 /workspace /app

WORKDIR /workspace
USER 10001:10001
# A batch image: it serves nothing, so the health check (the seed's root Dockerfile's) asks
# whether RD-Agent imports. The seed's timings.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["python", "-c", "import rdagent"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "health_check", "--no-check-docker"]
