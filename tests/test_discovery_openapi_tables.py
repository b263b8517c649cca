"""Discovery, OpenAPI v3 and Table documents, checked the way real clients read them.

The parsing helpers below mirror client-go (aggregated discovery split), kopf (legacy resource
fields) and kubectl (fieldValidation / strategic-merge checks on the PATCH operation).
"""
from __future__ import annotations

from typing import Any

import orjson
import pytest

from apiserver import errors
from apiserver.http import discovery, openapi, tables
from apiserver.objects import StoredObject
from apiserver.resources import BUILTIN_BY_GVR, Registry

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z

WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"],
                  "categories": ["all"]},
        "versions": [
            {"name": "v1", "served": True, "storage": True,
             "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                      "statusReplicasPath": ".status.replicas"}},
             "additionalPrinterColumns": [
                 {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                 {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "description": "phase"},
                 {"name": "Ready", "type": "string", "jsonPath": '.status.conditions[?(@.type=="Ready")].status'},
                 {"name": "Size", "type": "number", "jsonPath": ".spec.size", "priority": 1},
                 {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
             ]},
            {"name": "v1beta1", "served": True, "storage": False},
            {"name": "v2", "served": True, "storage": False},
            {"name": "v0", "served": False, "storage": False},
        ],
    },
}

GADGET_CRD: dict[str, Any] = {
    "spec": {"group": "tools.example.org", "scope": "Cluster",
             "names": {"kind": "Gadget", "plural": "gadgets"},
             "versions": [{"name": "v1alpha1", "served": True, "storage": True}]},
}


def registry_with_crds() -> Registry:
    r = Registry()
    r.add_crd(WIDGET_CRD)
    r.add_crd(GADGET_CRD)
    return r


def stored(obj: dict[str, Any], rv: int = 7) -> StoredObject:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("resourceVersion", str(rv))
    ns = meta.get("namespace", "")
    name = meta["name"]
    return StoredObject(f"{ns}/{name}" if ns else name, ns, rv, meta.get("labels") or {}, None, orjson.dumps(obj))


def ts(seconds_ago: float) -> str:
    from datetime import datetime, timezone
    return datetime.fromtimestamp(NOW - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- /version ------------------------------------------------------------------------------

def test_version_info_is_a_realistic_1_33() -> None:
    v = discovery.version_info()
    assert (v["major"], v["minor"], v["gitVersion"]) == ("1", "33", "v1.33.4")
    assert v["gitVersion"].split("-")[0].lstrip("v").split(".")[:2] == ["1", "33"]  # kr8s parsing
    for k in ("gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler", "platform",
              "emulationMajor", "emulationMinor", "minCompatibilityMajor", "minCompatibilityMinor"):
        assert isinstance(v[k], str) and v[k]
    assert v["goVersion"] == "go1.24.6" and v["platform"] == "linux/amd64"
    v["major"] = "x"
    assert discovery.version_info()["major"] == "1"  # a copy each time


# --- legacy discovery ----------------------------------------------------------------------

def test_api_versions() -> None:
    doc = orjson.loads(discovery.api_versions("127.0.0.1:8080"))
    assert doc == {"kind": "APIVersions", "versions": ["v1"],
                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:8080"}]}


def test_group_list_excludes_core_and_orders_crd_versions() -> None:
    doc = orjson.loads(discovery.api_group_list(registry_with_crds()))
    assert doc["kind"] == "APIGroupList"
    groups = {g["name"]: g for g in doc["groups"]}
    assert "" not in groups and "v1" not in [g["name"] for g in doc["groups"]]
    # kube-apiserver's group priority order, then the CRD groups
    assert [g["name"] for g in doc["groups"]][:15] == [
        "apps", "authentication.k8s.io", "authorization.k8s.io", "autoscaling", "batch", "certificates.k8s.io",
        "networking.k8s.io", "policy",
        "rbac.authorization.k8s.io", "storage.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io",
        "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io"]
    w = groups["example.com"]
    # kube-aware order; the first is preferred (not the storage version); unserved v0 is absent
    assert [v["version"] for v in w["versions"]] == ["v2", "v1", "v1beta1"]
    assert w["preferredVersion"] == {"groupVersion": "example.com/v2", "version": "v2"}
    # kopf reads groups[].name, versions[].version and preferredVersion.version
    for g in doc["groups"]:
        assert g["preferredVersion"]["version"] in [v["version"] for v in g["versions"]]
        assert all(v["groupVersion"] == f"{g['name']}/{v['version']}" for v in g["versions"])


def test_api_group_single() -> None:
    r = registry_with_crds()
    doc = orjson.loads(discovery.api_group(r, "apps"))
    assert doc["kind"] == "APIGroup" and doc["name"] == "apps"
    assert doc["preferredVersion"]["groupVersion"] == "apps/v1"
    assert discovery.api_group(r, "nope.io") is None
    assert discovery.api_group(r, "") is None


def test_core_resource_list_shape_for_kopf_and_kr8s() -> None:
    doc = orjson.loads(discovery.api_resource_list(Registry(), "", "v1"))
    assert doc["kind"] == "APIResourceList" and doc["groupVersion"] == "v1"
    by_name = {r["name"]: r for r in doc["resources"]}
    pods = by_name["pods"]
    for key in ("name", "singularName", "namespaced", "kind", "verbs"):  # kopf indexes these directly
        assert key in pods
    assert pods["singularName"] == "pod" and pods["namespaced"] is True and pods["kind"] == "Pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert pods["storageVersionHash"] == "xPOwRZ+Yhw8="  # kube-apiserver's value for pods
    assert by_name["pods/status"] == {"name": "pods/status", "singularName": "", "namespaced": True,
                                      "kind": "Pod", "verbs": ["get", "patch", "update"]}
    assert by_name["namespaces"]["namespaced"] is False
    assert "namespaces/status" in by_name and "configmaps/status" not in by_name
    assert [r["name"] for r in doc["resources"]] == sorted(r["name"] for r in doc["resources"])


def test_apps_resource_list_has_scale_subresource() -> None:
    doc = orjson.loads(discovery.api_resource_list(Registry(), "apps", "v1"))
    by_name = {r["name"]: r for r in doc["resources"]}
    assert by_name["deployments/scale"] == {"name": "deployments/scale", "singularName": "", "namespaced": True,
                                            "group": "autoscaling", "version": "v1", "kind": "Scale",
                                            "verbs": ["get", "patch", "update"]}
    assert "daemonsets/scale" not in by_name
    assert by_name["deployments"]["shortNames"] == ["deploy"]


def test_unknown_group_version_is_none() -> None:
    r = Registry()
    assert discovery.api_resource_list(r, "", "v2") is None
    assert discovery.api_resource_list(r, "example.com", "v1") is None
    assert discovery.api_resource_list(r, "apps", "v1beta1") is None


def test_crd_resources_appear_once_registered_and_vanish_when_removed() -> None:
    r = Registry()
    assert discovery.api_resource_list(r, "example.com", "v1") is None
    r.add_crd(WIDGET_CRD)
    doc = orjson.loads(discovery.api_resource_list(r, "example.com", "v1"))
    names = [x["name"] for x in doc["resources"]]
    assert names == ["widgets", "widgets/scale", "widgets/status"]
    w = doc["resources"][0]
    assert (w["kind"], w["singularName"], w["namespaced"], w["shortNames"]) == ("Widget", "widget", True, ["wd"])
    # every served version shares the storage version's hash
    v2 = orjson.loads(discovery.api_resource_list(r, "example.com", "v2"))["resources"][0]
    assert v2["storageVersionHash"] == w["storageVersionHash"] == discovery.storage_version_hash("example.com", "v1", "Widget")
    assert discovery.api_resource_list(r, "example.com", "v0") is None  # served: false
    assert "example.com" in discovery.api_group_list(r).decode()
    r.remove_crd(WIDGET_CRD)
    assert discovery.api_resource_list(r, "example.com", "v1") is None
    assert b"example.com" not in discovery.api_group_list(r)


# --- aggregated discovery ------------------------------------------------------------------

KUBECTL_133_ACCEPT = ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
                      "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json")


@pytest.mark.parametrize("accept,expected", [
    (KUBECTL_133_ACCEPT, True),
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", True),  # client-go HEAD
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=nopeer,"
     "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", True),
    ("application/json;as=APIGroupDiscoveryList;v=v2;g=apidiscovery.k8s.io", True),
    ("application/json; g=apidiscovery.k8s.io; v=v2; as=APIGroupDiscoveryList", True),
    ("application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json", False),  # 1.28
    ("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;profile=other,application/json", False),
    ("application/json, */*", False),
    ("application/json,application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", False),
    ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json", False),
    ("", False),
    ("*/*", False),
])
def test_wants_aggregated(accept: str, expected: bool) -> None:
    assert discovery.wants_aggregated(accept) is expected


def test_aggregated_content_type_matches_client_go_check() -> None:
    ct = discovery.AGGREGATED_CONTENT_TYPE
    base, *params = [p.strip() for p in ct.split(";")]
    kv = dict(p.split("=", 1) for p in params)
    assert base == "application/json"
    assert kv == {"g": "apidiscovery.k8s.io", "v": "v2", "as": "APIGroupDiscoveryList"}


def split_groups_and_resources(doc: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]], list[str]]:
    """client-go SplitGroupsAndResources: legacy groups + resources by GV; drops entries without responseKind."""
    groups, by_gv, stale = [], {}, []
    for g in doc["items"]:
        name = g.get("metadata", {}).get("name", "")
        versions = []
        for v in g["versions"]:
            gv = f"{name}/{v['version']}" if name else v["version"]
            versions.append({"groupVersion": gv, "version": v["version"]})
            if v.get("freshness") == "Stale":
                stale.append(gv)
                continue
            resources = []
            for r in v.get("resources", []):
                if not r.get("responseKind"):
                    continue
                parent = {"name": r["resource"], "singularName": r["singularResource"],
                          "namespaced": r["scope"] == "Namespaced", "kind": r["responseKind"]["kind"],
                          "verbs": r["verbs"]}
                resources.append(parent)
                for s in r.get("subresources", []):
                    if not s.get("responseKind"):
                        continue
                    resources.append({"name": f"{r['resource']}/{s['subresource']}", "namespaced": parent["namespaced"],
                                      "kind": s["responseKind"]["kind"], "verbs": s["verbs"]})
            by_gv[gv] = resources
        groups.append({"name": name, "versions": versions, "preferredVersion": versions[0]})
    return groups, by_gv, stale


def test_aggregated_matches_legacy() -> None:
    r = registry_with_crds()
    core = orjson.loads(discovery.aggregated(r, True))
    named = orjson.loads(discovery.aggregated(r, False))
    for doc in (core, named):
        assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
        for g in doc["items"]:
            for v in g["versions"]:
                assert v["freshness"] == "Current"
                for res in v["resources"]:
                    assert res["responseKind"]["kind"] and res["scope"] in ("Namespaced", "Cluster")
                    assert "singularResource" in res
                    for s in res.get("subresources", []):
                        assert s["responseKind"]["kind"] and s["verbs"]
    assert len(core["items"]) == 1 and core["items"][0]["metadata"] == {}
    assert all(g["metadata"]["name"] for g in named["items"])

    groups, by_gv, stale = split_groups_and_resources(core)
    g2, by_gv2, stale2 = split_groups_and_resources(named)
    assert not stale and not stale2
    by_gv.update(by_gv2)
    legacy_groups = orjson.loads(discovery.api_group_list(r))["groups"]
    assert [(g["name"], g["versions"], g["preferredVersion"]) for g in g2] == \
        [(g["name"], g["versions"], g["preferredVersion"]) for g in legacy_groups]
    for gv, resources in by_gv.items():
        group, _, version = gv.rpartition("/")
        legacy = orjson.loads(discovery.api_resource_list(r, group, version))["resources"]
        assert sorted((x["name"], x["kind"], x["namespaced"], tuple(x["verbs"])) for x in resources) == \
            sorted((x["name"], x["kind"], x["namespaced"], tuple(x["verbs"])) for x in legacy)


def test_aggregated_crd_entry() -> None:
    named = orjson.loads(discovery.aggregated(registry_with_crds(), False))
    widget_group = next(g for g in named["items"] if g["metadata"]["name"] == "example.com")
    assert [v["version"] for v in widget_group["versions"]] == ["v2", "v1", "v1beta1"]
    v1 = next(v for v in widget_group["versions"] if v["version"] == "v1")
    w = v1["resources"][0]
    assert w["responseKind"] == {"group": "example.com", "version": "v1", "kind": "Widget"}
    assert w["shortNames"] == ["wd"] and w["categories"] == ["all"] and w["singularResource"] == "widget"
    subs = {s["subresource"]: s for s in w["subresources"]}
    assert subs["scale"]["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert subs["status"]["responseKind"]["kind"] == "Widget"
    gadget = next(g for g in named["items"] if g["metadata"]["name"] == "tools.example.org")
    assert gadget["versions"][0]["resources"][0]["scope"] == "Cluster"
    assert gadget["versions"][0]["resources"][0]["singularResource"] == "gadget"


def test_caches_follow_registry_changes() -> None:
    r = Registry()
    before = discovery.aggregated(r, False)
    assert discovery.aggregated(r, False) is before  # cached
    r.add_crd(GADGET_CRD)
    after = discovery.aggregated(r, False)
    assert after != before and b"gadgets" in after
    changed = {**GADGET_CRD, "spec": {**GADGET_CRD["spec"], "names": {"kind": "Gadget", "plural": "gadgets",
                                                                       "shortNames": ["gd"]}}}
    r.add_crd(changed)
    assert b'"shortNames":["gd"]' in discovery.aggregated(r, False)
    assert discovery.aggregated(Registry(), False) == before


@pytest.mark.parametrize("versions,expected", [
    (["v1", "v2", "v1beta1", "v1alpha1", "v2beta2", "v2beta1", "foo", "v10", "abc"],
     ["v10", "v2", "v1", "v2beta2", "v2beta1", "v1beta1", "v1alpha1", "abc", "foo"]),
])
def test_kube_version_order(versions: list[str], expected: list[str]) -> None:
    assert sorted(versions, key=discovery.kube_version_key) == expected


# --- OpenAPI v3 ----------------------------------------------------------------------------

def patch_ops_for(doc: dict[str, Any], gvk: dict[str, str]) -> list[dict[str, Any]]:
    return [p["patch"] for p in doc["paths"].values()
            if "patch" in p and p["patch"].get("x-kubernetes-group-version-kind") == gvk]


def kubectl_supports_field_validation(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """cli-runtime supportsQueryParamV3: the first PATCH op for the GVK must list fieldValidation in query."""
    ops = patch_ops_for(doc, gvk)
    assert ops, f"no PATCH operation for {gvk}"
    return any(p.get("name") == "fieldValidation" and p.get("in") == "query" for p in ops[0].get("parameters", []))


def kubectl_uses_smp_from_openapi(doc: dict[str, Any], gvk: dict[str, str]) -> bool:
    """kubectl apply gvkSupportsPatchOpenAPIV3."""
    for op in patch_ops_for(doc, gvk):
        return "application/strategic-merge-patch+json" in (op.get("requestBody") or {}).get("content", {})
    return False


def test_openapi_root_lists_every_group_version_with_hash() -> None:
    r = registry_with_crds()
    root = orjson.loads(openapi.openapi_v3_root(r))
    keys = set(root["paths"])
    for gv in r.group_versions():
        group, _, version = gv.rpartition("/")
        key = f"apis/{group}/{version}" if group else f"api/{version}"
        assert key in keys
        url = root["paths"][key]["serverRelativeURL"]
        assert url.startswith(f"/openapi/v3/{key}?hash=")  # rooted at /openapi/v3: client-go adds the prefix
        assert url.endswith(openapi.openapi_hash(r, group, version))
    assert "apis/example.com/v0" not in keys


def test_openapi_every_kind_supports_field_validation_and_never_smp() -> None:
    r = registry_with_crds()
    for gv, types in r.group_versions().items():
        group, _, version = gv.rpartition("/")
        doc = orjson.loads(openapi.openapi_v3_group_version(r, group, version))
        assert doc["openapi"].startswith("3.") and "info" in doc
        for t in types:
            gvk = {"group": t.group, "version": t.version, "kind": t.kind}
            if "patch" not in t.verbs:  # create-only reviews: POST alone, as upstream
                assert not patch_ops_for(doc, gvk)
                continue
            ops = patch_ops_for(doc, gvk)
            assert ops  # item (and status) paths
            for op in ops:  # Go map order is random: every PATCH for the GVK must qualify
                names = [(p["name"], p["in"]) for p in op["parameters"]]
                assert ("fieldValidation", "query") in names
                content = op["requestBody"]["content"]
                assert set(content) == {"application/json-patch+json", "application/merge-patch+json",
                                        "application/apply-patch+yaml"}
            assert kubectl_supports_field_validation(doc, gvk)
            assert not kubectl_uses_smp_from_openapi(doc, gvk)


def test_openapi_paths_and_schemas() -> None:
    r = registry_with_crds()
    core = orjson.loads(openapi.openapi_v3_group_version(r, "", "v1"))
    paths = core["paths"]
    pod_item = paths["/api/v1/namespaces/{namespace}/pods/{name}"]
    assert set(pod_item) >= {"get", "put", "patch", "delete", "parameters"}
    assert pod_item["get"]["x-kubernetes-group-version-kind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert "/api/v1/namespaces/{namespace}/pods" in paths and "/api/v1/pods" in paths
    assert "/api/v1/nodes/{name}" in paths and "/api/v1/namespaces/{namespace}/nodes/{name}" not in paths
    assert "/api/v1/namespaces/{namespace}/pods/{name}/status" in paths
    fv = next(p for p in pod_item["patch"]["parameters"] if p["name"] == "fieldValidation")
    assert fv["in"] == "query" and fv["schema"]["type"] == "string"

    schemas = core["components"]["schemas"]
    pod = schemas["io.k8s.api.core.v1.Pod"]
    assert pod["type"] == "object" and pod["x-kubernetes-preserve-unknown-fields"] is True
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "version": "v1", "kind": "Pod"}]

    apps = orjson.loads(openapi.openapi_v3_group_version(r, "apps", "v1"))
    scale = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]["patch"]
    assert scale["x-kubernetes-group-version-kind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}
    assert "io.k8s.api.autoscaling.v1.Scale" in apps["components"]["schemas"]

    crd = orjson.loads(openapi.openapi_v3_group_version(r, "example.com", "v1"))
    widget = crd["components"]["schemas"]["com.example.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "example.com", "version": "v1", "kind": "Widget"}]
    gadget = orjson.loads(openapi.openapi_v3_group_version(r, "tools.example.org", "v1alpha1"))
    assert "/apis/tools.example.org/v1alpha1/gadgets/{name}" in gadget["paths"]

    # every $ref resolves inside its own document
    for doc in (core, apps, crd, gadget):
        text = orjson.dumps(doc).decode()
        import re
        for ref in set(re.findall(r'"\$ref":"#/components/schemas/([^"]+)"', text)):
            assert ref in doc["components"]["schemas"], ref


def test_openapi_unknown_group_version() -> None:
    r = Registry()
    assert openapi.openapi_v3_group_version(r, "example.com", "v1") is None
    assert openapi.openapi_hash(r, "example.com", "v1") is None
    assert openapi.openapi_v3_group_version(r, "", "v2") is None


def test_openapi_hash_changes_with_crds() -> None:
    r = Registry()
    apps_before = openapi.openapi_hash(r, "apps", "v1")
    root_before = openapi.openapi_v3_root(r)
    r.add_crd(WIDGET_CRD)
    assert openapi.openapi_v3_root(r) != root_before
    h1 = openapi.openapi_hash(r, "example.com", "v1")
    assert h1 and openapi.openapi_hash(r, "apps", "v1") == apps_before
    scoped = {"spec": {**WIDGET_CRD["spec"], "scope": "Cluster"}}
    r.add_crd(scoped)
    assert openapi.openapi_hash(r, "example.com", "v1") != h1
    r.remove_crd(scoped)
    assert openapi.openapi_hash(r, "example.com", "v1") is None
    assert openapi.openapi_v3_root(r) == root_before


# --- Tables --------------------------------------------------------------------------------

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
                "application/json")


@pytest.mark.parametrize("accept,expected", [
    (TABLE_ACCEPT, tables.TABLE_V1),
    ("application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", tables.TABLE_V1BETA1),
    ("application/json;g=meta.k8s.io;v=v1;as=Table", tables.TABLE_V1),
    ("application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1;g=meta.k8s.io",
     tables.TABLE_V1),
    ("application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json", None),
    ("application/json", None),
    ("application/json, application/json;as=Table;v=v1;g=meta.k8s.io", None),
    ("*/*", None),
    ("", None),
])
def test_table_negotiation(accept: str, expected: str | None) -> None:
    assert tables.table_api_version(accept) == expected
    assert tables.wants_table(accept) is (expected is not None)


@pytest.mark.parametrize("seconds,expected", [
    (-5, "<invalid>"), (-1.5, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (182, "3m2s"),
    (599, "9m59s"), (600, "10m"), (179 * 60, "179m"), (3 * 3600, "3h"), (5 * 3600 + 240, "5h4m"),
    (8 * 3600, "8h"), (47 * 3600 + 59, "47h"), (48 * 3600, "2d"), (52 * 3600, "2d4h"), (7 * 86400 + 23 * 3600, "7d23h"),
    (8 * 86400, "8d"), (729 * 86400, "729d"), (730 * 86400, "2y"), (732 * 86400, "2y2d"), (8 * 365 * 86400, "8y"),
])
def test_human_duration(seconds: float, expected: str) -> None:
    assert tables.human_duration(seconds) == expected


def decode_table(data: bytes) -> dict[str, Any]:
    t = orjson.loads(data)
    assert t["kind"] == "Table" and t["apiVersion"] == "meta.k8s.io/v1"
    for row in t["rows"]:
        assert len(row["cells"]) == len(t["columnDefinitions"])
    for c in t["columnDefinitions"]:
        assert set(c) == {"name", "type", "format", "description", "priority"}
    return t


def visible(t: dict[str, Any], row: int = 0) -> dict[str, Any]:
    """What `kubectl get` (not -o wide) shows: columns with priority 0."""
    return {c["name"]: t["rows"][row]["cells"][i] for i, c in enumerate(t["columnDefinitions"]) if c["priority"] == 0}


def wide(t: dict[str, Any], row: int = 0) -> dict[str, Any]:
    return {c["name"]: t["rows"][row]["cells"][i] for i, c in enumerate(t["columnDefinitions"])}


def pod(name: str = "web-1", **status: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "web"}, "uid": "u1",
                         "creationTimestamp": ts(65)},
            "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"},
                                                           {"name": "side", "image": "envoy"}]},
            "status": status}


PODS = BUILTIN_BY_GVR[("", "v1", "pods")]


def test_pod_table_running() -> None:
    p = pod(phase="Running", podIPs=[{"ip": "10.0.0.5"}], podIP="10.0.0.5",
            conditions=[{"type": "Ready", "status": "True"}],
            containerStatuses=[
                {"name": "app", "ready": True, "restartCount": 2, "state": {"running": {"startedAt": ts(30)}},
                 "lastState": {"terminated": {"exitCode": 1, "finishedAt": ts(40)}}},
                {"name": "side", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ts(60)}}}])
    t = decode_table(tables.table_for_list(PODS, [stored(p)], {"resourceVersion": "42"}, now=NOW))
    assert t["metadata"] == {"resourceVersion": "42"}
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert t["columnDefinitions"][0]["format"] == "name"
    assert visible(t) == {"Name": "web-1", "Ready": "2/2", "Status": "Running", "Restarts": "2 (40s ago)", "Age": "65s"}
    assert wide(t)["IP"] == "10.0.0.5" and wide(t)["Node"] == "node-1"
    assert wide(t)["Nominated Node"] == "<none>" and wide(t)["Readiness Gates"] == "<none>"
    obj = t["rows"][0]["object"]
    assert obj["kind"] == "PartialObjectMetadata" and obj["apiVersion"] == "meta.k8s.io/v1"
    assert obj["metadata"]["namespace"] == "default" and obj["metadata"]["labels"] == {"app": "web"}
    assert "spec" not in obj


def test_pod_table_statuses() -> None:
    def status_of(p: dict[str, Any]) -> str:
        return visible(decode_table(tables.table_for_list(PODS, [stored(p)], {}, now=NOW)))["Status"]

    assert status_of(pod(phase="Pending")) == "Pending"
    waiting = pod(phase="Pending", containerStatuses=[
        {"name": "app", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}])
    assert status_of(waiting) == "ContainerCreating"
    crash = pod(phase="Running", containerStatuses=[
        {"name": "app", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
    assert status_of(crash) == "CrashLoopBackOff"
    done = pod(phase="Succeeded", containerStatuses=[
        {"name": "app", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
    t = decode_table(tables.table_for_list(PODS, [stored(done)], {}, now=NOW))
    assert visible(t)["Status"] == "Completed"
    assert t["rows"][0]["conditions"][0]["type"] == "Completed"
    terminating = pod(phase="Running")
    terminating["metadata"]["deletionTimestamp"] = ts(1)
    assert status_of(terminating) == "Terminating"
    init = pod(phase="Pending", initContainerStatuses=[
        {"name": "init", "ready": False, "restartCount": 0, "state": {"running": {}}}])
    init["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    assert status_of(init) == "Init:0/1"
    evicted = pod(phase="Failed", reason="Evicted")
    assert status_of(evicted) == "Evicted"


def test_node_table() -> None:
    nodes = BUILTIN_BY_GVR[("", "v1", "nodes")]
    n1 = {"apiVersion": "v1", "kind": "Node",
          "metadata": {"name": "cp-1", "creationTimestamp": ts(52 * 3600),
                       "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true",
                                  "kubernetes.io/hostname": "cp-1"}},
          "spec": {"unschedulable": True},
          "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                     "addresses": [{"type": "InternalIP", "address": "10.1.0.1"}, {"type": "Hostname", "address": "cp-1"}],
                     "nodeInfo": {"kubeletVersion": "v1.33.4", "osImage": "Ubuntu 24.04", "kernelVersion": "6.8.0",
                                  "containerRuntimeVersion": "containerd://2.0.0"}}}
    n2 = {"apiVersion": "v1", "kind": "Node",
          "metadata": {"name": "w-1", "creationTimestamp": ts(182), "labels": {"kubernetes.io/role": "worker"}},
          "status": {"conditions": [{"type": "Ready", "status": "Unknown"}], "nodeInfo": {"kubeletVersion": "v1.33.4"}}}
    n3 = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "w-2", "creationTimestamp": ts(5)}}
    t = decode_table(tables.table_for_list(nodes, [stored(n1), stored(n2), stored(n3)], {"resourceVersion": "9"}, now=NOW))
    assert [c["name"] for c in t["columnDefinitions"] if c["priority"] == 0] == ["Name", "Status", "Roles", "Age", "Version"]
    assert visible(t, 0) == {"Name": "cp-1", "Status": "Ready,SchedulingDisabled", "Roles": "control-plane,etcd",
                             "Age": "2d4h", "Version": "v1.33.4"}
    assert wide(t, 0)["Internal-IP"] == "10.1.0.1" and wide(t, 0)["External-IP"] == "<none>"
    assert wide(t, 0)["Container-Runtime"] == "containerd://2.0.0"
    assert visible(t, 1) == {"Name": "w-1", "Status": "NotReady", "Roles": "worker", "Age": "3m2s", "Version": "v1.33.4"}
    assert visible(t, 2)["Status"] == "Unknown" and visible(t, 2)["Roles"] == "<none>"
    assert wide(t, 2)["OS-Image"] == "<unknown>"


def test_namespace_table() -> None:
    ns = BUILTIN_BY_GVR[("", "v1", "namespaces")]
    objs = [stored({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default", "creationTimestamp": ts(3 * 86400)},
                    "status": {"phase": "Active"}}),
            stored({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone", "creationTimestamp": ts(10)},
                    "status": {"phase": "Terminating"}})]
    t = decode_table(tables.table_for_list(ns, objs, {"resourceVersion": "1"}, now=NOW))
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert t["rows"][0]["cells"] == ["default", "Active", "3d"]
    assert t["rows"][1]["cells"] == ["gone", "Terminating", "10s"]


def test_deployment_table() -> None:
    deploys = BUILTIN_BY_GVR[("apps", "v1", "deployments")]
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ts(600)},
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web", "tier": "fe"},
                                              "matchExpressions": [{"key": "env", "operator": "In",
                                                                    "values": ["prod", "dev"]}]},
                  "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"},
                                                       {"name": "log", "image": "fluent"}]}}},
         "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    t = decode_table(tables.table_for_list(deploys, [stored(d)], {"resourceVersion": "5"}, now=NOW))
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert visible(t) == {"Name": "web", "Ready": "2/3", "Up-to-date": 3, "Available": 2, "Age": "10m"}
    assert wide(t)["Containers"] == "app,log" and wide(t)["Images"] == "nginx:1,fluent"
    assert wide(t)["Selector"] == "app=web,env in (dev,prod),tier=fe"
    empty = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "new", "namespace": "default",
                                                                         "creationTimestamp": ts(1)}, "spec": {}}
    assert visible(decode_table(tables.table_for_list(deploys, [stored(empty)], {}, now=NOW)))["Ready"] == "0/1"


def test_configmap_and_other_builtin_tables() -> None:
    cms = BUILTIN_BY_GVR[("", "v1", "configmaps")]
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "cfg", "namespace": "default", "creationTimestamp": ts(7200)},
          "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}}
    t = decode_table(tables.table_for_list(cms, [stored(cm)], {"resourceVersion": "3"}, now=NOW))
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Data", "Age"]
    assert t["rows"][0]["cells"] == ["cfg", 3, "120m"]

    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default",
                                                               "creationTimestamp": ts(30)},
           "spec": {"type": "NodePort", "clusterIPs": ["10.96.0.10"], "selector": {"app": "web"},
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}}
    t = decode_table(tables.table_for_list(BUILTIN_BY_GVR[("", "v1", "services")], [stored(svc)], {}, now=NOW))
    assert wide(t) == {"Name": "web", "Type": "NodePort", "Cluster-IP": "10.96.0.10", "External-IP": "<none>",
                       "Port(s)": "80:30080/TCP,53/UDP", "Age": "30s", "Selector": "app=web"}

    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "leader", "namespace": "kube-system", "creationTimestamp": ts(5)},
             "spec": {"holderIdentity": "pod-a"}}
    t = decode_table(tables.table_for_list(BUILTIN_BY_GVR[("coordination.k8s.io", "v1", "leases")], [stored(lease)],
                                           {}, now=NOW))
    assert t["rows"][0]["cells"] == ["leader", "pod-a", "5s"]

    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
          "involvedObject": {"kind": "Pod", "name": "web-1"}, "reason": "Scheduled", "type": "Normal",
          "message": " Assigned ", "firstTimestamp": ts(90), "lastTimestamp": ts(30), "count": 2,
          "source": {"component": "default-scheduler"}}
    t = decode_table(tables.table_for_list(BUILTIN_BY_GVR[("", "v1", "events")], [stored(ev)], {}, now=NOW))
    assert visible(t) == {"Last Seen": "30s", "Type": "Normal", "Reason": "Scheduled", "Object": "pod/web-1",
                          "Message": "Assigned"}
    assert wide(t)["Count"] == 2 and wide(t)["First Seen"] == "90s" and wide(t)["Source"] == "default-scheduler"

    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default",
                                                                "creationTimestamp": ts(5)},
          "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 6)], "ports": [{"port": 80}]}]}
    t = decode_table(tables.table_for_list(BUILTIN_BY_GVR[("", "v1", "endpoints")], [stored(ep)], {}, now=NOW))
    assert t["rows"][0]["cells"][1] == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."


def test_default_convertor_for_crds_kind() -> None:
    crds = BUILTIN_BY_GVR[("apiextensions.k8s.io", "v1", "customresourcedefinitions")]
    t = decode_table(tables.table_for_list(crds, [stored({**WIDGET_CRD, "metadata": {
        "name": "widgets.example.com", "creationTimestamp": "2025-12-31T23:59:00Z"}})], {}, now=NOW))
    assert t["columnDefinitions"][0]["name"] == "Name" and t["columnDefinitions"][1] == {
        "name": "Created At", "type": "date", "format": "", "description": t["columnDefinitions"][1]["description"],
        "priority": 0}
    assert t["rows"][0]["cells"] == ["widgets.example.com", "2025-12-31T23:59:00Z"]


def test_custom_resource_tables() -> None:
    r = Registry()
    widget_v1 = r.add_crd(WIDGET_CRD)[0]
    assert widget_v1.version == "v1"
    obj = {"apiVersion": "example.com/v1", "kind": "Widget",
           "metadata": {"name": "w1", "namespace": "default", "creationTimestamp": ts(45)},
           "spec": {"replicas": 3, "size": 1.5},
           "status": {"phase": "Ready", "conditions": [{"type": "Synced", "status": "True"},
                                                       {"type": "Ready", "status": "False"}]}}
    columns = tables.printer_columns_from_crd(WIDGET_CRD, "v1")
    t = decode_table(tables.table_for_list(widget_v1, [stored(obj)], {"resourceVersion": "8"}, now=NOW,
                                           printer_columns=columns))
    assert [c["name"] for c in t["columnDefinitions"]] == ["Name", "Replicas", "Phase", "Ready", "Size", "Age"]
    assert t["columnDefinitions"][4]["priority"] == 1 and t["columnDefinitions"][2]["description"] == "phase"
    assert t["rows"][0]["cells"] == ["w1", 3, "Ready", "False", 1.5, "45s"]
    bare = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w2", "namespace": "default",
                                                                           "creationTimestamp": ts(1)}}
    t = decode_table(tables.table_for_list(widget_v1, [stored(bare)], {}, now=NOW, printer_columns=columns))
    assert t["rows"][0]["cells"] == ["w2", None, None, None, None, "1s"]
    # no printer columns: the CRD handler's default single Age column
    for cols in (None, [], tables.printer_columns_from_crd(WIDGET_CRD, "v1beta1")):
        t = decode_table(tables.table_for_list(widget_v1, [stored(obj)], {}, now=NOW, printer_columns=cols))
        assert [(c["name"], c["type"]) for c in t["columnDefinitions"]] == [("Name", "string"), ("Age", "date")]
        assert t["rows"][0]["cells"] == ["w1", "45s"]


def test_include_object_modes() -> None:
    p = pod(phase="Running")
    full = decode_table(tables.table_for_list(PODS, [stored(p)], {}, include_object="Object", now=NOW))
    assert full["rows"][0]["object"]["kind"] == "Pod" and full["rows"][0]["object"]["spec"]["nodeName"] == "node-1"
    none = decode_table(tables.table_for_list(PODS, [stored(p)], {}, include_object="None", now=NOW))
    assert none["rows"][0]["object"] is None
    meta = decode_table(tables.table_for_list(PODS, [stored(p)], {}, include_object="", now=NOW))
    assert meta["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    with pytest.raises(errors.StatusError) as e:
        tables.table_for_list(PODS, [stored(p)], {}, include_object="Everything", now=NOW)
    assert e.value.code == 400 and "unrecognized includeObject value" in e.value.encode().decode()


def test_empty_list_and_continue_metadata() -> None:
    t = decode_table(tables.table_for_list(PODS, [], {"resourceVersion": "10", "continue": "abc",
                                                      "remainingItemCount": 4}, now=NOW))
    assert t["rows"] == [] and t["metadata"] == {"resourceVersion": "10", "continue": "abc", "remainingItemCount": 4}
    assert len(t["columnDefinitions"]) == 9


def test_watch_event_tables_only_first_has_columns() -> None:
    rec = stored(pod(phase="Running"), rv=77)
    first = tables.table_for_watch_event(PODS, rec, True, "Metadata", NOW)
    later = tables.table_for_watch_event(PODS, rec, False, "Metadata", NOW)
    assert first["kind"] == "Table" and len(first["columnDefinitions"]) == 9
    assert later["columnDefinitions"] is None
    assert first["metadata"] == {"resourceVersion": "77"}
    assert len(later["rows"]) == 1 and later["rows"][0]["cells"][0] == "web-1"
    orjson.dumps({"type": "MODIFIED", "object": later})  # JSON-encodable as is


def test_jsonpath_subset() -> None:
    obj = {"a": {"b": [{"n": "x", "v": 1}, {"n": "y", "v": 2}], "dotted.key": 5}}
    assert tables.jsonpath_first(obj, ".a.b[1].n") == (True, "y")
    assert tables.jsonpath_first(obj, ".a.b[-1].v") == (True, 2)
    assert tables.jsonpath_first(obj, ".a.b[*].n") == (True, "x")
    assert tables.jsonpath_first(obj, '.a.b[?(@.n=="y")].v') == (True, 2)
    assert tables.jsonpath_first(obj, ".a.b[?(@.v>1)].n") == (True, "y")
    assert tables.jsonpath_first(obj, ".a['dotted.key']") == (True, 5)
    assert tables.jsonpath_first(obj, "{.a.b[0].n}") == (True, "x")
    assert tables.jsonpath_first(obj, ".a.c") == (False, None)
    assert tables.jsonpath_first(obj, "..n") == (False, None)
