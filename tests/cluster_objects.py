"""Whole objects as a namespace holds them, minus what the API server and its controllers fill in,
so that two deployments of one stack (in two namespaces, at two times) compare object by object.

What is dropped, and why each differs between two equal deployments:
- `status`, and in `metadata`: uid, resourceVersion, generation, creationTimestamp, managedFields,
  selfLink, the owner references' uids (the server's bookkeeping);
- annotations the controllers write: the Deployment's revision (it counts updates), a claim's
  binding and the node its volume was provisioned for;
- labels and selector keys the controllers derive from uids or hashes (`pod-template-hash`,
  `controller-revision-hash`, a Job's `controller-uid`); a hash also inside names (ReplicaSet and pod
  names) is replaced by `HASH`, a pod's random suffix by `POD`;
- what the scheduler and allocators pick: a pod's `nodeName`, a Service's cluster IPs, a claim's
  `volumeName`, the random suffix of the projected service-account volume.
The namespace's own name becomes `NAMESPACE`; a value each deployment generates anew (a signing key)
becomes `GENERATED`. Everything else is compared: env, volumes, probes,
security contexts, labels, annotations, data, rules, ports, selectors.
"""

from __future__ import annotations

import copy
import json
import re

SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")
SERVER_ANNOTATIONS = (
    "deployment.kubernetes.io/revision",
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/selected-node",
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
)
DERIVED_LABELS = ("pod-template-hash", "controller-revision-hash", "controller-uid", "batch.kubernetes.io/controller-uid")
ALLOCATED = {"Service": ("clusterIP", "clusterIPs"), "PersistentVolumeClaim": ("volumeName",), "Pod": ("nodeName",)}


def _drop_derived_labels(node: object) -> None:
    """Every map of labels, selectors included, loses the keys controllers derive from uids or hashes."""
    if isinstance(node, dict):
        for key in DERIVED_LABELS:
            node.pop(key, None)
        for value in node.values():
            _drop_derived_labels(value)
    elif isinstance(node, list):
        for value in node:
            _drop_derived_labels(value)


def renames(objects: list[dict]) -> dict[str, str]:
    """Generated name parts -> placeholders: each pod's name (its generateName, hash replaced, then
    `POD`), which its own claims and their owner references repeat, and every hash the controllers
    put into names (a pod's template hash or revision hash) as `HASH`."""
    found_hashes = set()
    for obj in objects:
        labels = obj["metadata"].get("labels") or {}
        found_hashes |= {labels[key] for key in ("pod-template-hash", "controller-revision-hash") if labels.get(key)}

    def unhashed(name: str) -> str:
        for value in found_hashes:
            name = name.replace(f"-{value}", "-HASH")
        return name

    result = {f"-{value}": "-HASH" for value in found_hashes}
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "Pod" and meta.get("generateName"):
            result[meta["name"]] = unhashed(meta["generateName"]) + "POD"
    return result


def comparable(obj: dict, namespace: str, renamed: dict[str, str], generated: frozenset[tuple[str, str]] = frozenset()) -> dict:
    """The object as the program and its defaults made it (see the module docstring); the values
    of `generated` (Secret name, key) are made anew by every deployment and become `GENERATED`."""
    kind = obj["kind"]
    obj = copy.deepcopy(obj)
    obj.pop("status", None)
    meta = obj["metadata"]
    if kind == "Secret":
        for key in obj.get("data") or {}:
            if (meta["name"], key) in generated:
                obj["data"][key] = "GENERATED"
    for key in SERVER_METADATA:
        meta.pop(key, None)
    annotations = meta.get("annotations") or {}
    for key in SERVER_ANNOTATIONS:
        annotations.pop(key, None)
    if "annotations" in meta and not annotations:
        del meta["annotations"]
    for reference in meta.get("ownerReferences", []):
        reference.pop("uid", None)
    spec = obj.get("spec") or {}
    for key in ALLOCATED.get(kind, ()):
        spec.pop(key, None)
    _drop_derived_labels(obj)
    text = json.dumps(obj, sort_keys=True).replace(namespace, "NAMESPACE")
    for old in sorted(renamed, key=len, reverse=True):  # a pod's whole name before the hash inside it
        text = text.replace(old, renamed[old])
    text = re.sub(r"kube-api-access-[a-z0-9]{5}\b", "kube-api-access-RANDOM", text)
    return json.loads(text)


def keyed(objects: list[dict], namespace: str, generated: frozenset[tuple[str, str]] = frozenset()) -> dict[str, dict]:
    """kind/name -> comparable object. Objects whose names were generated (pods, a pod's own claims)
    may share a key; they are told apart by their content, in a stable order."""
    live = [obj for obj in objects if not obj["metadata"].get("deletionTimestamp")]  # on its way out: the controllers' business
    renamed = renames(live)
    grouped: dict[str, list[dict]] = {}
    for obj in live:
        shown = comparable(obj, namespace, renamed, generated)
        grouped.setdefault(f"{obj['kind']}/{shown['metadata']['name']}", []).append(shown)
    result = {}
    for key, group in grouped.items():
        for index, shown in enumerate(sorted(group, key=lambda o: json.dumps(o, sort_keys=True))):
            result[key if index == 0 else f"{key}#{index}"] = shown
    return result


def differences(expected: dict[str, dict], found: dict[str, dict]) -> dict[str, object]:
    """key -> (expected, found) for every object that is missing, extra or different; for a
    different object, only the top-level fields that differ."""
    result: dict[str, object] = {}
    for key in sorted(set(expected) | set(found)):
        want, have = expected.get(key), found.get(key)
        if want == have:
            continue
        if want is None or have is None:
            result[key] = ("missing" if have is None else "extra", (want or have)["metadata"].get("name"))
            continue
        result[key] = {field: (want.get(field), have.get(field)) for field in sorted(set(want) | set(have)) if want.get(field) != have.get(field)}
    return result
