# Development image (seed: development, python:3.10-slim, debugging tools).
FROM python:3.10.19-slim-bookworm

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends git build-essential curl vim less procps strace \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" debugpy==1.8.22 ipython==9.6.0

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R rdagent:rdagent /app /workspace
USER rdagent
EXPOSE 19899
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:19899/_stcore/health || exit 1
CMD ["rdagent", "ui", "--port", "19899", "--debug"]
