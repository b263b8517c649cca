"""Discovery documents: /version, legacy /api and /apis, and aggregated discovery v2.

kubectl fetches discovery on every invocation (its disk cache aside), so each document is
built once per registry state: the cache key is the tuple of custom ResourceTypes (frozen,
hashable), which changes whenever a CRD is added, changed or removed.

Shapes follow kube-apiserver and what client-go parses (``discovery/discovery_client.go``,
``aggregated_discovery.go``): aggregated answers are used only when the response
Content-Type names ``g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`` on *both* /api and
/apis; every resource and subresource must carry ``responseKind`` or client-go drops it.
"""
from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache
from typing import Any, Iterable

import orjson

from ..resources import BUILTIN, Registry, ResourceType
from .request import media_ranges

AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

# Subresource verbs as kube-apiserver lists them.

# kube-aggregator's group priorities (higher first); CRD groups get 1000 and sort by name.
_GROUP_PRIORITY = {
    "": 18000, "apiregistration.k8s.io": 17800, "apps": 17800, "events.k8s.io": 17750,
    "authentication.k8s.io": 17700, "authorization.k8s.io": 17600, "autoscaling": 17500,
    "batch": 17400, "certificates.k8s.io": 17300, "networking.k8s.io": 17200, "policy": 17100,
    "rbac.authorization.k8s.io": 17000, "storage.k8s.io": 16800,
    "admissionregistration.k8s.io": 16700, "apiextensions.k8s.io": 16700,
    "scheduling.k8s.io": 16600, "coordination.k8s.io": 16500, "node.k8s.io": 16300,
    "discovery.k8s.io": 16200, "flowcontrol.apiserver.k8s.io": 16100, "resource.k8s.io": 15900,
}
_CRD_GROUP_PRIORITY = 1000

_VERSION = {
    "major": "1",
    "minor": "33",
    "emulationMajor": "1",
    "emulationMinor": "33",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "32",
    "gitVersion": "v1.33.4",
    "gitCommit": "74cdb426e7b4f0d5e0e5bb4ba6ac0e0ac1b4e0e3",
    "gitTreeState": "clean",
    "buildDate": "2025-08-12T18:44:31Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version_info() -> dict[str, str]:
    """/version: a realistic 1.33 answer (dispatching kubectls and clusterloader2 key on minor)."""
    return dict(_VERSION)


# --- helpers -------------------------------------------------------------------------------

_KUBE_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def kube_version_key(version: str) -> tuple[int, int, int, str]:
    """Sort key putting versions in kube-aware priority order: v2 > v1 > v1beta2 > v1alpha1 > other.

    This is how kube-apiserver orders a group's versions; the first is the preferred one.
    """
    m = _KUBE_VERSION.match(version)
    if not m:
        return (3, 0, 0, version)  # non kube-like versions last, alphabetically
    major = int(m.group(1))
    stage = {None: 0, "beta": 1, "alpha": 2}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, "")


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """kube-apiserver's StorageVersionHash: base64 of the first 8 bytes of sha256("g/v/Kind")."""
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _custom_key(registry: Registry) -> tuple[ResourceType, ...]:
    return tuple(registry.custom.values())


def _all(custom: tuple[ResourceType, ...]) -> list[ResourceType]:
    return list(BUILTIN) + list(custom)


def _groups(types: Iterable[ResourceType]) -> list[tuple[str, list[str], dict[str, list[ResourceType]]]]:
    """(group, versions in preference order, version -> types sorted by plural), groups in priority order."""
    by_group: dict[str, dict[str, list[ResourceType]]] = {}
    for r in types:
        by_group.setdefault(r.group, {}).setdefault(r.version, []).append(r)
    out = []
    for group, versions in by_group.items():
        ordered = sorted(versions, key=kube_version_key)
        out.append((group, ordered, {v: sorted(versions[v], key=lambda r: r.plural) for v in ordered}))
    out.sort(key=lambda g: (-_GROUP_PRIORITY.get(g[0], _CRD_GROUP_PRIORITY), g[0]))
    return out


def _storage_version(r: ResourceType) -> str:
    return r.served_versions[0] if r.custom and r.served_versions else r.version


def _gv(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}" if group else version, "version": version}


# --- legacy discovery ----------------------------------------------------------------------

def api_versions(server_address: str) -> bytes:
    """/api (legacy): APIVersions listing only v1."""
    return orjson.dumps({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })


def api_group_list(registry: Registry) -> bytes:
    """/apis (legacy): every named group with its versions; preferredVersion is the first."""
    return _api_group_list(_custom_key(registry))


@lru_cache(maxsize=256)
def _api_group_list(custom: tuple[ResourceType, ...]) -> bytes:
    groups = [_group_doc(g, versions) for g, versions, _ in _groups(_all(custom)) if g]
    return orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


def _group_doc(group: str, versions: list[str]) -> dict[str, Any]:
    vs = [_gv(group, v) for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group(registry: Registry, group: str) -> bytes | None:
    """/apis/<group>: one APIGroup, or None when no resource is served in that group."""
    return _api_group(_custom_key(registry), group)


@lru_cache(maxsize=1024)
def _api_group(custom: tuple[ResourceType, ...], group: str) -> bytes | None:
    if not group:
        return None
    for g, versions, _ in _groups(_all(custom)):
        if g == group:
            return orjson.dumps({"kind": "APIGroup", "apiVersion": "v1", **_group_doc(g, versions)})
    return None


def api_resource_list(registry: Registry, group: str, version: str) -> bytes | None:
    """/api/v1 and /apis/<g>/<v>: APIResourceList with subresource entries; None if not served."""
    return _api_resource_list(_custom_key(registry), group, version)


@lru_cache(maxsize=1024)
def _api_resource_list(custom: tuple[ResourceType, ...], group: str, version: str) -> bytes | None:
    types = sorted((r for r in _all(custom) if r.group == group and r.version == version), key=lambda r: r.plural)
    if not types:
        return None
    resources: list[dict[str, Any]] = []
    for r in types:
        entry = r.discovery_entry()
        entry["storageVersionHash"] = storage_version_hash(r.group, _storage_version(r), r.kind)
        resources.append(entry)
        for sub, (sub_group, sub_version, sub_kind), verbs in r.subresources():
            sub_entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced}
            if (sub_group, sub_version) != (r.group, r.version):  # upstream names another kind's group version
                sub_entry.update(group=sub_group, version=sub_version)
            resources.append({**sub_entry, "kind": sub_kind, "verbs": list(verbs)})
    resources.sort(key=lambda e: e["name"])  # upstream's order: pods, pods/eviction, pods/status, podtemplates
    return orjson.dumps({"kind": "APIResourceList", "apiVersion": "v1",
                         "groupVersion": f"{group}/{version}" if group else version, "resources": resources})


# --- aggregated discovery (apidiscovery.k8s.io/v2) -----------------------------------------

def wants_aggregated(accept_header: str) -> bool:
    """True when the first clause we can satisfy asks for apidiscovery.k8s.io/v2 APIGroupDiscoveryList.

    Clauses are tried in order, as kube-apiserver negotiates: v2beta1 (kubectl <= 1.29) is not
    served, so such clients fall through to their plain ``application/json`` clause and get legacy.
    ``profile=nopeer`` (client-go NoPeerDiscovery) asks for only what this server serves itself;
    with no peer servers that is the same document, so it is accepted. Other profiles are skipped.
    """
    if not accept_header:
        return False
    for mtype, params in media_ranges(accept_header):
        if mtype not in ("application/json", "application/*", "*/*"):
            continue
        if "as" not in params and "g" not in params and "v" not in params:
            return False  # plain JSON (or */*): the legacy document
        if (mtype == "application/json" and params.get("g") == "apidiscovery.k8s.io"
                and params.get("v") == "v2" and params.get("as") == "APIGroupDiscoveryList"
                and params.get("profile", "nopeer") == "nopeer"):
            return True
    return False


def aggregated(registry: Registry, legacy_core: bool) -> bytes:
    """/api (legacy_core=True: the core group only) or /apis (named groups) as APIGroupDiscoveryList."""
    return _aggregated(_custom_key(registry), legacy_core)


@lru_cache(maxsize=512)
def _aggregated(custom: tuple[ResourceType, ...], legacy_core: bool) -> bytes:
    items = []
    for group, versions, types in _groups(_all(custom)):
        if bool(group) == legacy_core:
            continue
        items.append({
            "metadata": {"name": group} if group else {},
            "versions": [{"version": v, "resources": [_aggregated_resource(r) for r in types[v]],
                          "freshness": "Current"} for v in versions],
        })
    return orjson.dumps({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
                         "metadata": {}, "items": items})


def _aggregated_resource(r: ResourceType) -> dict[str, Any]:
    kind = {"group": r.group, "version": r.version, "kind": r.kind}
    out: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": kind,
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        out["shortNames"] = list(r.short_names)
    if r.categories:
        out["categories"] = list(r.categories)
    subs = [{"subresource": sub, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": list(verbs)}
            for sub, (g, v, k), verbs in r.subresources()]
    if subs:
        out["subresources"] = subs
    return out


def clear_caches() -> None:
    """Drop every cached document (tests; the caches are keyed by content, so never required)."""
    for f in (_api_group_list, _api_group, _api_resource_list, _aggregated):
        f.cache_clear()
