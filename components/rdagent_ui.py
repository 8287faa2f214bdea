"""The RD-Agent web UI (`rdagent ui`, a Streamlit server on 19899): Deployment(s), Services,
PodDisruptionBudget, HorizontalPodAutoscaler, optional Ingress or Gateway API HTTPRoute, the L3
cache volume, and the network policy that lets traffic in.

How many Deployments and which traffic weights is decided by `rdagent_infra.logic.rollout`; this
component only turns that plan into resources.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import yaml

from components.app_settings import AppSettings
from components.service_account import workload_service_account
from components.ui_auth import UiAuthProxy
from rdagent_infra import defaults as seed
from rdagent_infra.config import StackConfig
from rdagent_infra.logic import envoy_sidecar as envoy
from rdagent_infra.logic import route_schema
from rdagent_infra.logic.load_hook import LOAD_LABELS, load_job
from rdagent_infra.logic.network import allow_to, network_policy
from rdagent_infra.logic.pods import (
    container_security_context,
    http_probe,
    labels,
    pod_security_context,
    resource_requirements,
    selector,
    simple_resources,
    with_service_account,
    writable_volumes,
)
from rdagent_infra.logic.rdagent_env import NO_TRACE_YET, TRACES_DIR, UI_LOGS_DIR, ui_args
from rdagent_infra.logic.rollout import APP, RolloutPlan, Track
from rdagent_infra.logic.storage import claim_spec
from rdagent_infra.logic.traffic_metrics import traffic_source
from rdagent_infra.logic.ui_auth import AUTH_COMPONENT, auth_enabled, certificate, proxied_services, route_backends, tls_secret_name

SCRAPE_LABEL = "rdagent.io/scrape"
ROUTE_KIND_OF_PROVIDER = {"gatewayApi": "gatewayApi", "ingressNginx": "ingress"}
ENVOY_CONFIG_MAP = "rdagent-ui-envoy"
LOAD_ACCOUNT = f"{APP}-load"


def has_sidecar(config: StackConfig) -> bool:
    """Every traffic provider but ingress-nginx measures requests in the UI pods' Envoy sidecar."""
    return traffic_source(config.rollout.trafficProvider, config.namespace).kind == "envoySidecar"


def traffic_port(config: StackConfig) -> int:
    """The UI pods' port that takes requests: the sidecar's when there is one."""
    return envoy.SIDECAR_PORT if has_sidecar(config) else config.workloads.ui.port


def proxy_container() -> dict:
    return {
        "name": envoy.PROXY_CONTAINER,
        "image": envoy.ENVOY_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": envoy.envoy_command(),
        "ports": [
            {"name": "proxy", "containerPort": envoy.SIDECAR_PORT, "protocol": "TCP"},
            {"name": "envoy-stats", "containerPort": envoy.STATS_PORT, "protocol": "TCP"},
        ],
        "resources": simple_resources("50m", "64Mi", "500m", "256Mi"),
        "securityContext": container_security_context(),
        "readinessProbe": {"tcpSocket": {"port": "proxy"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/stats/prometheus", "port": "envoy-stats"}, "periodSeconds": 30, "failureThreshold": 3},
        "volumeMounts": [{"name": "envoy-config", "mountPath": envoy.CONFIG_DIR, "readOnly": True}],
    }


def cache_volume(config: StackConfig) -> dict:
    """The L3 disk cache: a volume of each pod's own (a generic ephemeral volume), never a shared claim.

    A shared claim needs ReadWriteMany as soon as two pods (replicas, or the tracks of a rollout)
    use it; switching its access mode replaces the claim, which deletes the cache and deadlocks on
    PVC protection while the stable pods still mount it (found on a real control plane), and a
    ReadWriteOnce claim cannot follow a surge pod to another node. Each pod's claim is created and
    deleted with the pod; the cache is warm again within its TTL.
    """
    return {
        "name": "cache",
        "ephemeral": {
            "volumeClaimTemplate": {
                "metadata": {"labels": labels(APP, "cache")},
                "spec": claim_spec(config, ["ReadWriteOnce"], config.cache.l3.size),
            }
        },
    }


def ui_pod_template(config: StackConfig, track: Track, image: pulumi.Input[str], settings: AppSettings) -> dict:
    ui = config.workloads.ui
    scratch_volumes, scratch_mounts = writable_volumes(("logs", UI_LOGS_DIR), ("tmp", "/tmp"), ("home", "/home/rdagent"))
    probe = ui.probe
    sidecar = has_sidecar(config)
    return {
        "metadata": {
            "labels": {**labels(APP, "ui"), **track.labels},
            "annotations": {"rdagent.io/config-hash": settings.config_hash},
        },
        "spec": {
            "serviceAccountName": APP,
            "automountServiceAccountToken": False,
            "securityContext": pod_security_context(),
            "terminationGracePeriodSeconds": 30,
            "topologySpreadConstraints": [
                {
                    "maxSkew": 1,
                    "topologyKey": "kubernetes.io/hostname",
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": {**selector(APP, "ui"), **track.labels}},
                }
            ],
            # `rdagent ui --log-dir` opens the first trace folder it finds and fails (IndexError) when
            # there is none: a stack whose runs have not written yet gets a folder that sorts last.
            "initContainers": [
                {
                    "name": "traces-placeholder",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["mkdir", "-p", f"{TRACES_DIR}/{NO_TRACE_YET}"],
                    "resources": simple_resources("10m", "16Mi", "100m", "64Mi"),
                    "securityContext": container_security_context(),
                    "volumeMounts": [settings.traces_mount(read_only=False)],
                }
            ],
            "containers": [
                {
                    "name": "ui",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    # Arguments, not a command: the image's ENTRYPOINT (tini) stays PID 1 and passes
                    # the kubelet's SIGTERM on to rdagent and its Streamlit.
                    "args": ["rdagent", "ui", *ui_args(ui.port, data_science=ui.dataScience, debug=config.app.debug)],
                    # rdagent writes selector.log into its working directory as it starts: a writable one.
                    "workingDir": UI_LOGS_DIR,
                    "ports": [{"name": "http", "containerPort": ui.port, "protocol": "TCP"}],
                    "env": settings.ui_env,
                    "resources": resource_requirements(ui.resources),
                    "securityContext": container_security_context(),
                    "startupProbe": http_probe(probe.path, "http", 0, probe.periodSeconds, failure_threshold=30),
                    "readinessProbe": http_probe(probe.path, "http", probe.initialDelaySeconds, probe.periodSeconds),
                    "livenessProbe": http_probe(probe.path, "http", probe.initialDelaySeconds, probe.periodSeconds, failure_threshold=6),
                    "volumeMounts": [
                        *scratch_mounts,
                        {"name": "cache", "mountPath": config.cache.l3.path},
                        settings.traces_mount(read_only=True),
                    ],
                },
                *([proxy_container()] if sidecar else []),
            ],
            "volumes": [
                *scratch_volumes,
                cache_volume(config),
                settings.traces_volume,
                *([{"name": "envoy-config", "configMap": {"name": ENVOY_CONFIG_MAP}}] if sidecar else []),
            ],
        },
    }


class RdAgentUi(pulumi.ComponentResource):
    """Outputs: `service_name`, `deployment_names`."""

    def __init__(
        self,
        name: str,
        config: StackConfig,
        provider: k8s.Provider,
        plan: RolloutPlan,
        image_for,
        settings: AppSettings,
        egress: list[dict],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rdagent:index:RdAgentUi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        ui = config.workloads.ui
        namespace = config.namespace

        sidecar = has_sidecar(config)
        if sidecar:
            k8s.core.v1.ConfigMap(
                f"{name}-envoy-config",
                metadata={"name": ENVOY_CONFIG_MAP, "namespace": namespace, "labels": labels(APP, "proxy")},
                data={envoy.CONFIG_FILE: yaml.safe_dump(envoy.envoy_config(ui.port), sort_keys=False)},
                opts=child,
            )
        workload_service_account(f"{name}-account", APP, namespace, labels(APP, "ui"), child, settings.account_annotations(APP))
        deployments = self._deployments(name, config, plan, image_for, settings, child)
        self.deployment_names = [track.deployment for track in plan.tracks]
        self._services(name, config, plan, sidecar, child)
        self.service_name = plan.primary_service
        self._disruption_and_scaling(name, config, plan, child)
        # Traffic moves only once every track it may send to is available (the engine awaits each
        # Deployment): an abort that brings back a colour scaled to zero must not route to it earlier.
        routing = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=deployments))
        if proxied_services(config, plan):
            # The route sends to the proxies, which must exist (and be available) before it does.
            proxies = UiAuthProxy(
                f"{name}-auth", config, provider, plan, traffic_port(config), opts=pulumi.ResourceOptions(parent=self, depends_on=deployments)
            )
            routing = pulumi.ResourceOptions.merge(routing, pulumi.ResourceOptions(depends_on=[proxies]))
        self._routing(name, config, plan, routing)
        self._load_hook(name, config, plan, child)

        self._ingress_policy(name, config, egress, child)
        self.register_outputs({"service_name": self.service_name})

    def _ingress_policy(self, name: str, config: StackConfig, egress: list[dict], child: pulumi.ResourceOptions) -> None:
        """Who may reach the UI pods: with sign-in, only the proxies (and the rollout's load Job); the
        sidecar's stats port stays open to the Prometheus scrape (it serves /stats/prometheus only)."""
        stats = [envoy.STATS_PORT] if has_sidecar(config) else []
        if auth_enabled(config):
            peers = [{"podSelector": {"matchLabels": selector(APP, AUTH_COMPONENT)}}, {"podSelector": {"matchLabels": LOAD_LABELS}}]
            rules = [
                {"from": peers, "ports": [{"protocol": "TCP", "port": traffic_port(config)}]},
                *({"ports": [{"protocol": "TCP", "port": port}]} for port in stats),
            ]
        else:
            rules = [{"ports": [{"protocol": "TCP", "port": port} for port in (traffic_port(config), *stats)]}]
        policy = network_policy("rdagent-ui", config.namespace, selector(APP, "ui"), ingress=rules, egress=egress)
        k8s.networking.v1.NetworkPolicy(f"{name}-ingress-policy", metadata=policy["metadata"], spec=policy["spec"], opts=child)

    def _deployments(
        self, name: str, config: StackConfig, plan: RolloutPlan, image_for, settings: AppSettings, child: pulumi.ResourceOptions
    ) -> list[k8s.apps.v1.Deployment]:
        """One Deployment per track of the rollout plan."""
        ui = config.workloads.ui
        namespace = config.namespace
        autoscaled = plan.autoscaled_track if ui.replicas > 1 else None
        deployments: list[k8s.apps.v1.Deployment] = []
        for track in plan.tracks:
            image = image_for(config.images.ui, track.version)
            # Every track states its replica count, the HPA's target at least the HPA's minimum. Leaving it
            # out on the HPA's target looked right, but server-side apply then drops the field the program
            # owned and the Deployment falls to 1 replica until the HPA acts: the real control plane showed
            # a canary taking all traffic on one pod when the HPA moved to it. The cost: an update of that
            # Deployment takes its count back from the HPA (patchForce: no conflict), never below the minimum.
            replicas = max(track.replicas, ui.replicas) if track == autoscaled else track.replicas
            deployment = k8s.apps.v1.Deployment(
                f"{name}-{track.name}",
                metadata={
                    "name": track.deployment,
                    "namespace": namespace,
                    "labels": {**labels(APP, "ui"), **track.labels},
                    "annotations": {"pulumi.com/patchForce": "true"},
                },
                spec={
                    "replicas": replicas,
                    "minReadySeconds": seed.MIN_READY_SECONDS,
                    "revisionHistoryLimit": 5,
                    "selector": {"matchLabels": {**selector(APP, "ui"), **track.labels}},
                    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": seed.MAX_SURGE, "maxUnavailable": seed.MAX_UNAVAILABLE}},
                    "template": ui_pod_template(config, track, image, settings),
                },
                opts=child,
            )
            deployments.append(deployment)
        return deployments

    def _services(self, name: str, config: StackConfig, plan: RolloutPlan, sidecar: bool, child: pulumi.ResourceOptions) -> None:
        namespace = config.namespace
        # Behind a sign-in proxy, the Gateway's session cookie keeps a user on one proxy pod; the
        # proxy's connections then stay on one UI pod (kube-proxy's client-IP affinity).
        sticky = set(proxied_services(config, plan)) if config.workloads.ui.ingress.sessionPersistence else set()
        for service in plan.services:
            k8s.core.v1.Service(
                f"{name}-svc-{service.name}",
                # Only the all-pods Service is scraped, so each pod's series appear once (with its track label).
                metadata={
                    "name": service.name,
                    "namespace": namespace,
                    "labels": {**labels(APP, "ui"), **({SCRAPE_LABEL: "true"} if service.name == APP else {})},
                },
                spec={
                    "type": "ClusterIP",
                    **({"sessionAffinity": "ClientIP"} if service.name in sticky else {}),
                    "selector": {**selector(APP, "ui"), **service.selector},
                    "ports": [
                        {"name": "http", "port": 80, "targetPort": "proxy" if sidecar else "http", "protocol": "TCP"},
                        # The sidecar's stats (the ServiceMonitor's endpoint); only the all-pods Service is scraped.
                        *(
                            [{"name": "envoy-stats", "port": envoy.STATS_PORT, "targetPort": "envoy-stats", "protocol": "TCP"}]
                            if sidecar and service.name == APP
                            else []
                        ),
                    ],
                },
                opts=child,
            )

    def _disruption_and_scaling(self, name: str, config: StackConfig, plan: RolloutPlan, child: pulumi.ResourceOptions) -> None:
        ui = config.workloads.ui
        namespace = config.namespace
        autoscaled = plan.autoscaled_track if ui.replicas > 1 else None
        total_replicas = sum(track.replicas for track in plan.tracks)
        if total_replicas > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata={"name": APP, "namespace": namespace, "labels": labels(APP, "ui")},
                spec={"minAvailable": 1, "selector": {"matchLabels": selector(APP, "ui")}},
                opts=child,
            )
        if autoscaled is not None:
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata={"name": APP, "namespace": namespace, "labels": labels(APP, "ui")},
                spec={
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": autoscaled.deployment},
                    "minReplicas": ui.replicas,
                    "maxReplicas": ui.autoscaling.maxReplicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": ui.autoscaling.targetCpuUtilizationPercent}},
                        }
                    ],
                },
                opts=child,
            )

    def _load_hook(self, name: str, config: StackConfig, plan: RolloutPlan, child: pulumi.ResourceOptions) -> None:
        hook = config.rollout.loadHook
        if not hook.enabled or len(plan.tracks) < 2:
            return
        job = with_service_account(load_job(f"{APP}-load-{plan.tracks[1].name}", config.namespace, plan.services[2].name, plan.step, hook), LOAD_ACCOUNT)
        workload_service_account(f"{name}-load-account", LOAD_ACCOUNT, config.namespace, LOAD_LABELS, child)
        k8s.batch.v1.Job(f"{name}-load", metadata=job["metadata"], spec=job["spec"], opts=child)
        egress = network_policy("rdagent-ui-load", config.namespace, LOAD_LABELS, ingress=[], egress=[allow_to(selector(APP, "ui"), traffic_port(config))])
        k8s.networking.v1.NetworkPolicy(f"{name}-load-policy", metadata=egress["metadata"], spec=egress["spec"], opts=child)

    def _routing(self, name: str, config: StackConfig, plan: RolloutPlan, child: pulumi.ResourceOptions) -> None:
        ingress = config.workloads.ui.ingress
        namespace = config.namespace
        weighted = plan.weights
        if not (ingress.enabled or weighted):
            return
        # While weights move traffic, the traffic provider decides the object; otherwise the ingress kind does.
        kind = ROUTE_KIND_OF_PROVIDER[plan.provider] if weighted else ingress.kind
        if kind == "gatewayApi":
            k8s.apiextensions.CustomResource(
                f"{name}-route",
                api_version="gateway.networking.k8s.io/v1",
                kind="HTTPRoute",
                metadata={"name": APP, "namespace": namespace, "labels": labels(APP, "ui")},
                spec={
                    "parentRefs": [
                        {
                            "name": ingress.gatewayName,
                            "namespace": ingress.gatewayNamespace,
                            **({"sectionName": ingress.gatewayListener} if ingress.tls else {}),
                        }
                    ],
                    "hostnames": [ingress.host],
                    "rules": [
                        {
                            "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                            "backendRefs": [{"name": service, "port": 80, "weight": weight} for service, weight in route_backends(config, plan).items()],
                            **route_schema.session_persistence(ingress.sessionPersistence),
                        }
                    ],
                },
                opts=child,
            )
            return
        backends = route_backends(config, plan)
        primary = next(iter(backends))
        issued = certificate(config, "ingress", namespace)
        if issued is not None:
            k8s.apiextensions.CustomResource(
                f"{name}-certificate", api_version="cert-manager.io/v1", kind="Certificate", metadata=issued["metadata"], spec=issued["spec"], opts=child
            )
        for service, weight in backends.items():
            canary = service != primary
            annotations = {"nginx.ingress.kubernetes.io/canary": "true", "nginx.ingress.kubernetes.io/canary-weight": str(weight)} if canary else {}
            ingress_name = APP if not canary else f"{APP}-{service.removeprefix(APP + '-')}"
            spec: dict = {
                "ingressClassName": ingress.ingressClassName,
                "rules": [
                    {
                        "host": ingress.host,
                        "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}]},
                    }
                ],
            }
            if ingress.tls:
                spec["tls"] = [{"hosts": [ingress.host], "secretName": tls_secret_name(config, "ingress")}]
            k8s.networking.v1.Ingress(
                f"{name}-ingress-{service}",
                metadata={"name": ingress_name, "namespace": namespace, "labels": labels(APP, "ui"), "annotations": annotations},
                spec=spec,
                opts=child,
            )
