"""Fault plans over real HTTP, met by real clients: 429 + Retry-After, latency percentiles, dropped
watches resumed, compaction and 410, unreachable clusters, determinism by seed, storage latency,
and ``kubesim serve --faults`` refusing a bad plan. (The plan itself is unit-tested in
test_faults_plan.py.)"""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from typing import Any, Iterator

import httpx
import orjson
import pytest
import urllib3
import yaml
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from apiserver.faults import FaultPlan, RequestContext
from apiserver.server import Server

from helpers import kubesim_serve, served

CM = "/api/v1/namespaces/default/configmaps"
KUBESIM = os.path.join(os.path.dirname(sys.executable), "kubesim")


def serve(plan: dict[str, Any] | None = None, clusters: tuple[str, ...] = ("c1", "c2"),
          **kw: Any) -> contextlib.AbstractContextManager[Server]:
    return served(plan, clusters, **kw)


def api_for(srv: Server, cluster: str = "c1", **cfg: Any) -> client.ApiClient:
    c = client.Configuration()
    c.host = f"{srv.url}/clusters/{cluster}"
    for k, v in cfg.items():
        setattr(c, k, v)
    return client.ApiClient(c)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


# ---- 429 + Retry-After ---------------------------------------------------------------------------

THROTTLE_GETS = {"rules": [{"name": "throttle-gets", "match": {"verbs": ["get"], "resources": ["configmaps"]},
                            "error": {"code": 429, "retryAfterSeconds": 1}}]}


def test_429_without_retries_is_api_exception_with_retry_after_and_status() -> None:
    with serve(THROTTLE_GETS) as srv:
        # retries=False: urllib3's own default Retry would retry a 429 + Retry-After GET three times
        api = api_for(srv, retries=False)
        v1 = client.CoreV1Api(api)
        v1.create_namespaced_config_map("default", cm("a"))  # writes are not matched
        with pytest.raises(ApiException) as e:
            v1.read_namespaced_config_map("a", "default")
        assert e.value.status == 429
        assert e.value.headers["Retry-After"] == "1"
        body = orjson.loads(e.value.body)
        assert body["kind"] == "Status" and body["status"] == "Failure" and body["code"] == 429
        assert body["reason"] == "TooManyRequests" and body["details"]["retryAfterSeconds"] == 1
        assert srv.app.faults.injected == {("throttle-gets", "error"): 1}
        api.close()


def test_client_go_retries_honour_retry_after_then_succeed() -> None:
    """The installed client retries GETs on 429 + Retry-After (``client_go_retries``): throttle once."""
    with serve(THROTTLE_GETS) as srv:
        plan = srv.app.faults
        rule = plan.rule("throttle-gets")
        assert rule is not None

        def once(entry: dict[str, Any]) -> None:  # the rule fires for the first request only
            rule.enabled = False

        plan.on_inject = once
        api = api_for(srv, client_go_retries=True)
        v1 = client.CoreV1Api(api)
        v1.create_namespaced_config_map("default", cm("a"))
        t0 = time.monotonic()
        got = v1.read_namespaced_config_map("a", "default")
        took = time.monotonic() - t0
        assert got.data == {"k": "a"}
        assert took >= 0.95, f"the client did not wait Retry-After: {took:.3f}s"
        assert [e["fault"] for e in plan.log] == ["error"]
        api.close()


def test_client_go_retries_give_up_after_the_ceiling_and_never_retry_writes() -> None:
    plan = {"rules": [{"name": "throttle", "match": {"resources": ["configmaps"]},
                       "error": {"code": 429, "retryAfterSeconds": 1}}]}
    with serve(plan) as srv:
        api = api_for(srv, client_go_retries=True, retries=1)
        v1 = client.CoreV1Api(api)
        t0 = time.monotonic()
        with pytest.raises(ApiException) as e:
            v1.read_namespaced_config_map("a", "default")
        assert e.value.status == 429 and time.monotonic() - t0 >= 0.95
        assert srv.app.faults.injected[("throttle", "error")] == 2  # first try + one retry
        with pytest.raises(ApiException) as e:
            v1.create_namespaced_config_map("default", cm("a"))
        assert e.value.status == 429
        assert srv.app.faults.injected[("throttle", "error")] == 3  # POST: not retried
        api.close()


# ---- latency percentiles ------------------------------------------------------------------------

@contextlib.contextmanager
def serve_process(tmp_path: Any, plan: dict[str, Any], *args: str) -> Iterator[str]:
    """``kubesim serve --faults PLAN`` in its own process (its own GIL: client timings stay clean)."""
    f = tmp_path / "plan.yaml"
    f.write_text(yaml.safe_dump(plan))
    with kubesim_serve("--cluster", "c1", "--faults", str(f), *args) as url:
        yield url


async def test_latency_percentiles_over_http(tmp_path: Any) -> None:
    """A {p50: 20ms, p99: 80ms} rule over a few hundred concurrent requests, seen by the client.

    This machine may be busy, so the client's own latency is measured too: each request carries
    its index as User-Agent, the fault log gives the order of the server's decisions, and
    replaying the seeded plan gives the delay drawn for each one. Then every request took at
    least its delay, the drawn delays have the plan's percentiles, and the observed ones are
    those plus this machine's overhead."""
    rule = {"name": "slow-gets", "match": {"verbs": ["get"], "resources": ["configmaps"]},
            "latency": {"p50": "20ms", "p99": "80ms"}}
    plan = {"seed": 2, "rules": [rule]}
    n, workers = 400, 8
    observed: dict[str, float] = {}
    unmatched: list[float] = []
    with serve_process(tmp_path, plan) as url:
        async with httpx.AsyncClient(base_url=f"{url}/clusters/c1/api/v1/namespaces/default",
                                     limits=httpx.Limits(max_connections=workers)) as h:
            assert (await h.post("/configmaps", json=cm("x"))).status_code == 201
            assert (await h.post("/secrets", json={"metadata": {"name": "x"}})).status_code == 201

            async def worker(w: int) -> None:
                for i in range(w, n, workers):
                    ua = f"probe/{i}"
                    t0 = time.perf_counter()
                    r = await h.get("/configmaps/x", headers={"User-Agent": ua})
                    observed[ua] = time.perf_counter() - t0
                    assert r.status_code == 200
                    t0 = time.perf_counter()
                    r = await h.get("/secrets/x")  # not matched: this machine's own latency, same load
                    unmatched.append(time.perf_counter() - t0)
                    assert r.status_code == 200

            t0 = time.perf_counter()
            await asyncio.gather(*(worker(w) for w in range(workers)))
            wall = time.perf_counter() - t0
            log = [orjson.loads(line) for line in (await h.get(f"{url}/kubesim/v1/faults/log")).content.splitlines()]
    assert len(log) == n and {e["rule"] for e in log} == {"slow-gets"}
    replay = FaultPlan.from_dict(plan, "replay")
    drawn = [replay.decide(RequestContext("c1", "get", "configmaps", "default", e["request"]["userAgent"])).delay
             for e in log]
    delay = {e["request"]["userAgent"]: d for e, d in zip(log, drawn)}
    overhead = sorted(observed[ua] - delay[ua] for ua in observed)
    assert overhead[0] >= -0.002, "a request answered before its injected delay"  # uvloop timers: ~1 ms
    drawn.sort()
    seen = sorted(observed.values())
    unmatched.sort()

    def pct(xs: list[float], q: float) -> float:
        return xs[min(len(xs) - 1, int(len(xs) * q))]

    msg = (f"drawn p50 {pct(drawn, .5) * 1e3:.1f}ms p99 {pct(drawn, .99) * 1e3:.1f}ms; observed p50 "
           f"{pct(seen, .5) * 1e3:.1f}ms p99 {pct(seen, .99) * 1e3:.1f}ms; overhead p50 {pct(overhead, .5) * 1e3:.1f}ms"
           f" max {overhead[-1] * 1e3:.1f}ms; unmatched p50 {pct(unmatched, .5) * 1e3:.1f}ms")
    assert 0.017 <= pct(drawn, .5) <= 0.023 and 0.060 <= pct(drawn, .99) <= 0.105, msg
    assert 0.017 <= pct(seen, .5) <= 0.023 + pct(overhead, .9), msg
    assert 0.060 <= pct(seen, .99) <= 0.105 + overhead[-1], msg
    # the server adds the delay once, and nothing else: what is left is the latency of an unmatched GET
    assert pct(overhead, .5) <= 2 * pct(unmatched, .5) + 0.005, msg
    print(msg)
    assert wall < sum(drawn), wall  # served one at a time, the delays alone would take sum(drawn)


# ---- a dropped watch, resumed by the client ------------------------------------------------------

def test_dropped_watch_resumes_from_last_resource_version_without_losing_events() -> None:
    plan = {"rules": [{"name": "drop", "match": {"verbs": ["watch"]}, "dropWatch": {"after": "0.5s"}}]}
    with serve(plan) as srv:
        reader, writer = api_for(srv), api_for(srv)
        v1r, v1w = client.CoreV1Api(reader), client.CoreV1Api(writer)
        rv = v1r.list_namespaced_config_map("default").metadata.resource_version
        names = [f"cm-{i:03d}" for i in range(120)]
        seen: list[str] = []
        w = watch.Watch()
        done = threading.Event()

        def consume() -> None:
            # no timeout_seconds: the client reconnects from its last resourceVersion when the stream ends
            for ev in w.stream(v1r.list_namespaced_config_map, "default", resource_version=rv):
                assert ev["type"] == "ADDED"
                seen.append(ev["object"].metadata.name)
                if len(seen) == len(names):
                    break
            done.set()

        t = threading.Thread(target=consume, daemon=True)
        t.start()
        for name in names:  # ~2.4 s of writes: several drops happen while objects keep coming
            v1w.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name)))
            time.sleep(0.02)
        finished = done.wait(10)
        w.stop()
        t.join(5)
        assert finished, f"saw {len(seen)} of {len(names)} events"
        assert seen == names  # none lost, none twice, in order
        drops = srv.app.faults.injected[("drop", "dropWatch")]
        assert drops >= 3, drops  # every (re)connection was cut after 0.5 s
        reader.close()
        writer.close()


# ---- compaction: a resumed watch gets 410 and the client relists ---------------------------------

def test_forced_compaction_makes_resumed_watch_410_then_relist_works() -> None:
    with serve() as srv:
        api = api_for(srv)
        v1 = client.CoreV1Api(api)
        rv = v1.list_namespaced_config_map("default").metadata.resource_version
        for i in range(3):
            v1.create_namespaced_config_map("default", cm(f"a{i}"))
        w = watch.Watch()
        got = []
        for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv):
            got.append(ev["object"].metadata.name)
            if len(got) == 3:
                w.stop()
        assert got == ["a0", "a1", "a2"]
        last = w.resource_version
        for i in range(3, 5):  # changes the client has not seen, then the history is cut
            v1.create_namespaced_config_map("default", cm(f"a{i}"))
        r = httpx.post(f"{srv.url}/kubesim/v1/compaction")
        assert r.status_code == 200 and r.json() == {"compacted": ["c1", "c2"]}
        with pytest.raises(ApiException) as e:
            for _ in watch.Watch().stream(v1.list_namespaced_config_map, "default", resource_version=last):
                pytest.fail("an event from a compacted resourceVersion")
        assert e.value.status == 410 and "too old resource version" in e.value.reason
        # the informer's answer: relist, then watch from the list's resourceVersion
        fresh = v1.list_namespaced_config_map("default")
        assert sorted(o.metadata.name for o in fresh.items) == [f"a{i}" for i in range(5)]
        v1.create_namespaced_config_map("default", cm("a5"))
        w = watch.Watch()
        for ev in w.stream(v1.list_namespaced_config_map, "default", resource_version=fresh.metadata.resource_version,
                           timeout_seconds=5):
            assert ev["object"].metadata.name == "a5"
            w.stop()
        api.close()


# ---- unreachable clusters -----------------------------------------------------------------------

def assert_unreachable(srv: Server, cluster: str) -> None:
    for path in (CM, "/api/v1/namespaces/default/configmaps/x", "/version", "/api"):
        with pytest.raises(httpx.TransportError):  # reset: no status line at all
            httpx.get(f"{srv.url}/clusters/{cluster}{path}", timeout=5)
    api = api_for(srv, cluster, retries=False)
    with pytest.raises(urllib3.exceptions.HTTPError):  # ProtocolError('Connection aborted.', ...)
        client.CoreV1Api(api).list_namespaced_config_map("default")
    api.close()


def assert_serving(srv: Server, cluster: str) -> None:
    assert httpx.get(f"{srv.url}/clusters/{cluster}{CM}", timeout=5).status_code == 200
    assert httpx.get(f"{srv.url}/clusters/{cluster}/version", timeout=5).status_code == 200
    api = api_for(srv, cluster, retries=False)
    client.CoreV1Api(api).list_namespaced_config_map("default")
    api.close()


def test_unreachable_rule_resets_connections_to_one_cluster_only() -> None:
    plan = {"rules": [{"name": "c2-down", "match": {"clusters": ["c2"]}, "unreachable": {}}]}
    with serve(plan) as srv:
        with httpx.Client() as h:  # a kept-alive connection to c1 survives c2's resets
            assert h.get(f"{srv.url}/clusters/c1{CM}").status_code == 200
            assert_unreachable(srv, "c2")
            assert h.get(f"{srv.url}/clusters/c1{CM}").status_code == 200
        assert_serving(srv, "c1")
        assert srv.app.faults.injected[("c2-down", "unreachable")] >= 5


def test_admin_offline_toggle_takes_a_cluster_down_and_back() -> None:
    with serve() as srv:
        assert_serving(srv, "c2")
        r = httpx.put(f"{srv.url}/kubesim/v1/clusters/c2/offline", json={"offline": True})
        assert r.status_code == 200 and r.json() == {"name": "c2", "offline": True}
        assert_unreachable(srv, "c2")
        assert_serving(srv, "c1")
        r = httpx.put(f"{srv.url}/kubesim/v1/clusters/c2/offline", json={"offline": False})
        assert r.json() == {"name": "c2", "offline": False}
        assert_serving(srv, "c2")


# ---- determinism ---------------------------------------------------------------------------------

def status_sequence(seed: int) -> list[int]:
    plan = {"seed": seed, "rules": [
        {"name": "flaky-gets", "match": {"verbs": ["get"]}, "error": {"code": 503, "probability": 0.25}},
        {"name": "throttled-lists", "match": {"verbs": ["list"]}, "error": {"code": 429, "probability": 0.2}},
        {"name": "broken-writes", "match": {"verbs": ["create", "delete"]},
         "error": {"code": 500, "probability": 0.15}},
        {"name": "jitter", "latency": {"uniform": ["0ms", "1ms"]}},
    ]}
    codes = []
    with serve(plan) as srv, httpx.Client(base_url=f"{srv.url}/clusters/c1") as h:
        for i in range(40):
            codes.append(h.post(CM, json=cm(f"d{i}")).status_code)
            codes.append(h.get(f"{CM}/d{i}").status_code)
            codes.append(h.get(CM).status_code)
            if i % 4 == 0:
                codes.append(h.delete(f"{CM}/d{i}").status_code)
    return codes


def test_same_seed_same_status_codes_different_seed_differs() -> None:
    a, b, c = status_sequence(11), status_sequence(11), status_sequence(12)
    assert a == b
    assert a != c
    assert {201, 200, 503, 429, 500} <= set(a)  # every rule fired somewhere


# ---- storage latency: writes serialised per cluster ----------------------------------------------

async def _creates(srv: Server, clusters: list[str], per_cluster: int) -> float:
    async with httpx.AsyncClient(base_url=srv.url, limits=httpx.Limits(max_connections=64)) as h:
        await h.get("/clusters/c1/version")  # connections warm

        async def one(c: str, i: int) -> None:
            r = await h.post(f"/clusters/{c}{CM}", json=cm(f"s{i}"))
            assert r.status_code == 201

        t0 = time.perf_counter()
        await asyncio.gather(*(one(c, i) for c in clusters for i in range(per_cluster)))
        return time.perf_counter() - t0


async def test_storage_latency_serialises_writes_per_cluster() -> None:
    latency, n = 0.04, 8
    with serve({"storage": {"latency": {"fixed": "40ms"}}}, clusters=("c1", "c2", "c3")) as srv:
        one_cluster = await _creates(srv, ["c1"], n)
        two_clusters = await _creates(srv, ["c2", "c3"], n // 2)
        # reads are not writes: they do not queue behind the storage lock
        async with httpx.AsyncClient(base_url=srv.url) as h:
            t0 = time.perf_counter()
            await asyncio.gather(*(h.get(f"/clusters/c1{CM}") for _ in range(n)))
            reads = time.perf_counter() - t0
    assert one_cluster >= n * latency * 0.98, one_cluster
    assert two_clusters >= n // 2 * latency * 0.98, two_clusters
    assert two_clusters < one_cluster * 0.7, (one_cluster, two_clusters)
    # 8 reads queued behind the lock would take as long as the 8 writes; relative, so a busy machine can't fail it
    assert reads < one_cluster / 2, (reads, one_cluster)


# ---- kubesim serve --faults with a bad plan ------------------------------------------------------

def test_serve_refuses_a_bad_fault_plan(tmp_path: Any) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 1\nrules:\n  - name: fine\n    latency: {fixed: 5ms}\n"
                   "  - name: throttle\n    match: {verbs: [create]}\n    error:\n      code: 429\n"
                   "      retryAfterSeconds: soon\n")
    t0 = time.monotonic()
    proc = subprocess.run([KUBESIM, "serve", "--port", "0", "--faults", str(bad)], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode != 0
    assert time.monotonic() - t0 < 15
    err = proc.stderr
    assert f"{bad}:9:" in err, err  # file and line
    assert "rule 'throttle'" in err and "error.retryAfterSeconds" in err, err  # rule and field
    assert "serving" not in proc.stdout  # never started
    missing = subprocess.run([KUBESIM, "serve", "--port", "0", "--faults", str(tmp_path / "nope.yaml")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode != 0 and "nope.yaml" in missing.stderr and "serving" not in missing.stdout
