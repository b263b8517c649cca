"""Watch semantics of the store: start points, WatchList, bookmarks, selections, slow watchers, history.

See shared/reference/k8s-api-wire.md section 3.
"""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from apiserver.clock import ManualClock
from apiserver.cluster import MERGE_PATCH, ClusterStore
from apiserver.multiplexer import Multiplexer
from apiserver.resources import BUILTIN_BY_GVR
from apiserver.storage import StoreConfig
from apiserver.watch import (ADDED, BOOKMARK, DELETED, DELETED_PREV, ERROR, INITIAL_END, INITIAL_EVENTS_END, MODIFIED,
                             encode_item)

PODS = BUILTIN_BY_GVR[("", "v1", "pods")]
CMS = BUILTIN_BY_GVR[("", "v1", "configmaps")]


def drain(w: Any) -> list[tuple[str, Any]]:
    out = []
    while (item := w.get_nowait()) is not None:
        out.append(item)
    return out


def names(items: list[tuple[str, Any]]) -> list[tuple[str, str]]:
    return [(k, p.object_for(k).name) for k, p in items]


def cm(store: ClusterStore, name: str, ns: str = "default", **labels: str) -> Any:
    return store.create(CMS, ns, {"metadata": {"name": name, "labels": labels}, "data": {"v": "0"}})


def relabel(store: ClusterStore, name: str, **labels: str | None) -> Any:
    return store.patch(CMS, "default", name, MERGE_PATCH, {"metadata": {"labels": labels}})


# ---- where a watch starts ------------------------------------------------------------------------
@pytest.mark.parametrize("rv", ["", "0", None])
async def test_watch_from_empty_or_zero_starts_with_synthetic_adds(store: ClusterStore, rv: str | None) -> None:
    a, b = cm(store, "a"), cm(store, "b")
    cm(store, "elsewhere", "kube-system")
    w = store.watch(CMS, "default", resource_version=rv)
    first = drain(w)
    assert names(first) == [(ADDED, "a"), (ADDED, "b")]
    assert [p.rv for _, p in first] == [a.rv, b.rv]  # each carries its object's own rv
    assert [p.object_for(k).data for k, p in first] == [a.data, b.data]
    c = cm(store, "c")
    (kind, ev), = drain(w)
    assert (kind, ev.obj.name, ev.rv) == (ADDED, "c", c.rv)
    assert not any(k == INITIAL_END for k, _ in first)


async def test_watch_from_a_resource_version_replays_only_what_came_after(store: ClusterStore) -> None:
    cm(store, "a")
    b = cm(store, "b")
    relabel(store, "a", x="1")
    store.delete(CMS, "default", "b")
    w = store.watch(CMS, "default", resource_version=str(b.rv))
    items = drain(w)
    assert names(items) == [(MODIFIED, "a"), (DELETED, "b")]
    kind, deleted = items[1]
    assert deleted.rv == store.resource_version
    d = deleted.object_for(kind).decode()
    assert d["metadata"]["resourceVersion"] == str(deleted.rv)  # DELETED: last state at the deletion's rv
    assert d["metadata"]["name"] == "b"
    assert drain(store.watch(CMS, "default", resource_version=str(store.resource_version))) == []


async def test_watch_list_send_initial_events(store: ClusterStore) -> None:
    cm(store, "a", app="x")
    cm(store, "b", app="y")
    at = store.resource_version
    w = store.watch(CMS, "default", label_selector="app=x", resource_version="", resource_version_match="NotOlderThan",
                    send_initial_events=True, allow_bookmarks=True)
    items = drain(w)
    assert [k for k, _ in items] == [ADDED, INITIAL_END]
    assert items[0][1].obj.name == "a" and items[1][1] == at
    line = orjson.loads(encode_item(CMS, *items[1]))
    assert line == {"type": "BOOKMARK", "object": {
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"resourceVersion": str(at), "annotations": {INITIAL_EVENTS_END: "true"}}}}
    assert w.last_rv == at
    cm(store, "c", app="x")
    assert names(drain(w)) == [(ADDED, "c")]
    # with a resourceVersion too, it still starts from the current state
    w2 = store.watch(CMS, "default", resource_version=str(at - 1), resource_version_match="NotOlderThan",
                     send_initial_events=True, allow_bookmarks=True)
    items = drain(w2)
    assert names(items[:-1]) == [(ADDED, "a"), (ADDED, "b"), (ADDED, "c")]
    assert items[-1] == (INITIAL_END, store.resource_version)
    # sendInitialEvents=false with an rv is a plain watch from there
    w3 = store.watch(CMS, "default", resource_version=str(at), resource_version_match="NotOlderThan",
                     send_initial_events=False)
    assert names(drain(w3)) == [(ADDED, "c")]


async def test_bookmarks_only_when_allowed(store: ClusterStore) -> None:
    cm(store, "a")
    plain = store.watch(CMS, "default", resource_version=str(store.resource_version))
    asked = store.watch(CMS, "default", resource_version=str(store.resource_version), allow_bookmarks=True)
    assert plain.bookmark() is None
    assert asked.bookmark() == (BOOKMARK, store.resource_version)
    cm(store, "b")
    assert asked.bookmark() is None  # not while events are waiting: a bookmark must not overtake them
    assert names(drain(asked)) == [(ADDED, "b")]
    cm(store, "elsewhere", "kube-system")  # rvs move on even for writes the watcher does not see
    kind, rv = asked.bookmark()
    assert (kind, rv) == (BOOKMARK, store.resource_version) and asked.last_rv == rv
    assert orjson.loads(encode_item(CMS, kind, rv)) == {
        "type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}}}
    asked.close()
    assert asked.bookmark() is None


# ---- selections --------------------------------------------------------------------------------------
async def test_label_selector_transitions(store: ClusterStore) -> None:
    cm(store, "a", app="x")
    w = store.watch(CMS, "default", label_selector="app=x", resource_version=str(store.resource_version))
    relabel(store, "a", tier="1")              # still selected
    relabel(store, "a", app="y")               # leaves the selection
    left = store.resource_version
    relabel(store, "a", tier="2")              # outside: nothing
    relabel(store, "a", app="x")               # enters again
    cm(store, "b", app="y")                    # never selected
    store.delete(CMS, "default", "b")          # ...so its deletion is not sent either
    store.delete(CMS, "default", "a")          # deleted while selected
    items = drain(w)
    assert [k for k, _ in items] == [MODIFIED, DELETED_PREV, ADDED, DELETED]
    kind, ev = items[1]
    gone = ev.object_for(kind)
    assert gone.rv == left and gone.decode()["metadata"]["resourceVersion"] == str(left)
    assert gone.decode()["metadata"]["labels"] == {"app": "x", "tier": "1"}  # the content it was selected with
    assert gone.labels == {"app": "x", "tier": "1"}
    assert orjson.loads(ev.line(kind))["type"] == "DELETED"
    assert orjson.loads(encode_item(CMS, kind, ev))["object"]["metadata"]["labels"] == {"app": "x", "tier": "1"}
    assert items[2][1].object_for(ADDED).labels == {"app": "x", "tier": "2"}


async def test_field_selector_transitions_on_pods(store: ClusterStore) -> None:
    store.create(PODS, "default", {"metadata": {"name": "p"}, "spec": {"nodeName": "n1"}})
    w = store.watch(PODS, None, field_selector="spec.nodeName=n1,status.phase=Running",
                    resource_version=str(store.resource_version))
    for phase in ("Running", "Running", "Succeeded", "Running"):
        store.patch(PODS, "default", "p", MERGE_PATCH, {"status": {"phase": phase}}, subresource="status")
    assert [k for k, _ in drain(w)] == [ADDED, DELETED_PREV, ADDED]


async def test_namespace_scoped_watch_sees_only_its_namespace(store: ClusterStore) -> None:
    w = store.watch(CMS, "kube-system", resource_version=str(store.resource_version))
    everywhere = store.watch(CMS, None, resource_version=str(store.resource_version))
    cm(store, "a")
    cm(store, "b", "kube-system")
    assert names(drain(w)) == [(ADDED, "b")]
    assert names(drain(everywhere)) == [(ADDED, "a"), (ADDED, "b")]


# ---- slow watchers ----------------------------------------------------------------------------------------
async def test_overflowing_watcher_is_closed_and_counted(store: ClusterStore) -> None:
    start = store.resource_version
    slow = store.watch(CMS, None, resource_version=str(start), max_buffer=5)
    fast = store.watch(CMS, None, resource_version=str(start))
    for i in range(8):  # the writer never waits for anyone
        cm(store, f"c{i}")
    assert slow.closed and slow.overflowed
    assert store.storage.stats.watchers_overflowed == 1
    assert not fast.closed and len(drain(fast)) == 8
    got = drain(slow)
    assert [p.obj.name for _, p in got] == [f"c{i}" for i in range(5)]  # what it had buffered, then the end
    assert await slow.get(timeout=0.1) is None and slow.done
    assert store.storage.watcher_count() == 1
    # the client re-watches from the last rv it saw, and the history still has the rest
    again = store.watch(CMS, None, resource_version=str(slow.last_rv))
    assert [p.obj.name for _, p in drain(again)] == ["c5", "c6", "c7"]
    cm(store, "after")
    assert names(drain(fast)) == [(ADDED, "after")]


async def test_replay_is_not_a_slow_consumer(store: ClusterStore) -> None:
    start = store.resource_version
    for i in range(10):
        cm(store, f"c{i}")
    w = store.watch(CMS, None, resource_version=str(start), max_buffer=3)
    assert not w.closed and len(drain(w)) == 10
    assert store.storage.stats.watchers_overflowed == 0


async def test_get_wakes_on_a_write(store: ClusterStore) -> None:
    w = store.watch(CMS, None, resource_version=str(store.resource_version))
    assert await w.get(timeout=0.01) is None  # nothing yet: a timeout, not an end
    assert not w.closed
    waiter = asyncio.create_task(w.get(timeout=5))
    await asyncio.sleep(0)
    assert not waiter.done()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    cm(store, "a")
    kind, ev = await asyncio.wait_for(waiter, 1)
    assert (kind, ev.obj.name) == (ADDED, "a") and loop.time() - t0 < 0.5
    # and an end wakes it too
    waiter = asyncio.create_task(w.get())
    await asyncio.sleep(0)
    w.close()
    assert await asyncio.wait_for(waiter, 1) is None


async def test_async_iteration_ends_when_the_cluster_goes() -> None:
    mux = Multiplexer(clock=ManualClock(), seed=3)
    c = mux.create("one")
    w = c.watch(CMS, None, resource_version=str(c.resource_version))
    seen = []

    async def consume() -> None:
        async for kind, ev in w:
            seen.append((kind, ev.obj.name))

    task = asyncio.create_task(consume())
    await asyncio.sleep(0)
    cm(c, "a")
    await asyncio.sleep(0)
    mux.delete("one")
    await asyncio.wait_for(task, 1)
    assert seen == [(ADDED, "a")] and w.closed


# ---- the history window ------------------------------------------------------------------------------
async def test_history_trimmed_by_count(clock: ManualClock) -> None:
    store = ClusterStore("h", clock=clock, seed=1, config=StoreConfig(history_events=5, history_seconds=0))
    recs = [cm(store, f"c{i}") for i in range(10)]
    h = store.storage.history
    assert len(h) == 5 and h.compacted_rv == recs[4].rv
    oldest_ok = h.compacted_rv
    assert names(drain(store.watch(CMS, None, resource_version=str(oldest_ok)))) == [
        (ADDED, f"c{i}") for i in range(5, 10)]
    w = store.watch(CMS, None, resource_version=str(oldest_ok - 1))
    kind, err = w.get_nowait()
    assert kind == ERROR and (err.code, err.reason) == (410, "Expired")
    assert err.message == f"too old resource version: {oldest_ok - 1} ({oldest_ok})"
    assert orjson.loads(encode_item(CMS, kind, err)) == {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": err.message, "reason": "Expired", "code": 410}}
    assert w.get_nowait() is None and w.closed and w not in store.storage.watchers.get(CMS.storage_id, [])
    base = store.list(CMS, None, resource_version=str(oldest_ok), resource_version_match="Exact")
    assert [o.name for o in base.items] == [f"c{i}" for i in range(5)]


async def test_history_trimmed_by_age(clock: ManualClock) -> None:
    store = ClusterStore("h", clock=clock, seed=1, config=StoreConfig(history_events=1000, history_seconds=60))
    early = cm(store, "early")
    clock.advance(30)
    mid = cm(store, "mid")
    assert store.storage.history.compacted_rv == 0
    clock.advance(45)  # "early" (and the bootstrap) are now 75 s old, "mid" 45 s
    late = cm(store, "late")
    h = store.storage.history
    assert h.compacted_rv == early.rv and len(h) == 2
    assert names(drain(store.watch(CMS, None, resource_version=str(early.rv)))) == [(ADDED, "mid"), (ADDED, "late")]
    kind, err = store.watch(CMS, None, resource_version=str(early.rv - 1)).get_nowait()
    assert kind == ERROR and err.code == 410
    clock.advance(600)  # everything is old: the newest event always stays, so "now" can be resumed
    store.patch(CMS, "default", "mid", MERGE_PATCH, {"data": {"v": "1"}})
    assert len(h) == 1 and h.compacted_rv == late.rv
    assert names(drain(store.watch(CMS, None, resource_version=str(late.rv)))) == [(MODIFIED, "mid")]
    assert mid.rv < late.rv


async def test_compaction_expires_continue_tokens(store: ClusterStore) -> None:
    for i in range(4):
        cm(store, f"c{i}")
    page = store.list(CMS, "default", limit=2)
    assert page.continue_token and page.remaining == 2
    cm(store, "c9")
    store.storage.compact()
    from apiserver import errors
    with pytest.raises(errors.StatusError) as info:
        store.list(CMS, "default", limit=2, continue_token=page.continue_token)
    assert (info.value.code, info.value.reason, info.value.message) == (410, "Expired", errors.CONTINUE_EXPIRED)
