"""The ASGI application: one port, every fake cluster at ``/clusters/<name>``, the admin API at ``/kubesim/``.

Kubernetes paths run on a raw ASGI hot path (no framework routing: measured ~3x faster than a
FastAPI route for tiny GETs). Follow a request: ``KubeApp.__call__`` -> ``request.parse_resource_path``
-> ``handlers.handle_resource`` -> ``ClusterStore`` (``apiserver/cluster.py``).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from .. import errors
from ..multiplexer import Multiplexer
from . import discovery, openapi
from .handlers import HttpConfig, handle_resource
from .request import Query, header, parse_resource_path
from .responses import send_bytes, send_error, send_json, send_text
from .watchstream import WatchStreamStats

log = logging.getLogger("kubesim.http")
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
DEFAULT_CLUSTER = "default"


class KubeApp:
    def __init__(self, mux: Multiplexer, *, config: HttpConfig | None = None, admin: ASGIApp | None = None,
                 reap_interval: float = 0.25) -> None:
        self.mux = mux
        self.config = config or HttpConfig()
        self.admin = admin
        self.reap_interval = reap_interval
        self.watch_stats = WatchStreamStats()
        self._reaper: asyncio.Task[None] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    # ---- lifespan: the simulated kubelet's clock tick for graceful pod deletion -----------------
    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_background()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop_background()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start_background(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.ensure_future(self._reap_loop())

    async def stop_background(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for cluster in self.mux:
            cluster.storage.close_watchers()

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reap_interval)
            for cluster in self.mux:
                if cluster.next_reap_at() is not None:
                    try:
                        cluster.reap_due()
                    except Exception:  # pragma: no cover - never let the ticker die
                        log.exception("reaping pods in cluster %s", cluster.name)

    # ---- requests --------------------------------------------------------------------------
    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        if path.startswith("/kubesim/") or path == "/kubesim":
            if self.admin is None:
                await send_error(send, errors.path_not_found())
            else:
                await self.admin(scope, receive, send)
            return
        if path == "/metrics" and self.admin is not None:
            await self.admin(scope, receive, send)
            return
        if path.startswith("/clusters/"):
            name, _, rest = path[len("/clusters/"):].partition("/")
            rest = "/" + rest
        else:
            name, rest = DEFAULT_CLUSTER, path
        try:
            cluster = self.mux.find(name)
            if cluster is None:
                raise errors.not_found("clusters", "kubesim.io", name)
            await self._cluster_request(cluster, rest, scope, receive, send)
        except errors.StatusError as e:
            await send_error(send, e)
        except Exception as e:  # an unexpected failure is ours, never the client's: 500 with the cause
            log.exception("%s %s", scope["method"], path)
            await send_error(send, errors.internal_error(f"{type(e).__name__}: {e}"))

    async def _cluster_request(self, cluster: Any, path: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        segments = [s for s in path.split("/") if s != ""] if path != "/" else []
        query = Query.parse(scope.get("query_string", b""))
        info = parse_resource_path(segments)
        if info is not None:
            await handle_resource(cluster, info, scope, receive, send, query, self.config, cluster.clock.now())
            return
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            raise errors.path_not_found() if segments[:1] not in (["api"], ["apis"]) else errors.method_not_allowed(
                method, path)
        await self._non_resource(cluster, segments, scope, send, query)

    async def _non_resource(self, cluster: Any, segments: list[str], scope: dict[str, Any], send: Any,
                            query: Query) -> None:
        registry = cluster.registry
        accept = header(scope, b"accept")
        n = len(segments)
        head = segments[0] if segments else ""
        if head in ("healthz", "readyz", "livez") and n <= 2:
            await send_text(send, 200, "ok")
        elif head == "version" and n == 1:
            await send_json(send, 200, discovery.version_info())
        elif head == "api" and n == 1:
            if discovery.wants_aggregated(accept):
                await send_bytes(send, 200, discovery.aggregated(registry, True),
                                 discovery.AGGREGATED_CONTENT_TYPE.encode())
            else:
                host = header(scope, b"host") or "127.0.0.1"
                await send_bytes(send, 200, discovery.api_versions(host))
        elif head == "apis" and n == 1:
            if discovery.wants_aggregated(accept):
                await send_bytes(send, 200, discovery.aggregated(registry, False),
                                 discovery.AGGREGATED_CONTENT_TYPE.encode())
            else:
                await send_bytes(send, 200, discovery.api_group_list(registry))
        elif head == "api" and n == 2:
            body = discovery.api_resource_list(registry, "", segments[1])
            if body is None:
                raise errors.path_not_found()
            await send_bytes(send, 200, body)
        elif head == "apis" and n == 3:
            body = discovery.api_resource_list(registry, segments[1], segments[2])
            if body is None:
                raise errors.path_not_found()
            await send_bytes(send, 200, body)
        elif head == "apis" and n == 2:
            body = discovery.api_group(registry, segments[1])
            if body is None:
                raise errors.path_not_found()
            await send_bytes(send, 200, body)
        elif head == "openapi" and n >= 2 and segments[1] == "v3":
            if n == 2:
                await send_bytes(send, 200, openapi.openapi_v3_root(registry))
                return
            gv = segments[2:]
            if gv[0] == "api" and len(gv) == 2:
                body = openapi.openapi_v3_group_version(registry, "", gv[1])
            elif gv[0] == "apis" and len(gv) == 3:
                body = openapi.openapi_v3_group_version(registry, gv[1], gv[2])
            else:
                body = None
            if body is None:
                raise errors.path_not_found()
            await send_bytes(send, 200, body)
        else:
            raise errors.path_not_found()
