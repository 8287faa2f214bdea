# Kaggle GPU image (seed: kaggle_gpu / DS_docker, the Kaggle GPU base image), pinned by tag.
FROM gcr.io/kaggle-gpu-images/python:v160

ARG RDAGENT_VERSION=1.0.0
ENV PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl git build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" \
    && mkdir -p /workspace /app/logs /app/cache && chown -R rdagent:rdagent /workspace /app

WORKDIR /workspace
USER rdagent
# A batch image: it serves nothing, so the health check asks whether RD-Agent imports.
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD python -c "import rdagent" || exit 1
CMD ["rdagent", "health_check"]
