"""tests/cluster_objects.py, the fault tests' object-by-object comparison, on hand-written objects:
what the server fills in is ignored, everything the program sets is compared."""

from __future__ import annotations

import copy

from tests.cluster_objects import differences, keyed

GENERATED = frozenset({("signing", "key")})


def deployment_pod(namespace: str, template_hash: str, suffix: str, node: str, uid: str, env_value: str = "INFO") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"ui-{template_hash}-{suffix}",
            "generateName": f"ui-{template_hash}-",
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": uid[-3:],
            "creationTimestamp": "2026-12-05T09:00:00Z",
            "labels": {"app": "ui", "pod-template-hash": template_hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"ui-{template_hash}", "uid": uid + "-rs", "controller": True}],
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {"name": "ui", "image": "ui:1", "env": [{"name": "LOG_LEVEL", "value": env_value}, {"name": "REDIS", "value": f"redis.{namespace}.svc"}]}
            ],
            "volumes": [{"name": f"kube-api-access-{suffix[::-1]}", "projected": {}}, {"name": "cache", "ephemeral": {}}],
        },
        "status": {"phase": "Running", "podIP": "10.244.0." + uid[-1]},
    }


def pod_claim(namespace: str, pod: dict, volume: str, uid: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": f"{pod['metadata']['name']}-cache",
            "namespace": namespace,
            "uid": uid,
            "annotations": {"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/selected-node": pod["spec"]["nodeName"]},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}],
        },
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeName": volume},
    }


def service(namespace: str, cluster_ip: str, port: int = 8501) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "ui", "namespace": namespace, "uid": cluster_ip},
        "spec": {"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "ports": [{"port": port}], "selector": {"app": "ui"}},
    }


def secret(namespace: str, key: str, password: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "signing", "namespace": namespace}, "data": {"key": key, "password": password}}


def namespace_objects(
    namespace: str, template_hash: str, suffix: str, node: str, cluster_ip: str, key: str, env_value: str = "INFO", port: int = 8501
) -> list[dict]:
    pod = deployment_pod(namespace, template_hash, suffix, node, uid=f"{namespace}-{suffix}", env_value=env_value)
    return [pod, pod_claim(namespace, pod, f"pv-{suffix}", f"claim-{suffix}"), service(namespace, cluster_ip, port), secret(namespace, key, "c2VjcmV0")]


def test_two_deployments_that_differ_only_in_what_the_server_fills_in_compare_equal():
    first = keyed(namespace_objects("ns-a", "5d4f8b9c7", "x7k2p", "node-1", "10.96.0.10", "a2V5MQ=="), "ns-a", GENERATED)
    second = keyed(namespace_objects("ns-b", "66bc9d8f4", "q9w3z", "node-2", "10.96.0.77", "a2V5Mg=="), "ns-b", GENERATED)
    assert sorted(first) == ["PersistentVolumeClaim/ui-HASH-POD-cache", "Pod/ui-HASH-POD", "Secret/signing", "Service/ui"]
    assert differences(first, second) == {}
    assert first["Pod/ui-HASH-POD"]["spec"]["containers"][0]["env"][1] == {"name": "REDIS", "value": "redis.NAMESPACE.svc"}
    assert first["Secret/signing"]["data"] == {"key": "GENERATED", "password": "c2VjcmV0"}


def test_a_changed_env_value_a_port_or_a_secret_value_is_a_difference():
    base = keyed(namespace_objects("ns-a", "5d4f8b9c7", "x7k2p", "node-1", "10.96.0.10", "a2V5MQ=="), "ns-a", GENERATED)
    env = keyed(namespace_objects("ns-b", "66bc9d8f4", "q9w3z", "node-1", "10.96.0.10", "a2V5MQ==", env_value="DEBUG"), "ns-b", GENERATED)
    assert list(differences(base, env)) == ["Pod/ui-HASH-POD"]
    assert list(differences(base, env)["Pod/ui-HASH-POD"]) == ["spec"]
    port = keyed(namespace_objects("ns-b", "66bc9d8f4", "q9w3z", "node-1", "10.96.0.10", "a2V5MQ==", port=80), "ns-b", GENERATED)
    assert list(differences(base, port)) == ["Service/ui"]
    objects = namespace_objects("ns-b", "66bc9d8f4", "q9w3z", "node-1", "10.96.0.10", "a2V5MQ==")
    objects[3]["data"]["password"] = "b3RoZXI="
    assert list(differences(base, keyed(objects, "ns-b", GENERATED))) == ["Secret/signing"]


def test_a_missing_object_an_extra_pod_and_a_label_are_differences():
    objects = namespace_objects("ns-a", "5d4f8b9c7", "x7k2p", "node-1", "10.96.0.10", "a2V5MQ==")
    base = keyed(objects, "ns-a", GENERATED)
    extra_pod = copy.deepcopy(objects[0])
    extra_pod["metadata"].update(name="ui-5d4f8b9c7-m4n5b", uid="other")
    more = keyed([*objects, extra_pod], "ns-a", GENERATED)
    assert differences(base, more) == {"Pod/ui-HASH-POD#1": ("extra", "ui-HASH-POD")}
    assert differences(base, keyed(objects[1:], "ns-a", GENERATED))["Pod/ui-HASH-POD"] == ("missing", "ui-HASH-POD")
    labelled = copy.deepcopy(objects)
    labelled[2]["metadata"]["labels"] = {"team": "ml"}
    assert list(differences(base, keyed(labelled, "ns-a", GENERATED))) == ["Service/ui"]


def test_an_object_on_its_way_out_is_not_counted():
    objects = namespace_objects("ns-a", "5d4f8b9c7", "x7k2p", "node-1", "10.96.0.10", "a2V5MQ==")
    leaving = copy.deepcopy(objects[0])
    leaving["metadata"].update(name="ui-5d4f8b9c7-old00", deletionTimestamp="2026-12-05T09:01:00Z")
    assert keyed([*objects, leaving], "ns-a", GENERATED) == keyed(objects, "ns-a", GENERATED)
