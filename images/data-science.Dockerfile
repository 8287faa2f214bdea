# Data-science image (seed: sing_docker on pytorch/pytorch:latest with curl, vim, git,
# build-essential, git-lfs, unzip; MLE-bench in the `mlebench` conda environment; the
# `kaggle` conda environment from kaggle_environment.yaml; RD-Agent). strace
# joins vim as the seed's DS_docker debugging tools. One stage like the seed: runs compile and
# get debugged in place.
# Changed from the seed, with reasons: a pinned base (tag and digest) instead of latest;
# MLE-bench at a pinned commit and RD-Agent from a pinned release instead of moving branches and a
# fork; no LiteLLM proxy in the container (the seed's knew two model names and held the provider
# keys in every pod: RD-Agent's own LiteLLM reaches the configured provider); a non-root user; and everything the image brings lives under /opt, because batch runs mount
# their workspace volume on /workspace and would hide it there. RD-Agent runs its experiments
# in the two conda environments (DS_Coder_CoSTEER_env_type=conda): a pod has no Docker socket.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime@sha256:c8268a92a69bd500f8be0e665b2630ee006dadaf7bfbc24249141b15ff622755

ARG RDAGENT_VERSION=1.0.0
ARG MLEBENCH_COMMIT=783b15af77404fbaffe7255b0c4a934b46153389
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent \
    DS_Coder_CoSTEER_env_type=conda

# Ubuntu packages by name: the base is pinned, exact revisions leave the archive with updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini curl vim strace git build-essential git-lfs unzip \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN conda create --name mlebench --override-channels --channel conda-forge --yes python=3.11.11 pip=25.0 \
    && git init /opt/mle-bench \
    && git -C /opt/mle-bench fetch --depth 1 https://github.com/openai/mle-bench.git "${MLEBENCH_COMMIT}" \
    && git -C /opt/mle-bench checkout --detach FETCH_HEAD \
    && git -C /opt/mle-bench lfs pull \
    && conda run --name mlebench pip install --no-cache-dir -e /opt/mle-bench \
    && conda clean --all --yes

COPY kaggle_environment.yaml /opt/rdagent/kaggle_environment.yaml
RUN conda env create --file /opt/rdagent/kaggle_environment.yaml \
    && conda clean --all --yes

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" \
    && mkdir -p /workspace /app/logs /app/cache && chown -R 10001:10001 /workspace /app

WORKDIR /workspace
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["python", "-c", "import rdagent"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "health_check", "--no-check-docker"]
