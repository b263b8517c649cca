"""Every error path of the store answers with kube-apiserver's code, reason and exact message.

The strings come from apimachinery (``errors.New*``, ``validation``), the generic registry
(``registry/generic/registry/store.go``) and the admission plugins; see
shared/reference/k8s-api-wire.md sections 2 and 4.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from apiserver import errors
from apiserver.cluster import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, ClusterStore
from apiserver.resources import BUILTIN_BY_GVR, CRDS, NAMESPACES
from apiserver.selectors import LabelSelector
from apiserver.storage import encode_continue
from apiserver.validation import DNS1035_MSG, LABEL_MSG, LABEL_VALUE_MSG, QUALIFIED_MSG, SUBDOMAIN_MSG

PODS = BUILTIN_BY_GVR[("", "v1", "pods")]
CMS = BUILTIN_BY_GVR[("", "v1", "configmaps")]
SVCS = BUILTIN_BY_GVR[("", "v1", "services")]
NODES = BUILTIN_BY_GVR[("", "v1", "nodes")]
DEPLOYS = BUILTIN_BY_GVR[("apps", "v1", "deployments")]

GENERATE_ALPHABET = set("bcdfghjklmnpqrstvwxz2456789")  # apiserver/pkg/storage/names: no vowels, no 0/1/3


def fails(fn: Callable[[], Any], code: int, reason: str, message: str | None = None) -> errors.StatusError:
    with pytest.raises(errors.StatusError) as info:
        fn()
    e = info.value
    assert (e.code, e.reason) == (code, reason), e
    if message is not None:
        assert e.message == message
    status = e.status()
    assert status["kind"] == "Status" and status["status"] == "Failure" and status["code"] == code
    return e


def pod(name: str | None = None, **meta: Any) -> dict[str, Any]:
    m = dict(meta)
    if name is not None:
        m["name"] = name
    return {"metadata": m, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}


def terminating_namespace(store: ClusterStore, ns: str = "dying") -> None:
    """A namespace held in Terminating by an object that keeps a finalizer."""
    store.create(NAMESPACES, None, {"metadata": {"name": ns}})
    store.create(CMS, ns, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    _, gone = store.delete(NAMESPACES, None, ns)
    assert not gone
    assert store.get_object(NAMESPACES, None, ns)["status"]["phase"] == "Terminating"


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                      "subresources": {"status": {}},
                      "selectableFields": [{"jsonPath": ".spec.color"}]}],
    },
}
GADGET_CRD = {
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Cluster",
             "names": {"plural": "gadgets", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True}]},
}


@pytest.fixture
def widgets(store: ClusterStore):
    store.create(CRDS, None, WIDGET_CRD)
    return store.resource("example.com", "v1", "widgets")


# ---- names and labels (422 Invalid: the Kind in message and details) -----------------------------
def test_pod_name_must_be_a_dns_subdomain(store: ClusterStore) -> None:
    e = fails(lambda: store.create(PODS, "default", pod("Bad_Name")), 422, "Invalid",
              f'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": {SUBDOMAIN_MSG}')
    assert e.details == {"name": "Bad_Name", "kind": "Pod", "causes": [{
        "reason": "FieldValueInvalid", "message": f'Invalid value: "Bad_Name": {SUBDOMAIN_MSG}',
        "field": "metadata.name"}]}
    assert SUBDOMAIN_MSG == (
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
        "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
    store.create(PODS, "default", pod("dotted.name-1"))  # dots are fine in a subdomain


def test_namespace_name_must_be_a_dns_label(store: ClusterStore) -> None:
    fails(lambda: store.create(NAMESPACES, None, {"metadata": {"name": "a.b"}}), 422, "Invalid",
          f'Namespace "a.b" is invalid: metadata.name: Invalid value: "a.b": {LABEL_MSG}')
    assert LABEL_MSG == (
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
        "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    long = "n" * 64
    e = fails(lambda: store.create(NAMESPACES, None, {"metadata": {"name": long}}), 422, "Invalid")
    assert e.message == (f'Namespace "{long}" is invalid: metadata.name: Invalid value: "{long}": '
                         "must be no more than 63 characters")


def test_service_name_must_be_a_dns1035_label(store: ClusterStore) -> None:
    body = {"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}
    fails(lambda: store.create(SVCS, "default", body), 422, "Invalid",
          f'Service "1svc" is invalid: metadata.name: Invalid value: "1svc": {DNS1035_MSG}')
    assert DNS1035_MSG.startswith("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                                  "start with an alphabetic character, and end with an alphanumeric character")
    store.create(PODS, "default", pod("1pod"))  # the same name is a fine pod name


def test_bad_label_key_and_value(store: ClusterStore) -> None:
    fails(lambda: store.create(CMS, "default", {"metadata": {"name": "c", "labels": {"bad key": "v"}}}),
          422, "Invalid", f'ConfigMap "c" is invalid: metadata.labels: Invalid value: "bad key": {QUALIFIED_MSG}')
    fails(lambda: store.create(CMS, "default", {"metadata": {"name": "c", "labels": {"k": "bad value!"}}}),
          422, "Invalid", f'ConfigMap "c" is invalid: metadata.labels: Invalid value: "bad value!": {LABEL_VALUE_MSG}')
    e = fails(lambda: store.create(CMS, "default", {"metadata": {"name": "c", "labels": {"a b": "c d"}}}),
              422, "Invalid")
    assert e.message == (f'ConfigMap "c" is invalid: [metadata.labels: Invalid value: "a b": {QUALIFIED_MSG}, '
                         f'metadata.labels: Invalid value: "c d": {LABEL_VALUE_MSG}]')
    assert len(e.details["causes"]) == 2
    assert store.storage.count(CMS) == 0


def test_name_or_generate_name_is_required(store: ClusterStore) -> None:
    e = fails(lambda: store.create(PODS, "default", pod()), 422, "Invalid",
              'Pod "" is invalid: metadata.name: Required value: name or generateName is required')
    assert e.details["causes"] == [{"reason": "FieldValueRequired", "field": "metadata.name",
                                    "message": "Required value: name or generateName is required"}]


def test_generate_name_appends_five_chars_to_a_base_cut_at_58(store: ClusterStore) -> None:
    short = store.create(PODS, "default", pod(generateName="web-")).name
    assert short.startswith("web-") and len(short) == 9 and set(short[4:]) <= GENERATE_ALPHABET
    base = "x" * 70
    long = store.create(PODS, "default", pod(generateName=base)).name
    assert len(long) == 63 and long[:58] == base[:58] and set(long[58:]) <= GENERATE_ALPHABET
    rec = store.get(PODS, "default", long)
    assert rec.decode()["metadata"]["generateName"] == base


def test_resource_version_on_create_is_500(store: ClusterStore) -> None:
    fails(lambda: store.create(CMS, "default", {"metadata": {"name": "c", "resourceVersion": "7"}}),
          500, "InternalError", "Internal error occurred: resourceVersion should not be set on objects to be created")


# ---- namespaces ----------------------------------------------------------------------------------
def test_missing_namespace_is_404(store: ClusterStore) -> None:
    e = fails(lambda: store.create(PODS, "nope", pod("p")), 404, "NotFound", 'namespaces "nope" not found')
    assert e.details == {"name": "nope", "kind": "namespaces"}


def test_terminating_namespace_is_403(store: ClusterStore) -> None:
    terminating_namespace(store)
    e = fails(lambda: store.create(PODS, "dying", pod("p")), 403, "Forbidden",
              'pods "p" is forbidden: unable to create new content in namespace dying because it is being terminated')
    assert e.details["causes"] == [{"reason": "NamespaceTerminating", "message": "namespace dying is being terminated",
                                    "field": "metadata.namespace"}]
    # writes to what is already there still go through
    store.patch(CMS, "dying", "held", MERGE_PATCH, {"metadata": {"labels": {"a": "b"}}})


@pytest.mark.parametrize("ns", ["default", "kube-system", "kube-public"])
def test_immortal_namespaces_are_403(store: ClusterStore, ns: str) -> None:
    e = fails(lambda: store.delete(NAMESPACES, None, ns), 403, "Forbidden",
              f'namespaces "{ns}" is forbidden: this namespace may not be deleted')
    assert e.details == {"name": ns, "kind": "namespaces"}
    assert "deletionTimestamp" not in store.get_object(NAMESPACES, None, ns)["metadata"]


def test_kube_node_lease_may_be_deleted(store: ClusterStore) -> None:
    _, gone = store.delete(NAMESPACES, None, "kube-node-lease")
    assert gone


# ---- conflicts -----------------------------------------------------------------------------------
def test_already_exists_core_and_grouped(store: ClusterStore) -> None:
    store.create(PODS, "default", pod("p1"))
    e = fails(lambda: store.create(PODS, "default", pod("p1")), 409, "AlreadyExists", 'pods "p1" already exists')
    assert e.details == {"name": "p1", "kind": "pods"}
    dep = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}
    store.create(DEPLOYS, "default", dep)
    e = fails(lambda: store.create(DEPLOYS, "default", dep), 409, "AlreadyExists",
              'deployments.apps "d" already exists')
    assert e.details == {"name": "d", "group": "apps", "kind": "deployments"}
    store.create(PODS, "kube-system", pod("p1"))  # names are per namespace


def test_stale_resource_version_is_409_conflict(store: ClusterStore) -> None:
    rec = store.create(CMS, "default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    body = rec.decode()
    store.patch(CMS, "default", "c", MERGE_PATCH, {"data": {"a": "2"}})
    body["data"]["a"] = "3"
    e = fails(lambda: store.update(CMS, "default", "c", body), 409, "Conflict",
              'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your '
              "changes to the latest version and try again")
    assert e.details == {"name": "c", "kind": "configmaps"}
    assert store.get_object(CMS, "default", "c")["data"] == {"a": "2"}
    d = store.create(DEPLOYS, "default", {"metadata": {"name": "d"}, "spec": {"replicas": 1}}).decode()
    d["metadata"]["resourceVersion"] = "1"
    e = fails(lambda: store.update(DEPLOYS, "default", "d", d), 409, "Conflict")
    assert e.message.startswith('Operation cannot be fulfilled on deployments.apps "d": ')
    assert e.details == {"name": "d", "group": "apps", "kind": "deployments"}


def test_update_without_resource_version(store: ClusterStore, widgets) -> None:
    """Built-ins allow an unconditional update; custom resources demand the rv (422, the resource named)."""
    store.create(CMS, "default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    rec = store.update(CMS, "default", "c", {"metadata": {"name": "c"}, "data": {"a": "2"}})
    assert rec.decode()["data"] == {"a": "2"}
    store.create(widgets, "default", {"metadata": {"name": "w1"}, "spec": {"color": "red"}})
    e = fails(lambda: store.update(widgets, "default", "w1", {"metadata": {"name": "w1"}, "spec": {"color": "blue"}}),
              422, "Invalid", 'widgets.example.com "w1" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
                              "must be specified for an update")
    assert e.details == {"name": "w1", "group": "example.com", "kind": "widgets", "causes": [{
        "reason": "FieldValueInvalid", "message": "Invalid value: 0x0: must be specified for an update",
        "field": "metadata.resourceVersion"}]}


def test_missing_object_is_404(store: ClusterStore) -> None:
    fails(lambda: store.get(CMS, "default", "nope"), 404, "NotFound", 'configmaps "nope" not found')
    fails(lambda: store.update(CMS, "default", "nope", {"metadata": {"name": "nope"}}), 404, "NotFound")
    fails(lambda: store.patch(CMS, "default", "nope", MERGE_PATCH, {}), 404, "NotFound")
    e = fails(lambda: store.delete(DEPLOYS, "default", "nope"), 404, "NotFound", 'deployments.apps "nope" not found')
    assert e.details == {"name": "nope", "group": "apps", "kind": "deployments"}


# ---- status, generation, no-ops --------------------------------------------------------------------
def test_main_resource_write_ignores_status(store: ClusterStore) -> None:
    d = store.create(DEPLOYS, "default", {"metadata": {"name": "d"}, "spec": {"replicas": 1},
                                          "status": {"replicas": 9}}).decode()
    assert d["status"] == {}  # create drops it too
    d["spec"]["replicas"] = 2
    d["status"] = {"replicas": 5}
    out = store.update(DEPLOYS, "default", "d", d).decode()
    assert out["spec"]["replicas"] == 2 and out["status"] == {}
    out = store.patch(DEPLOYS, "default", "d", MERGE_PATCH, {"status": {"replicas": 7}})
    assert out.decode()["status"] == {} and str(out.rv) == out.decode()["metadata"]["resourceVersion"]


def test_status_write_ignores_everything_else(store: ClusterStore, widgets) -> None:
    d = store.create(DEPLOYS, "default", {"metadata": {"name": "d"}, "spec": {"replicas": 1}}).decode()
    d["spec"]["replicas"] = 4
    d["status"] = {"replicas": 3}
    out = store.update(DEPLOYS, "default", "d", d, subresource="status").decode()
    assert out["spec"]["replicas"] == 1 and out["status"] == {"replicas": 3}
    assert out["metadata"]["generation"] == 1
    w = store.create(widgets, "default", {"metadata": {"name": "w", "labels": {"a": "1"}}, "spec": {"color": "red"},
                                          "status": {"ok": True}}).decode()
    assert "status" not in w  # a custom resource with /status: create drops .status
    w["metadata"]["labels"] = {"a": "2"}
    w["spec"]["color"] = "blue"
    w["status"] = {"ok": True}
    out = store.update(widgets, "default", "w", w, subresource="status").decode()
    assert out["metadata"]["labels"] == {"a": "1"} and out["spec"] == {"color": "red"}
    assert out["status"] == {"ok": True} and out["metadata"]["generation"] == 1
    out = store.patch(widgets, "default", "w", MERGE_PATCH, {"spec": {"color": "green"}, "status": {"ok": False}})
    assert out.decode()["spec"] == {"color": "green"} and out.decode()["status"] == {"ok": True}
    fails(lambda: store.update(DEPLOYS, "default", "d", store.get_object(DEPLOYS, "default", "d"), subresource="bogus"),
          404, "NotFound")


def test_generation_bumps_only_on_spec_changes(store: ClusterStore, widgets) -> None:
    d = store.create(DEPLOYS, "default", {"metadata": {"name": "d"}, "spec": {"replicas": 1}})
    assert d.decode()["metadata"]["generation"] == 1
    d = store.patch(DEPLOYS, "default", "d", MERGE_PATCH, {"metadata": {"labels": {"x": "y"}, "annotations": {"a": "b"}}})
    assert d.decode()["metadata"]["generation"] == 1
    d = store.patch(DEPLOYS, "default", "d", MERGE_PATCH, {"status": {"replicas": 1}}, subresource="status")
    assert d.decode()["metadata"]["generation"] == 1
    d = store.patch(DEPLOYS, "default", "d", MERGE_PATCH, {"spec": {"replicas": 3}})
    assert d.decode()["metadata"]["generation"] == 2
    body = d.decode()
    body["metadata"]["generation"] = 40  # clients cannot set it
    assert store.update(DEPLOYS, "default", "d", body).decode()["metadata"]["generation"] == 2
    cm = store.create(CMS, "default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    assert "generation" not in cm.decode()["metadata"]  # kinds without generation tracking
    w = store.create(widgets, "default", {"metadata": {"name": "w"}, "spec": {"color": "red"}})
    w = store.patch(widgets, "default", "w", MERGE_PATCH, {"status": {"ok": 1}}, subresource="status")
    assert w.decode()["metadata"]["generation"] == 1
    w = store.patch(widgets, "default", "w", MERGE_PATCH, {"spec": {"color": "blue"}})
    assert w.decode()["metadata"]["generation"] == 2


def test_no_op_update_keeps_rv_and_sends_nothing(store: ClusterStore) -> None:
    rec = store.create(CMS, "default", {"metadata": {"name": "c", "labels": {"a": "1"}}, "data": {"k": "v"}})
    w = store.watch(CMS, "default", resource_version=str(store.resource_version))
    rv = store.resource_version
    assert store.update(CMS, "default", "c", rec.decode()) is rec
    assert store.patch(CMS, "default", "c", MERGE_PATCH, {"data": {"k": "v"}}) is rec
    assert store.patch(CMS, "default", "c", JSON_PATCH, [{"op": "replace", "path": "/data/k", "value": "v"}]) is rec
    assert store.patch(CMS, "default", "c", STRATEGIC_MERGE_PATCH, {"metadata": {"labels": {"a": "1"}}}) is rec
    assert store.resource_version == rv and w.get_nowait() is None
    store.patch(CMS, "default", "c", MERGE_PATCH, {"data": {"k": "w"}})
    kind, ev = w.get_nowait()
    assert kind == "MODIFIED" and ev.rv == rv + 1 == store.resource_version


# ---- patches -------------------------------------------------------------------------------------
def test_json_patch_failed_test_is_422(store: ClusterStore) -> None:
    store.create(CMS, "default", {"metadata": {"name": "c"}, "data": {"a": "1"}})
    rv = store.resource_version
    ops = [{"op": "test", "path": "/data/a", "value": "2"}, {"op": "replace", "path": "/data/a", "value": "3"}]
    fails(lambda: store.patch(CMS, "default", "c", JSON_PATCH, ops), 422, "Invalid",
          "the server rejected our request due to an error in our request")
    ops = [{"op": "remove", "path": "/data/missing"}]
    fails(lambda: store.patch(CMS, "default", "c", JSON_PATCH, ops), 422, "Invalid")
    assert store.resource_version == rv and store.get_object(CMS, "default", "c")["data"] == {"a": "1"}
    ops = [{"op": "test", "path": "/data/a", "value": "1"}, {"op": "replace", "path": "/data/a", "value": "3"}]
    assert store.patch(CMS, "default", "c", JSON_PATCH, ops).decode()["data"] == {"a": "3"}


def test_strategic_merge_patch_on_a_custom_resource_is_415(store: ClusterStore, widgets) -> None:
    store.create(widgets, "default", {"metadata": {"name": "w"}, "spec": {"color": "red"}})
    fails(lambda: store.patch(widgets, "default", "w", STRATEGIC_MERGE_PATCH, {"spec": {"color": "blue"}}),
          415, "UnsupportedMediaType",
          "the body of the request was in an unknown format - accepted media types include: "
          "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")
    out = store.patch(widgets, "default", "w", MERGE_PATCH, {"spec": {"color": "blue"}})
    assert out.decode()["spec"] == {"color": "blue"}


def test_patch_with_stale_resource_version_is_409(store: ClusterStore) -> None:
    store.create(CMS, "default", {"metadata": {"name": "c"}})
    fails(lambda: store.patch(CMS, "default", "c", MERGE_PATCH, {"metadata": {"resourceVersion": "1"}, "data": {}}),
          409, "Conflict")


def test_server_side_apply_needs_a_field_manager_and_creates(store: ClusterStore) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    e = fails(lambda: store.patch(CMS, "default", "c", APPLY_PATCH, body), 422, "Invalid",
              'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch')
    assert e.details["causes"] == [{"reason": "FieldValueRequired", "field": "fieldManager",
                                    "message": "Required value: is required for apply patch"}]
    fails(lambda: store.get(CMS, "default", "c"), 404, "NotFound")
    rec = store.patch(CMS, "default", "c", APPLY_PATCH, body, field_manager="kubectl")
    got = store.get_object(CMS, "default", "c")
    assert got["data"] == {"a": "1"} and got["metadata"]["uid"] and rec.rv == store.resource_version
    assert [m["manager"] for m in got["metadata"].get("managedFields", [])] == ["kubectl"]


# ---- dry run ---------------------------------------------------------------------------------------
def test_dry_run_writes_nothing(store: ClusterStore) -> None:
    store.create(CMS, "default", {"metadata": {"name": "c", "finalizers": ["example.com/x"]}, "data": {"a": "1"}})
    before = store.get(CMS, "default", "c")
    w = store.watch(CMS, None, resource_version=str(store.resource_version))
    rv = store.resource_version
    made = store.create(CMS, "default", {"metadata": {"name": "d"}, "data": {}}, dry_run=True)
    assert made.decode()["metadata"]["name"] == "d" and made.decode()["metadata"]["uid"]
    changed = store.update(CMS, "default", "c", dict(before.decode(), data={"a": "2"}), dry_run=True)
    assert changed.decode()["data"] == {"a": "2"}
    store.patch(CMS, "default", "c", MERGE_PATCH, {"data": {"a": "3"}}, dry_run=True)
    rec, gone = store.delete(CMS, "default", "c", dry_run=True)
    assert not gone  # it has a finalizer
    assert store.resource_version == rv and w.get_nowait() is None
    assert store.get(CMS, "default", "c") is before
    fails(lambda: store.get(CMS, "default", "d"), 404, "NotFound")


# ---- list options ----------------------------------------------------------------------------------
LIST_OPTION_ERRORS = [
    (dict(resource_version_match="Exact"),
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"),
    (dict(resource_version_match="NotOlderThan", resource_version="1", continue_token="abc"),
     "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden when continue is provided"),
    (dict(resource_version_match="Exact", resource_version="0"),
     'resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"'),
    (dict(resource_version_match="Bogus", resource_version="1"),
     'resourceVersionMatch: Unsupported value: "Bogus": supported values: "Exact", "NotOlderThan", ""'),
]


@pytest.mark.parametrize("kwargs,message", LIST_OPTION_ERRORS)
def test_list_options_422(store: ClusterStore, kwargs: dict[str, Any], message: str) -> None:
    e = fails(lambda: store.list(CMS, "default", **kwargs), 422, "Invalid",
              f'ListOptions.meta.k8s.io "" is invalid: {message}')
    field, _, body = message.partition(": ")
    assert e.details["kind"] == "ListOptions" and e.details["group"] == "meta.k8s.io"
    reason = "FieldValueNotSupported" if "Unsupported" in body else "FieldValueForbidden"
    assert e.details["causes"] == [{"reason": reason, "message": body, "field": field}]


def test_watch_options_422(store: ClusterStore) -> None:
    prefix = 'ListOptions.meta.k8s.io "" is invalid: '
    fails(lambda: store.watch(CMS, None, resource_version="1", resource_version_match="NotOlderThan"), 422, "Invalid", prefix + "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch "
                                   "unless sendInitialEvents is provided")
    fails(lambda: store.watch(CMS, None, send_initial_events=True, allow_bookmarks=True), 422, "Invalid",
          prefix + "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                   "NotOlderThan")
    fails(lambda: store.watch(CMS, None, send_initial_events=True, resource_version_match="NotOlderThan"),
          422, "Invalid", prefix + "allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
                                   "allowWatchBookmarks to true")
    from apiserver.storage import validate_list_options
    with pytest.raises(errors.StatusError) as info:
        validate_list_options(watch=False, resource_version=None, match=None, continue_token=None,
                              send_initial_events=True, allow_bookmarks=False)
    assert info.value.message == prefix + "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"


def test_bad_continue_token_is_400(store: ClusterStore) -> None:
    for token in ("not-a-token", "eyJmb28iOjF9", encode_continue(store.resource_version + 50, "default/")):
        e = fails(lambda: store.list(CMS, "default", limit=1, continue_token=token), 400, "BadRequest")
        assert e.message.startswith("invalid continue token: continue key is not valid")


def test_resource_version_with_continue_is_400(store: ClusterStore) -> None:
    for i in range(3):
        store.create(CMS, "default", {"metadata": {"name": f"c{i}"}})
    token = store.list(CMS, "default", limit=1).continue_token
    assert token
    fails(lambda: store.list(CMS, "default", limit=1, continue_token=token, resource_version="5"), 400, "BadRequest",
          "specifying resource version is not allowed when using continue")
    assert len(store.list(CMS, "default", limit=5, continue_token=token, resource_version="0").items) == 2


def test_too_large_resource_version_is_504(store: ClusterStore) -> None:
    cur = store.resource_version
    for call in (lambda: store.list(CMS, None, resource_version=str(cur + 10)),
                 lambda: store.list(CMS, None, resource_version=str(cur + 10), resource_version_match="Exact"),
                 lambda: store.watch(CMS, None, resource_version=str(cur + 10))):
        e = fails(call, 504, "Timeout", f"Timeout: Too large resource version: {cur + 10}, current: {cur}")
        assert e.details == {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                             "retryAfterSeconds": 1}
        assert e.headers["Retry-After"] == "1"
    assert store.list(CMS, None, resource_version=str(cur)).resource_version == cur


def test_junk_resource_version_is_400(store: ClusterStore) -> None:
    fails(lambda: store.list(CMS, None, resource_version="abc"), 400, "BadRequest", 'invalid resource version: "abc"')


# ---- selectors ---------------------------------------------------------------------------------------
def test_field_selector_errors(store: ClusterStore, widgets) -> None:
    fails(lambda: store.list(PODS, None, field_selector="spec.foo=1"), 400, "BadRequest",
          "field label not supported: spec.foo")
    fails(lambda: store.list(CMS, None, field_selector="data.a=1"), 400, "BadRequest",
          '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"')
    fails(lambda: store.list(NODES, None, field_selector="metadata.namespace=x"), 400, "BadRequest",
          "field label not supported: metadata.namespace")
    fails(lambda: store.list(widgets, None, field_selector="spec.size=1"), 400, "BadRequest",
          "field label not supported: spec.size")
    fails(lambda: store.watch(PODS, None, field_selector="spec.foo=1"), 400, "BadRequest",
          "field label not supported: spec.foo")
    fails(lambda: store.list(PODS, None, field_selector="spec.nodeName"), 400, "BadRequest",
          "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'")
    # the supported ones work, including the legacy spec.host alias
    store.list(PODS, None, field_selector="spec.nodeName=n1,status.phase!=Running,spec.host=n1")
    store.list(NODES, None, field_selector="metadata.name=n1,spec.unschedulable=false")
    store.list(NAMESPACES, None, field_selector="status.phase=Active")


def test_label_selector_parse_error_is_400(store: ClusterStore) -> None:
    e = fails(lambda: store.list(CMS, None, label_selector="x in (a"), 400, "BadRequest",
              "unable to parse requirement: found '', expected: ',' or ')'")
    with pytest.raises(errors.StatusError) as info:
        LabelSelector.parse("x in (a")
    assert info.value.message == e.message
    fails(lambda: store.watch(CMS, None, label_selector="a=b=c"), 400, "BadRequest")


# ---- finalizers ----------------------------------------------------------------------------------------
def test_no_new_finalizers_on_a_terminating_object(store: ClusterStore) -> None:
    store.create(CMS, "default", {"metadata": {"name": "c", "finalizers": ["example.com/a"]}})
    rec, gone = store.delete(CMS, "default", "c")
    assert not gone
    body = rec.decode()
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/c", "example.com/b"]
    message = ('ConfigMap "c" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the '
               'object is being deleted, found new finalizers []string{"example.com/b", "example.com/c"}')
    e = fails(lambda: store.update(CMS, "default", "c", body), 422, "Invalid", message)
    assert e.details["causes"][0]["reason"] == "FieldValueForbidden"
    fails(lambda: store.patch(CMS, "default", "c", MERGE_PATCH,
                              {"metadata": {"finalizers": ["example.com/a", "example.com/b", "example.com/c"]}}),
          422, "Invalid", message)
    # removing is fine, and the last one going deletes it
    store.patch(CMS, "default", "c", MERGE_PATCH, {"metadata": {"finalizers": None}})
    fails(lambda: store.get(CMS, "default", "c"), 404, "NotFound")


def test_bad_propagation_policy_is_422(store: ClusterStore) -> None:
    store.create(CMS, "default", {"metadata": {"name": "c"}})
    e = fails(lambda: store.delete(CMS, "default", "c", propagation_policy="Sideways"), 422, "Invalid")
    assert 'Unsupported value: "Sideways"' in e.message
    store.get(CMS, "default", "c")


def test_delete_preconditions_are_409(store: ClusterStore) -> None:
    rec = store.create(CMS, "default", {"metadata": {"name": "c"}})
    uid = rec.decode()["metadata"]["uid"]
    fails(lambda: store.delete(CMS, "default", "c", preconditions={"uid": "other"}), 409, "Conflict",
          f'Operation cannot be fulfilled on configmaps "c": Precondition failed: UID in precondition: other, '
          f"UID in object meta: {uid}")
    fails(lambda: store.delete(CMS, "default", "c", preconditions={"resourceVersion": "1"}), 409, "Conflict",
          f'Operation cannot be fulfilled on configmaps "c": Precondition failed: ResourceVersion in precondition: '
          f"1, ResourceVersion in object meta: {rec.rv}")
    _, gone = store.delete(CMS, "default", "c", preconditions={"uid": uid, "resourceVersion": str(rec.rv)})
    assert gone


# ---- custom resource definitions ---------------------------------------------------------------------
def test_crd_registers_its_resource(store: ClusterStore) -> None:
    fails(lambda: store.resource("example.com", "v1", "widgets"), 404, "NotFound",
          "the server could not find the requested resource")
    crd = store.create(CRDS, None, WIDGET_CRD).decode()
    assert crd["status"]["acceptedNames"]["kind"] == "Widget"
    assert {c["type"] for c in crd["status"]["conditions"]} == {"NamesAccepted", "Established"}
    w = store.resource("example.com", "v1", "widgets")
    assert (w.kind, w.namespaced, w.has_status, w.short_names, w.custom) == ("Widget", True, True, ("wd",), True)
    assert w.api_version == "example.com/v1"
    store.create(w, "default", {"metadata": {"name": "red"}, "spec": {"color": "red"}})
    store.create(w, "default", {"metadata": {"name": "blue"}, "spec": {"color": "blue"}})
    assert [o.name for o in store.list(w, None, field_selector="spec.color=blue").items] == ["blue"]
    store.create(CRDS, None, GADGET_CRD)
    g = store.resource("example.com", "v1", "gadgets")
    assert not g.namespaced and not g.has_status
    rec = store.create(g, None, {"metadata": {"name": "g1", "namespace": "ignored"}, "status": {"kept": True}})
    assert rec.key == "g1" and "namespace" not in rec.decode()["metadata"] and rec.decode()["status"] == {"kept": True}
    fails(lambda: store.list(g, None, field_selector="metadata.namespace=x"), 400, "BadRequest",
          "field label not supported: metadata.namespace")


def test_crd_name_must_match_its_spec(store: ClusterStore) -> None:
    bad = dict(WIDGET_CRD, metadata={"name": "wrong.example.com"})
    e = fails(lambda: store.create(CRDS, None, bad), 422, "Invalid")
    assert e.message == ('CustomResourceDefinition.apiextensions.k8s.io "wrong.example.com" is invalid: '
                         'metadata.name: Invalid value: "wrong.example.com": must be spec.names.plural+"."+spec.group')


def test_deleting_a_crd_removes_its_resource_and_objects(store: ClusterStore, widgets) -> None:
    store.create(widgets, "default", {"metadata": {"name": "a"}})
    store.create(widgets, "default", {"metadata": {"name": "b", "finalizers": ["example.com/hold"]}})
    w = store.watch(widgets, None, resource_version=str(store.resource_version))
    _, gone = store.delete(CRDS, None, "widgets.example.com")
    assert not gone  # b holds the CRD's cleanup finalizer in place
    crd = store.get_object(CRDS, None, "widgets.example.com")
    assert crd["metadata"]["finalizers"] == ["customresourcecleanup.apiextensions.k8s.io"]
    assert [o.name for o in store.list(widgets, None).items] == ["b"]
    store.patch(widgets, "default", "b", MERGE_PATCH, {"metadata": {"finalizers": None}})
    fails(lambda: store.get(CRDS, None, "widgets.example.com"), 404, "NotFound")
    fails(lambda: store.resource("example.com", "v1", "widgets"), 404, "NotFound")
    assert store.storage.count(widgets) == 0
    kinds = []
    while (item := w.get_nowait()) is not None:
        kinds.append((item[0], item[1].obj.name))
    assert kinds == [("DELETED", "a"), ("MODIFIED", "b"), ("DELETED", "b")]
    assert w.closed  # the resource is gone: its watchers end
    store.create(CRDS, None, WIDGET_CRD)  # and it can come back, empty
    assert store.list(store.resource("example.com", "v1", "widgets"), None).items == []
