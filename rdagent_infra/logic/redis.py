"""The in-cluster Redis: its config file, its URL and its StatefulSet, as plain bodies."""

from __future__ import annotations

from rdagent_infra import defaults as seed
from rdagent_infra.config import RedisConfig
from rdagent_infra.logic.pods import container_security_context, labels, pod_security_context, resource_requirements, selector

SERVICE = "redis"
AUTH_SECRET = "redis-auth"
# redis-server needs no passwd entry: run it as a high UID, with /data group-writable through fsGroup.
REDIS_UID = 10001


def redis_conf(maxmemory: str, persistence: str) -> str:
    lines = [
        f"port {seed.REDIS_PORT}",
        "bind 0.0.0.0",
        "protected-mode yes",
        "dir /data",
        f"maxmemory {maxmemory}",
        "maxmemory-policy allkeys-lru",
    ]
    if persistence == "aof":
        lines += ["appendonly yes", "appendfsync everysec"]
    else:
        lines += ["appendonly no", "save 900 1", "save 300 10", "save 60 10000"]
    return "\n".join(lines) + "\n"


def redis_url(host: str, password: str, tls: bool = False) -> str:
    scheme = "rediss" if tls else "redis"
    return f"{scheme}://:{password}@{host}:{seed.REDIS_PORT}/0"


def redis_statefulset(namespace: str, redis: RedisConfig) -> dict:
    """One Redis node: password from the auth Secret, config from the redis-config ConfigMap, a PVC for /data."""
    probe_command = ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 ping | grep -q PONG']
    return {
        "metadata": {"name": "redis", "namespace": namespace, "labels": labels("redis", "cache")},
        "spec": {
            "serviceName": SERVICE,
            "replicas": 1,
            "selector": {"matchLabels": selector("redis", "cache")},
            "template": {
                "metadata": {"labels": labels("redis", "cache")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(REDIS_UID, REDIS_UID),
                    "containers": [
                        {
                            "name": "redis",
                            "image": redis.image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", 'exec redis-server /etc/redis/redis.conf --requirepass "$REDIS_PASSWORD"'],
                            "env": [{"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": AUTH_SECRET, "key": "password"}}}],
                            "ports": [{"name": "redis", "containerPort": seed.REDIS_PORT, "protocol": "TCP"}],
                            "resources": resource_requirements(redis.resources),
                            "securityContext": container_security_context(REDIS_UID, REDIS_UID),
                            "readinessProbe": {"exec": {"command": probe_command}, "initialDelaySeconds": 5, "periodSeconds": 10, "timeoutSeconds": 5},
                            "livenessProbe": {"exec": {"command": probe_command}, "initialDelaySeconds": 30, "periodSeconds": 15, "timeoutSeconds": 5},
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/data"},
                                {"name": "config", "mountPath": "/etc/redis", "readOnly": True},
                            ],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": "redis-config"}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": redis.storageSize}}},
                }
            ],
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
        },
    }
