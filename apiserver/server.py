"""Running the ASGI app on uvicorn: in the foreground (``kubesim serve``) or on a thread (tests)."""
from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import threading
from typing import Any, Callable, TypeVar

import uvicorn

from .admin import build_admin
from .faults import FaultPlan
from .http.app import KubeApp
from .http.handlers import HttpConfig
from .metrics import CallbackGauge, Metrics
from .multiplexer import Multiplexer
from .tls import ServingCertificate

T = TypeVar("T")


def build_app(mux: Multiplexer, *, http_config: HttpConfig | None = None, faults: FaultPlan | None = None,
              metrics: bool = True, per_cluster_metrics: bool = True) -> KubeApp:
    m = Metrics(per_cluster=per_cluster_metrics) if metrics else None
    app = KubeApp(mux, config=http_config, faults=faults, metrics=m)
    app.admin = build_admin(mux, app)
    if m is not None:
        _register_gauges(m, mux, per_cluster_metrics)
    return app


def _register_gauges(m: Metrics, mux: Multiplexer, per_cluster: bool) -> None:
    """Counts computed at scrape time, so nothing is maintained per write."""

    def objects() -> list[tuple[tuple[str, ...], float]]:
        out: dict[tuple[str, ...], float] = {}
        for c in mux:
            for sid, t in c.storage.tables.items():
                key = ((c.name, sid) if per_cluster else (sid,))
                out[key] = out.get(key, 0) + len(t.objects)
        return list(out.items())

    def overflowed() -> list[tuple[tuple[str, ...], float]]:
        return [((), float(sum(c.storage.stats.watchers_overflowed for c in mux)))]

    def clusters() -> list[tuple[tuple[str, ...], float]]:
        return [((), float(len(mux)))]

    m.add(CallbackGauge("apiserver_storage_objects", "Number of stored objects at the time of last check split by kind.",
                        (("cluster",) if per_cluster else ()) + ("resource",), objects))
    m.add(CallbackGauge("kubesim_watchers_closed_overflow_total",
                        "Watchers closed because their buffer overflowed (slow consumers).", (), overflowed))
    m.add(CallbackGauge("kubesim_clusters", "Fake clusters served.", (), clusters))


GC_THRESHOLD = (20_000, 10, 10)


def tune_gc() -> None:
    """Collect the youngest generation every 20,000 net allocations instead of 700.

    With 1,000 open watches, ~1,000 futures are alive at any moment; at the default threshold
    every young collection promotes them, and the promotions then trigger full collections that
    walk the whole store (~250 ms each with 10k pods: the watch latency tail). Measured with the
    ``benchmarks.http`` watch workload at 60,000 events/s: GC went from ~2.5 s to ~0.02 s of a 10 s
    run, p99 delivery latency from ~470 ms to 130-220 ms. Only raises the threshold, never lowers it.
    """
    current = gc.get_threshold()
    if current[0] and current[0] < GC_THRESHOLD[0]:
        gc.set_threshold(GC_THRESHOLD[0], *current[1:])


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: accepted sockets inherit it, and only then does asyncio set TCP_NODELAY on them;
    # without it every answer written as head + body waited ~40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _UvicornServer(uvicorn.Server):
    """Ends open watch streams (cleanly, as kube-apiserver does) before uvicorn waits for connections to drain:
    otherwise every open watch holds shutdown for the graceful timeout and is then cancelled with a traceback."""

    def __init__(self, config: uvicorn.Config, mux: Multiplexer) -> None:
        super().__init__(config)
        self._mux = mux

    async def shutdown(self, sockets: Any = None) -> None:
        for cluster in self._mux:
            cluster.storage.close_watchers()
        await super().shutdown(sockets=sockets)


class Server:
    """kubesim's HTTP server: ``url`` is known as soon as the socket is bound (port 0 works)."""

    def __init__(self, mux: Multiplexer, host: str = "127.0.0.1", port: int = 6443, *,
                 http_config: HttpConfig | None = None, log_level: str = "warning", faults: FaultPlan | None = None,
                 metrics: bool = True, per_cluster_metrics: bool = True, tls: bool = False,
                 tls_dir: str | None = None) -> None:
        """``tls``: serve https with a CA and serving certificate made for this server (``ca_pem``, and
        ``ca.crt`` in ``tls_dir`` or a private temporary directory)."""
        self.mux = mux
        self.app = build_app(mux, http_config=http_config, faults=faults, metrics=metrics,
                             per_cluster_metrics=per_cluster_metrics)
        self.sock = bind(host, port)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.certificate = ServingCertificate.generate((host,)) if tls else None
        ssl: dict[str, Any] = {}
        self._tls_tmp: str | None = None
        if self.certificate is not None:
            certfile, keyfile, self.ca_file = self.certificate.write(tls_dir)
            self._tls_tmp = None if tls_dir else os.path.dirname(certfile)  # ours to remove at stop()
            ssl = {"ssl_certfile": certfile, "ssl_keyfile": keyfile}
            self.app.ca_pem = self.certificate.ca_pem  # for the kubeconfigs the admin API hands out
        # proxy_headers off: no X-Forwarded-* rewriting middleware around every request (~5% of a tiny GET's
        # CPU, measured by benchmarks.http); nothing in kubesim reads the client address or scheme.
        self.config = uvicorn.Config(self.app, log_level=log_level, lifespan="on", access_log=False,
                                     timeout_keep_alive=75, timeout_graceful_shutdown=2, proxy_headers=False, **ssl)
        self.uvicorn = _UvicornServer(self.config, mux)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.certificate else 'http'}://{host}:{self.port}"

    @property
    def ca_pem(self) -> bytes | None:
        return self.certificate.ca_pem if self.certificate else None

    async def serve(self) -> None:
        """Serve in the foreground: this process is the server (``kubesim serve``), so tune its GC too."""
        self.loop = asyncio.get_running_loop()
        tune_gc()
        await self.uvicorn.serve(sockets=[self.sock])

    # ---- on a thread, for test fixtures ---------------------------------------------------
    def start(self) -> "Server":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self.loop = loop
            self.uvicorn.config.install_signal_handlers = False  # type: ignore[attr-defined]
            task = loop.create_task(self.uvicorn.serve(sockets=[self.sock]))
            loop.call_soon(ready.set)
            loop.run_until_complete(task)
            loop.close()

        self._thread = threading.Thread(target=run, name="kubesim-server", daemon=True)
        self._thread.start()
        ready.wait(10)
        for _ in range(200):
            if self.uvicorn.started:
                break
            threading.Event().wait(0.025)
        return self

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` on the server's loop (the store is single-threaded) and return its result."""
        assert self.loop is not None

        async def run() -> T:
            return fn(*args, **kwargs)

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(30)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        try:
            self.sock.close()
        except OSError:
            pass
        if self._tls_tmp:
            shutil.rmtree(self._tls_tmp, ignore_errors=True)
