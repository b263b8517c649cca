"""Per-kind Table printers for built-in kinds, after kube-apiserver's ``pkg/printers/internalversion``.

This module holds the registry (``PRINTERS``), the generic convertor for kinds without a printer,
and the two printers that summarise kubelet-reported status (Pod: container states, restarts and
readiness gates; Node: conditions, roles and addresses). The other core/v1 kinds are printed by
``printers_core.py``, the workload groups by ``printers_groups.py``, the others by ``printers_cluster.py``.

Each printer turns one object into its row cells (always "wide": kubectl hides priority-1 columns
without ``-o wide``). Ages are ``duration.HumanDuration`` strings from the caller's clock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .cells import Cells, Conditions, Printer, _AGE_COL, _CREATED_DOC, _NAME_COL, _age, _col, _d, _i, _l, _name, _parse_ts, _since
from .printers_core import CORE_PRINTERS
from .printers_cluster import CLUSTER_PRINTERS
from .printers_groups import GROUP_PRINTERS

# --- Pod and Node --------------------------------------------------------------------------

_POD_COLUMNS = [
    _NAME_COL,
    _col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    _col("Status", "string", "The aggregate status of the containers in this pod."),
    _col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the "
                               "last container in this pod has restarted."),
    _AGE_COL,
    _col("IP", "string", "podIP address allocated to the pod.", 1),
    _col("Node", "string", "NodeName indicates in which node this pod is scheduled.", 1),
    _col("Nominated Node", "string", "nominatedNodeName is set only when this pod preempts other pods on the node.", 1),
    _col("Readiness Gates", "string", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
]
_POD_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]
_POD_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def _later(a: str, b: Any) -> str:
    """The later of two RFC 3339 timestamps ("" is the zero time)."""
    if isinstance(b, str) and b and (not a or (_parse_ts(b) or 0) > (_parse_ts(a) or 0)):
        return b
    return a


def _print_pod(pod: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(pod, "spec"), _d(pod, "status")
    restarts = 0
    restartable_restarts = 0
    total = len(_l(spec, "containers"))
    ready = 0
    last_restart = ""
    last_restartable_restart = ""
    phase = str(status.get("phase") or "")
    reason = str(status.get("reason") or "") or phase
    conditions = [c for c in _l(status, "conditions") if isinstance(c, dict)]
    for c in conditions:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    row_conditions = _POD_SUCCEEDED if phase == "Succeeded" else _POD_FAILED if phase == "Failed" else None

    init_specs = {c.get("name"): c for c in _l(spec, "initContainers") if isinstance(c, dict)}
    n_init = len(init_specs)
    for c in init_specs.values():
        if c.get("restartPolicy") == "Always":
            total += 1

    initializing = False
    for i, cs in enumerate(c for c in _l(status, "initContainerStatuses") if isinstance(c, dict)):
        restarts += _i(cs.get("restartCount"))
        last_term = _d(cs, "lastState", "terminated")
        if last_term:
            last_restart = _later(last_restart, last_term.get("finishedAt"))
        restartable = _d(init_specs, str(cs.get("name"))).get("restartPolicy") == "Always"
        if restartable:
            restartable_restarts += _i(cs.get("restartCount"))
            if last_term:
                last_restartable_restart = _later(last_restartable_restart, last_term.get("finishedAt"))
        state = _d(cs, "state")
        term, waiting = state.get("terminated"), state.get("waiting")
        if isinstance(term, dict) and _i(term.get("exitCode")) == 0:
            continue
        if restartable and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(term, dict):
            if not term.get("reason"):
                reason = (f"Init:Signal:{_i(term.get('signal'))}" if _i(term.get("signal"))
                          else f"Init:ExitCode:{_i(term.get('exitCode'))}")
            else:
                reason = f"Init:{term['reason']}"
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True" for c in conditions)
    if not initializing or initialized:
        restarts = restartable_restarts
        last_restart = last_restartable_restart
        has_running = False
        for cs in reversed([c for c in _l(status, "containerStatuses") if isinstance(c, dict)]):
            restarts += _i(cs.get("restartCount"))
            last_term = _d(cs, "lastState", "terminated")
            if last_term:
                last_restart = _later(last_restart, last_term.get("finishedAt"))
            state = _d(cs, "state")
            waiting, term = state.get("waiting"), state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(term, dict) and term.get("reason"):
                reason = str(term["reason"])
            elif isinstance(term, dict):
                reason = (f"Signal:{_i(term.get('signal'))}" if _i(term.get("signal"))
                          else f"ExitCode:{_i(term.get('exitCode'))}")
            elif cs.get("ready") and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
            reason = "Running" if pod_ready else "NotReady"

    meta = _d(pod, "metadata")
    if meta.get("deletionTimestamp") and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_str = str(restarts)
    if restarts and last_restart:
        restarts_str = f"{restarts} ({_since(last_restart, now)} ago)"

    ips = _l(status, "podIPs")
    ip = str(ips[0].get("ip", "")) if ips and isinstance(ips[0], dict) else ""
    gates = [g for g in _l(spec, "readinessGates") if isinstance(g, dict)]
    gates_str = "<none>"
    if gates:
        by_type: dict[Any, dict[str, Any]] = {}
        for c in conditions:
            by_type.setdefault(c.get("type"), c)
        true_count = sum(1 for g in gates if by_type.get(g.get("conditionType"), {}).get("status") == "True")
        gates_str = f"{true_count}/{len(gates)}"
    cells = [_name(pod), f"{ready}/{total}", reason, restarts_str, _age(pod, now),
             ip or "<none>", str(spec.get("nodeName") or "<none>"),
             str(status.get("nominatedNodeName") or "<none>"), gates_str]
    return cells, row_conditions


_NODE_COLUMNS = [
    _NAME_COL,
    _col("Status", "string", "The status of the node"),
    _col("Roles", "string", "The roles of the node"),
    _AGE_COL,
    _col("Version", "string", "Kubelet Version reported by the node."),
    _col("Internal-IP", "string", "List of addresses reachable to the node.", 1),
    _col("External-IP", "string", "List of addresses reachable to the node.", 1),
    _col("OS-Image", "string", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
    _col("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
    _col("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API "
                                        "(e.g. containerd://1.4.2).", 1),
]


def node_roles(labels: Any) -> list[str]:
    """printers.go findNodeRoles: node-role.kubernetes.io/<role> keys and the kubernetes.io/role value."""
    roles: set[str] = set()
    if isinstance(labels, dict):
        for k, v in labels.items():
            if k.startswith("node-role.kubernetes.io/"):
                role = k[len("node-role.kubernetes.io/"):]
                if role:
                    roles.add(role)
            elif k == "kubernetes.io/role" and v:
                roles.add(str(v))
    return sorted(roles)


def _node_address(status: dict[str, Any], kind: str) -> str:
    for a in _l(status, "addresses"):
        if isinstance(a, dict) and a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def _print_node(node: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    status, info = _d(node, "status"), _d(node, "status", "nodeInfo")
    states: list[str] = []
    ready = None
    for c in _l(status, "conditions"):
        if isinstance(c, dict) and c.get("type") == "Ready":
            ready = c
    if ready is not None:
        states.append("Ready" if ready.get("status") == "True" else "NotReady")
    else:
        states.append("Unknown")
    if _d(node, "spec").get("unschedulable"):
        states.append("SchedulingDisabled")
    roles = ",".join(node_roles(_d(node, "metadata").get("labels"))) or "<none>"
    cells = [_name(node), ",".join(states), roles, _age(node, now), str(info.get("kubeletVersion") or ""),
             _node_address(status, "InternalIP"), _node_address(status, "ExternalIP"),
             str(info.get("osImage") or "<unknown>"), str(info.get("kernelVersion") or "<unknown>"),
             str(info.get("containerRuntimeVersion") or "<unknown>")]
    return cells, None



_DEFAULT_COLUMNS = [_NAME_COL, _col("Created At", "date", _CREATED_DOC)]


def _print_default(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """The generic convertor: name and the creation time in RFC 3339 (zero time when unset)."""
    ts = _d(obj, "metadata").get("creationTimestamp")
    t = _parse_ts(ts) if isinstance(ts, str) and ts else None
    created = (datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None
               else "0001-01-01T00:00:00Z")
    return [_name(obj), created], None


# (group, kind) -> (columnDefinitions, printer). Kinds missing here (Role, ClusterRole, LimitRange,
# CustomResourceDefinition) get the generic convertor, as they do from kube-apiserver.
PRINTERS: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("", "Pod"): (_POD_COLUMNS, _print_pod),
    ("", "Node"): (_NODE_COLUMNS, _print_node),
    **CORE_PRINTERS,
    **GROUP_PRINTERS,
    **CLUSTER_PRINTERS,
}
