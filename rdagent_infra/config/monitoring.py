"""`rdagent:monitoring`: the Prometheus the stack reports to and the seed's alert thresholds."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from rdagent_infra import defaults as seed
from rdagent_infra.config.base import DnsName, Model


class AlertsConfig(Model):
    cpuPercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_CPU_PERCENT
    cpuForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_CPU_FOR_MINUTES
    memoryPercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_MEMORY_PERCENT
    memoryForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_MEMORY_FOR_MINUTES
    errorRatePercent: Annotated[float, Field(gt=0, le=100)] = seed.ALERT_ERROR_RATE_PERCENT
    errorRateForMinutes: Annotated[int, Field(ge=1, le=1440)] = seed.ALERT_ERROR_RATE_FOR_MINUTES


class MonitoringConfig(Model):
    enabled: bool = True
    prometheusOperator: bool = False
    prometheusUrl: Annotated[str, Field(pattern=r"^https?://")] = "http://prometheus-operated.monitoring:9090"
    alerts: AlertsConfig = AlertsConfig()
    # Where the ingress-nginx controller runs (its metrics are the gates' source with trafficProvider ingressNginx).
    ingressNginxNamespace: DnsName = "ingress-nginx"
