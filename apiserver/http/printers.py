"""Per-kind Table printers for built-in kinds, after kube-apiserver's ``pkg/printers/internalversion``.

Each printer turns one object into its row cells (always "wide": kubectl hides priority-1 columns
without ``-o wide``). Ages are ``duration.HumanDuration`` strings from the caller's clock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any




from .cells import Cells, Conditions, Printer, _AGE_COL, _CONTAINERS_COL, _CREATED_DOC, _IMAGES_COL, _NAME_COL, _NAME_DOC, _age, _col, _containers_images, _d, _format_labels, _i, _l, _name, _parse_ts, _since, format_label_selector

# --- built-in printers ---------------------------------------------------------------------

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
        by_type = {}
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


_NAMESPACE_COLUMNS = [_NAME_COL, _col("Status", "string", "The status of the namespace"), _AGE_COL]


def _print_namespace(ns: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(ns), str(_d(ns, "status").get("phase") or ""), _age(ns, now)], None


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
             _age(obj, now), containers, images, format_label_selector(spec.get("selector"))]
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
             format_label_selector(spec.get("selector"))]
    return cells, None


_SERVICE_COLUMNS = [
    _NAME_COL,
    _col("Type", "string", "type determines how the Service is exposed."),
    _col("Cluster-IP", "string", "clusterIP is the IP address of the service and is usually assigned randomly."),
    _col("External-IP", "string", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
                                  "accept traffic for this service."),
    _col("Port(s)", "string", "The list of ports that are exposed by this service."),
    _AGE_COL,
    _col("Selector", "string", "Route service traffic to pods with label keys and values matching this selector.", 1),
]


def _service_external_ip(spec: dict[str, Any], status: dict[str, Any]) -> str:
    typ = spec.get("type") or "ClusterIP"
    external = [str(x) for x in _l(spec, "externalIPs")]
    if typ in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if typ == "LoadBalancer":
        lb = sorted({str(i.get("ip") or i.get("hostname") or "") for i in _l(status, "loadBalancer", "ingress")
                     if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))})
        if external:
            return ",".join(lb + external)
        return ",".join(lb) if lb else "<pending>"
    if typ == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _print_service(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    ips = _l(spec, "clusterIPs")
    cluster_ip = str(ips[0]) if ips else "<none>"
    ports = []
    for p in _l(spec, "ports"):
        if not isinstance(p, dict):
            continue
        proto = p.get("protocol") or "TCP"
        ports.append(f"{_i(p.get('port'))}:{_i(p.get('nodePort'))}/{proto}" if _i(p.get("nodePort")) > 0
                     else f"{_i(p.get('port'))}/{proto}")
    selector = spec.get("selector")
    cells = [_name(obj), str(spec.get("type") or "ClusterIP"), cluster_ip, _service_external_ip(spec, status),
             ",".join(ports) or "<none>", _age(obj, now), _format_labels(selector)]
    return cells, None


_ENDPOINTS_COLUMNS = [_NAME_COL, _col("Endpoints", "string", "The set of all endpoints is the union of all subsets."),
                      _AGE_COL]


def _format_endpoints(obj: dict[str, Any]) -> str:
    subsets = [s for s in _l(obj, "subsets") if isinstance(s, dict)]
    if not subsets:
        return "<none>"
    out: list[str] = []
    more, count, limit = False, 0, 3
    for ss in subsets:
        addrs = [a for a in _l(ss, "addresses") if isinstance(a, dict)]
        ports = [p for p in _l(ss, "ports") if isinstance(p, dict)]
        if not ports:
            count += len(addrs)
            for a in addrs:
                if len(out) == limit:
                    more = True
                    break
                out.append(str(a.get("ip", "")))
            continue
        for p in ports:
            count += len(addrs)
            for a in addrs:
                if len(out) == limit:
                    more = True
                    break
                ip = str(a.get("ip", ""))
                out.append(f"[{ip}]:{_i(p.get('port'))}" if ":" in ip else f"{ip}:{_i(p.get('port'))}")
    joined = ",".join(out)
    return f"{joined} + {count - limit} more..." if more else joined


def _print_endpoints(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), _format_endpoints(obj), _age(obj, now)], None


_CONFIGMAP_COLUMNS = [_NAME_COL, _col("Data", "string", "Data contains the configuration data."), _AGE_COL]


def _print_configmap(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    n = len(_d(obj, "data")) + len(_d(obj, "binaryData"))
    return [_name(obj), n, _age(obj, now)], None


_SECRET_COLUMNS = [_NAME_COL, _col("Type", "string", "Used to facilitate programmatic handling of secret data."),
                   _col("Data", "string", "Data contains the secret data."), _AGE_COL]


def _print_secret(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), str(obj.get("type") or ""), len(_d(obj, "data")), _age(obj, now)], None


_SERVICEACCOUNT_COLUMNS = [_NAME_COL, _col("Secrets", "string", "Secrets is a list of the secrets in the same "
                                                                "namespace that pods running using this "
                                                                "ServiceAccount are allowed to use."), _AGE_COL]


def _print_serviceaccount(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), len(_l(obj, "secrets")), _age(obj, now)], None


_EVENT_COLUMNS = [
    _col("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
    _col("Type", "string", "Type of this event (Normal, Warning), new types could be added in the future"),
    _col("Reason", "string", "This should be a short, machine understandable string that gives the reason for the "
                             "transition into the object's current status."),
    _col("Object", "string", "The object that this event is about."),
    _col("Subobject", "string", "If referring to a piece of an object instead of an entire object, this string "
                                "should contain a valid JSON/Go field access statement.", 1),
    _col("Source", "string", "The component reporting this event. Should be a short machine understandable string.", 1),
    _col("Message", "string", "A human-readable description of the status of this operation."),
    _col("First Seen", "string", "The time at which the event was first recorded.", 1),
    _col("Count", "string", "The number of times this event has occurred.", 1),
    _col("Name", "string", _NAME_DOC, 1, "name"),
]


def _print_event(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    first = _since(obj.get("firstTimestamp"), now)
    if not obj.get("firstTimestamp"):
        first = _since(obj.get("eventTime"), now)
    last = _since(obj.get("lastTimestamp"), now) if obj.get("lastTimestamp") else first
    count = _i(obj.get("count"))
    series = obj.get("series")
    if isinstance(series, dict):
        last = _since(series.get("lastObservedTime"), now)
        count = _i(series.get("count"))
    elif count == 0:
        count = 1
    inv = _d(obj, "involvedObject")
    kind = str(inv.get("kind") or "").lower()
    target = f"{kind}/{inv['name']}" if inv.get("name") else kind
    source = _d(obj, "source")
    component = source.get("component") or obj.get("reportingComponent") or ""
    host = source.get("host") or obj.get("reportingInstance") or ""
    src = f"{component}, {host}" if host else str(component)
    cells = [last, str(obj.get("type") or ""), str(obj.get("reason") or ""), target, str(inv.get("fieldPath") or ""),
             src, str(obj.get("message") or "").strip(), first, count, _name(obj)]
    return cells, None


_LEASE_COLUMNS = [_NAME_COL, _col("Holder", "string", "holderIdentity contains the identity of the holder of a "
                                                      "current lease."), _AGE_COL]


def _print_lease(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), str(_d(obj, "spec").get("holderIdentity") or ""), _age(obj, now)], None


_DEFAULT_COLUMNS = [_NAME_COL, _col("Created At", "date", _CREATED_DOC)]


def _print_default(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """The generic convertor: name and the creation time in RFC 3339 (zero time when unset)."""
    ts = _d(obj, "metadata").get("creationTimestamp")
    t = _parse_ts(ts) if isinstance(ts, str) and ts else None
    created = (datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None
               else "0001-01-01T00:00:00Z")
    return [_name(obj), created], None


PRINTERS: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("", "Pod"): (_POD_COLUMNS, _print_pod),
    ("", "Node"): (_NODE_COLUMNS, _print_node),
    ("", "Namespace"): (_NAMESPACE_COLUMNS, _print_namespace),
    ("", "Service"): (_SERVICE_COLUMNS, _print_service),
    ("", "Endpoints"): (_ENDPOINTS_COLUMNS, _print_endpoints),
    ("", "ConfigMap"): (_CONFIGMAP_COLUMNS, _print_configmap),
    ("", "Secret"): (_SECRET_COLUMNS, _print_secret),
    ("", "ServiceAccount"): (_SERVICEACCOUNT_COLUMNS, _print_serviceaccount),
    ("", "Event"): (_EVENT_COLUMNS, _print_event),
    ("apps", "Deployment"): (_DEPLOYMENT_COLUMNS, _print_deployment),
    ("apps", "ReplicaSet"): (_REPLICASET_COLUMNS, _print_replicaset),
    ("apps", "StatefulSet"): (_STATEFULSET_COLUMNS, _print_statefulset),
    ("apps", "DaemonSet"): (_DAEMONSET_COLUMNS, _print_daemonset),
    ("coordination.k8s.io", "Lease"): (_LEASE_COLUMNS, _print_lease),
}


