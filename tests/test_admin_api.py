"""The admin API's fault routes over HTTP (read, replace, add, toggle, remove rules; the fault log;
compaction; offline clusters), and schemathesis against the admin's own OpenAPI document."""
from __future__ import annotations

import contextlib
import time
from typing import Any, Iterator

import httpx
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from apiserver.faults import FaultPlan
from apiserver.multiplexer import Multiplexer
from apiserver.server import Server, build_app

CM = "/api/v1/namespaces/default/configmaps"
FAULTS = "/kubesim/v1/faults"

PLAN = {"seed": 5, "rules": [
    {"name": "throttle-creates", "match": {"verbs": ["create"], "resources": ["configmaps"]},
     "error": {"code": 429, "retryAfterSeconds": 2}},
    {"name": "slow-lists", "match": {"clusters": ["c*"], "verbs": ["list"]}, "latency": {"fixed": "1ms"}},
], "compaction": {"every": "10m"}, "storage": {"latency": {"fixed": "0ms"}}}


@contextlib.contextmanager
def serve(plan: dict[str, Any] | None = None) -> Iterator[tuple[Server, httpx.Client]]:
    mux = Multiplexer()
    for c in ("c1", "c2"):
        mux.create(c)
    srv = Server(mux, "127.0.0.1", 0, faults=FaultPlan.from_dict(plan or {}, "plan.yaml", clock=mux.clock)).start()
    try:
        with httpx.Client(base_url=srv.url, timeout=10) as h:
            yield srv, h
    finally:
        srv.stop()


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def test_read_and_replace_the_plan() -> None:
    with serve(PLAN) as (srv, h):
        r = h.get(FAULTS)
        assert r.status_code == 200
        doc = r.json()
        assert doc == srv.app.faults.to_dict()
        assert doc["seed"] == 5 and [x["name"] for x in doc["rules"]] == ["throttle-creates", "slow-lists"]
        assert doc["rules"][0]["error"] == {"code": 429, "probability": 1.0, "retryAfterSeconds": 2}
        assert doc["compaction"] == {"every": "600s"} and doc["storage"] == {"latency": {"fixed": "0ms"}}
        assert FaultPlan.from_dict(doc, "round trip").to_dict() == doc  # what GET gives, PUT takes
        assert h.post(f"/clusters/c1{CM}", json=cm("a")).status_code == 429

        new = {"seed": 9, "rules": [{"name": "broken-gets", "match": {"verbs": ["get"]}, "error": {"code": 503}}]}
        r = h.put(FAULTS, json=new)
        assert r.status_code == 200 and r.json() == {"seed": 9, "rules": [
            {"name": "broken-gets", "match": {"verbs": ["get"]}, "enabled": True,
             "error": {"code": 503, "probability": 1.0, "retryAfterSeconds": 0}}]}
        assert h.get(FAULTS).json() == r.json()
        assert srv.app.faults.injected == {}  # counts start again with the new plan
        assert h.post(f"/clusters/c1{CM}", json=cm("a")).status_code == 201  # the old rule is gone
        assert h.get(f"/clusters/c1{CM}/a").status_code == 503  # the new one is in force
        assert h.get(f"/clusters/c1{CM}").status_code == 200

        bad = {"rules": [{"name": "x", "latency": {"p50": "5ms", "p99": "1ms"}}]}
        r = h.put(FAULTS, json=bad)
        assert r.status_code == 422
        assert r.json()["detail"] == "request body: rule 'x': latency.p99: p99 must not be below p50"
        assert h.get(FAULTS).json()["seed"] == 9  # unchanged
        assert h.put(FAULTS, json=[1, 2]).status_code == 422
        assert h.put(FAULTS, json={"seed": "nine"}).status_code == 422

        assert h.put(FAULTS, json={}).json() == {"seed": 0, "rules": []}  # an empty plan clears everything
        assert h.get(f"/clusters/c1{CM}/a").status_code == 200


def test_add_get_toggle_and_remove_a_rule() -> None:
    with serve() as (srv, h):
        rule = {"name": "c2-writes", "match": {"clusters": ["c2"], "verbs": ["create"]},
                "error": {"code": 500, "message": "disk full"}}
        r = h.post(f"{FAULTS}/rules", json=rule)
        assert r.status_code == 201
        assert r.json() == {"name": "c2-writes", "match": {"clusters": ["c2"], "verbs": ["create"]}, "enabled": True,
                            "error": {"code": 500, "probability": 1.0, "retryAfterSeconds": 0, "message": "disk full"}}
        assert h.get(f"{FAULTS}/rules/c2-writes").json() == r.json()
        assert [x["name"] for x in h.get(FAULTS).json()["rules"]] == ["c2-writes"]
        r = h.post(f"/clusters/c2{CM}", json=cm("a"))
        assert r.status_code == 500 and r.json()["message"] == "Internal error occurred: disk full"
        assert h.post(f"/clusters/c1{CM}", json=cm("a")).status_code == 201

        assert h.post(f"{FAULTS}/rules", json=rule).status_code == 409  # names are unique
        r = h.post(f"{FAULTS}/rules", json={"name": "bad", "error": {"code": 418}})
        assert r.status_code == 422 and r.json()["detail"].startswith("request body: rule 'bad': error.code:")
        r = h.post(f"{FAULTS}/rules", json={"name": "two", "unreachable": {}, "timeout": {}})
        assert r.status_code == 422 and "needs exactly one action" in r.json()["detail"]

        r = h.patch(f"{FAULTS}/rules/c2-writes", json={"enabled": False})
        assert r.status_code == 200 and r.json()["enabled"] is False
        assert h.post(f"/clusters/c2{CM}", json=cm("a")).status_code == 201  # off: no fault
        assert h.get(FAULTS).json()["rules"][0]["enabled"] is False
        assert h.patch(f"{FAULTS}/rules/c2-writes", json={"enabled": True}).json()["enabled"] is True
        assert h.post(f"/clusters/c2{CM}", json=cm("b")).status_code == 500  # on again
        assert h.patch(f"{FAULTS}/rules/c2-writes", json={"enabled": "maybe"}).status_code == 422
        assert h.patch(f"{FAULTS}/rules/nope", json={"enabled": True}).status_code == 404

        r = h.delete(f"{FAULTS}/rules/c2-writes")
        assert r.status_code == 200 and r.json()["name"] == "c2-writes"
        assert h.get(f"{FAULTS}/rules/c2-writes").status_code == 404
        assert h.delete(f"{FAULTS}/rules/c2-writes").status_code == 404
        assert h.get(FAULTS).json()["rules"] == []
        assert h.post(f"/clusters/c2{CM}", json=cm("b")).status_code == 201
        assert srv.app.faults.injected == {("c2-writes", "error"): 2}


def test_fault_log_is_json_lines_and_counts() -> None:
    with serve(PLAN) as (srv, h):
        t0 = time.time()
        for i in range(3):
            r = h.post(f"/clusters/c1{CM}", json=cm(f"x{i}"), headers={"User-Agent": f"tester/{i}"})
            assert r.status_code == 429
        assert h.get(f"/clusters/c2{CM}", headers={"User-Agent": "lister"}).status_code == 200
        assert h.get("/clusters/c2/api/v1/nodes").status_code == 200
        r = h.get(f"{FAULTS}/log")
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        assert r.text.endswith("\n")
        entries = [orjson.loads(line) for line in r.text.splitlines()]
        assert len(entries) == 5
        for e in entries:
            assert set(e) == {"time", "rule", "fault", "request"}
            assert t0 - 1 <= e["time"] <= time.time() + 1  # wall-clock seconds
            assert set(e["request"]) == {"cluster", "verb", "resource", "namespace", "userAgent"}
        assert [(e["rule"], e["fault"]) for e in entries] == [("throttle-creates", "error")] * 3 + [
            ("slow-lists", "latency")] * 2
        assert entries[0]["request"] == {"cluster": "c1", "verb": "create", "resource": "configmaps",
                                         "namespace": "default", "userAgent": "tester/0"}
        assert entries[3]["request"] == {"cluster": "c2", "verb": "list", "resource": "configmaps",
                                         "namespace": "default", "userAgent": "lister"}
        assert entries[4]["request"]["resource"] == "nodes" and entries[4]["request"]["namespace"] == ""
        last = [orjson.loads(x) for x in h.get(f"{FAULTS}/log", params={"limit": 2}).text.splitlines()]
        assert last == entries[-2:]
        assert h.get(f"{FAULTS}/log", params={"limit": 0}).status_code == 422
        assert h.get(f"{FAULTS}/counts").json() == [
            {"rule": "slow-lists", "fault": "latency", "count": 2},
            {"rule": "throttle-creates", "fault": "error", "count": 3}]


def watch_lines(h: httpx.Client, cluster: str, rv: str) -> list[dict[str, Any]]:
    r = h.get(f"/clusters/{cluster}{CM}", params={"watch": "1", "resourceVersion": rv, "timeoutSeconds": "1"})
    assert r.status_code == 200
    return [orjson.loads(line) for line in r.text.splitlines()]


def test_compaction_now_for_one_cluster_or_all() -> None:
    with serve() as (srv, h):
        rvs = {}
        for c in ("c1", "c2"):
            rvs[c] = h.get(f"/clusters/{c}{CM}").json()["metadata"]["resourceVersion"]
            for i in range(2):
                h.post(f"/clusters/{c}{CM}", json=cm(f"k{i}")).raise_for_status()
        r = h.post("/kubesim/v1/compaction", params={"cluster": "c1"})
        assert r.status_code == 200 and r.json() == {"compacted": ["c1"]}
        detail = h.get("/kubesim/v1/clusters/c1").json()
        assert detail["historyEvents"] == 0 and detail["compactedResourceVersion"] == detail["resourceVersion"]
        events = watch_lines(h, "c1", rvs["c1"])
        assert [e["type"] for e in events] == ["ERROR"]
        assert events[0]["object"]["code"] == 410 and events[0]["object"]["reason"] == "Expired"
        assert [e["object"]["metadata"]["name"] for e in watch_lines(h, "c2", rvs["c2"])] == ["k0", "k1"]
        # the history is cut, not the objects: a fresh list still has them
        assert [o["metadata"]["name"] for o in h.get(f"/clusters/c1{CM}").json()["items"]] == ["k0", "k1"]
        assert h.post("/kubesim/v1/compaction", params={"cluster": "nope"}).status_code == 404
        assert h.post("/kubesim/v1/compaction").json() == {"compacted": ["c1", "c2"]}
        assert [e["type"] for e in watch_lines(h, "c2", rvs["c2"])] == ["ERROR"]


def test_offline_and_back() -> None:
    with serve() as (srv, h):
        r = h.put("/kubesim/v1/clusters/c1/offline", json={"offline": True})
        assert r.status_code == 200 and r.json() == {"name": "c1", "offline": True}
        assert h.put("/kubesim/v1/clusters/c1/offline", json={"offline": True}).json()["offline"] is True  # idempotent
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/clusters/c1{CM}")
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/clusters/c1/healthz")
        assert h.get(f"/clusters/c2{CM}").status_code == 200
        assert h.get("/kubesim/v1/clusters/c1").status_code == 200  # the admin API still sees it
        assert h.get("/kubesim/v1/clusters/c1/offline").json() == {"name": "c1", "offline": True}
        assert h.get("/kubesim/v1/clusters/c2/offline").json() == {"name": "c2", "offline": False}
        assert h.get("/kubesim/v1/clusters/nope/offline").status_code == 404
        entries = [orjson.loads(x) for x in h.get(f"{FAULTS}/log").text.splitlines()]
        assert [(e["rule"], e["fault"], e["request"]["cluster"], e["request"]["resource"]) for e in entries] == [
            ("offline", "unreachable", "c1", "configmaps"), ("offline", "unreachable", "c1", "")]
        assert h.get(f"{FAULTS}/counts").json() == [{"rule": "offline", "fault": "unreachable", "count": 2}]
        assert h.put("/kubesim/v1/clusters/nope/offline", json={"offline": True}).status_code == 404
        assert h.put("/kubesim/v1/clusters/c1/offline", json={}).status_code == 422
        assert h.put("/kubesim/v1/clusters/c1/offline", json={"offline": False}).json() == {"name": "c1",
                                                                                           "offline": False}
        assert h.get(f"/clusters/c1{CM}").status_code == 200
        assert h.put("/kubesim/v1/clusters/c1/offline", json={"offline": False}).json()["offline"] is False


EDGE_BODIES = [  # each once answered 500, or was taken and then broke requests or the plan's round trip
    ('{"rules":[{"name":"a","latency":{"fixed":1%s}}]}' % ("0" * 400), "latency.fixed: a duration must be finite"),
    ('{"rules":[{"name":"a","latency":{"fixed":NaN}}]}', "latency.fixed: a duration must be finite"),
    ('{"rules":[{"name":"a","latency":{"p50":"1ms","p99":Infinity}}]}', "latency.p99: a duration must be finite"),
    ('{"rules":[{"name":"a","timeout":{"after":1e308}}]}', "timeout.after: a duration must be finite"),
    ('{"rules":[{"name":"a","dropWatch":{"after":"1e400s"}}]}', "dropWatch.after: a duration must be finite"),
    ('{"rules":[{"name":"a","unreachable":{},"window":{"every":NaN,"duration":"1s"}}]}',
     "window.every: a duration must be finite"),
    ('{"compaction":{"every":Infinity}}', "compaction.every: a duration must be finite"),
    ('{"storage":{"latency":{"uniform":[NaN,"1ms"]}}}', "storage.latency.uniform[0]: a duration must be finite"),
    ('{"rules":[{"name":"a","error":{"code":429.0}}]}', "error.code: expected one of"),
    ('{"rules":[{"name":"a","error":{"code":429,"retryAfterSeconds":1%s}}]}' % ("0" * 30),
     "error.retryAfterSeconds: expected a whole number"),
    ('{"rules":[{"name":"a","error":{"code":429,"probability":NaN}}]}', "error.probability: a probability"),
]


def test_plan_bodies_at_the_edges_are_refused_with_the_field() -> None:
    with serve() as (srv, h):
        for body, message in EDGE_BODIES:
            r = h.put(FAULTS, content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 422, (body[:80], r.status_code, r.text[:300])
            message = message.replace("must be finite", "must be a finite number")
            assert message in r.json()["detail"], r.text[:300]
            if body.startswith('{"rules":['):  # the same rule, added alone
                r = h.post(f"{FAULTS}/rules", content=body[len('{"rules":['):-2],
                           headers={"Content-Type": "application/json"})
                assert r.status_code == 422 and message in r.json()["detail"], (body[:80], r.text[:300])
        assert h.get(FAULTS).json() == {"seed": 0, "rules": []}
        # the largest durations accepted still print in a form that parses back
        big = {"rules": [{"name": "a", "latency": {"fixed": "1e9s"}, "window": {"start": 1e9}}],
               "compaction": {"every": "1000000000s"}}
        doc = h.put(FAULTS, json=big).json()
        assert h.put(FAULTS, json=doc).json() == doc


def test_fault_routes_are_in_the_openapi_document() -> None:
    with serve() as (srv, h):
        paths = h.get("/kubesim/openapi.json").json()["paths"]
    for path, method in ((FAULTS, "get"), (FAULTS, "put"), (f"{FAULTS}/rules", "post"),
                         (f"{FAULTS}/rules/{{name}}", "get"), (f"{FAULTS}/rules/{{name}}", "patch"),
                         (f"{FAULTS}/rules/{{name}}", "delete"), (f"{FAULTS}/log", "get"), (f"{FAULTS}/counts", "get"),
                         ("/kubesim/v1/compaction", "post"), ("/kubesim/v1/clusters/{name}/offline", "put")):
        assert method in paths.get(path, {}), (method, path)


# ---- schemathesis: no input makes the admin API answer 500 ------------------------------------------

def _admin_app() -> Any:
    mux = Multiplexer()
    for c in ("c1", "c2"):
        mux.create(c)
    app = build_app(mux, faults=FaultPlan.from_dict(PLAN, "plan.yaml", clock=mux.clock))
    return app.admin  # the FastAPI app of apiserver.admin.build_admin(mux, app), in-process


schema = schemathesis.openapi.from_asgi("/kubesim/openapi.json", _admin_app())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_admin_api_never_answers_500(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}"
