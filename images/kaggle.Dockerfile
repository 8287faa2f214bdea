# Kaggle competition image (seed: kaggle_docker on pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime,
# curl, vim, git, build-essential). The seed's package list lives in kaggle_environment.yaml as
# the `kaggle` conda environment RD-Agent runs competition code in (`conda run -n kaggle`);
# RD-Agent itself lives in the base environment, so the competition packages never fight over
# versions with RD-Agent's own dependencies. One stage like the seed: competition code may build
# extensions at run time. No digest: none for this tag is published where we could confirm it.
FROM pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent \
    DS_Coder_CoSTEER_env_type=conda

# Ubuntu packages by name: the base is pinned, exact revisions leave the archive with updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini curl vim git build-essential \
    && rm -rf /var/lib/apt/lists/*

COPY kaggle_environment.yaml /opt/rdagent/kaggle_environment.yaml
RUN conda env create --file /opt/rdagent/kaggle_environment.yaml \
    && conda clean --all --yes \
    && pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}"

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && mkdir -p /workspace /app/logs /app/cache && chown -R 10001:10001 /workspace /app
WORKDIR /workspace
USER 10001:10001
# A batch image: it serves nothing, so the health check asks whether RD-Agent imports.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["python", "-c", "import rdagent"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "health_check", "--no-check-docker"]
