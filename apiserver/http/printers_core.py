"""Table printers for core/v1 kinds (all but Pod and Node, which ``printers.py`` keeps beside the
registry), after kube-apiserver's ``pkg/printers/internalversion``.

Each printer turns one object into its row cells (always "wide": kubectl hides priority-1 columns
without ``-o wide``). Ages are ``duration.HumanDuration`` strings from the caller's clock. Also
here: ``format_quantity`` (resource.Quantity's canonical String()), shared with the group printers.
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from .cells import Cells, Conditions, Printer, _AGE_COL, _CONTAINERS_COL, _IMAGES_COL, _NAME_COL, _NAME_DOC, _age, _col, _containers_images, _d, _format_labels, _i, _l, _name, _since

# --- resource.Quantity ---------------------------------------------------------------------

_DEC_EXP = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DEC_SUFFIX = {e: s for s, e in _DEC_EXP.items()}
_BIN_SUFFIX = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
_QUANTITY = re.compile(r"([+-]?)(\d+\.?\d*|\.\d+)(|[numkMGTPE]|[KMGTPE]i|[eE][+-]?\d+)")
_NANO = 10 ** 9


def format_quantity(q: Any, missing: str = "0") -> str:
    """resource.Quantity's String(): the canonical form kube-apiserver would hold and print.

    "1024Mi" -> "1Gi", "1536Mi" stays, "1000" -> "1k", "0.5" -> "500m", "1e3" stays; values are
    rounded up to whole nano units. ``missing`` is the text for an absent value ("0" for a map
    lookup's zero Quantity, "<nil>" for a nil pointer); unparseable text is shown as it is.
    """
    if q is None:
        return missing
    text = str(q).strip() if isinstance(q, (str, int, float)) and not isinstance(q, bool) else ""
    m = _QUANTITY.fullmatch(text)
    if m is None:
        return str(q)
    sign, digits, suffix = m.groups()
    value = Fraction(digits)
    binary = suffix.endswith("i")
    if binary:
        value *= 2 ** (10 * _BIN_SUFFIX.index(suffix))
    elif suffix[:1] in ("e", "E") and len(suffix) > 1:
        if abs(int(suffix[1:])) > 64:  # far past int64; not worth big-number arithmetic
            return str(q)
        value *= Fraction(10) ** int(suffix[1:])
    else:
        value *= Fraction(10) ** _DEC_EXP[suffix]
    nanos = -(-value.numerator * _NANO // value.denominator)  # round up to whole nano units
    if nanos == 0:
        return "0"
    neg = "-" if sign == "-" else ""
    if binary and nanos >= 1024 * _NANO and nanos % _NANO == 0:
        amount, exp = nanos // _NANO, 0
        while amount >= 1024 and amount % 1024 == 0 and exp < len(_BIN_SUFFIX) - 1:
            amount, exp = amount // 1024, exp + 1
        return f"{neg}{amount}{_BIN_SUFFIX[exp]}"
    amount, exp = nanos, -9
    while amount >= 10 and amount % 10 == 0:
        amount, exp = amount // 10, exp + 1
    amount, exp = amount * 10 ** (exp % 3), exp - exp % 3
    if suffix[:1] in ("e", "E") and len(suffix) > 1 or exp not in _DEC_SUFFIX:
        return f"{neg}{amount}" + (f"e{exp}" if exp else "")
    return f"{neg}{amount}{_DEC_SUFFIX[exp]}"


# --- core/v1 printers --------------------------------------------------------------------

_NAMESPACE_COLUMNS = [_NAME_COL, _col("Status", "string", "The status of the namespace"), _AGE_COL]


def _print_namespace(ns: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(ns), str(_d(ns, "status").get("phase") or ""), _age(ns, now)], None


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




_RESOURCEQUOTA_COLUMNS = [
    _NAME_COL,
    _col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
    _col("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of "
                            "contention on the node."),
    _AGE_COL,
]


def _print_resourcequota(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """status.hard, sorted by name, as "name: used/hard"; "limits.*" go to the Limit column."""
    hard, used = _d(obj, "status", "hard"), _d(obj, "status", "used")
    requests: list[str] = []
    limits: list[str] = []
    for name in sorted(hard):
        pieces = name.split(".")
        out = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        out.append(f"{name}: {format_quantity(used.get(name))}/{format_quantity(hard[name])}")
    return [_name(obj), ", ".join(requests), ", ".join(limits), _age(obj, now)], None


_ACCESS_MODES = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
                 ("ReadWriteOncePod", "RWOP"))
_BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"


def _access_modes(modes: list[Any]) -> str:
    """helper.GetAccessModesAsString: the short names in a fixed order, duplicates dropped."""
    return ",".join(short for mode, short in _ACCESS_MODES if mode in modes)


def _storage_class(obj: dict[str, Any], from_spec: Any) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation wins over spec.storageClassName."""
    annotations = _d(obj, "metadata", "annotations")
    if _BETA_STORAGE_CLASS in annotations:
        return str(annotations[_BETA_STORAGE_CLASS])
    return str(from_spec or "")


_PV_COLUMNS = [
    _NAME_COL,
    _col("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity. More "
                               "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity"),
    _col("Access Modes", "string", "accessModes contains all ways the volume can be mounted. More info: "
                                   "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes"),
    _col("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when "
                                     "released from its claim. Valid options are Retain (default for manually "
                                     "created PersistentVolumes), Delete (default for dynamically provisioned "
                                     "PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the "
                                     "volume plugin underlying this PersistentVolume. More info: "
                                     "https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming"),
    _col("Status", "string", "phase indicates if a volume is available, bound to a claim, or released by a claim. More "
                             "info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase"),
    _col("Claim", "string", "claimRef is part of a bi-directional binding between PersistentVolume and "
                            "PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the "
                            "authoritative bind between PV and PVC. More info: "
                            "https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding"),
    _col("StorageClass", "string", "StorageClass of the pv"),
    _col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    _col("Reason", "string", "reason is a brief CamelCase string that describes any failure and is meant for machine "
                             "parsing and tidy display in the CLI."),
    _AGE_COL,
    _col("VolumeMode", "string", "volumeMode defines if a volume is intended to be used with a formatted filesystem or "
                                 "to remain in raw block state. Value of Filesystem is implied when not included in "
                                 "spec.", 1),
]


def _print_pv(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    claim_ref = spec.get("claimRef")
    claim = f"{claim_ref.get('namespace') or ''}/{claim_ref.get('name') or ''}" if isinstance(claim_ref, dict) else ""
    phase = "Terminating" if _d(obj, "metadata").get("deletionTimestamp") else str(status.get("phase") or "")
    vac = spec.get("volumeAttributesClassName")
    cells = [_name(obj), format_quantity(_d(spec, "capacity").get("storage")), _access_modes(_l(spec, "accessModes")),
             str(spec.get("persistentVolumeReclaimPolicy") or ""), phase, claim,
             _storage_class(obj, spec.get("storageClassName")), "<unset>" if vac is None else str(vac),
             str(status.get("reason") or ""), _age(obj, now),
             "<unset>" if spec.get("volumeMode") is None else str(spec["volumeMode"])]
    return cells, None


_PVC_COLUMNS = [
    _NAME_COL,
    _col("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
    _col("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
    _col("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
    _col("Access Modes", "string", "accessModes contains the actual access modes the volume backing the PVC has. "
                                   "More info: "
                                   "https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1"),
    _col("StorageClass", "string", "StorageClass of the pvc"),
    _col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    _AGE_COL,
    _col("VolumeMode", "string", "volumeMode defines what type of volume is required by the claim. Value of Filesystem "
                                 "is implied when not included in claim spec.", 1),
]


def _print_pvc(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """Capacity and access modes come from status, and only once the claim names its volume."""
    spec, status = _d(obj, "spec"), _d(obj, "status")
    phase = "Terminating" if _d(obj, "metadata").get("deletionTimestamp") else str(status.get("phase") or "")
    volume = str(spec.get("volumeName") or "")
    capacity = format_quantity(_d(status, "capacity").get("storage")) if volume else ""
    modes = _access_modes(_l(status, "accessModes")) if volume else ""
    vac = spec.get("volumeAttributesClassName")
    cells = [_name(obj), phase, volume, capacity, modes, _storage_class(obj, spec.get("storageClassName")),
             "<unset>" if vac is None else str(vac), _age(obj, now),
             "<unset>" if spec.get("volumeMode") is None else str(spec["volumeMode"])]
    return cells, None


_PODTEMPLATE_COLUMNS = [
    _NAME_COL,
    _col("Containers", "string", "Names of each container in the template."),
    _col("Images", "string", "Images referenced by each container in the template."),
    _col("Pod Labels", "string", "The labels for the pod template."),
]


def _print_podtemplate(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    names, images = _containers_images({"spec": obj})  # the template is top-level here, not under spec
    return [_name(obj), names, images, _format_labels(_d(obj, "template", "metadata").get("labels"))], None


_RC_COLUMNS = [
    _NAME_COL,
    _col("Desired", "integer", "Replicas is the number of desired replicas. This is a pointer to distinguish between "
                               "explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/"
                               "concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller"),
    _col("Current", "integer", "Replicas is the most recently observed number of replicas. More info: https://"
                               "kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller"
                               "#what-is-a-replicationcontroller"),
    _col("Ready", "integer", "The number of ready replicas for this replication controller."),
    _AGE_COL, _CONTAINERS_COL, _IMAGES_COL,
    _col("Selector", "string", "Selector is a label query over pods that should match the Replicas count. If Selector "
                               "is empty, it is defaulted to the labels present on the Pod template. Label keys and "
                               "values that must match in order to be controlled by this replication controller, if "
                               "empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/"
                               "concepts/overview/working-with-objects/labels/#label-selectors", 1),
]


def _print_rc(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec, status = _d(obj, "spec"), _d(obj, "status")
    containers, images = _containers_images(obj)
    cells = [_name(obj), _i(spec.get("replicas"), 1), _i(status.get("replicas")), _i(status.get("readyReplicas")),
             _age(obj, now), containers, images, _format_labels(spec.get("selector"))]
    return cells, None


CORE_PRINTERS: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("", "Namespace"): (_NAMESPACE_COLUMNS, _print_namespace),
    ("", "Service"): (_SERVICE_COLUMNS, _print_service),
    ("", "Endpoints"): (_ENDPOINTS_COLUMNS, _print_endpoints),
    ("", "ConfigMap"): (_CONFIGMAP_COLUMNS, _print_configmap),
    ("", "Secret"): (_SECRET_COLUMNS, _print_secret),
    ("", "ServiceAccount"): (_SERVICEACCOUNT_COLUMNS, _print_serviceaccount),
    ("", "Event"): (_EVENT_COLUMNS, _print_event),
    ("", "ResourceQuota"): (_RESOURCEQUOTA_COLUMNS, _print_resourcequota),
    ("", "PersistentVolume"): (_PV_COLUMNS, _print_pv),
    ("", "PersistentVolumeClaim"): (_PVC_COLUMNS, _print_pvc),
    ("", "PodTemplate"): (_PODTEMPLATE_COLUMNS, _print_podtemplate),
    ("", "ReplicationController"): (_RC_COLUMNS, _print_rc),
}
