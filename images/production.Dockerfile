# Production image (seed: production, python:3.11-slim, security hardening).
# Non-root user and group, security updates, files owned by that user, RD-Agent's UI on 19899.
FROM python:3.11.14-slim-bookworm

ARG RDAGENT_VERSION=1.0.0
ARG IMAGE_VERSION=0.0.0
LABEL org.opencontainers.image.title="rdagent" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="rdagent-infra/images/production.Dockerfile"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/home/rdagent

# Security updates, then only what RD-Agent needs at run time (git for its workspaces, curl for the health check).
RUN apt-get update \
    && apt-get upgrade -y \
    && apt-get install -y --no-install-recommends git curl \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home --shell /usr/sbin/nologin rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}"

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R rdagent:rdagent /app /workspace

USER rdagent
EXPOSE 19899

# Streamlit answers /_stcore/health (the seed's /health does not exist on it).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD curl -fsS http://127.0.0.1:19899/_stcore/health || exit 1

CMD ["rdagent", "ui", "--port", "19899"]
