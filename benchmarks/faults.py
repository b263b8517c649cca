"""What the fault layer and the metrics cost on the hot path: single-object GET throughput, side by side.

    python -m benchmarks.faults            # full (~3-4 minutes on 2 cores)
    python -m benchmarks.faults --quick    # under a minute

Four variants of the same server, the cluster holding 1,000 pods, ``GET .../pods/p-0``:

- ``bare``: ``KubeApp`` with the fault layer cut out of ``_resource_request`` (a copy of the method
  without it, below) and no metrics: the reference;
- ``no_rules``: the real ``KubeApp``, an empty fault plan, no metrics;
- ``rules_100``: the real ``KubeApp``, 100 enabled rules none of which match the GET (other
  clusters by name and by glob, other verbs, other resources, other namespaces), no metrics;
- ``metrics``: as ``no_rules`` with metrics on (per-cluster label), as ``kubesim serve`` runs.

overhead_no_rules = 1 - no_rules/bare, overhead_100_rules = 1 - rules_100/bare,
overhead_metrics = 1 - metrics/no_rules (throughput ratios).

Measured two ways:

- over HTTP (the headline: GET throughput is a server's): one uvicorn server per variant
  (``apiserver.server.Server``), all pinned to one core; for each figure its two servers are loaded
  at once by two wrk -t1 pinned to the other core, so drift and noisy neighbours hit both alike, and
  throughput is requests per CPU-second of each server process (/proc schedstat, nanoseconds): what
  a saturated core would serve. Rounds rotate the figures and alternate which server starts first;
- in-process: the ASGI app driven directly with a minimal fake receive/send, batches of GETs on
  one event loop (uvloop), variants back to back in every round. No sockets, no HTTP parsing: each
  layer's cost in isolation, against a ~4 us request instead of a ~28 us one. Printed, not judged
  (the headline when wrk is missing).

The figure is the median of the per-round ratios. Lastly prometheus_client is timed
doing the same observations as ``Metrics.observe_request`` (a counter and two histograms with
kube-apiserver's labels and buckets) against ours: the ratio, and the overhead it would imply.
The LAST line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Sequence

from . import _common as C

MODULE = "benchmarks.faults"
ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"overhead_no_rules": 0.03, "overhead_100_rules": 0.10, "overhead_metrics": 0.05}
VARIANTS = ("bare", "no_rules", "rules_100", "metrics")
WITH = {"overhead_no_rules": ("no_rules", "bare"), "overhead_100_rules": ("rules_100", "bare"),
        "overhead_metrics": ("metrics", "no_rules")}  # figure: (with the layer, without)
HTTP_CONNECTIONS = 16  # per wrk; two at once
CLUSTER = "c1"
GET_PATH = f"/clusters/{CLUSTER}/api/v1/namespaces/default/pods/p-0"
PODS = 1000


# ---- the servers ------------------------------------------------------------------------------
def non_matching_rules(n: int = 100) -> dict[str, Any]:
    """``n`` enabled rules of every kind, none matching a GET of pods in c1/default."""
    rules: list[dict[str, Any]] = []
    for i in range(n):
        k = i % 5
        if k == 0:
            match: dict[str, Any] = {"clusters": [f"wl-{i}"]}
        elif k == 1:
            match = {"clusters": [f"wl-{i}-*"], "verbs": ["list"]}
        elif k == 2:
            match = {"verbs": ["create", "update", "patch", "delete"]}
        elif k == 3:
            match = {"resources": ["deployments", "configmaps"], "verbs": ["get"]}
        else:
            match = {"namespaces": [f"team-{i}", "kube-*"]}
        action = ({"latency": {"p50": "20ms", "p99": "80ms"}}, {"error": {"code": 429, "probability": 0.5}},
                  {"unreachable": {}}, {"dropWatch": {"after": "30s"}}, {"timeout": {"probability": 0.01}})[i % 5]
        rules.append({"name": f"rule-{i}", "match": match, **action})
    return {"seed": 1, "rules": rules}


def _mux_and_plan(variant: str) -> tuple[Any, Any]:
    from apiserver.faults import FaultPlan
    from apiserver.multiplexer import Multiplexer
    from apiserver.resources import BUILTIN_BY_GVR

    from ._http_refs import make_pod

    mux = Multiplexer()
    cluster = mux.create(CLUSTER)
    rtype = BUILTIN_BY_GVR[("", "v1", "pods")]
    for i in range(PODS):
        cluster.create(rtype, None, make_pod(i), copy=False)
    plan = FaultPlan.from_dict(non_matching_rules() if variant == "rules_100" else {}, "bench", clock=mux.clock)
    return mux, plan


def build(variant: str) -> Any:
    """The ASGI app for ``variant`` (as ``apiserver.server.build_app`` makes it), c1 holding PODS pods."""
    from apiserver.server import build_app

    mux, plan = _mux_and_plan(variant)
    app = build_app(mux, faults=plan, metrics=variant == "metrics")
    if variant == "bare":
        app.__class__ = _bare_class()
    return app


def _bare_class() -> type:
    """``KubeApp`` whose ``_resource_request`` is the real one minus the fault layer (metrics off only)."""
    from apiserver.http.app import KubeApp
    from apiserver.http.handlers import NO_EXTRAS, WatchExtras, handle_resource
    from apiserver.http.request import request_verb

    class BareApp(KubeApp):
        async def _resource_request(self, cluster: Any, info: Any, scope: dict[str, Any], receive: Any, send: Any,
                                    query: Any) -> None:
            assert self.metrics is None
            verb = request_verb(scope["method"], info, query)
            extras = NO_EXTRAS if verb != "watch" else WatchExtras(None, None, self.watch_stats)
            await handle_resource(cluster, info, scope, receive, send, query, self.config, cluster.clock.now(), extras)

    return BareApp


def serve(variant: str, port: int) -> None:
    """Child process: one variant on ``apiserver.server.Server`` (as ``kubesim serve`` runs it); prints READY."""
    C.install_uvloop()
    from apiserver.server import Server

    mux, plan = _mux_and_plan(variant)
    server = Server(mux, "127.0.0.1", port, faults=plan, metrics=variant == "metrics")
    if variant == "bare":
        server.app.__class__ = _bare_class()

    async def main() -> None:
        task = asyncio.ensure_future(server.serve())
        while not server.uvicorn.started:
            await asyncio.sleep(0.01)
        print(f"READY {port}", flush=True)
        await task

    asyncio.run(main())


# ---- in-process -------------------------------------------------------------------------------
SCOPE = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
         "path": GET_PATH, "raw_path": GET_PATH.encode(), "query_string": b"", "root_path": "",
         "headers": [(b"host", b"127.0.0.1:6443"), (b"user-agent", b"kubectl/v1.33.0 (linux/amd64) kubernetes/abc"),
                     (b"accept", b"application/json"), (b"accept-encoding", b"gzip")],
         "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 6443)}


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Sink:
    __slots__ = ("status", "bytes")

    def __init__(self) -> None:
        self.status = 0
        self.bytes = 0

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.bytes += len(message.get("body", b""))


async def _batch(app: Any, n: int, sink: _Sink) -> float:
    """Requests per CPU-second of this thread (the loop runs here): time other processes take is not counted."""
    scope = SCOPE
    t0 = time.thread_time()
    for _ in range(n):
        await app(dict(scope), _receive, sink)
    return n / (time.thread_time() - t0)


def in_process(rounds: int, batch: int) -> dict[str, list[float]]:
    """Requests/s per variant per round, variants interleaved (order rotated every round)."""
    loop_name = C.install_uvloop()
    apps = {v: build(v) for v in VARIANTS}
    out: dict[str, list[float]] = {v: [] for v in VARIANTS}

    async def main() -> None:
        sink = _Sink()
        for v in VARIANTS:  # warm every path; check the answer is the pod
            await _batch(apps[v], batch, sink)
            assert sink.status == 200 and sink.bytes > 500, (v, sink.status)
        for r in range(rounds):
            order = VARIANTS[r % 4:] + VARIANTS[:r % 4]
            for v in order:
                gc.collect()
                out[v].append(await _batch(apps[v], batch, sink))
        m = apps["metrics"].metrics
        assert m.requests, "metrics variant recorded nothing"

    asyncio.run(main())
    out["_loop"] = [0.0 if loop_name == "asyncio" else 1.0]
    return out


# ---- over HTTP (wrk), in pairs ---------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pins() -> tuple[list[str], list[str], str]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) >= 2 and shutil.which("taskset"):
        return (["taskset", "-c", str(cores[0])], ["taskset", "-c", str(cores[1])],
                f"servers on core {cores[0]}, wrk on core {cores[1]}")
    return [], [], "NOT pinned (fewer than 2 cores or no taskset)"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _wrk(pin: list[str], url: str, seconds: float, connections: int) -> tuple[float, int]:
    """(requests/s, requests) as wrk saw them; every answer must be a 2xx."""
    out = subprocess.run([*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise RuntimeError(f"wrk saw {bad.group(1)} non-2xx answers from {url}")
    return float(m.group(1)), int(n.group(1))


def _pair(pin: list[str], urls: dict[str, str], pids: dict[str, int], pair: tuple[str, str],
          seconds: float) -> dict[str, tuple[float, float]]:
    """Both servers of ``pair`` loaded at once (one wrk each): {variant: (wrk req/s, requests per CPU-second)}.

    At once, because then drift, frequency changes and noisy neighbours hit both alike: run one after
    the other, the per-round ratio of two identical servers spread over +-4%; side by side, +-1.5%."""
    cpu0 = {v: C.process_cpu_seconds(pids[v], children=False) for v in pair}
    got: dict[str, tuple[float, int]] = {}

    def load(v: str) -> None:
        got[v] = _wrk(pin, urls[v], seconds, HTTP_CONNECTIONS)

    threads = [threading.Thread(target=load, args=(v,)) for v in pair]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = {}
    for v in pair:
        cpu = C.process_cpu_seconds(pids[v], children=False) - cpu0[v]
        out[v] = (got[v][0], got[v][1] / cpu if cpu > 0 else 0.0)
    return out


def over_http(rounds: int, seconds: float) -> tuple[dict[str, dict[str, list[float]]], str]:
    """Per figure and round: requests per server CPU-second with and without the layer (and wrk req/s)."""
    pin_server, pin_load, note = _pins()
    procs: dict[str, subprocess.Popen[str]] = {}
    urls: dict[str, str] = {}
    try:
        for v in VARIANTS:
            port = _free_port()
            procs[v] = subprocess.Popen([*pin_server, sys.executable, "-m", MODULE, "--serve", v, "--port", str(port)],
                                        stdout=subprocess.PIPE, text=True, cwd=ROOT, env=_env())
            urls[v] = f"http://127.0.0.1:{port}{GET_PATH}"
        for v, p in procs.items():
            assert p.stdout is not None
            line = p.stdout.readline()
            if not line.startswith("READY"):
                raise RuntimeError(f"server {v} did not start ({p.poll()})")
        pids = {v: p.pid for v, p in procs.items()}
        for v in VARIANTS:  # warm-up
            _wrk(pin_load, urls[v], 1.0, HTTP_CONNECTIONS)
        out: dict[str, dict[str, list[float]]] = {k: {"with": [], "without": [], "wrk_with": [], "wrk_without": []}
                                                  for k in WITH}
        keys = list(WITH)
        for r in range(rounds):
            for key in keys[r % 3:] + keys[:r % 3]:
                with_, without = WITH[key]
                got = _pair(pin_load, urls, pids, (with_, without) if r % 2 else (without, with_), seconds)
                out[key]["with"].append(got[with_][1])
                out[key]["without"].append(got[without][1])
                out[key]["wrk_with"].append(got[with_][0])
                out[key]["wrk_without"].append(got[without][0])
        return out, note
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


# ---- prometheus_client vs ours --------------------------------------------------------------------
def metrics_libraries(n: int) -> dict[str, Any]:
    """Seconds per ``observe_request`` (counter + two histograms) with ours and with prometheus_client."""
    from apiserver.metrics import REQUEST_BUCKETS, SLI_BUCKETS, VERB_LABEL, Metrics

    clusters = [f"c{i}" for i in range(20)]
    mix = [("get", "pods", "resource", 200), ("list", "pods", "namespace", 200),
           ("watch", "configmaps", "namespace", 200),
           ("create", "configmaps", "resource", 201), ("patch", "deployments", "resource", 200),
           ("get", "secrets", "resource", 404)]
    calls = [(clusters[i % len(clusters)],) + mix[i % len(mix)] + (0.0005 + (i % 97) * 0.0003,) for i in range(4096)]
    ours = Metrics(per_cluster=True)

    def run_ours() -> None:
        obs = ours.observe_request
        for i in range(n):
            c, verb, res, scope, code, secs = calls[i & 4095]
            obs(c, verb, False, "", "v1", res, "", scope, code, secs)

    try:
        import prometheus_client as P
    except ImportError:
        return {"error": "prometheus_client not installed (pip install prometheus_client)"}
    reg = P.CollectorRegistry()
    req = ("cluster", "verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
    total = P.Counter("apiserver_request_total", "h", req + ("code",), registry=reg)
    dur = P.Histogram("apiserver_request_duration_seconds", "h", req, buckets=REQUEST_BUCKETS, registry=reg)
    sli = P.Histogram("apiserver_request_sli_duration_seconds", "h", tuple(x for x in req if x != "dry_run"),
                      buckets=SLI_BUCKETS, registry=reg)

    def run_prom() -> None:
        for i in range(n):
            c, verb, res, scope, code, secs = calls[i & 4095]
            v = VERB_LABEL.get(verb, verb.upper())
            total.labels(c, v, "", "", "v1", res, "", scope, "apiserver", str(code)).inc()
            dur.labels(c, v, "", "", "v1", res, "", scope, "apiserver").observe(secs)
            sli.labels(c, v, "", "v1", res, "", scope, "apiserver").observe(secs)

    run_ours(), run_prom()  # warm: every series exists
    t_ours = min(C.timed(run_ours) for _ in range(5)) / n
    t_prom = min(C.timed(run_prom) for _ in range(5)) / n
    scrape_ours = min(C.timed(ours.exposition) for _ in range(3))
    scrape_prom = min(C.timed(lambda: P.generate_latest(reg)) for _ in range(3))
    return {"ours_us": t_ours * 1e6, "prometheus_client_us": t_prom * 1e6, "ratio": t_prom / t_ours,
            "series": len(ours.requests), "scrape_ours_ms": scrape_ours * 1e3,
            "scrape_prometheus_client_ms": scrape_prom * 1e3, "prometheus_client": P.__version__ if hasattr(
                P, "__version__") else _dist_version("prometheus_client")}


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


# ---- figures --------------------------------------------------------------------------------------
def iqr(xs: Sequence[float]) -> float:
    if len(xs) < 4:
        return max(xs) - min(xs)
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


def summarise_in_process(tput: dict[str, list[float]]) -> dict[str, Any]:
    """Per figure: the median of per-round overheads (1 - with/without), each round's variants back to back."""
    out: dict[str, Any] = {"rps": {v: statistics.median(tput[v]) for v in VARIANTS}, "overhead": {}, "iqr": {},
                           "us": {}, "rounds": len(tput["bare"])}
    for key, (with_, without) in WITH.items():
        r = [1 - w / wo for w, wo in zip(tput[with_], tput[without])]
        out["overhead"][key], out["iqr"][key] = statistics.median(r), iqr(r)
        out["us"][key] = (1 / out["rps"][with_] - 1 / out["rps"][without]) * 1e6
        out.setdefault("pair_rps", {})[key] = (out["rps"][with_], out["rps"][without])
    return out


def summarise_http(pairs: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    """As above, from the pairs measured side by side (requests per server CPU-second)."""
    out: dict[str, Any] = {"overhead": {}, "iqr": {}, "us": {}, "pair_rps": {}, "wrk_rps": {}}
    for key, d in pairs.items():
        r = [1 - w / wo for w, wo in zip(d["with"], d["without"])]
        w, wo = statistics.median(d["with"]), statistics.median(d["without"])
        out["overhead"][key], out["iqr"][key] = statistics.median(r), iqr(r)
        out["us"][key] = (1 / w - 1 / wo) * 1e6
        out["pair_rps"][key] = (w, wo)
        out["wrk_rps"][key] = (statistics.median(d["wrk_with"]), statistics.median(d["wrk_without"]))
        out["rounds"] = len(r)
    return out


def run(quick: bool, skip_http: bool) -> dict[str, Any]:
    rounds_ip, batch = (12, 10000) if quick else (40, 20000)
    rounds_http, seconds = (4, 2.0) if quick else (12, 3.0)
    res: dict[str, Any] = {"machine": C.machine(), "quick": quick}
    print(f"in-process: {rounds_ip} rounds x {batch} GETs per variant ...", flush=True)
    ip = in_process(rounds_ip, batch)
    loop = "uvloop" if ip.pop("_loop")[0] else "asyncio"
    res["in_process"] = summarise_in_process(ip)
    res["in_process"]["loop"] = loop
    if skip_http or shutil.which("wrk") is None:
        res["http"] = {"skipped": "wrk not installed (make bench-http installs it)" if not skip_http else "--no-http"}
    else:
        print(f"over HTTP: {rounds_http} rounds x 3 pairs x {seconds:g} s, two wrk -t1 -c{HTTP_CONNECTIONS} at once "
              f"...", flush=True)
        pairs, note = over_http(rounds_http, seconds)
        res["http"] = summarise_http(pairs)
        res["http"]["pinning"] = note
    print("metrics libraries: prometheus_client vs ours ...", flush=True)
    res["metrics_libraries"] = metrics_libraries(50_000 if quick else 200_000)
    # GET throughput is a server's: the HTTP figures are the headline; in-process only when wrk is missing.
    res["headline_source"] = "http" if "overhead" in res["http"] else "in_process"
    return res


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


SOURCES = {"http": "HTTP, GET throughput per server CPU-s", "in_process": "in-process, the layer alone"}


def report(res: dict[str, Any], argv: Sequence[str]) -> tuple[list[C.Row], str]:
    head = res["headline_source"]
    rows: list[C.Row] = []
    for key, target in TARGETS.items():
        for src in SOURCES:
            s = res.get(src, {})
            if "overhead" not in s:
                continue
            v = s["overhead"][key]
            w, wo = s["pair_rps"][key]
            rows.append(C.Row(f"{key}: {SOURCES[src]}{' [headline]' if src == head else ''}",
                              f"{pct(v)} (IQR {s['iqr'][key] * 100:.1f} pt, {s['us'][key]:+.2f} us/req)",
                              f"{w:,.0f} vs {wo:,.0f} req/CPU-s", f"<= {target * 100:g}%" if src == head else "",
                              C.verdict(v <= target) if src == head else ""))
    ml = res["metrics_libraries"]
    if "ratio" in ml:
        for src in SOURCES:
            if "pair_rps" in res.get(src, {}):
                base_us = 1e6 / res[src]["pair_rps"]["overhead_metrics"][1]
                ml[f"implied_overhead_prometheus_client_{src}"] = ml["prometheus_client_us"] / (
                    base_us + ml["prometheus_client_us"])
                ml[f"implied_overhead_ours_{src}"] = ml["ours_us"] / (base_us + ml["ours_us"])
        rows.append(C.Row("observe_request: prometheus_client / ours",
                          f"{ml['ratio']:.1f}x ({ml['prometheus_client_us']:.2f} vs {ml['ours_us']:.2f} us)",
                          "observe only, no request path", "", ""))
        rows.append(C.Row("scrape, same series: prometheus_client / ours",
                          f"{ml['scrape_prometheus_client_ms']:.2f} vs {ml['scrape_ours_ms']:.2f} ms",
                          f"{ml['series']} request series", "", ""))
    cmd = C.command_line(MODULE, argv)
    ip, http = res["in_process"], res["http"]
    lines = [f"Command: `{cmd}` ({'quick' if res['quick'] else 'full'}); machine: {C.machine_line()}.", "",
             C.format_table(rows, markdown=True), "",
             f"GET `{GET_PATH}` (cluster of {PODS} pods). Overhead = 1 - throughput with / without the layer "
             f"(`bare`: the fault layer cut out of `_resource_request`; metrics: against `no_rules`), the median "
             f"of per-round ratios; us/req: the layer's CPU per request from the medians."]
    if "overhead" in http:
        lines.append(
            f"- HTTP (headline): one uvicorn server (httptools, uvloop) per variant, {http['pinning']}; each figure's "
            f"two servers loaded at once by two wrk -t1 -c{HTTP_CONNECTIONS}, {http['rounds']} rounds (figure order "
            f"rotated, pair order alternated); throughput = requests per CPU-second of the server process (/proc "
            f"schedstat, ns), i.e. what a saturated core serves. A GET costs the server "
            f"~{1e6 / http['pair_rps']['overhead_metrics'][1]:.0f} us of CPU. wrk req/s (each server had about half "
            f"the core): " + "; ".join(f"{WITH[k][0]} {w:,.0f} vs {WITH[k][1]} {wo:,.0f}"
                                       for k, (w, wo) in http["wrk_rps"].items()) + ".")
    else:
        lines.append(f"- HTTP: skipped ({http.get('skipped')}); the in-process figures are the headline.")
    lines.append(
        f"- in-process: the ASGI app called directly ({ip['loop']}, fake receive/send, no sockets, no HTTP parsing), "
        f"{ip['rounds']} rounds, variants back to back; throughput per CPU-second of the loop's thread; req/CPU-s: "
        + ", ".join(f"{v} {ip['rps'][v]:,.0f}" for v in VARIANTS) + f". This isolates each layer: an in-process GET "
        f"is {1e6 / ip['rps']['no_rules']:.1f} us, so a layer's fixed cost weighs ~"
        f"{(1e6 / http['pair_rps']['overhead_metrics'][1]) / (1e6 / ip['rps']['no_rules']):.0f}x more here than on "
        f"a served GET." if "overhead" in http else "")
    lines[-1] = lines[-1].rstrip()
    lines.append(
        f"- Where the metrics cost goes ({ip['us']['overhead_metrics']:.2f} us in-process): two clock reads, the "
        f"series key (cluster, verb, dryRun, group, version, resource, subresource, scope, code), one dict lookup, "
        f"a bucket increment (a comparison for the first bucket, where nearly every GET falls, a bisect otherwise) "
        f"and the sum. Inlined in `KubeApp._resource_request` for answered requests (it was a method call and a "
        f"bisect: 0.59 us).")
    if "ratio" in ml:
        implied = "; ".join(
            f"at the {SOURCES[src]} GET cost, ~{ml[f'implied_overhead_prometheus_client_{src}'] * 100:.0f}% "
            f"instead of ~{ml[f'implied_overhead_ours_{src}'] * 100:.0f}%"
            for src in SOURCES if f"implied_overhead_ours_{src}" in ml)
        lines.append(f"- prometheus_client {ml['prometheus_client']} doing the same observations as "
                     f"`Metrics.observe_request` (the counter and the two histograms, kube-apiserver's labels and "
                     f"buckets, {ml['series']} request series, 20 clusters): {ml['ratio']:.1f}x our cost per request "
                     f"({implied}); a scrape takes {ml['scrape_prometheus_client_ms']:.1f} vs "
                     f"{ml['scrape_ours_ms']:.1f} ms. So kubesim keeps its own small registry.")
    return rows, "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer, shorter rounds (under a minute)")
    p.add_argument("--no-http", action="store_true", help="in-process only (no wrk)")
    p.add_argument("--no-write", action="store_true", help="do not rewrite the faults section of RESULTS.md")
    p.add_argument("--serve", choices=VARIANTS, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args.serve, args.port)
        return 0
    res = run(args.quick, args.no_http)
    rows, body = report(res, argv)
    print()
    print(C.format_table(rows))
    print()
    if not args.no_write:
        C.write_section("faults", body)
        print(f"(wrote the faults section of {C.RESULTS})")
    head = res[res["headline_source"]]
    out = {k: round(head["overhead"][k], 4) for k in TARGETS}
    out.update(headline_source=res["headline_source"],
               in_process={k: round(v, 4) for k, v in res["in_process"]["overhead"].items()},
               http={k: round(v, 4) for k, v in res["http"].get("overhead", {}).items()} or res["http"],
               iqr={src: {k: round(v, 4) for k, v in res[src]["iqr"].items()} for src in SOURCES
                    if "iqr" in res.get(src, {})},
               layer_us={src: {k: round(v, 3) for k, v in res[src]["us"].items()} for src in SOURCES
                         if "us" in res.get(src, {})},
               rps_in_process={k: round(v) for k, v in res["in_process"]["rps"].items()},
               prometheus_client_ratio=round(res["metrics_libraries"].get("ratio", 0.0), 2),
               metrics_libraries={k: (round(v, 4) if isinstance(v, float) else v)
                                  for k, v in res["metrics_libraries"].items()},
               pass_={k: head["overhead"][k] <= t for k, t in TARGETS.items()}, quick=res["quick"])
    out["pass"] = out.pop("pass_")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
