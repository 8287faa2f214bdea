# Data-science image (seed: sing_docker): MLE-bench in its own conda environment, RD-Agent, a
# LiteLLM proxy. Changed from the seed: a pinned base instead of pytorch:latest, MLE-bench at a
# pinned commit, RD-Agent and LiteLLM from pinned releases instead of moving branches and forks,
# the LiteLLM config copied from this repo instead of downloaded with curl, a non-root user.
FROM pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

ARG RDAGENT_VERSION=1.0.0
ARG MLEBENCH_COMMIT=783b15af77404fbaffe7255b0c4a934b46153389
ARG LITELLM_VERSION=1.110.2
ENV PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl git build-essential git-lfs unzip \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

WORKDIR /workspace
RUN conda create -n mlebench python=3.11 pip -y \
    && git init mle-bench \
    && git -C mle-bench fetch --depth 1 https://github.com/openai/mle-bench.git "${MLEBENCH_COMMIT}" \
    && git -C mle-bench checkout --detach FETCH_HEAD \
    && git -C mle-bench lfs pull \
    && conda run -n mlebench pip install --no-cache-dir -e ./mle-bench \
    && conda clean -afy

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" "litellm[proxy]==${LITELLM_VERSION}"

COPY --chown=rdagent:rdagent litellm.yaml /workspace/litellm-srv/litellm.yaml
COPY --chown=rdagent:rdagent entrypoint.sh /workspace/run/entrypoint.sh
RUN chmod 0755 /workspace/run/entrypoint.sh \
    && mkdir -p /app/logs /app/cache && chown -R rdagent:rdagent /workspace /app

USER rdagent
HEALTHCHECK --interval=60s --timeout=20s --start-period=60s --retries=3 CMD python -c "import rdagent" || exit 1
ENTRYPOINT ["/workspace/run/entrypoint.sh"]
