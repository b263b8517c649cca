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

Measured two ways, each interleaved (every round runs every variant, so drift and noisy
neighbours hit all alike; the figure is the median of the per-round ratios):

- in-process: the ASGI app driven directly with a minimal fake receive/send, batches of GETs on
  one event loop (uvloop). Only the request path's CPU: no sockets, no HTTP parsing;
- over HTTP: one uvicorn server per variant (``apiserver.server.Server``) pinned to one core, wrk
  -t1 -c32 pinned to the other.

The headline keys come from the measurement whose per-round ratios spread less (its mean
interquartile range over the three figures); both are printed. Lastly prometheus_client is timed
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
import time
from pathlib import Path
from typing import Any, Sequence

from . import _common as C

MODULE = "benchmarks.faults"
ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"overhead_no_rules": 0.03, "overhead_100_rules": 0.10, "overhead_metrics": 0.05}
VARIANTS = ("bare", "no_rules", "rules_100", "metrics")
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


# ---- over HTTP (wrk) -----------------------------------------------------------------------------
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


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _wrk(pin: list[str], url: str, seconds: float, pid: int | None = None,
         connections: int = 32) -> tuple[float, float]:
    """(requests/s seen by wrk, requests per CPU-second of the server process)."""
    cpu0 = _cpu_seconds(pid) if pid else 0.0
    out = subprocess.run([*pin, "wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", url], capture_output=True,
                         text=True, timeout=seconds + 60).stdout
    cpu = (_cpu_seconds(pid) - cpu0) if pid else 0.0
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n:
        raise RuntimeError(f"wrk printed no Requests/sec:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if bad:
        raise RuntimeError(f"wrk saw {bad.group(1)} non-2xx answers from {url}")
    return float(m.group(1)), (int(n.group(1)) / cpu if cpu > 0 else 0.0)


def over_http(rounds: int, seconds: float) -> tuple[dict[str, list[float]], dict[str, list[float]], str]:
    """(wrk requests/s, requests per server CPU-second) per variant per round, and how things are pinned."""
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
        for v in VARIANTS:  # warm-up
            _wrk(pin_load, urls[v], 1.0)
        out: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(rounds):
            order = VARIANTS[r % 4:] + VARIANTS[:r % 4]
            for v in order:
                rps, per_cpu = _wrk(pin_load, urls[v], seconds, procs[v].pid)
                out[v].append(rps)
                cpu[v].append(per_cpu)
        return out, cpu, note
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
def ratios(tput: dict[str, list[float]]) -> dict[str, list[float]]:
    """Per-round overheads (1 - with/without), each round's variants measured back to back."""
    n = len(tput["bare"])
    return {
        "overhead_no_rules": [1 - tput["no_rules"][i] / tput["bare"][i] for i in range(n)],
        "overhead_100_rules": [1 - tput["rules_100"][i] / tput["bare"][i] for i in range(n)],
        "overhead_metrics": [1 - tput["metrics"][i] / tput["no_rules"][i] for i in range(n)],
    }


def iqr(xs: Sequence[float]) -> float:
    if len(xs) < 4:
        return max(xs) - min(xs)
    q = statistics.quantiles(xs, n=4)
    return q[2] - q[0]


def summarise(tput: dict[str, list[float]]) -> dict[str, Any]:
    r = ratios(tput)
    return {"rps": {v: statistics.median(tput[v]) for v in VARIANTS},
            "overhead": {k: statistics.median(xs) for k, xs in r.items()},
            "iqr": {k: iqr(xs) for k, xs in r.items()},
            "spread": statistics.mean(iqr(xs) for xs in r.values()),
            "rounds": len(tput["bare"])}


def run(quick: bool, skip_http: bool) -> dict[str, Any]:
    rounds_ip, batch = (12, 10000) if quick else (40, 20000)
    rounds_http, seconds = (2, 2.0) if quick else (5, 4.0)
    res: dict[str, Any] = {"machine": C.machine(), "quick": quick}
    print(f"in-process: {rounds_ip} rounds x {batch} GETs per variant ...", flush=True)
    ip = in_process(rounds_ip, batch)
    loop = "uvloop" if ip.pop("_loop")[0] else "asyncio"
    res["in_process"] = summarise(ip)
    res["in_process"]["loop"] = loop
    if skip_http or shutil.which("wrk") is None:
        res["http"] = {"skipped": "wrk not installed (apt-get install -y wrk)" if not skip_http else "--no-http"}
    else:
        print(f"over HTTP: {rounds_http} rounds x {seconds:g} s of wrk -t1 -c32 per variant ...", flush=True)
        tput, per_cpu, note = over_http(rounds_http, seconds)
        res["http"] = summarise(tput)
        res["http"]["pinning"] = note
        res["http_cpu"] = summarise(per_cpu)  # the same runs, as requests per server CPU-second
    print("metrics libraries: prometheus_client vs ours ...", flush=True)
    res["metrics_libraries"] = metrics_libraries(50_000 if quick else 200_000)
    sources = ["in_process"] + (["http"] if "overhead" in res["http"] else [])
    res["headline_source"] = min(sources, key=lambda s: res[s]["spread"])
    return res


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


SOURCES = {"in_process": "in-process (req per CPU-s)", "http": "HTTP (wrk req/s)",
           "http_cpu": "HTTP (req per server CPU-s)"}
WITH = {"overhead_no_rules": ("no_rules", "bare"), "overhead_100_rules": ("rules_100", "bare"),
        "overhead_metrics": ("metrics", "no_rules")}


def layer_us(s: dict[str, Any], key: str) -> float:
    """What the layer costs per request, in microseconds of CPU (from medians of requests per CPU-second)."""
    with_, without = WITH[key]
    return (1 / s["rps"][with_] - 1 / s["rps"][without]) * 1e6


def report(res: dict[str, Any], argv: Sequence[str]) -> tuple[list[C.Row], str]:
    head = res["headline_source"]
    rows: list[C.Row] = []
    for key, target in TARGETS.items():
        for src in SOURCES:
            s = res.get(src, {})
            if "overhead" not in s:
                continue
            v = s["overhead"][key]
            with_, ref = WITH[key]
            cost = f", {layer_us(s, key):+.2f} us/req" if src != "http" else ""
            rows.append(C.Row(f"{key}: {SOURCES[src]}{' [headline]' if src == head else ''}",
                              f"{pct(v)} (IQR {s['iqr'][key] * 100:.1f} pt{cost})",
                              f"{s['rps'][with_]:,.0f} vs {s['rps'][ref]:,.0f}",
                              f"<= {target * 100:g}%", C.verdict(v <= target) if src == head else ""))
    ml = res["metrics_libraries"]
    if "ratio" in ml:
        for src in ("in_process", "http_cpu"):
            if "rps" in res.get(src, {}):
                base_us = 1e6 / res[src]["rps"]["no_rules"]
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
    ip, http, hcpu = res["in_process"], res["http"], res.get("http_cpu", {})
    lines = [f"Command: `{cmd}` ({'quick' if res['quick'] else 'full'}); machine: {C.machine_line()}.", "",
             C.format_table(rows, markdown=True), "",
             f"GET `{GET_PATH}` (cluster of {PODS} pods). Overhead = 1 - throughput with / without the layer "
             f"(`bare`: the fault layer cut out of `_resource_request`; metrics: against `no_rules`), the median "
             f"of per-round ratios, all variants run back to back in every round (order rotated).",
             f"- in-process: the ASGI app called directly ({ip['loop']}, fake receive/send), {ip['rounds']} rounds; "
             f"throughput counted per CPU-second of the loop's thread (time taken by other processes on this "
             f"shared machine is not counted); req/CPU-s: " + ", ".join(f"{v} {ip['rps'][v]:,.0f}" for v in VARIANTS)
             + "."]
    if "rps" in http:
        lines.append(f"- HTTP: one uvicorn server (httptools, uvloop) per variant, wrk -t1 -c32, {http['rounds']} "
                     f"rounds, {http['pinning']}; wrk req/s: " + ", ".join(
                         f"{v} {http['rps'][v]:,.0f}" for v in VARIANTS) + "; requests per server CPU-second: "
                     + ", ".join(f"{v} {hcpu['rps'][v]:,.0f}" for v in VARIANTS) + ".")
    else:
        lines.append(f"- HTTP: skipped ({http.get('skipped')}).")
    cost = layer_us(ip, "overhead_metrics")
    note = (f"- Where the metrics cost goes: {cost:.2f} us of CPU per request (recording the status, two clock "
            f"reads, one table update) against an in-process GET of {1e6 / ip['rps']['no_rules']:.1f} us")
    if "rps" in hcpu:
        note += (f"; a GET over HTTP costs the server ~{1e6 / hcpu['rps']['no_rules']:.0f} us of CPU, so the same "
                 f"cost is ~{cost / (1e6 / hcpu['rps']['no_rules'] + cost) * 100:.1f}% there")
    lines.append(note + ".")
    spreads = ", ".join(f"{SOURCES[k]} {res[k]['spread'] * 100:.1f} pt" for k in SOURCES if "spread" in res.get(k, {}))
    lines.append(f"- Headline: **{SOURCES[head]}**, the one of the two measurements (in-process, wrk) whose "
                 f"per-round ratios spread less (mean IQR over the three figures: {spreads}).")
    if "ratio" in ml:
        implied = "; ".join(
            f"at the {SOURCES[src]} GET cost, ~{ml[f'implied_overhead_prometheus_client_{src}'] * 100:.0f}% "
            f"instead of ~{ml[f'implied_overhead_ours_{src}'] * 100:.0f}%"
            for src in ("in_process", "http_cpu") if f"implied_overhead_ours_{src}" in ml)
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
               http_cpu={k: round(v, 4) for k, v in res.get("http_cpu", {}).get("overhead", {}).items()},
               spread={k: round(res[k]["spread"], 4) for k in SOURCES if "spread" in res.get(k, {})},
               layer_us_in_process={k: round(layer_us(res["in_process"], k), 3) for k in TARGETS},
               rps_in_process={k: round(v) for k, v in res["in_process"]["rps"].items()},
               rps_http={k: round(v) for k, v in res["http"].get("rps", {}).items()},
               prometheus_client_ratio=round(res["metrics_libraries"].get("ratio", 0.0), 2),
               metrics_libraries={k: (round(v, 4) if isinstance(v, float) else v)
                                  for k, v in res["metrics_libraries"].items()},
               pass_={k: head["overhead"][k] <= t for k, t in TARGETS.items()}, quick=res["quick"])
    out["pass"] = out.pop("pass_")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
