# Qlib quantitative-finance image (seed: qlib docker on pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime,
# Qlib at the seed's commit, cython, catboost, xgboost, scipy 1.11.4, tables). The seed's packages
# go into the `rdagent4qlib` conda environment, the name RD-Agent's Qlib coder runs `qrun` in
# (`QlibCondaConf`); without it RD-Agent would try to create it at run time, which a read-only
# root and a closed network forbid. Qlib's checkout lives in /opt, not under /workspace: batch
# runs mount their workspace volume there, which would hide it. One stage like the seed: Qlib
# compiles its Cython extensions in place. No digest: none for this tag could be confirmed.
# CONDA_DEFAULT_ENV: RD-Agent's factor coder runs factor code in the environment that variable
# names (it is unset in a container, where nothing ran `conda activate`).
FROM pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime

ARG RDAGENT_VERSION=1.0.0
ARG QLIB_COMMIT=3e72593b8c985f01979bebcf646658002ac43b00
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent \
    CONDA_DEFAULT_ENV=rdagent4qlib

# Ubuntu packages by name: the base is pinned, exact revisions leave the archive with updates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini curl vim git build-essential coreutils \
    && rm -rf /var/lib/apt/lists/*

# A pinned checkout: the commit is fetched by its hash, never a moving branch.
RUN git init /opt/qlib \
    && git -C /opt/qlib fetch --depth 1 https://github.com/microsoft/qlib.git "${QLIB_COMMIT}" \
    && git -C /opt/qlib checkout --detach FETCH_HEAD \
    && conda create --name rdagent4qlib --override-channels --channel conda-forge --yes python=3.10.14 pip=25.0 \
    && conda run --name rdagent4qlib pip install --no-cache-dir cython==3.0.11 numpy==1.26.4 \
    && conda run --name rdagent4qlib pip install --no-cache-dir /opt/qlib \
    && conda run --name rdagent4qlib pip install --no-cache-dir catboost==1.2.7 xgboost==2.1.3 scipy==1.11.4 tables==3.10.1 torch==2.2.1 \
    && conda clean --all --yes \
    && pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}"

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && mkdir -p /workspace /app/logs /app/cache && chown -R 10001:10001 /workspace /app
WORKDIR /workspace
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 CMD ["python", "-c", "import rdagent"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group (rdagent ui runs
# Streamlit as a child) and reaps orphans; a bare rdagent as PID 1 ignores SIGTERM.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["rdagent", "health_check", "--no-check-docker"]
