"""Server-side defaulting on create: the fields kube-apiserver fills in that clients read back.

Only what controllers and kubectl rely on (pod phase, restart policy, scheduler, grace period,
deployment replicas and strategy, job and cronjob policies and the job selector, namespace
finalizers, service type); not the whole scheme. Run after the uid and creationTimestamp are set.
"""
from __future__ import annotations

from typing import Any, Callable


def _pod(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("securityContext", {})
    for c in spec.get("containers") or ():
        if isinstance(c, dict):
            image = str(c.get("image", ""))
            tag = image.rsplit("/", 1)[-1]
            latest = ":" not in tag or tag.endswith(":latest")
            c.setdefault("imagePullPolicy", "Always" if latest and "@" not in image else "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            c.setdefault("terminationMessagePolicy", "File")
            c.setdefault("resources", {})
    status = obj.get("status")
    if not isinstance(status, dict) or not status.get("phase"):
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}


NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _namespace(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}
    meta = obj["metadata"]  # upstream's Canonicalize: every namespace is labelled with its name
    meta["labels"] = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: meta.get("name", "")}


def _deployment(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
    obj["status"] = {}


def _replicas(obj: dict[str, Any]) -> None:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    obj["status"] = {"replicas": 0}


def _statefulset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    obj["status"] = {"replicas": 0, "availableReplicas": 0}


def _daemonset(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    spec.setdefault("revisionHistoryLimit", 10)
    obj["status"] = {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                     "numberReady": 0}


def _service(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for p in spec.get("ports") or ():
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
            p.setdefault("targetPort", p.get("port"))
    obj["status"] = {"loadBalancer": {}}


def _secret(obj: dict[str, Any]) -> None:
    obj.setdefault("type", "Opaque")


def _job(obj: dict[str, Any]) -> None:
    """SetDefaults_Job, and the job strategy's generateSelector (it needs the uid: defaults run after it is set)."""
    spec = obj.setdefault("spec", {})
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    if spec.get("podFailurePolicy") is None:
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    if not spec.get("manualSelector"):
        meta = obj["metadata"]
        template = spec.setdefault("template", {})
        labels = template.setdefault("metadata", {}).setdefault("labels", {})
        for key in ("controller-uid", "batch.kubernetes.io/controller-uid"):
            labels.setdefault(key, meta.get("uid", ""))
        for key in ("job-name", "batch.kubernetes.io/job-name"):
            labels.setdefault(key, meta.get("name", ""))
        selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
        spec["selector"] = selector
        selector.setdefault("matchLabels", {}).setdefault("batch.kubernetes.io/controller-uid", meta.get("uid", ""))
    obj["status"] = {}


def _cronjob(obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    obj["status"] = {}


_DEFAULTERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "pods": _pod,
    "namespaces": _namespace,
    "deployments.apps": _deployment,
    "replicasets.apps": _replicas,
    "statefulsets.apps": _statefulset,
    "daemonsets.apps": _daemonset,
    "services": _service,
    "secrets": _secret,
    "jobs.batch": _job,
    "cronjobs.batch": _cronjob,
}


def apply_create_defaults(storage_id: str, obj: dict[str, Any]) -> None:
    fn = _DEFAULTERS.get(storage_id)
    if fn is not None:
        fn(obj)
