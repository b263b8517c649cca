"""Table printers for the workload API groups, after kube-apiserver's ``pkg/printers/internalversion``.

apps, batch, autoscaling, policy and scheduling.k8s.io (the others: ``printers_cluster.py``). Cells
are always "wide" (kubectl hides priority-1 columns without ``-o wide``); fields are read by their v1
JSON names. Ages are ``duration.HumanDuration`` strings from the caller's clock.
"""
from __future__ import annotations

from typing import Any

from .cells import Cells, Conditions, Printer, format_label_selector, _AGE_COL, _CONTAINERS_COL, _IMAGES_COL, _NAME_COL, _age, _col, _containers_images, _d, _format_labels, _format_selector, _i, _l, _name, _parse_ts, _since, human_duration
from .printers_core import format_quantity


# --- apps/v1 -------------------------------------------------------------------------------

_DEPLOYMENT_COLUMNS = [
    _NAME_COL,
    _col("Ready", "string", "Number of the pod with ready state"),
    _col("Up-to-date", "string", "Total number of non-terminating pods targeted by this deployment that have the "
                                 "desired template spec."),
    _col("Available", "string", "Total number of available non-terminating pods (ready for at least minReadySeconds) "
                                "targeted by this deployment."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", "Label selector for pods.", 1),
]


def _print_deployment(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    containers, images = _containers_images(obj)
    desired = _i(spec.get("replicas"), 1)
    cells = [_name(obj), f"{_i(status.get('readyReplicas'))}/{desired}", _i(status.get("updatedReplicas")),
             _i(status.get("availableReplicas")), _age(obj, now), containers, images,
             format_label_selector(spec.get("selector"))]
    return cells, None


_REPLICASET_COLUMNS = [
    _NAME_COL,
    _col("Desired", "integer", "Replicas is the number of desired pods."),
    _col("Current", "integer", "Replicas is the most recently observed number of non-terminating pods."),
    _col("Ready", "integer", "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", "Selector is a label query over pods that should match the replica count.", 1),
]


def _print_replicaset(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    containers, images = _containers_images(obj)
    cells = [_name(obj), _i(spec.get("replicas"), 1), _i(status.get("replicas")), _i(status.get("readyReplicas")),
             _age(obj, now), containers, images, _format_selector(spec.get("selector"))]
    return cells, None


_STATEFULSET_COLUMNS = [
    _NAME_COL, _col("Ready", "string", "Number of the pod with ready state"), _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
]


def _print_statefulset(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    containers, images = _containers_images(obj)
    cells = [_name(obj), f"{_i(status.get('readyReplicas'))}/{_i(spec.get('replicas'), 1)}", _age(obj, now),
             containers, images]
    return cells, None


_DAEMONSET_COLUMNS = [
    _NAME_COL,
    _col("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
    _col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run "
                               "the daemon pod."),
    _col("Ready", "integer", "numberReady is the number of nodes that should be running the daemon pod and have one "
                             "or more of the daemon pod running with a Ready Condition."),
    _col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod"),
    _col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of "
                                 "the daemon pod running and available."),
    _col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", "A label query over pods that are managed by the daemon set.", 1),
]


def _print_daemonset(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    containers, images = _containers_images(obj)
    cells = [_name(obj), _i(status.get("desiredNumberScheduled")), _i(status.get("currentNumberScheduled")),
             _i(status.get("numberReady")), _i(status.get("updatedNumberScheduled")), _i(status.get("numberAvailable")),
             _format_labels(_d(spec, "template", "spec").get("nodeSelector")), _age(obj, now), containers, images,
             _format_selector(spec.get("selector"))]
    return cells, None


# --- batch/v1 ------------------------------------------------------------------------------

_JOB_SELECTOR_DOC = ("A label query over pods that should match the pod count. Normally, the system sets this field "
                     "for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/"
                     "#label-selectors")

_JOB_COLUMNS = [
    _NAME_COL,
    _col("Status", "string", "Status of the job."),
    _col("Completions", "string", "The number of pods which reached phase Succeeded. The value increases "
                                  "monotonically for a given spec. However, it may decrease in reaction to scale down "
                                  "of elastic indexed jobs."),
    _col("Duration", "string", "Time required to complete the job."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", _JOB_SELECTOR_DOC, 1),
]


def _ts(value: Any) -> float | None:
    return _parse_ts(value) if isinstance(value, str) and value else None


def _job_condition(status: dict[str, Any], ctype: str) -> bool:
    """printers.go hasJobCondition: the first condition of that type, and whether it is True."""
    for c in _l(status, "conditions"):
        if isinstance(c, dict) and c.get("type") == ctype:
            return c.get("status") == "True"
    return False


def _print_job(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    succeeded = _i(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{_i(spec.get('completions'))}"
    elif _i(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {_i(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    start, end = _ts(status.get("startTime")), _ts(status.get("completionTime"))
    took = "" if start is None else human_duration((now if end is None else end) - start)
    state = next((t for t in ("Complete", "Failed") if _job_condition(status, t)), "")
    if not state and _d(obj, "metadata").get("deletionTimestamp"):
        state = "Terminating"
    state = state or next((t for t in ("Suspended", "FailureTarget", "SuccessCriteriaMet")
                           if _job_condition(status, t)), "Running")
    containers, images = _containers_images(obj)
    cells = [_name(obj), state, completions, took, _age(obj, now), containers, images,
             _format_selector(spec.get("selector"))]
    return cells, None


_CRONJOB_COLUMNS = [
    _NAME_COL,
    _col("Schedule", "string", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    _col("Timezone", "string", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/"
                               "List_of_tz_database_time_zones. If not specified, this will default to the time zone "
                               "of the kube-controller-manager process. The set of valid time zone names and the time "
                               "zone offset is loaded from the system-wide time zone database by the API server during "
                               "CronJob validation and the controller manager during execution. If no system-wide time "
                               "zone database can be found a bundled version of the database is used instead. If the "
                               "time zone name becomes invalid during the lifetime of a CronJob or due to a change in "
                               "host configuration, the controller will stop creating new new Jobs and will create a "
                               "system event with the reason UnknownTimeZone. More information can be found in "
                               "https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones"),
    _col("Suspend", "boolean", "This flag tells the controller to suspend subsequent executions, it does not apply to "
                               "already started executions.  Defaults to false."),
    _col("Active", "integer", "A list of pointers to currently running jobs."),
    _col("Last Schedule", "string", "Information when was the last time the job was successfully scheduled."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", _JOB_SELECTOR_DOC, 1),
]


def _print_cronjob(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    last, zone, suspend = status.get("lastScheduleTime"), spec.get("timeZone"), spec.get("suspend")
    template = _d(spec, "jobTemplate")
    containers, images = _containers_images(template)
    cells = [_name(obj), str(spec.get("schedule") or ""), "<none>" if zone is None else str(zone),
             str(suspend) if isinstance(suspend, bool) else "<unset>", len(_l(status, "active")),
             "<none>" if last is None else _since(last, now), _age(obj, now), containers, images,
             _format_selector(_d(template, "spec").get("selector"))]
    return cells, None


# --- autoscaling/v2 ------------------------------------------------------------------------

_HPA_COLUMNS = [
    _NAME_COL,
    _col("Reference", "string", "scaleTargetRef points to the target resource to scale, and is used to the pods for "
                                "which metrics should be collected, as well as to actually change the replica count."),
    _col("Targets", "string", "metrics contains the specifications for which to use to calculate the desired replica "
                              "count (the maximum replica count across all metrics will be used).  The desired replica "
                              "count is calculated multiplying the ratio between the target value and the current "
                              "value by the current number of pods.  Ergo, metrics used must decrease as the pod count "
                              "is increased, and vice-versa.  See the individual metric source types for more "
                              "information about how each type of metric must respond."),
    _col("MinPods", "string", "minReplicas is the lower limit for the number of replicas to which the autoscaler can "
                              "scale down.  It defaults to 1 pod.  minReplicas is allowed to be 0 if the alpha feature "
                              "gate HPAScaleToZero is enabled and at least one Object or External metric is "
                              "configured.  Scaling is active as long as at least one metric value is available."),
    _col("MaxPods", "string", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can "
                              "scale up. It cannot be less that minReplicas."),
    _col("Replicas", "string", "currentReplicas is current number of replicas of pods managed by this autoscaler, as "
                               "last seen by the autoscaler."),
    _AGE_COL,
]
_METRIC_KEYS = {"External": "external", "Object": "object", "Pods": "pods", "Resource": "resource",
                "ContainerResource": "containerResource"}


def _hpa_metric(spec: dict[str, Any], current: dict[str, Any]) -> str:
    """One entry of printers.go formatHPAMetrics: "current/target", by the metric source type."""
    typ = str(spec.get("type") or "")
    key = _METRIC_KEYS.get(typ)
    if key is None:
        return "<unknown type>"
    target = _d(spec, key, "target")
    seen = isinstance(current.get(key), dict)  # the status entry at the same index has this source
    got = _d(current, key, "current")
    if typ == "Pods":
        now_value = format_quantity(got.get("averageValue"), "<nil>") if seen else "<unknown>"
        return f"{now_value}/{format_quantity(target.get('averageValue'), '<nil>')}"
    average = target.get("averageValue") is not None
    if typ in ("External", "Object"):
        if average:
            now_value = format_quantity(got["averageValue"]) if seen and got.get("averageValue") is not None \
                else "<unknown>"
            return f"{now_value}/{format_quantity(target['averageValue'])} (avg)"
        now_value = format_quantity(got.get("value"), "<nil>") if seen else "<unknown>"
        return f"{now_value}/{format_quantity(target.get('value'), '<nil>')}"
    name = str(_d(spec, key).get("name") or "")
    if average:
        now_value = format_quantity(got.get("averageValue"), "<nil>") if seen else "<unknown>"
        return f"{name}: {now_value}/{format_quantity(target['averageValue'])}"
    now_value = f"{_i(got['averageUtilization'])}%" if seen and got.get("averageUtilization") is not None \
        else "<unknown>"
    goal = f"{_i(target['averageUtilization'])}%" if target.get("averageUtilization") is not None else "<auto>"
    return f"{name}: {now_value}/{goal}"


def _format_hpa_metrics(specs: list[Any], statuses: list[Any]) -> str:
    if not specs:
        return "<none>"
    shown = [_hpa_metric(s if isinstance(s, dict) else {},
                         statuses[i] if i < len(statuses) and isinstance(statuses[i], dict) else {})
             for i, s in enumerate(specs[:2])]
    joined = ", ".join(shown)
    return f"{joined} + {len(specs) - 2} more..." if len(specs) > 2 else joined


def _print_hpa(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    ref = _d(spec, "scaleTargetRef")
    min_pods = spec.get("minReplicas")
    cells = [_name(obj), f"{ref.get('kind') or ''}/{ref.get('name') or ''}",
             _format_hpa_metrics(_l(spec, "metrics"), _l(status, "currentMetrics")),
             "<unset>" if min_pods is None else str(_i(min_pods)), _i(spec.get("maxReplicas")),
             _i(status.get("currentReplicas")), _age(obj, now)]
    return cells, None


# --- policy/v1, scheduling.k8s.io/v1 -------------------------------------------------------

_PDB_COLUMNS = [
    _NAME_COL,
    _col("Min Available", "string", "The minimum number of pods that must be available."),
    _col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    _col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    _AGE_COL,
]


def _int_or_string(value: Any) -> str:
    """intstr.IntOrString's String(), "N/A" when the field is unset."""
    if value is None:
        return "N/A"
    return str(_i(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


def _print_pdb(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec = _d(obj, "spec")
    cells = [_name(obj), _int_or_string(spec.get("minAvailable")), _int_or_string(spec.get("maxUnavailable")),
             _i(_d(obj, "status").get("disruptionsAllowed")), _age(obj, now)]
    return cells, None


_PRIORITYCLASS_COLUMNS = [
    _NAME_COL,
    _col("Value", "integer", "value represents the integer value of this priority class. This is the actual priority "
                             "that pods receive when they have the name of this class in their pod spec."),
    _col("Global-Default", "boolean", "globalDefault specifies whether this PriorityClass should be considered as the "
                                      "default priority for pods that do not have any priority class. Only one "
                                      "PriorityClass can be marked as `globalDefault`. However, if more than one "
                                      "PriorityClasses exists with their `globalDefault` field set to true, the "
                                      "smallest value of such global default PriorityClasses will be used as the "
                                      "default priority."),
    _AGE_COL,
    _col("PreemptionPolicy", "string", "preemptionPolicy is the Policy for preempting pods with lower priority. One of "
                                       "Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset."),
]


def _print_priorityclass(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    cells = [_name(obj), _i(obj.get("value")), obj.get("globalDefault") is True, _age(obj, now),
             str(obj.get("preemptionPolicy") or "")]
    return cells, None


GROUP_PRINTERS: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _print_deployment),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _print_replicaset),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _print_statefulset),
    ("apps", "DaemonSet"): (_DAEMONSET_COLUMNS, _print_daemonset),
    ("batch", "Job"): (_JOB_COLUMNS, _print_job),
    ("batch", "CronJob"): (_CRONJOB_COLUMNS, _print_cronjob),
    ("autoscaling", "HorizontalPodAutoscaler"): (_HPA_COLUMNS, _print_hpa),
    ("policy", "PodDisruptionBudget"): (_PDB_COLUMNS, _print_pdb),
    ("scheduling.k8s.io", "PriorityClass"): (_PRIORITYCLASS_COLUMNS, _print_priorityclass),
}
