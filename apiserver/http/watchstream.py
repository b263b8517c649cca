"""A watch as a chunked stream of newline-delimited JSON events.

Headers go out at once (clients wait for them before reading events). Events that are
already queued are written in one chunk; a quiet stream gets a BOOKMARK every
``bookmark_interval`` when the client asked for them; the stream ends cleanly at
``timeoutSeconds`` (or upstream's random default) or when the client goes away.
"""
from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from ..clock import Clock
from ..resources import ResourceType
from ..watch import BOOKMARK, ERROR, INITIAL_END, Watcher, encode_item
from . import tables
from .responses import Send

_MAX_CHUNK_ITEMS = 512


@dataclass(frozen=True)
class WatchOptions:
    timeout: float | None
    table: bool = False
    include_object: str = "Metadata"
    printer_columns: list[dict[str, Any]] | None = None
    table_api_version: str = "meta.k8s.io/v1"
    bookmark_interval: float = 60.0
    default_timeout: tuple[float, float] = (1800.0, 3600.0)
    drop_after: float | None = None                  # a fault rule closes the stream after this long
    on_sent: Callable[[int], None] | None = None     # events written (for apiserver_watch_events_total)


class WatchStreamStats:
    """Counters the metrics layer reads (events written, streams open)."""

    __slots__ = ("events_sent", "open_streams")

    def __init__(self) -> None:
        self.events_sent = 0
        self.open_streams = 0




async def stream_watch(watcher: Watcher, rtype: ResourceType, receive: Any, send: Send, options: WatchOptions,
                       clock: Clock, stats: WatchStreamStats | None = None) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"cache-control", b"no-cache, private")]})
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    loop = asyncio.get_running_loop()
    timeout = options.timeout if options.timeout else random.uniform(*options.default_timeout)
    deadline = loop.time() + timeout
    if options.drop_after is not None:
        deadline = min(deadline, loop.time() + options.drop_after)
    disconnected = asyncio.Event()

    async def watch_disconnect() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.set()
                watcher.close()
                return

    listener = asyncio.ensure_future(watch_disconnect())
    first_table = [True]
    if stats is not None:
        stats.open_streams += 1
    try:
        next_bookmark = loop.time() + options.bookmark_interval
        while not disconnected.is_set():
            now = loop.time()
            if now >= deadline:
                break
            wait = min(deadline, next_bookmark) - now
            item = await watcher.get(timeout=max(wait, 0.0))
            if item is None:
                if watcher.done:
                    break
                if loop.time() >= next_bookmark:
                    next_bookmark = loop.time() + options.bookmark_interval
                    bm = watcher.bookmark()
                    if bm is not None:
                        await _write(send, [_encode(rtype, bm, options, first_table, clock)], stats, options)
                continue
            lines = [_encode(rtype, item, options, first_table, clock)]
            while len(lines) < _MAX_CHUNK_ITEMS:
                more = watcher.get_nowait()
                if more is None:
                    break
                lines.append(_encode(rtype, more, options, first_table, clock))
            await _write(send, lines, stats, options)
            if item[0] == ERROR:
                break
        if not disconnected.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    except OSError:
        pass
    finally:
        watcher.close()
        listener.cancel()
        if stats is not None:
            stats.open_streams -= 1


async def _write(send: Send, lines: list[bytes], stats: WatchStreamStats | None, options: WatchOptions) -> None:
    if stats is not None:
        stats.events_sent += len(lines)
    if options.on_sent is not None:
        options.on_sent(len(lines))
    await send({"type": "http.response.body", "body": b"".join(lines), "more_body": True})


def _encode(rtype: ResourceType, item: tuple[str, Any], options: WatchOptions, first: list[bool],
            clock: Clock) -> bytes:
    kind, payload = item
    if not options.table or kind in (BOOKMARK, INITIAL_END, ERROR):
        return encode_item(rtype, kind, payload)
    obj = payload.object_for(kind)
    table = tables.table_for_watch_event(rtype, obj, first[0], options.include_object, clock.now(),
                                         printer_columns=options.printer_columns,
                                         api_version=options.table_api_version)
    first[0] = False
    wire = "DELETED" if kind == "DELETED_PREV" else kind
    return orjson.dumps({"type": wire, "object": table}) + b"\n"
