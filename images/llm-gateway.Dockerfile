# LLM gateway image: the LiteLLM proxy in front of the LLM providers RD-Agent calls (one place for
# the provider keys, a Redis response cache and metrics). Modelled on production.Dockerfile: two
# stages, the builder installs LiteLLM into /opt/venv, the runtime stage gets only that virtualenv,
# security updates, tini and a non-root user, and serves the proxy's OpenAI-compatible API on 4000.
# Both stages use the same base by digest, so the virtualenv's interpreter link resolves.
# The proxy reads its config from /opt/litellm/config.yaml (the pod mounts it) and its secrets from
# the environment (os.environ/... in that config). Without DATABASE_URL it runs no prisma/migration
# step. Read-only root friendly: at start it only probes the temp directory (its token-exchange store
# lives there; with no writable temp directory it does not start, unless
# LITELLM_TOKEN_EXCHANGE_CACHE_DIR="" turns the store off), so /tmp is the one writable path (the pod
# mounts an emptyDir); nothing is written to HOME or the working directory.

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS builder
ARG LITELLM_VERSION=1.108.0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The build context is images/, so the image pins LiteLLM by version here; requirements-litellm.txt
# at the repository root pins the resolved tree of this same version, which the tests run
# (make litellm-venv). 1.108.0: 1.110.2's proxy extra needs a package the registry does not serve.
# The proxy extra's dependencies all ship manylinux wheels for CPython 3.11 on amd64: no compilers.
# It has no prometheus_client (that is in the proxy-runtime extra): with `callbacks: ["prometheus"]`
# in the config the proxy stops at startup (ModuleNotFoundError).
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir "litellm[proxy]==${LITELLM_VERSION}" "prometheus-client==0.26.0"

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
ARG IMAGE_VERSION=0.0.0
LABEL org.opencontainers.image.title="llm-gateway" \
      org.opencontainers.image.version="${IMAGE_VERSION}" \
      org.opencontainers.image.source="rdagent-infra/images/llm-gateway.Dockerfile"
# LITELLM_LOCAL_MODEL_COST_MAP: use the model cost map shipped in the package instead of fetching
# it from the network at every start (the first attempt blocks the import for up to 5 s).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/rdagent \
    LITELLM_LOCAL_MODEL_COST_MAP=True
# Security updates and tini; no compilers, no curl, no git at run time.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get upgrade -y \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 rdagent \
    && useradd --system --uid 10001 --gid rdagent --home-dir /home/rdagent --create-home --shell /usr/sbin/nologin rdagent
COPY --from=builder /opt/venv /opt/venv
WORKDIR /home/rdagent
USER 10001:10001
EXPOSE 4000
# The seed's timings. /health/liveliness needs no key and touches neither the providers nor Redis;
# Python's urllib asks, so the image needs no curl.
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4000/health/liveliness', timeout=5)"]
# tini as PID 1: it forwards the kubelet's SIGTERM to the whole process group and reaps orphans.
ENTRYPOINT ["/usr/bin/tini", "-g", "--"]
CMD ["litellm", "--config", "/opt/litellm/config.yaml", "--port", "4000", "--host", "0.0.0.0"]
