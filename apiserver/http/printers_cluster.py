"""Table printers for the cluster-configuration API groups, after upstream's ``pkg/printers/internalversion``.

networking.k8s.io, discovery.k8s.io, rbac.authorization.k8s.io, storage.k8s.io, node.k8s.io,
coordination.k8s.io and certificates.k8s.io. Roles, cluster roles and limit ranges have no printer
upstream either (they print NAME / CREATED AT).
"""
from __future__ import annotations

from typing import Any

from .cells import Cells, Conditions, Printer, human_duration, _AGE_COL, _NAME_COL, _age, _col, _d, _format_selector, _more, _i, _l, _name


# --- networking.k8s.io/v1, discovery.k8s.io/v1 ---------------------------------------------

_INGRESS_COLUMNS = [
    _NAME_COL,
    _col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
    _col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
    _col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
    _col("Ports", "string", "Ports of TLS configurations that open"),
    _AGE_COL,
]


def _ingress_hosts(rules: list[Any]) -> str:
    """printers.go formatHosts: up to three hosts; "+ N more..." counts every rule past the third."""
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        host = rule.get("host") if isinstance(rule, dict) else None
        if not more and host:
            hosts.append(str(host))
    if not hosts:
        return "*"
    return f"{','.join(hosts)} + {len(rules) - 3} more..." if more else ",".join(hosts)


def _print_ingress(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec = _d(obj, "spec")
    cls = spec.get("ingressClassName")
    lb = sorted({str(i.get("ip") or i.get("hostname")) for i in _l(obj, "status", "loadBalancer", "ingress")
                 if isinstance(i, dict) and (i.get("ip") or i.get("hostname"))})
    cells = [_name(obj), "<none>" if cls is None else str(cls), _ingress_hosts(_l(spec, "rules")), ",".join(lb),
             "80, 443" if _l(spec, "tls") else "80", _age(obj, now)]
    return cells, None


_INGRESSCLASS_COLUMNS = [
    _NAME_COL,
    _col("Controller", "string", "Controller that is responsible for handling this class"),
    _col("Parameters", "string", "A reference to a resource with additional parameters"),
    _AGE_COL,
]


def _print_ingressclass(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    spec = _d(obj, "spec")
    params = spec.get("parameters")
    shown = "<none>"
    if isinstance(params, dict):
        group = params.get("apiGroup")
        shown = f"{params.get('kind') or ''}{'' if group is None else '.' + str(group)}/{params.get('name') or ''}"
    return [_name(obj), str(spec.get("controller") or ""), shown, _age(obj, now)], None


_NETWORKPOLICY_COLUMNS = [
    _NAME_COL,
    _col("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies.  The array of ingress "
                                   "rules is applied to any pods selected by this field. Multiple network policies can "
                                   "select the same set of pods.  In this case, the ingress rules for each are "
                                   "combined additively. This field is NOT optional and follows standard label "
                                   "selector semantics. An empty podSelector matches all pods in this namespace."),
    _AGE_COL,
]


def _print_networkpolicy(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), _format_selector(_d(obj, "spec", "podSelector")), _age(obj, now)], None


_ENDPOINTSLICE_COLUMNS = [
    _NAME_COL,
    _col("AddressType", "string", "addressType specifies the type of address carried by this EndpointSlice. All "
                                  "addresses in this slice must be the same type. This field is immutable after "
                                  "creation. The following address types are currently supported: * IPv4: Represents "
                                  "an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully "
                                  "Qualified Domain Name."),
    _col("Ports", "string", "ports specifies the list of network ports exposed by each endpoint in this slice. Each "
                            "port must have a unique name. When ports is empty, it indicates that there are no defined "
                            "ports. When a port is defined with a nil port value, it indicates \"all ports\". Each "
                            "slice may include a maximum of 100 ports."),
    _col("Endpoints", "string", "endpoints is a list of unique endpoints in this slice. Each slice may include a "
                                "maximum of 1000 endpoints."),
    _AGE_COL,
]


def _print_endpointslice(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    ports = [p if isinstance(p, dict) else {} for p in _l(obj, "ports")]
    port_names = [str(_i(p["port"])) if p.get("port") is not None else str(p["name"]) if p.get("name") is not None
                  else "*" for p in ports]
    addresses = [str(a) for e in _l(obj, "endpoints") for a in _l(e, "addresses")]
    cells = [_name(obj), str(obj.get("addressType") or ""), _more(port_names), _more(addresses), _age(obj, now)]
    return cells, None


# --- rbac.authorization.k8s.io/v1 ----------------------------------------------------------

def _binding_columns(what: str, role_ref_doc: str) -> list[dict[str, Any]]:
    return [_NAME_COL, _col("Role", "string", role_ref_doc), _AGE_COL,
            _col("Users", "string", f"Users in the {what}", 1), _col("Groups", "string", f"Groups in the {what}", 1),
            _col("ServiceAccounts", "string", f"ServiceAccounts in the {what}", 1)]


_ROLEBINDING_COLUMNS = _binding_columns(
    "roleBinding", "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. "
                   "If the RoleRef cannot be resolved, the Authorizer must return an error.")
_CLUSTERROLEBINDING_COLUMNS = _binding_columns(
    "clusterRoleBinding", "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot "
                          "be resolved, the Authorizer must return an error.")


def _print_binding(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """RoleBinding and ClusterRoleBinding: "Kind/name" of the role, then rbac.SubjectsStrings."""
    ref = _d(obj, "roleRef")
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    for s in _l(obj, "subjects"):
        if not isinstance(s, dict):
            continue
        if s.get("kind") == "ServiceAccount":
            sas.append(f"{s.get('namespace') or ''}/{s.get('name') or ''}")
        elif s.get("kind") in ("User", "Group"):
            (users if s["kind"] == "User" else groups).append(str(s.get("name") or ""))
    cells = [_name(obj), f"{ref.get('kind') or ''}/{ref.get('name') or ''}", _age(obj, now), ", ".join(users),
             ", ".join(groups), ", ".join(sas)]
    return cells, None


# --- storage.k8s.io/v1, node.k8s.io/v1, coordination.k8s.io/v1 -----------------------------

_STORAGECLASS_COLUMNS = [
    _NAME_COL,
    _col("Provisioner", "string", "provisioner indicates the type of the provisioner."),
    _col("ReclaimPolicy", "string", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned "
                                    "PersistentVolumes of this storage class. Defaults to Delete."),
    _col("VolumeBindingMode", "string", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned "
                                        "and bound.  When unset, VolumeBindingImmediate is used. This field is only "
                                        "honored by servers that enable the VolumeScheduling feature."),
    _col("AllowVolumeExpansion", "string", "allowVolumeExpansion shows whether the storage class allow volume "
                                           "expand."),
    _AGE_COL,
]
_DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                              "storageclass.beta.kubernetes.io/is-default-class")


def _print_storageclass(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    annotations = _d(obj, "metadata", "annotations")
    default = any(annotations.get(a) == "true" for a in _DEFAULT_CLASS_ANNOTATIONS)
    cells = [_name(obj) + (" (default)" if default else ""), str(obj.get("provisioner") or ""),
             str(obj.get("reclaimPolicy") or "Delete"), str(obj.get("volumeBindingMode") or "Immediate"),
             obj.get("allowVolumeExpansion") is True, _age(obj, now)]
    return cells, None


_RUNTIMECLASS_COLUMNS = [_NAME_COL, _col("Handler", "string", ""), _AGE_COL]  # upstream's doc lookup finds nothing


def _print_runtimeclass(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), str(obj.get("handler") or ""), _age(obj, now)], None


_LEASE_COLUMNS = [_NAME_COL, _col("Holder", "string", "holderIdentity contains the identity of the holder of a "
                                                      "current lease."), _AGE_COL]


def _print_lease(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    return [_name(obj), str(_d(obj, "spec").get("holderIdentity") or ""), _age(obj, now)], None


# --- certificates.k8s.io/v1 -----------------------------------------------------------------

_CSR_COLUMNS = [
    _NAME_COL,
    _AGE_COL,
    _col("SignerName", "string", "Only one signer name is allowed per CSR"),
    _col("Requestor", "string", "Name of the user who requested the CSR"),
    _col("RequestedDuration", "string", "Requested duration of the issued certificate"),
    _col("Condition", "string", "All status conditions (Approved, Denied, Failed) and Issued when the certificate is "
                                "issued"),
]


def _print_csr(obj: dict[str, Any], now: float) -> tuple[Cells, Conditions]:
    """printCertificateSigningRequest: the condition types that are True, then Issued; Pending when none."""
    spec, status = _d(obj, "spec"), _d(obj, "status")
    states = []
    for c in _l(status, "conditions"):
        if isinstance(c, dict) and c.get("type") in ("Approved", "Denied", "Failed") and c.get("status", "True") == "True":
            states.append(str(c["type"]))
    if status.get("certificate"):
        states.append("Issued")
    seconds = spec.get("expirationSeconds")
    requested = human_duration(float(seconds)) if isinstance(seconds, int) and not isinstance(seconds, bool) else "<none>"
    cells = [_name(obj), _age(obj, now), str(spec.get("signerName") or ""), str(spec.get("username") or ""),
             requested, ",".join(states) or "Pending"]
    return cells, None


CLUSTER_PRINTERS: dict[tuple[str, str], tuple[list[dict[str, Any]], Printer]] = {
    ("networking.k8s.io", "Ingress"): (_INGRESS_COLUMNS, _print_ingress),
    ("networking.k8s.io", "IngressClass"): (_INGRESSCLASS_COLUMNS, _print_ingressclass),
    ("networking.k8s.io", "NetworkPolicy"): (_NETWORKPOLICY_COLUMNS, _print_networkpolicy),
    ("discovery.k8s.io", "EndpointSlice"): (_ENDPOINTSLICE_COLUMNS, _print_endpointslice),
    ("rbac.authorization.k8s.io", "RoleBinding"): (_ROLEBINDING_COLUMNS, _print_binding),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): (_CLUSTERROLEBINDING_COLUMNS, _print_binding),
    ("storage.k8s.io", "StorageClass"): (_STORAGECLASS_COLUMNS, _print_storageclass),
    ("node.k8s.io", "RuntimeClass"): (_RUNTIMECLASS_COLUMNS, _print_runtimeclass),
    ("coordination.k8s.io", "Lease"): (_LEASE_COLUMNS, _print_lease),
    ("certificates.k8s.io", "CertificateSigningRequest"): (_CSR_COLUMNS, _print_csr),
}
