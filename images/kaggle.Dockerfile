# Kaggle competition image (seed: kaggle_docker), pinned PyTorch base and pinned packages.
FROM pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime

ARG RDAGENT_VERSION=1.0.0
ENV PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl git build-essential \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir \
      numpy==1.26.4 pandas==2.2.3 torch_geometric==2.6.1 pytorch_lightning==2.4.0 ogb==1.3.6 networkx==3.3 \
      scikit-learn==1.5.2 catboost==1.2.7 xgboost==2.1.3 sparse==0.15.4 lightgbm==3.3.5 pyarrow==18.1.0 \
      fastparquet==2024.11.0 optuna==4.1.0 "rdagent==${RDAGENT_VERSION}"

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && mkdir -p /workspace /app/logs /app/cache && chown -R rdagent:rdagent /workspace /app
WORKDIR /workspace
USER rdagent
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD python -c "import rdagent" || exit 1
CMD ["rdagent", "health_check"]
