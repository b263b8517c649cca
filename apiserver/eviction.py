"""The ``pods/eviction`` subresource: delete a pod unless that would break its PodDisruptionBudget.

After kube-apiserver's ``pkg/registry/core/pod/storage/eviction.go``. The budget's status
(``disruptionsAllowed``, ``currentHealthy``, ``desiredHealthy``, ``observedGeneration``) is kept by
the disruption controller upstream; here by whoever plays it (the simulator, a test). Until a budget's
status has caught up with its generation, evictions of its pods get 429, as upstream.
"""
from __future__ import annotations

from typing import Any

from . import errors
from .cluster import ClusterStore
from .resources import BUILTIN_BY_GVR
from .selectors import LabelSelector

PODS = BUILTIN_BY_GVR[("", "v1", "pods")]
PDBS = BUILTIN_BY_GVR[("policy", "v1", "poddisruptionbudgets")]
MAX_DISRUPTED_PODS = 2000
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"


def evict(cluster: ClusterStore, namespace: str, name: str, eviction: dict[str, Any],
          delete_options: dict[str, Any]) -> dict[str, Any]:
    """Evict pod ``namespace/name``; returns the Status to answer (its code is the HTTP code).

    ``delete_options`` are the ``ClusterStore.delete`` keyword arguments from the Eviction's
    ``deleteOptions`` and the request's query."""
    if (eviction.get("metadata") or {}).get("name") != name:
        raise errors.bad_request("name in URL does not match name in Eviction object")
    pod = cluster.get(PODS, namespace, name).decode()
    opts = dict(delete_options)
    caller_pinned = bool((delete_options.get("preconditions") or {}).get("resourceVersion"))
    if _can_ignore_budget(pod):
        if _enforce_resource_version(pod) and not caller_pinned:
            _pin_resource_version(opts, pod)
        cluster.delete(PODS, namespace, name, **opts)
        return errors.success()
    budgets = _budgets_for(cluster, pod)
    if len(budgets) > 1:
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "This pod has more than one PodDisruptionBudget, which the eviction subresource does "
                           "not support.", "code": 500}
    unready_and_enough = False
    if budgets:
        pdb = budgets[0]
        status = pdb.get("status") or {}
        desired = int(status.get("desiredHealthy") or 0)
        policy = (pdb.get("spec") or {}).get("unhealthyPodEvictionPolicy")
        if not _ready(pod) and (policy == "AlwaysAllow" or (int(status.get("currentHealthy") or 0) >= desired > 0)):
            unready_and_enough = True  # an unready pod is not counted healthy: evicting it costs the budget nothing
        else:
            _check_and_decrement(cluster, pdb, name, bool(opts.get("dry_run")))
    if unready_and_enough and not caller_pinned:
        _pin_resource_version(opts, pod)
    try:
        cluster.delete(PODS, namespace, name, **opts)
    except errors.StatusError as e:
        if e.code == 409 and unready_and_enough and not caller_pinned:
            raise _still_processing(budgets[0]["metadata"]["name"]) from None
        raise
    return errors.success()


def _pin_resource_version(opts: dict[str, Any], pod: dict[str, Any]) -> None:
    """Delete only the pod as read: nothing may have made it ready (and counted) in between."""
    opts["preconditions"] = {**(opts.get("preconditions") or {}), "resourceVersion": pod["metadata"]["resourceVersion"]}


def _can_ignore_budget(pod: dict[str, Any]) -> bool:
    """Terminal, pending and already-terminating pods are deleted without asking any budget."""
    phase = (pod.get("status") or {}).get("phase")
    return phase in ("Succeeded", "Failed", "Pending") or bool(pod["metadata"].get("deletionTimestamp"))


def _enforce_resource_version(pod: dict[str, Any]) -> bool:
    phase = (pod.get("status") or {}).get("phase")
    return not (phase in ("Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"))


def _ready(pod: dict[str, Any]) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _budgets_for(cluster: ClusterStore, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod's namespace's budgets whose selector matches it (an empty or invalid selector matches nothing)."""
    labels = pod["metadata"].get("labels") or {}
    out = []
    for rec in cluster.list(PDBS, pod["metadata"]["namespace"]).items:
        pdb = rec.decode()
        raw = (pdb.get("spec") or {}).get("selector")
        if not raw or not (raw.get("matchLabels") or raw.get("matchExpressions")):
            continue
        try:
            selector = LabelSelector.from_dict(raw)
        except (errors.StatusError, ValueError, TypeError):
            continue
        if selector.matches(labels):
            out.append(pdb)
    return out


def _still_processing(pdb_name: str) -> errors.StatusError:
    return errors.StatusError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption budget.",
                              {"retryAfterSeconds": 10, "causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message":
                               f"The disruption budget {pdb_name} is still being processed by the server."}]})


def _check_and_decrement(cluster: ClusterStore, pdb: dict[str, Any], pod_name: str, dry_run: bool) -> None:
    meta, status = pdb["metadata"], dict(pdb.get("status") or {})
    name = meta["name"]
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        raise _still_processing(name)
    allowed = int(status.get("disruptionsAllowed") or 0)
    if allowed < 0:
        raise errors.forbidden("poddisruptionbudget", "policy", name, "pdb disruptions allowed is negative")
    if len(status.get("disruptedPods") or {}) > MAX_DISRUPTED_PODS:
        raise errors.forbidden("poddisruptionbudget", "policy", name,
                               "DisruptedPods map too big - too many evictions not confirmed by PDB controller")
    if allowed == 0:
        raise errors.StatusError(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's disruption "
                                 "budget.", {"causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message":
                                 f"The disruption budget {name} needs {int(status.get('desiredHealthy') or 0)} healthy "
                                 f"pods and has {int(status.get('currentHealthy') or 0)} currently"}]})
    status["disruptionsAllowed"] = allowed - 1
    if status["disruptionsAllowed"] == 0:
        _insufficient_pods_condition(cluster, status, int(meta.get("generation") or 0))
    if dry_run:
        return
    status["disruptedPods"] = {**(status.get("disruptedPods") or {}), pod_name: cluster.now_timestamp()}
    cluster.update(PDBS, meta["namespace"], name, {**pdb, "status": status}, subresource="status")


def _insufficient_pods_condition(cluster: ClusterStore, status: dict[str, Any], generation: int) -> None:
    """pdbhelper.UpdateDisruptionAllowedCondition with no disruptions left."""
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionAllowed"]
    old = next((c for c in status.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    cond = {"type": "DisruptionAllowed", "status": "False", "observedGeneration": generation,
            "reason": "InsufficientPods", "message": "",
            "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == "False"
            else cluster.now_timestamp()}
    status["conditions"] = conditions + [cond]
