# Qlib quantitative-finance image (seed: qlib docker): Qlib at the seed's pinned commit.
FROM pytorch/pytorch:2.2.1-cuda12.1-cudnn8-runtime

ARG RDAGENT_VERSION=1.0.0
ARG QLIB_COMMIT=3e72593b8c985f01979bebcf646658002ac43b00
ENV PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl git build-essential coreutils \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /workspace
# A pinned checkout: the commit is fetched by its hash, never a moving branch.
RUN git init qlib \
    && git -C qlib fetch --depth 1 https://github.com/microsoft/qlib.git "${QLIB_COMMIT}" \
    && git -C qlib checkout --detach FETCH_HEAD \
    && pip install --no-cache-dir cython==3.0.11 \
    && pip install --no-cache-dir -e ./qlib \
    && pip install --no-cache-dir catboost==1.2.7 xgboost==2.1.3 scipy==1.11.4 tables==3.10.1 "rdagent==${RDAGENT_VERSION}"

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent \
    && mkdir -p /app/logs /app/cache && chown -R rdagent:rdagent /workspace /app
USER rdagent
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD python -c "import qlib, rdagent" || exit 1
CMD ["rdagent", "health_check"]
