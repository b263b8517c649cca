"""``/metrics`` over HTTP counts what happened: requests by verb and code (injected faults too),
long-running watches, faults by rule, etcd latency, stored objects, and the cluster label's switch.
(Names, buckets and the text format are unit-tested in test_metrics_format.py.)"""
from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest

from apiserver.server import Server

from helpers import kubesim_serve, served

CM = "/api/v1/namespaces/default/configmaps"
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

Samples = dict[str, list[tuple[dict[str, str], float]]]


def parse(text: str) -> Samples:
    out: Samples = defaultdict(list)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        assert m, f"not a Prometheus sample line: {line!r}"
        out[m.group(1)].append((dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def scrape(url: str) -> Samples:
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(r.text)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for ls, v in samples.get(name, ()) if all(ls.get(k) == want for k, want in labels.items()))


def by(samples: Samples, name: str, keys: tuple[str, ...], **labels: str) -> dict[tuple[str, ...], float]:
    out: dict[tuple[str, ...], float] = defaultdict(float)
    for ls, v in samples.get(name, ()):
        if all(ls.get(k) == want for k, want in labels.items()):
            out[tuple(ls.get(k, "") for k in keys)] += v
    return dict(out)


def serve(plan: dict[str, Any] | None = None, clusters: tuple[str, ...] = ("m1", "m2"),
          **kw: Any) -> contextlib.AbstractContextManager[Server]:
    return served(plan, clusters, **kw)


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}}


MERGE = {"Content-Type": "application/merge-patch+json"}


def test_request_total_by_verb_and_code_after_a_known_mix() -> None:
    plan = {"rules": [{"name": "throttle-patches", "match": {"verbs": ["patch"], "resources": ["configmaps"]},
                       "error": {"code": 429}},
                      {"name": "flaky-secrets", "match": {"resources": ["secrets"]}, "error": {"code": 503}}]}
    with serve(plan) as srv, httpx.Client(base_url=srv.url) as h:
        m1 = "/clusters/m1" + CM
        for i in range(3):
            assert h.post(m1, json=cm(f"a{i}")).status_code == 201
        assert h.post(m1, json=cm("a0")).status_code == 409
        assert h.get(f"{m1}/a0").status_code == 200
        assert h.get(f"{m1}/a1").status_code == 200
        assert h.get(f"{m1}/nope").status_code == 404
        assert h.get(m1).status_code == 200
        assert h.put(f"{m1}/a2", json=cm("a2")).status_code == 200
        assert h.delete(f"{m1}/a1").status_code == 200
        assert h.patch(f"{m1}/a0", content=b'{"data":{"x":"y"}}', headers=MERGE).status_code == 429
        assert h.patch(f"{m1}/a0", content=b'{"data":{"x":"y"}}', headers=MERGE).status_code == 429
        assert h.get("/clusters/m1/api/v1/namespaces/default/secrets").status_code == 503
        assert h.get("/clusters/m2/api/v1/configmaps").status_code == 200
        assert h.get("/clusters/m1/version").status_code == 200  # not a resource request: not counted
        s = scrape(srv.url)
    got = by(s, "apiserver_request_total", ("verb", "code", "scope"), cluster="m1", resource="configmaps",
             group="", version="v1", component="apiserver", dry_run="")
    assert got == {("POST", "201", "resource"): 3, ("POST", "409", "resource"): 1, ("GET", "200", "resource"): 2,
                   ("GET", "404", "resource"): 1, ("LIST", "200", "namespace"): 1, ("PUT", "200", "resource"): 1,
                   ("DELETE", "200", "resource"): 1, ("PATCH", "429", "resource"): 2}
    assert by(s, "apiserver_request_total", ("verb", "code"), cluster="m1", resource="secrets") == {("LIST", "503"): 1}
    assert by(s, "apiserver_request_total", ("verb", "code", "scope"), cluster="m2") == {("LIST", "200", "cluster"): 1}
    assert total(s, "apiserver_request_total") == 14
    # every counted request is in the latency histograms too
    assert total(s, "apiserver_request_duration_seconds_count") == 14
    assert total(s, "apiserver_request_sli_duration_seconds_count") == 14
    assert total(s, "apiserver_request_duration_seconds_bucket", le="+Inf") == 14
    faults = by(s, "kubesim_faults_injected_total", ("rule", "fault"))
    assert faults == {("throttle-patches", "error"): 2, ("flaky-secrets", "error"): 1}


def test_dry_run_subresource_and_scope_labels() -> None:
    deploy = {"metadata": {"name": "d"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}}, "template": {
        "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    deps = "/clusters/m1/apis/apps/v1/namespaces/default/deployments"
    with serve() as srv, httpx.Client(base_url=srv.url) as h:
        assert h.post(f"{deps}?dryRun=All", json=deploy).status_code == 201
        assert h.post(deps, json=deploy).status_code == 201
        assert h.get(f"{deps}/d/status").status_code == 200
        assert h.get(f"{deps}/d/scale").status_code == 200
        assert h.patch(f"{deps}/d/scale", content=b'{"spec":{"replicas":3}}', headers=MERGE).status_code == 200
        assert h.get("/clusters/m1/apis/apps/v1/deployments").status_code == 200
        s = scrape(srv.url)
    got = by(s, "apiserver_request_total", ("verb", "dry_run", "subresource", "scope", "code"), cluster="m1",
             group="apps", version="v1", resource="deployments")
    assert got == {("POST", "All", "", "resource", "201"): 1, ("POST", "", "", "resource", "201"): 1,
                   ("GET", "", "status", "resource", "200"): 1, ("GET", "", "scale", "resource", "200"): 1,
                   ("PATCH", "", "scale", "resource", "200"): 1,
                   ("LIST", "", "", "cluster", "200"): 1}
    # the SLI histogram has no dry_run label: the two creates are one series there
    sli = by(s, "apiserver_request_sli_duration_seconds_count", ("verb", "subresource"), resource="deployments")
    assert sli[("POST", "")] == 2


def test_an_unexpected_failure_is_counted_as_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from apiserver.cluster import ClusterStore

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(ClusterStore, "get", broken)
    with serve() as srv, httpx.Client(base_url=srv.url) as h:
        assert h.get(f"/clusters/m1{CM}/x").status_code == 500
        s = scrape(srv.url)
    assert by(s, "apiserver_request_total", ("verb", "code"), cluster="m1") == {("GET", "500"): 1}


def test_injected_latency_and_storage_latency_count_in_request_duration() -> None:
    plan = {"rules": [{"name": "slow-lists", "match": {"verbs": ["list"]}, "latency": {"fixed": "60ms"}}],
            "storage": {"latency": {"fixed": "30ms"}}}
    with serve(plan) as srv, httpx.Client(base_url=f"{srv.url}/clusters/m1") as h:
        assert h.get(CM).status_code == 200
        for i in range(3):
            assert h.post(CM, json=cm(f"e{i}")).status_code == 201
        assert h.put(f"{CM}/e0", json=cm("e0")).status_code == 200
        assert h.patch(f"{CM}/e1", content=b'{"data":{"x":"y"}}', headers=MERGE).status_code == 200
        assert h.delete(f"{CM}/e2").status_code == 200
        assert h.get(f"{CM}/e0").status_code == 200  # a read: no storage latency
        s = scrape(srv.url)
    etcd = by(s, "etcd_request_duration_seconds_count", ("operation", "resource"), cluster="m1")
    assert etcd == {("create", "configmaps"): 3, ("update", "configmaps"): 2, ("delete", "configmaps"): 1}
    assert total(s, "etcd_request_duration_seconds_sum", operation="create") >= 3 * 0.03 * 0.98
    assert total(s, "etcd_request_duration_seconds_bucket", operation="create", le="0.025") == 0
    assert total(s, "etcd_request_duration_seconds_bucket", operation="create", le="0.05") == 3
    # what the client waited for is what the apiserver's latency histogram shows
    dur = "apiserver_request_duration_seconds"
    assert total(s, f"{dur}_sum", verb="LIST") >= 0.06 * 0.98
    assert total(s, f"{dur}_bucket", verb="LIST", le="0.05") == 0
    assert total(s, f"{dur}_sum", verb="POST") >= 3 * 0.03 * 0.98
    assert total(s, f"{dur}_bucket", verb="POST", le="0.025") == 0
    assert total(s, f"{dur}_bucket", verb="GET", le="0.025") == 1
    assert by(s, "kubesim_faults_injected_total", ("rule", "fault")) == {("slow-lists", "latency"): 1}


def test_longrunning_requests_while_a_watch_is_open_and_watch_events() -> None:
    with serve() as srv:
        opened = threading.Event()
        release = threading.Event()
        lines: list[bytes] = []

        rv = httpx.get(f"{srv.url}/clusters/m1{CM}").json()["metadata"]["resourceVersion"]

        def watch() -> None:
            with httpx.Client() as h, h.stream("GET", f"{srv.url}/clusters/m1{CM}?watch=1&resourceVersion={rv}") as r:
                assert r.status_code == 200
                opened.set()
                for line in r.iter_lines():
                    lines.append(line.encode())
                    if len(lines) == 2:
                        break
                release.wait(10)

        t = threading.Thread(target=watch, daemon=True)
        t.start()
        assert opened.wait(10)
        s = scrape(srv.url)
        key = dict(cluster="m1", verb="WATCH", group="", version="v1", resource="configmaps", subresource="",
                   scope="namespace", component="apiserver")
        assert total(s, "apiserver_longrunning_requests", **key) == 1
        assert total(s, "apiserver_longrunning_requests") == 1
        assert total(s, "apiserver_request_total", verb="WATCH") == 0  # counted when it ends
        assert total(s, "apiserver_request_total", verb="LIST") == 1
        httpx.post(f"{srv.url}/clusters/m1{CM}", json=cm("w0")).raise_for_status()
        httpx.post(f"{srv.url}/clusters/m1{CM}", json=cm("w1")).raise_for_status()
        for _ in range(200):
            if len(lines) == 2:
                break
            time.sleep(0.01)
        assert len(lines) == 2
        release.set()
        t.join(10)
        for _ in range(200):  # the server sees the disconnect, ends the stream, and counts it
            s = scrape(srv.url)
            if total(s, "apiserver_longrunning_requests") == 0 and total(s, "apiserver_request_total", verb="WATCH"):
                break
            time.sleep(0.02)
        assert total(s, "apiserver_longrunning_requests", **key) == 0
        assert by(s, "apiserver_request_total", ("verb", "code"), verb="WATCH") == {("WATCH", "200"): 1}
        assert total(s, "apiserver_watch_events_total", cluster="m1", resource="configmaps") == 2


def test_storage_objects_gauge() -> None:
    with serve() as srv, httpx.Client(base_url=srv.url) as h:
        for i in range(3):
            h.post(f"/clusters/m1{CM}", json=cm(f"o{i}")).raise_for_status()
        h.post("/clusters/m2/apis/apps/v1/namespaces/default/deployments", json={
            "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
                "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
               ).raise_for_status()
        s = scrape(srv.url)
        assert total(s, "apiserver_storage_objects", cluster="m1", resource="configmaps") == 3
        assert total(s, "apiserver_storage_objects", cluster="m2", resource="deployments.apps") == 1
        assert total(s, "apiserver_storage_objects", cluster="m1", resource="namespaces") == 4  # bootstrapped
        assert total(s, "apiserver_storage_objects", cluster="m2", resource="configmaps") == 0
        h.delete(f"/clusters/m1{CM}/o0").raise_for_status()
        assert total(scrape(srv.url), "apiserver_storage_objects", cluster="m1", resource="configmaps") == 2
        assert total(s, "kubesim_clusters") == 2


def test_faults_by_rule_including_offline_and_unreachable() -> None:
    plan = {"rules": [{"name": "m2-down", "match": {"clusters": ["m2"]}, "unreachable": {}},
                      {"name": "slow", "match": {"clusters": ["m1"], "verbs": ["list"]}, "latency": {"fixed": "1ms"}},
                      {"name": "off", "enabled": False, "error": {"code": 500}}]}
    with serve(plan, clusters=("m1", "m2", "m3")) as srv:
        for _ in range(3):
            httpx.get(f"{srv.url}/clusters/m1{CM}").raise_for_status()
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{srv.url}/clusters/m2{CM}")
        httpx.put(f"{srv.url}/kubesim/v1/clusters/m3/offline", json={"offline": True}).raise_for_status()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{srv.url}/clusters/m3{CM}")
        s = scrape(srv.url)
    assert by(s, "kubesim_faults_injected_total", ("rule", "fault")) == {
        ("m2-down", "unreachable"): 3, ("slow", "latency"): 3, ("offline", "unreachable"): 1}
    # a reset connection has no status code: it is not an apiserver request
    assert by(s, "apiserver_request_total", ("cluster",)) == {("m1",): 3}


def test_per_cluster_metrics_off_drops_the_cluster_label() -> None:
    plan = {"storage": {"latency": {"fixed": "1ms"}}}
    with serve(plan, per_cluster_metrics=False) as srv, httpx.Client(base_url=srv.url) as h:
        for c in ("m1", "m2"):
            h.get(f"/clusters/{c}{CM}").raise_for_status()
            h.post(f"/clusters/{c}{CM}", json=cm("x")).raise_for_status()
        with h.stream("GET", f"/clusters/m1{CM}?watch=1") as r:
            assert r.status_code == 200
            text = h.get("/metrics").text
    assert "cluster=" not in text
    s = parse(text)
    assert by(s, "apiserver_request_total", ("verb", "code")) == {("LIST", "200"): 2, ("POST", "201"): 2}
    assert total(s, "apiserver_storage_objects", resource="configmaps") == 2
    assert total(s, "apiserver_storage_objects", resource="namespaces") == 8
    assert total(s, "etcd_request_duration_seconds_count", operation="create") == 2
    assert total(s, "apiserver_longrunning_requests", verb="WATCH") == 1


def test_cli_no_cluster_metrics_flag(tmp_path: Any) -> None:
    with kubesim_serve("--clusters", "2", "--no-cluster-metrics") as url:
        for c in ("c1", "c2"):
            httpx.get(f"{url}/clusters/{c}{CM}").raise_for_status()
        text = httpx.get(f"{url}/metrics").text
    assert "cluster=" not in text
    assert by(parse(text), "apiserver_request_total", ("verb", "code")) == {("LIST", "200"): 2}
