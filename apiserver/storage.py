"""The storage layer of one fake cluster: what etcd plus the watch cache are to kube-apiserver.

Objects live per resource in a dict plus a sorted key list (etcd's key order, so list order and
``continue`` paging match upstream). Every commit bumps the cluster's resourceVersion, appends
one event to the history window and offers it to the resource's watchers. Past states inside
the window are rebuilt by undoing newer events, which gives consistent paginated snapshots and
``resourceVersionMatch=Exact`` lists. Knows nothing of HTTP or of kube write semantics.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from heapq import merge
from typing import Any, Iterator, NamedTuple

import orjson
from sortedcontainers import SortedList

from . import errors
from .clock import Clock
from .objects import LabelInterner, StoredObject, StringInterner, exact_bytes
from .resources import ResourceType
from .watch import ADDED, DELETED, ERROR, INITIAL_END, MODIFIED, Event, History, ObjectFilter, Watcher


@dataclass(frozen=True)
class StoreConfig:
    history_events: int = 10_000      # events kept for watch resume and snapshots (etcd's compaction)
    history_seconds: float = 300.0    # ...and for at most this long
    watcher_buffer: int = 10_000      # unread live events before a watcher is closed as too slow
    pod_termination_seconds: float = 0.0  # how long the simulated kubelet takes to reap a deleted pod


class Table:
    """One resource's objects in one cluster."""

    __slots__ = ("rtype", "objects", "keys", "by_node")

    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype
        self.objects: dict[str, StoredObject] = {}
        self.keys = SortedList()
        # pods by spec.nodeName: what kubelets and node drains filter on
        self.by_node: dict[str, set[str]] | None = {} if (rtype.kind == "Pod" and not rtype.group) else None

    def _index(self, obj: StoredObject) -> None:
        node = obj.fields[0] if obj.fields else ""
        if node:
            s = self.by_node.get(node)  # type: ignore[union-attr]
            if s is None:
                s = self.by_node[node] = set()  # type: ignore[index]
            s.add(obj.key)

    def _unindex(self, obj: StoredObject) -> None:
        node = obj.fields[0] if obj.fields else ""
        if node:
            s = self.by_node.get(node)  # type: ignore[union-attr]
            if s is not None:
                s.discard(obj.key)
                if not s:
                    del self.by_node[node]  # type: ignore[union-attr]

    def put(self, obj: StoredObject, prev: StoredObject | None) -> None:
        self.objects[obj.key] = obj
        if prev is None:
            self.keys.add(obj.key)
        if self.by_node is not None:
            if prev is not None:
                self._unindex(prev)
            self._index(obj)

    def remove(self, prev: StoredObject) -> None:
        del self.objects[prev.key]
        self.keys.remove(prev.key)
        if self.by_node is not None:
            self._unindex(prev)


class ListResult(NamedTuple):
    items: list[StoredObject]
    resource_version: int
    continue_token: str | None
    remaining: int | None


@dataclass
class StorageStats:
    events: int = 0
    watchers_overflowed: int = 0
    watchers_opened: int = 0


def parse_rv(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        rv = int(value)
        if rv < 0:
            raise ValueError
        return rv
    except ValueError:
        raise errors.bad_request(f'invalid resource version: "{value}"') from None


def _list_options_invalid(message: str, reason: str = "FieldValueForbidden") -> errors.StatusError:
    field, _, body = message.partition(": ")  # a cause carries the field apart from its message, as upstream
    return errors.StatusError(422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: {message}',
                              {"kind": "ListOptions", "group": "meta.k8s.io",
                               "causes": [{"reason": reason, "message": body, "field": field}]})


def validate_list_options(*, watch: bool, resource_version: str | None, match: str | None,
                          continue_token: str | None, send_initial_events: bool | None,
                          allow_bookmarks: bool) -> None:
    """kube-apiserver's ListOptions validation (422 Invalid)."""
    if match:
        if match not in ("NotOlderThan", "Exact"):
            raise _list_options_invalid(f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
                                        f'"Exact", "NotOlderThan", ""', "FieldValueNotSupported")
        if not watch and not resource_version:
            raise _list_options_invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                                        "unless resourceVersion is provided")
        if continue_token:
            raise _list_options_invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden "
                                        "when continue is provided")
        if match == "Exact" and resource_version == "0":
            raise _list_options_invalid('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is '
                                        'forbidden for resourceVersion "0"')
    if send_initial_events is not None:
        if not watch:
            raise _list_options_invalid("sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list")
        if match != "NotOlderThan":
            raise _list_options_invalid("resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
                                        "resourceVersionMatch to NotOlderThan")
        if send_initial_events and not allow_bookmarks:
            raise _list_options_invalid("allowWatchBookmarks: Forbidden: sendInitialEvents requires setting "
                                        "allowWatchBookmarks to true")
    elif watch and match:
        raise _list_options_invalid("resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for "
                                    "watch unless sendInitialEvents is provided")
    if continue_token and resource_version not in (None, "", "0"):
        raise errors.bad_request("specifying resource version is not allowed when using continue")


def encode_continue(rv: int, start: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        d = orjson.loads(raw)
        if d.get("v") != "meta.k8s.io/v1" or not isinstance(d.get("rv"), int) or not isinstance(d.get("start"), str):
            raise ValueError
        return d["rv"], d["start"]
    except (ValueError, binascii.Error, orjson.JSONDecodeError, AttributeError):
        raise errors.bad_request("invalid continue token: continue key is not valid") from None


class Storage:
    """One cluster's objects, resourceVersion counter, history window and watchers."""

    def __init__(self, clock: Clock, config: StoreConfig) -> None:
        self.clock = clock
        self.config = config
        self.rv = 0
        self.tables: dict[str, Table] = {}
        self.history = History(config.history_events, config.history_seconds)
        self.watchers: dict[str, list[Watcher]] = {}
        self.labels = LabelInterner()
        self.strings = StringInterner()
        self.stats = StorageStats()
        self._dead_watchers = 0

    # ---- tables ---------------------------------------------------------------------------
    def table(self, rtype: ResourceType) -> Table:
        t = self.tables.get(rtype.storage_id)
        if t is None:
            t = self.tables[rtype.storage_id] = Table(rtype)
        return t

    def current(self, rtype: ResourceType, key: str) -> StoredObject | None:
        t = self.tables.get(rtype.storage_id)
        return t.objects.get(key) if t is not None else None

    def count(self, rtype: ResourceType) -> int:
        t = self.tables.get(rtype.storage_id)
        return len(t.objects) if t is not None else 0

    def drop_table(self, rtype: ResourceType) -> None:
        self.tables.pop(rtype.storage_id, None)
        for w in self.watchers.pop(rtype.storage_id, []):
            w.close()

    # ---- commits --------------------------------------------------------------------------
    def next_rv(self) -> int:
        return self.rv + 1

    def make_object(self, rtype: ResourceType, key: str, namespace: str, rv: int, obj: dict[str, Any],
                    data: bytes) -> StoredObject:
        meta = obj.get("metadata") or {}
        strings = self.strings.table()
        return StoredObject(key, strings.setdefault(namespace, namespace), rv, self.labels.intern(meta.get("labels")),
                            rtype.extract_fields(obj, strings), exact_bytes(data))

    def put(self, rtype: ResourceType, obj: StoredObject, prev: StoredObject | None) -> Event:
        """Commit a create (prev None) or an update at ``obj.rv`` (which must be ``next_rv()``)."""
        assert obj.rv == self.rv + 1
        self.rv = obj.rv
        self.table(rtype).put(obj, prev)
        return self._emit(Event(obj.rv, ADDED if prev is None else MODIFIED, rtype.storage_id, obj, prev,
                                self.clock.monotonic()))

    def remove(self, rtype: ResourceType, final: StoredObject, prev: StoredObject) -> Event:
        """Commit a deletion; ``final`` is the last state, carrying the deletion's rv."""
        assert final.rv == self.rv + 1
        self.rv = final.rv
        self.table(rtype).remove(prev)
        return self._emit(Event(final.rv, DELETED, rtype.storage_id, final, prev, self.clock.monotonic()))

    def _emit(self, event: Event) -> Event:
        self.stats.events += 1
        self.history.append(event, event.time)
        ws = self.watchers.get(event.storage_id)
        if ws:
            for w in ws:
                if not w.closed:
                    w.offer(event)
            if self._dead_watchers:
                self._sweep_watchers()
        return event

    def compact(self, upto_rv: int | None = None) -> None:
        self.history.compact(upto_rv if upto_rv is not None else self.rv)

    # ---- reads ----------------------------------------------------------------------------
    def _overlay(self, sid: str, at_rv: int) -> dict[str, StoredObject | None]:
        """Keys changed since ``at_rv`` and their state at ``at_rv`` (None: absent then)."""
        ov: dict[str, StoredObject | None] = {}
        if at_rv >= self.rv:
            return ov
        for ev in self.history.since(at_rv):
            if ev.storage_id == sid:
                key = ev.obj.key
                if key not in ov:
                    ov[key] = ev.prev
        return ov

    def _snapshot(self, table: Table, lo: str, hi: str | None, overlay: dict[str, StoredObject | None]
                  ) -> Iterator[StoredObject]:
        objects = table.objects
        keys = table.keys.irange(lo, hi, inclusive=(True, False))
        if not overlay:
            for k in keys:
                yield objects[k]
            return
        changed = sorted(k for k in overlay if k >= lo and (hi is None or k < hi))
        last = None
        for k in merge(keys, changed):
            if k == last:
                continue
            last = k
            if k in overlay:
                v = overlay[k]
                if v is not None:
                    yield v
            else:
                yield objects[k]

    def _remaining(self, table: Table, after: str, hi: str | None, overlay: dict[str, StoredObject | None]) -> int:
        keys = table.keys
        n = (len(keys) if hi is None else keys.bisect_left(hi)) - keys.bisect_right(after)
        for k, v in overlay.items():
            if k > after and (hi is None or k < hi):
                n += (v is not None) - (k in table.objects)
        return n

    def state_at(self, rv: int) -> None:
        """Raise 410 unless the state at ``rv`` can still be rebuilt."""
        if rv < self.history.compacted_rv:
            raise errors.too_old_resource_version(rv, self.history.compacted_rv)

    def list(self, rtype: ResourceType, flt: ObjectFilter, *, limit: int = 0, continue_token: str | None = None,
             resource_version: str | None = None, match: str | None = None) -> ListResult:
        validate_list_options(watch=False, resource_version=resource_version, match=match,
                              continue_token=continue_token, send_initial_events=None, allow_bookmarks=False)
        requested = parse_rv(resource_version)
        at = self.rv
        lo = ""
        if continue_token:
            at, lo = decode_continue(continue_token)
            if at > self.rv:
                raise errors.bad_request("invalid continue token: continue key is not valid")
            if at < self.history.compacted_rv:
                raise errors.expired(errors.CONTINUE_EXPIRED)
        elif requested is not None and requested > 0:
            if requested > self.rv:
                raise errors.too_large_resource_version(requested, self.rv)
            if match == "Exact":
                self.state_at(requested)
                at = requested
        if requested == 0 and not continue_token:
            limit = 0  # served from the "watch cache": upstream ignores limit for resourceVersion=0
        table = self.tables.get(rtype.storage_id)
        if table is None:
            return ListResult([], at, None, None)
        overlay = self._overlay(rtype.storage_id, at)
        hi: str | None = None
        if rtype.namespaced and flt.namespace is not None:
            prefix = flt.namespace + "/"
            lo = max(lo, prefix)
            hi = flt.namespace + "0"  # '0' sorts right after '/'
        source: Iterator[StoredObject]
        node = self._node_term(table, flt)
        if node is not None and not overlay:
            keys = sorted(k for k in table.by_node.get(node, ()) if k >= lo and (hi is None or k < hi))  # type: ignore[union-attr]
            source = (table.objects[k] for k in keys)
        elif not overlay:
            ordered = table.keys if not lo and hi is None else table.keys.irange(lo, hi, inclusive=(True, False))
            source = map(table.objects.__getitem__, ordered)
        else:
            source = self._snapshot(table, lo, hi, overlay)
        matches = flt.matches
        check = not (flt.label_empty and not flt.field_terms)
        if not limit:  # one page: the whole selection in one pass
            return ListResult(list(filter(matches, source)) if check else list(source), at, None, None)
        items: list[StoredObject] = []
        for obj in source:
            if check and not matches(obj):
                continue
            if limit and len(items) == limit:
                last = items[-1].key
                remaining = None
                if flt.label_empty and not flt.field_terms:
                    remaining = self._remaining(table, last, hi, overlay)
                return ListResult(items, at, encode_continue(at, last + "\x00"), remaining)
            items.append(obj)
        return ListResult(items, at, None, None)

    @staticmethod
    def _node_term(table: Table, flt: ObjectFilter) -> str | None:
        if table.by_node is None:
            return None
        for slot, equal, value in flt.field_terms:
            if slot == 0 and equal and value:
                return value
        return None

    # ---- watch ----------------------------------------------------------------------------
    def watch(self, rtype: ResourceType, flt: ObjectFilter, *, resource_version: str | None = None,
              match: str | None = None, send_initial_events: bool | None = None, allow_bookmarks: bool = False,
              max_buffer: int | None = None) -> Watcher:
        validate_list_options(watch=True, resource_version=resource_version, match=match, continue_token=None,
                              send_initial_events=send_initial_events, allow_bookmarks=allow_bookmarks)
        requested = parse_rv(resource_version)
        if requested is not None and requested > self.rv:
            raise errors.too_large_resource_version(requested, self.rv)
        w = Watcher(rtype, flt, max_buffer=max_buffer or self.config.watcher_buffer,
                    allow_bookmarks=allow_bookmarks, current_rv=lambda: self.rv, on_close=self._watcher_closed)
        self.stats.watchers_opened += 1
        q = w.queue
        initial = send_initial_events if send_initial_events is not None else (not requested)
        if initial:
            result = self.list(rtype, flt)
            sid = rtype.storage_id
            for obj in result.items:
                q.append((ADDED, Event(obj.rv, ADDED, sid, obj, None, 0.0)))
            if send_initial_events:
                q.append((INITIAL_END, self.rv))
        elif requested:
            if requested < self.history.compacted_rv:
                q.append((ERROR, errors.too_old_resource_version(requested, self.history.compacted_rv)))
                w.closed = True
                return w
            sid = rtype.storage_id
            limit, w.max_buffer = w.max_buffer, 1 << 62  # a replay is not a slow consumer
            for ev in self.history.since(requested):
                if ev.storage_id == sid:
                    w.offer(ev)
            w.max_buffer = limit
        self.watchers.setdefault(rtype.storage_id, []).append(w)
        return w

    def _watcher_closed(self, w: Watcher) -> None:
        if w.overflowed:
            self.stats.watchers_overflowed += 1
        self._dead_watchers += 1
        if len(self.watchers.get(w.rtype.storage_id, ())) < 64 or self._dead_watchers > 32:
            self._sweep_watchers()

    def _sweep_watchers(self) -> None:
        self._dead_watchers = 0
        for sid in list(self.watchers):
            alive = [w for w in self.watchers[sid] if not w.closed]
            if alive:
                self.watchers[sid] = alive
            else:
                del self.watchers[sid]

    def watcher_count(self) -> int:
        return sum(1 for ws in self.watchers.values() for w in ws if not w.closed)

    def close_watchers(self) -> None:
        for ws in list(self.watchers.values()):
            for w in list(ws):
                w.close()
        self.watchers.clear()
