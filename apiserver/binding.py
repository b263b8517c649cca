"""The ``pods/binding`` subresource: how a scheduler (kube-scheduler included) assigns a pod to a node.

After kube-apiserver's BindingREST (``pkg/registry/core/pod/storage/storage.go``): the pod gets
``spec.nodeName``, the binding's annotations and a ``PodScheduled=True`` condition in one write;
a pod already assigned, or being deleted, is a 409 Conflict on ``pods/binding``.
"""
from __future__ import annotations

from typing import Any

from . import errors
from .cluster import ClusterStore
from .resources import BUILTIN_BY_GVR

PODS = BUILTIN_BY_GVR[("", "v1", "pods")]


def bind(cluster: ClusterStore, namespace: str, name: str, binding: dict[str, Any], *,
         dry_run: bool = False) -> dict[str, Any]:
    """Bind pod ``namespace/name``; returns the Status to answer (201)."""
    raw_target = binding.get("target")
    target: dict[str, Any] = raw_target if isinstance(raw_target, dict) else {}
    causes = []
    if target.get("kind") not in (None, "", "Node"):
        causes.append(errors.field_error("target.kind", "FieldValueNotSupported",
                                         "Unsupported value: must be empty or 'Node'"))
    if not target.get("name"):
        causes.append(errors.field_error("target.name", "FieldValueRequired", "Required value"))
    if causes:
        raise errors.invalid("Binding", "", str((binding.get("metadata") or {}).get("name") or ""), causes)
    body_name = (binding.get("metadata") or {}).get("name")
    if body_name and body_name != name:
        raise errors.bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
    prev = cluster.get(PODS, namespace, name)
    pod = prev.decode()
    meta, spec = pod["metadata"], pod.setdefault("spec", {})
    if meta.get("deletionTimestamp"):
        raise _conflict(name, f"pod {name} is being deleted, cannot be assigned to a host")
    if spec.get("nodeName"):
        raise _conflict(name, f'pod {name} is already assigned to node "{spec["nodeName"]}"')
    spec["nodeName"] = str(target["name"])
    annotations = (binding.get("metadata") or {}).get("annotations") or {}
    if annotations:
        meta["annotations"] = {**(meta.get("annotations") or {}), **annotations}
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    scheduled = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
    if scheduled is None:
        conditions.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": cluster.now_timestamp()})
    elif scheduled.get("status") != "True":
        scheduled.update(status="True", lastTransitionTime=cluster.now_timestamp())
        scheduled.pop("reason", None)
        scheduled.pop("message", None)
    status["conditions"] = conditions
    if not dry_run:
        cluster.guaranteed_update(PODS, prev, pod)
    return errors.success()


def _conflict(name: str, why: str) -> errors.StatusError:
    return errors.StatusError(409, "Conflict", f'Operation cannot be fulfilled on pods/binding "{name}": {why}',
                              {"name": name, "kind": "pods/binding"})
