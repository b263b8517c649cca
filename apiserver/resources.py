"""The resource registry: which kinds a fake cluster serves and how each behaves.

Built-in kinds are module constants (immutable, shared by every cluster); custom resources
are registered per cluster when their CRD is created. Field-selector tables follow
kube-apiserver's per-kind conversion functions (``pkg/apis/*/v1/conversion.go``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from . import errors

Path = tuple[str, ...]

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CLUSTER_VERBS_NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class SelectableField:
    """A field-selector label, where its value lives in the object, and its default."""

    label: str
    path: Path
    default: str = ""
    # Values repeat across objects (node names, phases): records share one string per value.
    # False for values unique to each object (pod IPs, uids), which interning would only grow.
    intern: bool = True


@dataclass(frozen=True, slots=True)
class ResourceType:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    has_status: bool = False
    has_scale: bool = False
    tracks_generation: bool = False
    custom: bool = False
    # Extra selectable fields beyond metadata.name / metadata.namespace.
    selectable: tuple[SelectableField, ...] = ()
    # True when the kind has its own field-label function upstream: unknown labels then give
    # "field label not supported: X" rather than the generic "is not a known field selector".
    own_field_labels: bool = False
    # Pods, serviceaccounts and a few others answer DELETE with the object, not a Status.
    delete_returns_object: bool = False
    # Served versions of a custom resource (the first is the storage version).
    served_versions: tuple[str, ...] = ()
    # POST-only subresources taking another kind: (subresource, group, version, kind), e.g. pods/eviction.
    create_subresources: tuple[tuple[str, str, str, str], ...] = ()
    # Subresources that write status the way /status does (certificatesigningrequests/approval).
    extra_status_subresources: tuple[str, ...] = ()
    # namespaces/finalize: a PUT that changes spec.finalizers and nothing else.
    has_finalize: bool = False
    # A custom resource version's openAPIV3Schema (read-only): what pruning keeps. Not part of identity.
    schema: Any = field(default=None, compare=False, hash=False, repr=False)

    def subresource(self, name: str) -> str | None:
        """How subresource ``name`` is served: "status" (writes status only: /status, CSR /approval),
        "scale", "finalize" (writes spec.finalizers only), "create" (a POST of another kind), or None."""
        if (name == "status" and self.has_status) or name in self.extra_status_subresources:
            return "status"
        if name == "scale" and self.has_scale:
            return "scale"
        if name == "finalize" and self.has_finalize:
            return "finalize"
        if any(name == s[0] for s in self.create_subresources):
            return "create"
        return None

    def subresources(self) -> Iterator[tuple[str, tuple[str, str, str], tuple[str, ...]]]:
        """(name, (group, version, kind) it answers with, verbs) of every subresource, for discovery."""
        own = (self.group, self.version, self.kind)
        if self.has_scale:
            yield "scale", ("autoscaling", "v1", "Scale"), ("get", "patch", "update")
        if self.has_status:
            yield "status", own, ("get", "patch", "update")
        for name in self.extra_status_subresources:
            yield name, own, ("get", "patch", "update")
        if self.has_finalize:
            yield "finalize", own, ("update",)
        for name, group, version, kind in self.create_subresources:
            yield name, (group, version, kind), ("create",)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def storage_id(self) -> str:
        """One table per (group, resource), whatever version a request names."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def field_labels(self) -> tuple[str, ...]:
        # cluster-scoped kinds with their own label function (and cluster-scoped custom resources) lack metadata.namespace
        own = self.own_field_labels or self.custom
        base = ("metadata.name", "metadata.namespace") if (self.namespaced or not own) else ("metadata.name",)
        return base + tuple(f.label for f in self.selectable)

    def check_field_labels(self, labels: Iterable[str]) -> None:
        allowed = self.field_labels
        for label in labels:
            if label in allowed:
                continue
            if self.kind == "Pod" and label == "spec.host":
                continue
            if self.own_field_labels or self.custom:
                raise errors.bad_request(f"field label not supported: {label}")
            raise errors.bad_request(
                f'"{label}" is not a known field selector: only "metadata.name", "metadata.namespace"')

    def extract_fields(self, obj: dict[str, Any], strings: dict[str, str] | None = None
                       ) -> tuple[str, ...] | None:
        """Values of the extra selectable fields, in ``selectable`` order (kept on the record).

        ``strings`` (value -> its shared copy) is where ``intern`` fields' values are shared.
        """
        if not self.selectable:
            return None
        out = []
        head: str | None = None  # consecutive fields under one parent (spec.*, status.*) share a lookup
        parent: Any = None
        for f in self.selectable:
            path = f.path
            if len(path) == 2:
                if path[0] != head:
                    head = path[0]
                    parent = obj.get(head) if isinstance(obj, dict) else None
                v: Any = parent.get(path[1]) if isinstance(parent, dict) else None
            else:
                v = obj
                for p in path:
                    if not isinstance(v, dict):
                        v = None
                        break
                    v = v.get(p)
            if v.__class__ is str:
                pass
            elif v is None:
                v = f.default
            elif isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, list):  # status.podIPs -> first IP
                first = v[0] if v else None
                v = str(first.get("ip", "")) if isinstance(first, dict) else f.default
            else:
                v = str(v)
            out.append(strings.setdefault(v, v) if strings is not None and f.intern and v else v)
        return tuple(out)

    def discovery_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        return entry


def _sf(label: str, default: str = "", path: str | None = None, intern: bool = True) -> SelectableField:
    return SelectableField(label, tuple((path or label).split(".")), default, intern)


def _pod_fields() -> tuple[SelectableField, ...]:
    return (
        _sf("spec.nodeName"),
        _sf("spec.restartPolicy"),
        _sf("spec.schedulerName"),
        _sf("spec.serviceAccountName"),
        _sf("spec.hostNetwork", "false"),
        _sf("status.phase"),
        _sf("status.podIP", "", "status.podIPs", intern=False),
        _sf("status.nominatedNodeName"),
    )


BUILTIN: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "Namespace", "namespaces", "namespace", False, ("ns",),
                 verbs=CLUSTER_VERBS_NO_COLLECTION_DELETE, has_status=True, own_field_labels=True, has_finalize=True,
                 selectable=(_sf("status.phase"),)),
    ResourceType("", "v1", "Pod", "pods", "pod", True, ("po",), ("all",), has_status=True,
                 tracks_generation=True, own_field_labels=True, selectable=_pod_fields(),
                 delete_returns_object=True, create_subresources=(("binding", "", "v1", "Binding"),
                                                                  ("eviction", "policy", "v1", "Eviction"))),
    ResourceType("", "v1", "Node", "nodes", "node", False, ("no",), has_status=True, own_field_labels=True,
                 selectable=(_sf("spec.unschedulable", "false"),)),
    ResourceType("", "v1", "Service", "services", "service", True, ("svc",), ("all",), has_status=True,
                 own_field_labels=True, selectable=(_sf("spec.clusterIP"), _sf("spec.type")),
                 verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    ResourceType("", "v1", "Endpoints", "endpoints", "endpoints", True, ("ep",)),
    ResourceType("", "v1", "ConfigMap", "configmaps", "configmap", True, ("cm",)),
    ResourceType("", "v1", "Secret", "secrets", "secret", True, own_field_labels=True,
                 selectable=(_sf("type"),)),
    ResourceType("", "v1", "Event", "events", "event", True, ("ev",), own_field_labels=True,
                 selectable=(
                     _sf("involvedObject.kind"), _sf("involvedObject.namespace"), _sf("involvedObject.name", intern=False),
                     _sf("involvedObject.uid", intern=False), _sf("involvedObject.apiVersion"),
                     _sf("involvedObject.resourceVersion", intern=False), _sf("involvedObject.fieldPath"),
                     _sf("reason"), _sf("reportingComponent"), _sf("source", "", "source.component"),
                     _sf("type"))),
    ResourceType("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, ("sa",),
                 delete_returns_object=True,
                 create_subresources=(("token", "authentication.k8s.io", "v1", "TokenRequest"),)),
    ResourceType("apps", "v1", "Deployment", "deployments", "deployment", True, ("deploy",), ("all",),
                 has_status=True, has_scale=True, tracks_generation=True),
    ResourceType("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, ("rs",), ("all",),
                 has_status=True, has_scale=True, tracks_generation=True, own_field_labels=True,
                 selectable=(_sf("status.replicas", "0"),)),
    ResourceType("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, ("sts",), ("all",),
                 has_status=True, has_scale=True, tracks_generation=True),
    ResourceType("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, ("ds",), ("all",),
                 has_status=True, tracks_generation=True),
    ResourceType("coordination.k8s.io", "v1", "Lease", "leases", "lease", True),
    ResourceType("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True, ("quota",), has_status=True),
    ResourceType("", "v1", "LimitRange", "limitranges", "limitrange", True, ("limits",)),
    ResourceType("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False, ("pv",),
                 has_status=True),
    ResourceType("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", True,
                 ("pvc",), has_status=True),
    ResourceType("", "v1", "PodTemplate", "podtemplates", "podtemplate", True),
    ResourceType("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", True,
                 ("rc",), ("all",), has_status=True, has_scale=True, tracks_generation=True, own_field_labels=True,
                 selectable=(_sf("status.replicas", "0"),)),
    ResourceType("batch", "v1", "Job", "jobs", "job", True, (), ("all",), has_status=True, tracks_generation=True,
                 own_field_labels=True, selectable=(_sf("status.successful", "0"),)),
    ResourceType("batch", "v1", "CronJob", "cronjobs", "cronjob", True, ("cj",), ("all",), has_status=True,
                 tracks_generation=True),
    ResourceType("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
                 "horizontalpodautoscaler", True, ("hpa",), ("all",), has_status=True),
    ResourceType("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", True,
                 ("pdb",), has_status=True, tracks_generation=True),
    ResourceType("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", False, ("pc",)),
    ResourceType("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True, ("ing",), has_status=True),
    ResourceType("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False),
    ResourceType("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True, ("netpol",),
                 tracks_generation=True),
    ResourceType("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", True),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", False),
    ResourceType("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
                 "clusterrolebinding", False),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
                 "selfsubjectaccessreview", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews",
                 "subjectaccessreview", False, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
                 "localsubjectaccessreview", True, verbs=("create",)),
    ResourceType("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
                 "selfsubjectrulesreview", False, verbs=("create",)),
    ResourceType("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
                 verbs=("create",)),
    ResourceType("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview",
                 False, verbs=("create",)),
    ResourceType("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
                 "certificatesigningrequest", False, ("csr",), has_status=True,
                 extra_status_subresources=("approval",)),
    ResourceType("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False, ("sc",)),
    ResourceType("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", "runtimeclass", False),
    ResourceType("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
                 "customresourcedefinition", False, ("crd", "crds"), ("api-extensions",),
                 has_status=True, tracks_generation=True),
)

BUILTIN_BY_GVR: dict[tuple[str, str, str], ResourceType] = {(r.group, r.version, r.plural): r for r in BUILTIN}
NAMESPACES = BUILTIN_BY_GVR[("", "v1", "namespaces")]
CRDS = BUILTIN_BY_GVR[("apiextensions.k8s.io", "v1", "customresourcedefinitions")]


def resource_types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CRD (the storage version first)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = spec.get("group", "")
    versions = [v for v in spec.get("versions") or [] if v.get("served", True)]
    versions.sort(key=lambda v: not v.get("storage", False))
    served = tuple(v["name"] for v in versions)
    out = []
    for v in versions:
        sub = v.get("subresources") or {}
        selectable = tuple(
            _sf(sf["jsonPath"].lstrip(".")) for sf in v.get("selectableFields") or [] if sf.get("jsonPath"))
        out.append(ResourceType(
            group=group, version=v["name"], kind=names.get("kind", ""), plural=names.get("plural", ""),
            singular=names.get("singular") or names.get("kind", "").lower(),
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()), categories=tuple(names.get("categories") or ()),
            has_status="status" in sub, has_scale="scale" in sub, tracks_generation=True, custom=True,
            selectable=selectable, served_versions=served,
            schema=(v.get("schema") or {}).get("openAPIV3Schema") if isinstance(v.get("schema"), dict) else None,
        ))
    return out


@dataclass
class Registry:
    """Built-ins plus one cluster's custom resources; lookups by group/version/plural."""

    custom: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        r = BUILTIN_BY_GVR.get((group, version, plural))
        if r is None and self.custom:
            r = self.custom.get((group, version, plural))
        return r

    def resolve(self, group: str, version: str, plural: str) -> ResourceType:
        r = self.lookup(group, version, plural)
        if r is None:
            raise errors.path_not_found()
        return r

    def all(self) -> list[ResourceType]:
        return list(BUILTIN) + list(self.custom.values())

    def group_versions(self) -> dict[str, list[ResourceType]]:
        """``groupVersion`` -> resource types, in registration order (for discovery)."""
        out: dict[str, list[ResourceType]] = {}
        for r in self.all():
            out.setdefault(r.api_version, []).append(r)
        return out

    def add_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        types = resource_types_from_crd(crd)
        for t in types:
            self.custom[(t.group, t.version, t.plural)] = t
        return types

    def remove_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        spec = crd.get("spec") or {}
        group, plural = spec.get("group", ""), (spec.get("names") or {}).get("plural", "")
        gone = [k for k in self.custom if k[0] == group and k[2] == plural]
        return [self.custom.pop(k) for k in gone]
