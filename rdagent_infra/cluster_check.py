"""Does the stack's cluster serve the custom-resource APIs the stack needs? (kubeconfig mode)

Asked through API discovery (`GET /apis/<group>/<version>`), which every authenticated user may
read, with the kubeconfig the Kubernetes provider uses (KUBECONFIG or ~/.kube/config) and the
stack's context. In render mode there is no cluster; in eks mode the program creates the cluster,
so nothing can be asked before the first `up`.
"""

from __future__ import annotations

import json

from rdagent_infra.config import StackConfig
from rdagent_infra.logic.cluster_apis import ApiNeed

TIMEOUT_SECONDS = 15


class ClusterUnreachable(Exception):
    pass


def served_resources(context: str, group_versions: list[str]) -> set[str]:
    """`<plural>.<group>/<version>` of every resource the cluster serves in `group_versions`."""
    from kubernetes import client
    from kubernetes import config as kubeconfig
    from kubernetes.config.config_exception import ConfigException

    try:
        api = kubeconfig.new_client_from_config(context=context)
    except (ConfigException, OSError) as error:
        raise ClusterUnreachable(f"cannot load the kubeconfig context {context!r}: {error}") from error
    served = set()
    with api:
        for group_version in group_versions:
            try:
                response = api.call_api(
                    f"/apis/{group_version}", "GET", auth_settings=["BearerToken"], _request_timeout=TIMEOUT_SECONDS, _preload_content=False
                )[0]
            except client.ApiException as error:
                if error.status == 404:
                    continue
                raise ClusterUnreachable(f"the cluster (context {context!r}) answered {error.status} for /apis/{group_version}: {error.reason}") from error
            except Exception as error:  # urllib3's connection and TLS errors have no common base worth naming
                raise ClusterUnreachable(f"the cluster (context {context!r}) cannot be reached: {error}") from error
            group, version = group_version.split("/")
            served |= {f"{resource['name']}.{group}/{version}" for resource in json.loads(response.data).get("resources", [])}
    return served


def missing_apis(config: StackConfig, needs: list[ApiNeed]) -> list[str]:
    """A message for each needed API the cluster does not serve; none outside kubeconfig mode."""
    if config.cluster.mode != "kubeconfig" or not needs:
        return []
    context = config.cluster.kubeconfigContext or ""
    served = served_resources(context, sorted({need.group_version for need in needs}))
    return [need.message(context) for need in needs if f"{need.plural}.{need.group_version}" not in served]


def problems_before_deploy(config: StackConfig) -> list[str]:
    """What the cluster lacks for the objects this update would create (the program's own check)."""
    from rdagent_infra.logic.cluster_apis import apis_for_plan
    from rdagent_infra.logic.rollout import plan_rollout

    plan = plan_rollout(config.rollout, config.workloads.ui.replicas)
    try:
        return missing_apis(config, apis_for_plan(config, plan))
    except ClusterUnreachable:
        return []  # the Kubernetes provider reports an unreachable cluster in its own words
