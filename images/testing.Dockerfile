# Testing image (seed: testing, python:3.11-slim, test frameworks).
FROM python:3.11.14-slim-bookworm

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 HOME=/home/rdagent

RUN apt-get update \
    && apt-get install -y --no-install-recommends git curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" pytest==9.2.0 pytest-cov==7.0.0 coverage==7.11.0

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R rdagent:rdagent /app /workspace
USER rdagent
EXPOSE 19899
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:19899/_stcore/health || exit 1
CMD ["rdagent", "ui", "--port", "19899"]
