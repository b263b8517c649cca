"""The processes ``benchmarks.http`` runs: kubesim, its reference servers, and the watch client.

    python -m benchmarks._http_refs kubesim --port P [--pods N]     # preloaded kubesim on uvicorn
    python -m benchmarks._http_refs kmock --port P --object FILE    # kmock serving one pod
    python -m benchmarks._http_refs watch --url URL --streams N ...  # N watch streams, counts events

Each server prints ``READY <port>`` on stdout once it accepts connections. The kubesim launcher
then reads commands on stdin (one a line) and answers each with one JSON line on stdout:

    write RATE SECONDS TICK   # patch pods at RATE/s for SECONDS, in bursts every TICK seconds;
                              # each patch stamps time.time() in an annotation (for latency)
    stats                     # watch streams open, events sent, watchers closed as too slow

nginx is configured here too (``nginx_conf``): one worker, static files, no access log.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import install_uvloop

CLUSTER = "c1"
NAMESPACE = "default"
STAMP = "kubesim.bench/t"
GET_PATH = f"/clusters/{CLUSTER}/api/v1/namespaces/{NAMESPACE}/pods/p-0"
LIST_PATH = f"/clusters/{CLUSTER}/api/v1/namespaces/{NAMESPACE}/pods"


def make_pod(i: int) -> dict[str, Any]:
    """Pod ``p-<i>``: ~770 bytes once stored (kubesim adds uid, timestamps and kube's defaults)."""
    ip = f"10.1.{(i >> 8) & 255}.{i & 255}"
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"p-{i}", "namespace": NAMESPACE,
                     "labels": {"app": "web", "pod-template-hash": "5f7c9d8b4"}},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
                 "nodeName": f"node-{i % 100:03d}"},
        "status": {"phase": "Running", "podIP": ip, "hostIP": f"192.168.0.{i % 100}"},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- nginx ----------------------------------------------------------------------------------
def nginx_conf(prefix: Path, port: int) -> str:
    """One worker process serving ``prefix/www`` as static files (sendfile, keep-alive, no log)."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    tmp = prefix / "tmp"
    return f"""{user}worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000000;
    keepalive_timeout 75s;
    client_body_temp_path {tmp}/body;
    types {{ }}
    default_type application/json;
    server {{
        listen 127.0.0.1:{port};
        root {prefix}/www;
        location / {{ }}
    }}
}}
"""


def write_nginx_site(prefix: Path, port: int, files: dict[str, bytes]) -> Path:
    """The config and the static files; returns the config path."""
    (prefix / "www").mkdir(parents=True, exist_ok=True)
    (prefix / "tmp").mkdir(exist_ok=True)
    for name, body in files.items():
        (prefix / "www" / name).write_bytes(body)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, port))
    return conf


# ---- kubesim ----------------------------------------------------------------------------------
def serve_kubesim(port: int, pods: int, metrics: bool, plain_asyncio: bool = False) -> None:
    loop_name = "asyncio" if plain_asyncio else install_uvloop()
    from apiserver.cluster import MERGE_PATCH
    from apiserver.multiplexer import Multiplexer
    from apiserver.resources import BUILTIN_BY_GVR
    from apiserver.server import Server

    rtype = BUILTIN_BY_GVR[("", "v1", "pods")]
    mux = Multiplexer()
    cluster = mux.create(CLUSTER)
    create = cluster.create
    for i in range(pods):
        create(rtype, None, make_pod(i), copy=False)
    server = Server(mux, "127.0.0.1", port, metrics=metrics)
    gc_time = [0.0, 0.0, 0.0]
    gc_count = [0, 0, 0]
    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:  # time spent collecting, by generation
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            gc_time[info["generation"]] += time.perf_counter() - gc_started[0]
            gc_count[info["generation"]] += 1

    gc.callbacks.append(on_gc)

    def reply(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    async def writer(rate: float, seconds: float, tick: float) -> None:
        """Steady merge patches at ``rate``/s, a burst every ``tick`` s; each stamps its write time."""
        patch = cluster.patch
        start = time.perf_counter()
        done = 0
        late = 0
        while True:
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
            due = int(rate * elapsed) + 1 - done
            if due > 0:
                for _ in range(due):
                    body = {"metadata": {"annotations": {STAMP: repr(time.time())}}}
                    patch(rtype, NAMESPACE, f"p-{done % pods}", MERGE_PATCH, body)
                    done += 1
            next_at = start + (int((time.perf_counter() - start) / tick) + 1) * tick
            delay = next_at - time.perf_counter()
            if delay < 0:
                late += 1
            await asyncio.sleep(max(delay, 0))
        reply({"wrote": done, "seconds": time.perf_counter() - start, "late_ticks": late})

    def on_command(line: str) -> None:
        parts = line.split()
        if not parts:
            return
        if parts[0] == "write":
            asyncio.ensure_future(writer(float(parts[1]), float(parts[2]), float(parts[3])))
        elif parts[0] == "stats":
            stats = server.app.watch_stats
            reply({"open_streams": stats.open_streams, "events_sent": stats.events_sent,
                   "watchers_overflowed": cluster.storage.stats.watchers_overflowed,
                   "gc_seconds": [round(t, 3) for t in gc_time], "gc_collections": gc_count})
        else:
            reply({"error": f"unknown command {parts[0]!r}"})

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stdin = sys.stdin

        def readable() -> None:
            line = stdin.readline()
            if not line:
                loop.remove_reader(stdin.fileno())
                server.uvicorn.should_exit = True  # the orchestrator went away
                return
            on_command(line)

        loop.add_reader(stdin.fileno(), readable)
        task = asyncio.ensure_future(server.serve())
        while not server.uvicorn.started:
            await asyncio.sleep(0.01)
        sys.stdout.write(f"READY {server.port} {loop_name}\n")
        sys.stdout.flush()
        await task

    asyncio.run(main())


# ---- kmock ------------------------------------------------------------------------------------
def serve_kmock(port: int, object_file: str) -> None:
    loop_name = install_uvloop()
    import kmock

    obj = json.loads(Path(object_file).read_bytes())
    meta = obj["metadata"]

    async def main() -> None:
        async with kmock.KubernetesEmulator() as handler, kmock.Server(handler, port=port):
            handler.objects["v1/pods", meta["namespace"], meta["name"]] = obj
            sys.stdout.write(f"READY {port} {loop_name}\n")
            sys.stdout.flush()
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            loop.add_reader(sys.stdin.fileno(), lambda: None if sys.stdin.readline() else stop.set())
            await stop.wait()

    asyncio.run(main())


# ---- the watch client -------------------------------------------------------------------------
_STAMP_RE = re.compile(rb'"' + re.escape(STAMP.encode()) + rb'":"([0-9.e+-]+)"')


class _WatchStream(asyncio.Protocol):
    """One raw HTTP/1.1 watch: counts events (lines end in ``}\\n``), some also take latencies."""

    __slots__ = ("client", "sample", "head", "status", "tail", "transport", "closed")

    def __init__(self, client: "WatchClient", sample: bool) -> None:
        self.client = client
        self.sample = sample
        self.head = b""
        self.status = 0
        self.tail = b""
        self.closed = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        transport.write(self.client.request)

    def data_received(self, data: bytes) -> None:
        if not self.status:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.head[9:12])
            data = self.head[end + 4:]
            self.head = b""
            self.client.on_headers(self)
        c = self.client
        now = time.time()
        if c.measuring:
            n = data.count(b"}\n")
            if self.tail == b"}" and data[:1] == b"\n":
                n += 1
            c.events += n
            if self.sample and n:
                lat = c.latencies
                for m in _STAMP_RE.findall(data):
                    lat.append(now - float(m))
        else:
            c.events_outside += data.count(b"}\n")
        self.tail = data[-1:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.client.closed += 1


class WatchClient:
    def __init__(self, host: str, port: int, path: str, streams: int, sample_every: int) -> None:
        self.host, self.port, self.streams, self.sample_every = host, port, streams, sample_every
        self.request = (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n"
                        f"User-Agent: kubesim-bench-watch\r\n\r\n").encode()
        self.events = 0
        self.events_outside = 0
        self.latencies: list[float] = []
        self.measuring = False
        self.headers_seen = 0
        self.non_200 = 0
        self.closed = 0
        self.all_headers = asyncio.Event()

    def on_headers(self, stream: _WatchStream) -> None:
        self.headers_seen += 1
        if stream.status != 200:
            self.non_200 += 1
        if self.headers_seen == self.streams:
            self.all_headers.set()

    async def open(self) -> list[_WatchStream]:
        loop = asyncio.get_running_loop()
        out: list[_WatchStream] = []
        for i in range(self.streams):
            sample = i % self.sample_every == 0
            _, proto = await loop.create_connection(lambda s=sample: _WatchStream(self, s), self.host, self.port)
            out.append(proto)
        await asyncio.wait_for(self.all_headers.wait(), 60)
        return out


def run_watch_client(url: str, path: str, streams: int, warmup: float, seconds: float, sample_every: int) -> None:
    """Open the streams, print READY, wait for ``go`` on stdin, then measure; prints one JSON line."""
    install_uvloop()
    m = re.match(r"http://([^:/]+):(\d+)", url)
    assert m, url
    host, port = m.group(1), int(m.group(2))

    async def main() -> None:
        client = WatchClient(host, port, path, streams, sample_every)
        t0 = time.perf_counter()
        await client.open()
        opened = time.perf_counter() - t0
        sys.stdout.write(f"READY {streams} {opened:.2f}\n")
        sys.stdout.flush()
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        await asyncio.sleep(warmup)
        client.measuring = True
        cpu0, t_start = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        client.measuring = False
        elapsed = time.perf_counter() - t_start
        cpu = time.process_time() - cpu0
        lat = sorted(client.latencies)

        def pct(p: float) -> float | None:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else None

        result = {"streams": streams, "non_200": client.non_200, "closed": client.closed,
                  "events": client.events, "seconds": elapsed, "events_per_s": client.events / elapsed,
                  "latency_samples": len(lat), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                  "max_ms": lat[-1] * 1000 if lat else None, "client_cpu": cpu / elapsed,
                  "open_seconds": opened}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()

    asyncio.run(main())


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks._http_refs")
    sub = p.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kubesim")
    k.add_argument("--port", type=int, required=True)
    k.add_argument("--pods", type=int, default=10_000)
    k.add_argument("--no-metrics", action="store_true")
    k.add_argument("--asyncio", action="store_true", help="the default asyncio loop, not uvloop")
    km = sub.add_parser("kmock")
    km.add_argument("--port", type=int, required=True)
    km.add_argument("--object", required=True)
    w = sub.add_parser("watch")
    w.add_argument("--url", required=True)
    w.add_argument("--path", required=True)
    w.add_argument("--streams", type=int, default=1000)
    w.add_argument("--warmup", type=float, default=1.0)
    w.add_argument("--seconds", type=float, default=5.0)
    w.add_argument("--sample-every", type=int, default=10)
    a = p.parse_args(argv)
    if a.what == "kubesim":
        serve_kubesim(a.port, a.pods, not a.no_metrics, a.asyncio)
    elif a.what == "kmock":
        serve_kmock(a.port, a.object)
    else:
        run_watch_client(a.url, a.path, a.streams, a.warmup, a.seconds, a.sample_every)


if __name__ == "__main__":
    main()
