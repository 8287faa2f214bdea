"""Does the stack's cluster serve the custom-resource APIs the stack needs? (kubeconfig mode)

Asked through API discovery (`GET /apis/<group>/<version>`), which every authenticated user may
read, with the kubeconfig the Kubernetes provider uses (KUBECONFIG or ~/.kube/config) and the
stack's context. In render mode there is no cluster; in eks mode the program creates the cluster,
so nothing can be asked before the first `up`.
"""

from __future__ import annotations

import urllib3

from rdagent_infra.config import StackConfig
from rdagent_infra.logic import route_schema
from rdagent_infra.logic.cluster_apis import ApiNeed


class ClusterUnreachable(Exception):
    pass


def served_resources(context: str, group_versions: list[str]) -> set[str]:
    """`<plural>.<group>/<version>` of every resource the cluster serves in `group_versions`."""
    from kubernetes.config.config_exception import ConfigException

    from rdagent_infra.kube_api import KubeApi, KubeApiError

    try:
        api = KubeApi.from_context(context)
    except (ConfigException, OSError) as error:
        raise ClusterUnreachable(f"cannot load the kubeconfig context {context!r}: {error}") from error
    served = set()
    with api.client:
        for group_version in group_versions:
            try:
                listing = api.get(f"/apis/{group_version}")
            except KubeApiError as error:
                raise ClusterUnreachable(f"the cluster (context {context!r}) refused {error}") from error
            except (OSError, urllib3.exceptions.HTTPError) as error:
                raise ClusterUnreachable(f"the cluster (context {context!r}) cannot be reached: {error}") from error
            if listing is None:
                continue
            group, version = group_version.split("/")
            served |= {f"{resource['name']}.{group}/{version}" for resource in listing.get("resources", [])}
    return served


def served_route_rule_fields(context: str) -> set[str]:
    """The fields of an HTTPRoute rule in the schema the cluster publishes (OpenAPI v3, which every
    authenticated user may read)."""
    from rdagent_infra.kube_api import KubeApi, KubeApiError

    api = KubeApi.from_context(context)
    with api.client:
        try:
            document = api.get("/openapi/v3/apis/gateway.networking.k8s.io/v1") or {}
        except (KubeApiError, OSError, urllib3.exceptions.HTTPError) as error:
            raise ClusterUnreachable(f"the cluster (context {context!r}) did not give the HTTPRoute schema: {error}") from error
    return route_schema.rule_fields(document.get("components", {}).get("schemas", {}).get(route_schema.ROUTE_SCHEMA, {}))


def missing_apis(config: StackConfig, needs: list[ApiNeed]) -> list[str]:
    """A message for each needed API the cluster does not serve, and for a served HTTPRoute without
    the sessionPersistence the route asks for; none outside kubeconfig mode."""
    if config.cluster.mode != "kubeconfig" or not needs:
        return []
    context = config.cluster.kubeconfigContext or ""
    served = served_resources(context, sorted({need.group_version for need in needs}))
    problems = [need.message(context) for need in needs if f"{need.plural}.{need.group_version}" not in served]
    route = next((need for need in needs if need.kind == "HTTPRoute" and f"{need.plural}.{need.group_version}" in served), None)
    if route and config.workloads.ui.ingress.sessionPersistence and "sessionPersistence" not in served_route_rule_fields(context):
        problems.append(
            f"the cluster (kubeconfig context {context!r}) serves HTTPRoute without a rule's sessionPersistence (the Gateway API's "
            "standard channel), which rdagent:workloads.ui.ingress.sessionPersistence needs: install the experimental channel's "
            "CRDs (Envoy Gateway's chart does), or set rdagent:workloads.ui.ingress.sessionPersistence to false"
        )
    return problems


def problems_before_deploy(config: StackConfig) -> list[str]:
    """What the cluster lacks for the objects this update would create (the program's own check)."""
    from rdagent_infra.logic.cluster_apis import apis_for_plan
    from rdagent_infra.logic.rollout import plan_rollout

    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    try:
        return missing_apis(config, apis_for_plan(config, plan))
    except ClusterUnreachable:
        return []  # the Kubernetes provider reports an unreachable cluster in its own words
