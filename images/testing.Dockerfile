# Testing image (seed matrix: testing, python:3.11-slim, test_frameworks: true). One stage: every
# package it installs ships wheels, so no compiler is needed and there is nothing to leave behind.
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

ARG RDAGENT_VERSION=1.0.0
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    HOME=/home/rdagent

RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home rdagent

RUN pip install --no-cache-dir "rdagent==${RDAGENT_VERSION}" pytest==9.2.0 pytest-cov==7.0.0 coverage==7.11.0

WORKDIR /app
RUN mkdir -p /app/logs /app/cache /app/config /workspace && chown -R 10001:10001 /app /workspace
USER 10001:10001
EXPOSE 19899
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:19899/_stcore/health', timeout=5)"]
CMD ["rdagent", "ui", "--port", "19899"]
