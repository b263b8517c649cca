"""Watch: the per-cluster event history window and the watchers that stream from it.

A write produces one ``Event``; its wire line is encoded once and shared by every watcher.
A watcher has a bounded live buffer; overflowing it closes the watcher (counted) so a slow
consumer never blocks a writer or another watcher; the client then re-watches from the
last resourceVersion it saw, which the history window usually still covers.
"""
from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Iterator

import orjson

from .errors import StatusError
from .objects import StoredObject, with_resource_version

if TYPE_CHECKING:
    from .resources import ResourceType

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
# A DELETED sent because the object left a watcher's selection: previous content, new rv.
DELETED_PREV = "DELETED_PREV"
# The BOOKMARK that ends a WatchList's initial events (carries the initial-events-end annotation).
INITIAL_END = "INITIAL_END"
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

_LINE_HEAD = {t: b'{"type":"' + t.encode() + b'","object":' for t in (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR)}


class Event:
    """One committed change (or a synthetic ADDED for an initial listing)."""

    __slots__ = ("rv", "type", "storage_id", "obj", "prev", "time", "_lines", "_prev_deleted")

    def __init__(self, rv: int, type_: str, storage_id: str, obj: StoredObject, prev: StoredObject | None,
                 time: float) -> None:
        self.rv = rv
        self.type = type_
        self.storage_id = storage_id
        self.obj = obj
        self.prev = prev
        self.time = time
        self._lines: dict[str, bytes] | None = None
        self._prev_deleted: StoredObject | None = None

    def object_for(self, kind: str) -> StoredObject:
        if kind != DELETED_PREV:
            return self.obj
        if self._prev_deleted is None:
            p = self.prev or self.obj
            self._prev_deleted = StoredObject(p.key, p.namespace, self.rv, p.labels, p.fields,
                                              with_resource_version(p.data, self.rv))
        return self._prev_deleted

    def line(self, kind: str) -> bytes:
        """The newline-terminated JSON watch event, encoded once per kind."""
        lines = self._lines
        if lines is None:
            lines = self._lines = {}
        found = lines.get(kind)
        if found is None:
            wire = DELETED if kind == DELETED_PREV else kind
            found = lines[kind] = _LINE_HEAD[wire] + self.object_for(kind).data + b"}\n"
        return found


class History:
    """The window of recent events: resume a watch or rebuild a past list from inside it.

    Resource versions are contiguous per cluster (every bump is one event), so the event for
    rv ``r`` sits at index ``r - first_rv``: no search needed.
    """

    __slots__ = ("max_events", "max_age", "_events", "_start", "compacted_rv")

    def __init__(self, max_events: int, max_age: float) -> None:
        self.max_events = max_events
        self.max_age = max_age
        self._events: list[Event] = []
        self._start = 0
        # States at rv >= compacted_rv can be rebuilt; older ones are gone (410).
        self.compacted_rv = 0

    def __len__(self) -> int:
        return len(self._events) - self._start

    def append(self, event: Event, now: float) -> None:
        self._events.append(event)
        if len(self._events) - self._start > self.max_events:
            self._drop(1)
        if self.max_age > 0:
            events, start = self._events, self._start
            cutoff = now - self.max_age
            n = 0
            while start + n < len(events) - 1 and events[start + n].time < cutoff:
                n += 1
            if n:
                self._drop(n)

    def _drop(self, n: int) -> None:
        self.compacted_rv = self._events[self._start + n - 1].rv
        self._start += n
        if self._start > 4096 and self._start * 2 > len(self._events):
            del self._events[:self._start]
            self._start = 0

    def compact(self, upto_rv: int | None = None) -> None:
        """Forget events up to ``upto_rv`` (all by default): resumes before it get 410."""
        events = self._events
        n = 0
        while self._start + n < len(events) and (upto_rv is None or events[self._start + n].rv <= upto_rv):
            n += 1
        if n:
            self._drop(n)
        if upto_rv is not None and upto_rv > self.compacted_rv and not len(self):
            self.compacted_rv = upto_rv

    def since(self, rv: int) -> Iterator[Event]:
        """Events with resourceVersion > rv (caller has checked rv >= compacted_rv)."""
        events = self._events
        if self._start >= len(events):
            return iter(())
        first = events[self._start].rv
        idx = self._start + max(0, rv + 1 - first)
        return (events[i] for i in range(idx, len(events)))


class ObjectFilter:
    """Namespace + label selector + field selector, compiled against one resource type."""

    __slots__ = ("namespace", "label", "field_terms", "everything", "label_empty")

    def __init__(self, rtype: "ResourceType", namespace: str | None, label: Any = None, field: Any = None) -> None:
        self.namespace = namespace or None
        self.label = label
        self.label_empty = label is None or label.empty
        terms = []
        if field is not None and not field.empty:
            index = {f.label: i for i, f in enumerate(rtype.selectable)}
            for t in field.terms:
                name = "spec.nodeName" if (t.field == "spec.host" and rtype.kind == "Pod") else t.field
                slot: int | str = index.get(name, name)
                terms.append((slot, t.op == "=", t.value))
        self.field_terms = tuple(terms)
        self.everything = self.namespace is None and self.label_empty and not self.field_terms

    def matches(self, obj: StoredObject) -> bool:
        if self.namespace is not None and obj.namespace != self.namespace:
            return False
        if not self.label_empty and not self.label.matches(obj.labels):
            return False
        for slot, equal, value in self.field_terms:
            if slot.__class__ is int:
                actual = obj.fields[slot] if obj.fields else ""
            elif slot == "metadata.name":
                actual = obj.name
            elif slot == "metadata.namespace":
                actual = obj.namespace
            else:
                actual = ""
            if (actual == value) != equal:
                return False
        return True


class WatcherOverflow(Exception):
    pass


class Watcher:
    """One watch: initial events (unbounded, already materialised) then a bounded live buffer.

    Items are ``(kind, payload)``: payload is an ``Event`` for object events, the
    resourceVersion for ``BOOKMARK``, a ``StatusError`` for ``ERROR``.
    """

    def __init__(self, rtype: "ResourceType", flt: ObjectFilter, *, max_buffer: int, allow_bookmarks: bool,
                 current_rv: Callable[[], int], on_close: Callable[["Watcher"], None]) -> None:
        self.rtype = rtype
        self.filter = flt
        self.max_buffer = max_buffer
        self.allow_bookmarks = allow_bookmarks
        self.queue: deque[tuple[str, Any]] = deque()
        self.closed = False
        self.overflowed = False
        self.last_rv = 0
        self._current_rv = current_rv
        self._on_close = on_close
        self._waiter: asyncio.Future[None] | None = None

    # -- producer side (called by the storage, synchronously, from writers) --
    def push(self, kind: str, payload: Any) -> None:
        if self.closed:
            return
        if len(self.queue) >= self.max_buffer:
            self.overflowed = True
            self.close()
            return
        self.queue.append((kind, payload))
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def offer(self, event: Event) -> None:
        """Route a committed event through this watcher's selection (upstream's cacher rules)."""
        flt = self.filter
        if flt.everything:
            kind = event.type
        elif event.type == DELETED:
            if event.prev is None or not flt.matches(event.obj):
                return
            kind = DELETED
        else:
            cur = flt.matches(event.obj)
            prev = event.prev is not None and flt.matches(event.prev)
            if cur:
                kind = MODIFIED if prev else ADDED
            elif prev:
                kind = DELETED_PREV
            else:
                return
        # push(), inlined: this runs once per watcher per write
        if self.closed:
            return
        q = self.queue
        if len(q) >= self.max_buffer:
            self.overflowed = True
            self.close()
            return
        q.append((kind, event))
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._on_close(self)
        w = self._waiter
        if w is not None:
            self._waiter = None
            if not w.done():
                w.set_result(None)

    # -- consumer side --
    @property
    def done(self) -> bool:
        return self.closed and not self.queue

    def get_nowait(self) -> tuple[str, Any] | None:
        q = self.queue
        if q:
            item = q.popleft()
            kind = item[0]  # _note(), inlined
            if kind == BOOKMARK or kind == INITIAL_END:
                self.last_rv = item[1]
            elif kind != ERROR:
                self.last_rv = item[1].rv
            return item
        return None

    async def get(self, timeout: float | None = None) -> tuple[str, Any] | None:
        """Next item; None when the watcher is closed and drained, or on timeout."""
        while not self.queue:
            if self.closed:
                return None
            loop = asyncio.get_running_loop()
            fut = self._waiter = loop.create_future()
            if timeout is None:
                await fut
                continue
            # One timer, not wait_for + shield: a watch stream waits here once per event it sends, and
            # wait_for's futures, closures and frame per wait were most of a busy watch server's GC work.
            timer = loop.call_later(timeout, _wake, fut)
            try:
                await fut
            finally:
                timer.cancel()
            if not self.queue and not self.closed:  # woken by the timer: timed out
                self._waiter = None
                return None
        return self.get_nowait()

    def _note(self, item: tuple[str, Any]) -> None:
        kind, payload = item
        if kind == BOOKMARK or kind == INITIAL_END:
            self.last_rv = payload
        elif kind != ERROR:
            self.last_rv = payload.rv

    def bookmark(self) -> tuple[str, Any] | None:
        """A BOOKMARK at the current rv, if asked for and the watcher is caught up."""
        if not self.allow_bookmarks or self.queue or self.closed:
            return None
        rv = self._current_rv()
        self.last_rv = rv
        return (BOOKMARK, rv)

    def __aiter__(self) -> "Watcher":
        return self

    async def __anext__(self) -> tuple[str, Any]:
        item = await self.get()
        if item is None:
            raise StopAsyncIteration
        return item


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


def bookmark_bytes(rtype: "ResourceType", rv: int, initial_events_end: bool = False) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if initial_events_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return orjson.dumps({"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": meta})


def encode_item(rtype: "ResourceType", kind: str, payload: Any) -> bytes:
    """The wire line for a watcher item."""
    if payload.__class__ is Event:
        return payload.line(kind)
    if kind == BOOKMARK or kind == INITIAL_END:
        return _LINE_HEAD[BOOKMARK] + bookmark_bytes(rtype, payload, kind == INITIAL_END) + b"}\n"
    if kind == ERROR:
        assert isinstance(payload, StatusError)
        return _LINE_HEAD[ERROR] + payload.encode() + b"}\n"
    return payload.line(kind)
