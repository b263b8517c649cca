"""Raw HTTP against a served cluster: every error shape, no 500 for bad input, watch framing, admin API.

The cluster under test is served at a path prefix (``/clusters/e1``); the server runs with a short
bookmark interval and a small watch history so bookmarks and 410s come quickly.
"""
from __future__ import annotations

import json
import time
from typing import Any, Iterator

import httpx
import pytest

from apiserver.http.handlers import HttpConfig
from apiserver.kubeconfig import cluster_url
from apiserver.multiplexer import Multiplexer
from apiserver.server import Server
from apiserver.storage import StoreConfig

HISTORY = 40
CM_PATH = "/api/v1/namespaces/default/configmaps"
CRD_GROUP = "errs.kubesim.io"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    mux = Multiplexer(config=StoreConfig(history_events=HISTORY))
    mux.create("e1")
    mux.create("default")  # also served at the root
    srv = Server(mux, "127.0.0.1", 0, http_config=HttpConfig(bookmark_interval=0.2)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster_url(server.url, "e1"), timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def root(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


@pytest.fixture(scope="module")
def crd(http: httpx.Client) -> str:
    """A namespaced CRD with a status subresource; returns the collection path of its resources."""
    body = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{CRD_GROUP}"},
        "spec": {"group": CRD_GROUP, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }
    r = http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=body)
    assert r.status_code == 201, r.text
    path = f"/apis/{CRD_GROUP}/v1/namespaces/default/gadgets"
    r = http.post(path, json={"apiVersion": f"{CRD_GROUP}/v1", "kind": "Gadget", "metadata": {"name": "g1"},
                              "spec": {"size": 1}})
    assert r.status_code == 201, r.text
    return path


def assert_status(r: httpx.Response, code: int, reason: str | None = None) -> dict[str, Any]:
    """A kube-apiserver error: HTTP code == body code, a full Status, Content-Type exactly application/json."""
    assert r.status_code == code, (r.status_code, r.text)
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert body["kind"] == "Status", body
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["reason"], str) and body["reason"]
    assert body["code"] == code
    if reason is not None:
        assert body["reason"] == reason, body
    return body


def make_cm(http: httpx.Client, name: str, **labels: str) -> dict[str, Any]:
    r = http.post(CM_PATH, json={"metadata": {"name": name, "labels": labels}, "data": {"k": "v"}})
    assert r.status_code == 201, r.text
    return r.json()


def current_rv(http: httpx.Client) -> str:
    return http.get(CM_PATH, params={"limit": "1"}).json()["metadata"]["resourceVersion"]


def watch_lines(http: httpx.Client, params: dict[str, str], *, max_lines: int = 1000,
                path: str = CM_PATH) -> tuple[list[dict[str, Any]], float]:
    """Read a watch to its end (or ``max_lines``): the parsed events and the elapsed time."""
    events: list[dict[str, Any]] = []
    start = time.monotonic()
    with http.stream("GET", path, params={"watch": "true", **params}) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/json"
        for line in r.iter_lines():
            if not line:
                continue
            events.append(json.loads(line))
            if len(events) >= max_lines:
                break
    return events, time.monotonic() - start


# ---- error shapes ---------------------------------------------------------------------------

def test_unknown_cluster_is_a_404_status(root: httpx.Client) -> None:
    body = assert_status(root.get("/clusters/no-such-cluster/api/v1/pods"), 404, "NotFound")
    assert "no-such-cluster" in body["message"]
    assert_status(root.get("/clusters/no-such-cluster/version"), 404, "NotFound")


@pytest.mark.parametrize("path", [
    "/nonsense", "/api/v2", "/api/v1/foos", "/apis/nope.example.com/v1/things",
    "/api/v1/namespaces/default/foos/x", "/api/v1/namespaces/default/configmaps/x/status",
    "/apis/apps/v1/namespaces/default/deployments/x/bogus", "/api/v1/namespaces/default/nodes",
])
def test_unknown_paths_are_404_status(http: httpx.Client, path: str) -> None:
    assert_status(http.get(path), 404, "NotFound")


def test_missing_object_404_names_the_resource(http: httpx.Client) -> None:
    body = assert_status(http.get(CM_PATH + "/absent"), 404, "NotFound")
    assert body["message"] == 'configmaps "absent" not found'
    assert body["details"]["kind"] == "configmaps" and body["details"]["name"] == "absent"
    body = assert_status(http.get("/apis/apps/v1/namespaces/default/deployments/absent"), 404, "NotFound")
    assert body["message"] == 'deployments.apps "absent" not found'


def test_malformed_json_and_yaml_are_400(http: httpx.Client) -> None:
    assert_status(http.post(CM_PATH, content=b'{"metadata": {"name": ', headers={"Content-Type": "application/json"}),
                  400, "BadRequest")
    assert_status(http.post(CM_PATH, content=b"metadata: [unclosed", headers={"Content-Type": "application/yaml"}),
                  400, "BadRequest")
    assert_status(http.post(CM_PATH, content=b"", headers={"Content-Type": "application/json"}), 400, "BadRequest")
    make_cm(http, "malformed-target")
    assert_status(http.patch(CM_PATH + "/malformed-target", content=b"{oops",
                             headers={"Content-Type": "application/merge-patch+json"}), 400, "BadRequest")
    assert_status(http.put(CM_PATH + "/malformed-target", content=b"[1, 2",
                           headers={"Content-Type": "application/json"}), 400, "BadRequest")


def test_bodies_in_encodings_we_cannot_decode_are_415(http: httpx.Client, crd: str) -> None:
    """CBOR is not decoded at all; protobuf only for built-in kinds (kube-apiserver has no protobuf
    for custom resources either). Built-in kinds in protobuf: test_kubectl_protobuf.py."""
    pb = b"k8s\x00\n\x0f\n\x02v1\x12\tConfigMap"
    for path, ctype in ((CM_PATH, "application/cbor"), (crd, "application/vnd.kubernetes.protobuf")):
        body = assert_status(http.post(path, content=pb, headers={"Content-Type": ctype}), 415,
                             "UnsupportedMediaType")
        assert "application/json" in body["message"]
    # the same protobuf body for configmaps is decoded: a ConfigMap with no name, refused as JSON would be
    body = assert_status(http.post(CM_PATH, content=pb, headers={"Content-Type": "application/vnd.kubernetes.protobuf"}),
                         422, "Invalid")
    assert body["details"]["causes"][0]["field"] == "metadata.name"


def test_body_over_3_mib_is_413(http: httpx.Client) -> None:
    big = b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (3 * 1024 * 1024) + b'"}}'
    assert_status(http.post(CM_PATH, content=big, headers={"Content-Type": "application/json"}),
                  413, "RequestEntityTooLarge")
    assert http.get(CM_PATH + "/big").status_code == 404


def test_wrong_method_is_405(http: httpx.Client) -> None:
    assert_status(http.put(CM_PATH, json={"metadata": {"name": "x"}}), 405, "MethodNotAllowed")
    assert_status(http.patch(CM_PATH, json={}, headers={"Content-Type": "application/merge-patch+json"}),
                  405, "MethodNotAllowed")
    assert_status(http.post(CM_PATH + "/x", json={"metadata": {"name": "x"}}), 405, "MethodNotAllowed")
    assert_status(http.delete("/api/v1/namespaces"), 405, "MethodNotAllowed")  # no deletecollection on namespaces


def test_unsupported_patch_type_is_415(http: httpx.Client) -> None:
    make_cm(http, "patch-types")
    for ctype in ("text/plain", "application/json", "application/xml"):
        body = assert_status(http.patch(CM_PATH + "/patch-types", content=b'{"data":{"a":"b"}}',
                                        headers={"Content-Type": ctype}), 415, "UnsupportedMediaType")
        assert "application/merge-patch+json" in body["message"]


def test_strategic_merge_patch_on_a_custom_resource_is_415(http: httpx.Client, crd: str) -> None:
    body = assert_status(http.patch(crd + "/g1", content=b'{"spec":{"size":2}}',
                                    headers={"Content-Type": "application/strategic-merge-patch+json"}),
                         415, "UnsupportedMediaType")
    assert "application/strategic-merge-patch+json" not in body["message"]
    assert "application/merge-patch+json" in body["message"]
    r = http.patch(crd + "/g1", content=b'{"spec":{"size":2}}', headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200 and r.json()["spec"]["size"] == 2


BAD_QUERIES = [
    {"limit": "abc"}, {"limit": "-1"}, {"limit": "1e3"}, {"resourceVersion": "abc"}, {"resourceVersion": "-5"},
    {"resourceVersion": "1", "resourceVersionMatch": "Sometimes"}, {"resourceVersionMatch": "Exact"},
    {"resourceVersion": "0", "resourceVersionMatch": "Exact"},
    {"labelSelector": "a b"}, {"labelSelector": "a in (x"}, {"labelSelector": "=x"}, {"labelSelector": "!!"},
    {"labelSelector": "a>b"}, {"labelSelector": "a,,b"}, {"fieldSelector": "metadata.name"},
    {"fieldSelector": "spec.nope=1"}, {"fieldSelector": "=="}, {"fieldSelector": "metadata.name in (a)"},
    {"continue": "garbage"}, {"continue": "!!!"}, {"continue": "eyJ2IjoxfQ"}, {"limit": "2", "continue": "%%%"},
    {"continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6OTk5OTk5OSwic3RhcnQiOiJ4In0"},
    {"sendInitialEvents": "true"}, {"timeoutSeconds": "soon", "watch": "true"},
    {"watch": "true", "resourceVersion": "zzz"}, {"watch": "true", "labelSelector": "a b"},
    {"watch": "true", "resourceVersionMatch": "NotOlderThan"},
    {"watch": "true", "sendInitialEvents": "true"}, {"watch": "true", "resourceVersion": "99999999"},
    {"dryRun": "Sometimes"},
]


@pytest.mark.parametrize("params", BAD_QUERIES, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()))
def test_bad_query_values_are_4xx_status_never_500(http: httpx.Client, params: dict[str, str]) -> None:
    r = http.get(CM_PATH, params=params)
    if r.status_code == 200 and params.get("watch"):
        pytest.fail(f"a bad watch was accepted: {r.text[:200]}")
    if r.status_code == 200:
        # ignoring an unknown parameter value is acceptable only where upstream ignores it too
        assert set(params) <= {"dryRun"}, r.text[:200]
        return
    assert 400 <= r.status_code < 500 or r.status_code == 504, r.text
    assert_status(r, r.status_code)


def test_specific_bad_query_messages(http: httpx.Client) -> None:
    body = assert_status(http.get(CM_PATH, params={"resourceVersion": "abc"}), 400, "BadRequest")
    assert "invalid resource version" in body["message"]
    body = assert_status(http.get(CM_PATH, params={"continue": "garbage"}), 400, "BadRequest")
    assert "continue" in body["message"]
    body = assert_status(http.get(CM_PATH, params={"fieldSelector": "spec.nope=1"}), 400, "BadRequest")
    assert body["message"] == '"spec.nope" is not a known field selector: only "metadata.name", "metadata.namespace"'
    body = assert_status(http.get("/api/v1/pods", params={"fieldSelector": "spec.nope=1"}), 400, "BadRequest")
    assert body["message"] == "field label not supported: spec.nope"
    assert_status(http.get(CM_PATH, params={"resourceVersionMatch": "Exact"}), 422, "Invalid")
    assert_status(http.get(CM_PATH, params={"resourceVersion": "99999999"}), 504, "Timeout")


BAD_BODIES: list[tuple[str, bytes]] = [
    ("application/json", b"[]"), ("application/json", b'"a string"'), ("application/json", b"42"),
    ("application/json", b"null"), ("application/json", b"true"), ("application/yaml", b"- a\n- b\n"),
    ("application/yaml", b"just a scalar"), ("application/json", b'{"metadata": "not an object"}'),
    ("application/json", b'{"metadata": {"name": 12}}'), ("application/json", b'{"metadata": {"name": "Bad_Name!"}}'),
    ("application/json", b'{"metadata": {"labels": "x"}, "data": {}}'),
    ("application/json", b'{"metadata": {"name": "lbl", "labels": {"bad key!": "v"}}}'),
    ("application/json", b'{"metadata": {"name": "ann", "annotations": {"a": 1}}}'),
    ("application/json", b'{"metadata": {"name": "d1"}, "data": "not a map"}'),
    ("application/json", b'{"metadata": {"name": "d2"}, "data": {"k": 5}}'),
    ("application/json", b'{"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "wrongkind"}}'),
    ("application/json", b'{"kind": "ConfigMap", "apiVersion": "apps/v1", "metadata": {"name": "wrongapi"}}'),
    ("application/json", b'{"kind": 5, "metadata": {"name": "k5"}}'),
    ("application/json", b'{"apiVersion": ["v1"], "metadata": {"name": "av"}}'),
    ("application/json", b'{"metadata": {"name": "nsx", "namespace": "other"}}'),
    ("application/json", b'{"metadata": {"name": "rv", "resourceVersion": "12"}}'),
    ("application/json", b'{"metadata": {"generateName": 7}}'),
    ("application/json", b'{"metadata": {"name": "own", "ownerReferences": "x"}}'),
    ("application/json", b'{"metadata": {"name": "fin", "finalizers": [1, 2]}}'),
    ("application/json", b"\xff\xfe\x00garbage"),
    ("application/json", b'{"metadata": {"name": "' + b"n" * 300 + b'"}}'),
]


@pytest.mark.parametrize("ctype,body", BAD_BODIES, ids=lambda v: v if isinstance(v, str) else v[:40].decode("latin-1"))
def test_bad_create_bodies_never_500(http: httpx.Client, ctype: str, body: bytes) -> None:
    r = http.post(CM_PATH, content=body, headers={"Content-Type": ctype})
    assert r.status_code != 500 or b"resourceVersion should not be set" in r.content, r.text
    if r.status_code >= 400:
        assert_status(r, r.status_code)
    else:  # accepted: clean up so later tests are not affected
        http.delete(CM_PATH + "/" + r.json()["metadata"]["name"])


def test_wrong_kind_and_api_version_in_body_are_400(http: httpx.Client) -> None:
    body = assert_status(http.post(CM_PATH, json={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "wk"}}),
                         400, "BadRequest")
    assert "kind" in body["message"]
    body = assert_status(http.post(CM_PATH, json={"kind": "ConfigMap", "apiVersion": "apps/v1",
                                                  "metadata": {"name": "wa"}}), 400, "BadRequest")
    assert "apps/v1" in body["message"]


BAD_WRITES: list[tuple[str, str, str, bytes]] = [
    ("PUT", "/bw", "application/json", b"[]"),
    ("PUT", "/bw", "application/json", b'{"metadata": {"name": "other"}}'),
    ("PUT", "/bw", "application/json", b'{"metadata": {"name": "bw", "resourceVersion": "abc"}}'),
    ("PUT", "/bw", "application/json", b'{"metadata": {"name": "bw", "resourceVersion": 3}}'),
    ("PUT", "/bw", "application/json", b'{"kind": "Pod", "metadata": {"name": "bw"}}'),
    ("PATCH", "/bw", "application/merge-patch+json", b"[]"),
    ("PATCH", "/bw", "application/merge-patch+json", b'"str"'),
    ("PATCH", "/bw", "application/merge-patch+json", b'{"metadata": null}'),
    ("PATCH", "/bw", "application/merge-patch+json", b'{"metadata": {"name": "renamed"}}'),
    ("PATCH", "/bw", "application/merge-patch+json", b'{"metadata": {"labels": {"bad key!": "x"}}}'),
    ("PATCH", "/bw", "application/json-patch+json", b'{"op": "add"}'),
    ("PATCH", "/bw", "application/json-patch+json", b'[{"op": "explode", "path": "/data"}]'),
    ("PATCH", "/bw", "application/json-patch+json", b'[{"op": "add", "path": "no-slash", "value": 1}]'),
    ("PATCH", "/bw", "application/json-patch+json", b'[{"op": "remove", "path": "/data/missing"}]'),
    ("PATCH", "/bw", "application/json-patch+json", b'[{"op": "test", "path": "/data/k", "value": "no"}]'),
    ("PATCH", "/bw", "application/json-patch+json", b'[{"op": "replace", "path": "/metadata", "value": 5}]'),
    ("PATCH", "/bw", "application/json-patch+json", b"[1, 2]"),
    ("PATCH", "/bw", "application/strategic-merge-patch+json", b"[]"),
    ("PATCH", "/bw", "application/strategic-merge-patch+json", b'{"data": {"$patch": "bogus"}}'),
    ("PATCH", "/bw", "application/strategic-merge-patch+json", b'{"metadata": {"$setElementOrder/finalizers": 3}}'),
    ("PATCH", "/bw", "application/apply-patch+yaml", b"metadata: {name: bw}"),  # no fieldManager
    ("PATCH", "/bw?fieldManager=t", "application/apply-patch+yaml", b"- a"),
    ("PATCH", "/bw?fieldManager=t", "application/apply-patch+yaml", b"{{{"),
    ("DELETE", "/bw", "application/json", b"[1]"),
    ("DELETE", "/bw", "application/json", b'{"gracePeriodSeconds": "soon"}'),
    ("DELETE", "/bw", "application/json", b'{"propagationPolicy": "Sideways"}'),
    ("DELETE", "/bw", "application/json", b'{"preconditions": {"uid": "not-the-uid"}}'),
    ("DELETE", "/bw", "application/json", b'{"preconditions": "x"}'),
    ("DELETE", "/bw?gracePeriodSeconds=x", "application/json", b""),
    ("DELETE", "", "application/json", b'{"propagationPolicy": 5}'),
]


@pytest.mark.parametrize("method,suffix,ctype,body", BAD_WRITES,
                         ids=lambda v: v if isinstance(v, str) else v[:40].decode("latin-1"))
def test_bad_writes_never_500(http: httpx.Client, method: str, suffix: str, ctype: str, body: bytes) -> None:
    if http.get(CM_PATH + "/bw").status_code == 404:
        make_cm(http, "bw")
    before = http.get(CM_PATH + "/bw").json()
    r = http.request(method, CM_PATH + suffix, content=body, headers={"Content-Type": ctype})
    assert r.status_code >= 400 and r.status_code != 500, (r.status_code, r.text)
    assert_status(r, r.status_code)
    after = http.get(CM_PATH + "/bw")
    assert after.status_code == 200 and after.json()["metadata"]["resourceVersion"] == \
        before["metadata"]["resourceVersion"]


def test_conflict_and_already_exists_shapes(http: httpx.Client) -> None:
    obj = make_cm(http, "cas")
    body = assert_status(http.post(CM_PATH, json={"metadata": {"name": "cas"}}), 409, "AlreadyExists")
    assert body["message"] == 'configmaps "cas" already exists'
    assert body["details"] == {"name": "cas", "kind": "configmaps"}
    assert http.put(CM_PATH + "/cas", json={**obj, "data": {"k": "v2"}}).status_code == 200
    body = assert_status(http.put(CM_PATH + "/cas", json={**obj, "data": {"k": "v3"}}), 409, "Conflict")
    assert body["message"].startswith('Operation cannot be fulfilled on configmaps "cas": the object has been modified')


# ---- non-resource endpoints -------------------------------------------------------------------

def test_version_and_health_endpoints(http: httpx.Client, root: httpx.Client) -> None:
    for client in (http, root):
        r = client.get("/version")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        v = r.json()
        for key in ("major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
                    "compiler", "platform"):
            assert key in v, key
        assert v["gitVersion"].startswith(f"v{v['major']}.{v['minor'].rstrip('+')}")
        for path in ("/healthz", "/readyz", "/livez"):
            r = client.get(path)
            assert r.status_code == 200 and r.text == "ok", (path, r.text)


# ---- watch framing ---------------------------------------------------------------------------

def test_watch_headers_arrive_before_any_event(http: httpx.Client) -> None:
    rv = current_rv(http)
    start = time.monotonic()
    with http.stream("GET", CM_PATH, params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"}) as r:
        assert time.monotonic() - start < 2.0  # the stream is quiet, yet the headers are here
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"


def test_watch_is_one_json_object_per_line(http: httpx.Client) -> None:
    rv = current_rv(http)
    for i in range(3):
        make_cm(http, f"framing-{i}", app="framing")
    with http.stream("GET", CM_PATH, params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "1",
                                             "labelSelector": "app=framing"}) as r:
        raw = b"".join(r.iter_bytes())
    lines = raw.split(b"\n")
    assert lines[-1] == b""  # every event ends with a newline
    events = [json.loads(line) for line in lines[:-1]]
    assert [e["type"] for e in events] == ["ADDED"] * 3
    assert [e["object"]["metadata"]["name"] for e in events] == [f"framing-{i}" for i in range(3)]
    for e in events:
        assert set(e) == {"type", "object"}
        assert e["object"]["kind"] == "ConfigMap" and e["object"]["apiVersion"] == "v1"


def test_watch_from_an_expired_resource_version_gets_one_410_error_event(http: httpx.Client) -> None:
    rv = current_rv(http)
    for i in range(HISTORY + 5):
        make_cm(http, f"churn-{i}")
    events, elapsed = watch_lines(http, {"resourceVersion": rv, "timeoutSeconds": "10"})
    assert elapsed < 5  # the stream closes right after the error
    assert len(events) == 1, events
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["apiVersion"] == "v1"
    assert status["code"] == 410 and status["reason"] == "Expired" and status["status"] == "Failure"
    assert status["message"].startswith(f"too old resource version: {rv} (")
    # a list at that resourceVersion is gone too (Exact), while a fresh list works
    assert_status(http.get(CM_PATH, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"}), 410, "Expired")
    assert http.get(CM_PATH).status_code == 200


def test_watch_list_ends_initial_events_with_the_annotated_bookmark(http: httpx.Client) -> None:
    for i in range(3):
        make_cm(http, f"wl-{i}", app="watchlist")
    events: list[dict[str, Any]] = []
    with http.stream("GET", CM_PATH, params={
            "watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true", "resourceVersion": "", "timeoutSeconds": "5",
            "labelSelector": "app=watchlist"}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line:
                events.append(json.loads(line))
                if events[-1]["type"] == "BOOKMARK":
                    break
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "ADDED", "BOOKMARK"]
    bm = events[-1]["object"]
    assert bm["kind"] == "ConfigMap" and bm["apiVersion"] == "v1"
    assert bm["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bm["metadata"]["resourceVersion"]) >= max(int(e["object"]["metadata"]["resourceVersion"])
                                                         for e in events[:-1])


def test_bookmarks_arrive_on_a_quiet_watch_when_asked(http: httpx.Client) -> None:
    rv = current_rv(http)
    events, _ = watch_lines(http, {"resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "3"},
                            max_lines=3)
    assert len(events) == 3
    for e in events:
        assert e["type"] == "BOOKMARK"
        assert e["object"]["kind"] == "ConfigMap"
        assert int(e["object"]["metadata"]["resourceVersion"]) >= int(rv)
    # and none without allowWatchBookmarks
    events, _ = watch_lines(http, {"resourceVersion": current_rv(http), "timeoutSeconds": "1"})
    assert events == []


def test_watch_ends_cleanly_at_timeout_seconds(http: httpx.Client) -> None:
    rv = current_rv(http)
    events, elapsed = watch_lines(http, {"resourceVersion": rv, "timeoutSeconds": "1"})
    assert events == []
    assert 0.8 <= elapsed < 3.5


def test_watch_sees_live_events_and_selector_membership_changes(http: httpx.Client) -> None:
    make_cm(http, "member", team="a")
    rv = current_rv(http)
    seen: list[tuple[str, str]] = []
    with http.stream("GET", CM_PATH, params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "5",
                                             "labelSelector": "team=a"}) as r:
        http.patch(CM_PATH + "/member", json={"metadata": {"labels": {"team": "b"}}},
                   headers={"Content-Type": "application/merge-patch+json"})
        http.patch(CM_PATH + "/member", json={"metadata": {"labels": {"team": "a"}}},
                   headers={"Content-Type": "application/merge-patch+json"})
        http.delete(CM_PATH + "/member")
        for line in r.iter_lines():
            if line:
                e = json.loads(line)
                seen.append((e["type"], e["object"]["metadata"]["name"]))
                if len(seen) == 3:
                    break
    assert seen == [("DELETED", "member"), ("ADDED", "member"), ("DELETED", "member")]


# ---- admin API --------------------------------------------------------------------------------

def test_admin_api_lists_creates_deletes_clusters_with_counts(root: httpx.Client, server: Server) -> None:
    r = root.get("/kubesim/v1/clusters")
    assert r.status_code == 200
    names = {c["name"] for c in r.json()}
    assert "e1" in names and "adm" not in names
    r = root.post("/kubesim/v1/clusters", json={"name": "adm"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["name"] == "adm" and created["objects"] == 4  # the four bootstrap namespaces
    assert root.post("/kubesim/v1/clusters", json={"name": "adm"}).status_code == 409
    assert root.post("/kubesim/v1/clusters", json={"name": "Bad_Name"}).status_code == 422
    # the new cluster is served at once, at its own path prefix
    adm = cluster_url(server.url, "adm")
    r = httpx.post(adm + CM_PATH, json={"metadata": {"name": "x"}})
    assert r.status_code == 201
    detail = root.get("/kubesim/v1/clusters/adm").json()
    assert detail["objects"] == 5 and detail["resources"]["configmaps"] == 1
    assert detail["resourceVersion"] == int(r.json()["metadata"]["resourceVersion"])
    listed = {c["name"]: c for c in root.get("/kubesim/v1/clusters").json()}
    assert listed["adm"]["objects"] == 5
    r = root.delete("/kubesim/v1/clusters/adm")
    assert r.status_code == 200 and r.json()["name"] == "adm"
    assert root.get("/kubesim/v1/clusters/adm").status_code == 404
    assert root.delete("/kubesim/v1/clusters/adm").status_code == 404
    assert_status(httpx.get(adm + CM_PATH), 404, "NotFound")
