"""The files RD-Agent reads from its ConfigMaps: the seed's logging dictConfig and cache config."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rdagent_infra import defaults as seed
from rdagent_infra.config import CacheConfig, StackConfig

CONFIG_DIR = "/app/config"


def logging_dict_config(log_level: str, logstash_host: str | None) -> dict[str, Any]:
    """The seed's logging config: console (standard), rotating JSON file, and Logstash over TCP."""
    handlers: dict[str, Any] = {
        "console": {"class": "logging.StreamHandler", "formatter": "standard", "level": log_level},
        "file": {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": seed.LOG_FILE,
            "maxBytes": seed.LOG_FILE_MAX_BYTES,
            "backupCount": seed.LOG_FILE_BACKUP_COUNT,
            "formatter": "json",
            "level": log_level,
        },
    }
    if logstash_host:
        handlers["elk"] = {
            "class": "logstash.TCPLogstashHandler",
            "host": logstash_host,
            "port": seed.LOGSTASH_PORT,
            "version": 1,
            "level": log_level,
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "standard": {"format": seed.LOG_FORMAT_STANDARD},
            "json": {"format": seed.LOG_FORMAT_JSON},
        },
        "handlers": handlers,
        "root": {"level": log_level, "handlers": sorted(handlers)},
    }


def cache_config(cache: CacheConfig, redis_host: str | None, redis_port: int) -> dict[str, Any]:
    """The seed's three cache tiers; L2 points at the Redis component's service."""
    return {
        "l1_cache": {"type": "memory", "size": cache.l1.size, "ttl": cache.l1.ttlSeconds},
        "l2_cache": {
            "type": "redis",
            "host": redis_host,
            "port": redis_port,
            "size": cache.l2.size,
            "ttl": cache.l2.ttlSeconds,
            "enabled": redis_host is not None,
        },
        "l3_cache": {"type": "disk", "path": cache.l3.path, "size": cache.l3.size, "ttl": cache.l3.ttlSeconds},
    }


def app_env(config: StackConfig) -> list[dict[str, Any]]:
    """The plain (not secret) environment every RD-Agent container gets: models, log level, config files."""
    env: list[dict] = [
        {"name": "DEBUG", "value": "true" if config.app.debug else "false"},
        {"name": "LOG_LEVEL", "value": config.app.logLevel},
        {"name": "BACKEND", "value": config.llm.backend},
        {"name": "CHAT_MODEL", "value": config.llm.chatModel},
        {"name": "EMBEDDING_MODEL", "value": config.llm.embeddingModel},
        {"name": "OMP_NUM_THREADS", "value": str(config.workloads.ompNumThreads)},
        {"name": "RDAGENT_LOGGING_CONFIG", "value": f"{CONFIG_DIR}/logging/logging.json"},
        {"name": "RDAGENT_CACHE_CONFIG", "value": f"{CONFIG_DIR}/cache/cache.json"},
        # RD-Agent runs its experiments in conda environments, never through a Docker socket.
        {"name": "DS_CODER_COSTEER_ENV_TYPE", "value": "conda"},
        {"name": "MODEL_COSTEER_ENV_TYPE", "value": "conda"},
    ]
    if config.llm.openaiApiBase:
        env.append({"name": "OPENAI_API_BASE", "value": config.llm.openaiApiBase})
    return env


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def content_hash(*documents: str) -> str:
    """A short hash of ConfigMap contents: as a pod annotation, a changed file rolls the pods."""
    digest = hashlib.sha256()
    for document in documents:
        digest.update(document.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
