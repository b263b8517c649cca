"""How objects leave: finalizers, pod grace periods, garbage collection, namespaces, deletecollection.

kube-apiserver marks, the controllers (GC, namespace controller, kubelet) finish; the fake plays
them synchronously. See shared/reference/k8s-api-wire.md section 4.6.
"""
from __future__ import annotations

from typing import Any

import pytest

from apiserver import errors
from apiserver.clock import ManualClock, format_time
from apiserver.cluster import MERGE_PATCH, ClusterStore
from apiserver.resources import BUILTIN_BY_GVR, NAMESPACES
from apiserver.storage import StoreConfig
from apiserver.watch import ADDED, DELETED, MODIFIED

PODS = BUILTIN_BY_GVR[("", "v1", "pods")]
CMS = BUILTIN_BY_GVR[("", "v1", "configmaps")]
DEPLOYS = BUILTIN_BY_GVR[("apps", "v1", "deployments")]
RSS = BUILTIN_BY_GVR[("apps", "v1", "replicasets")]
HOLD = "example.com/hold"


def events(w: Any) -> list[tuple[str, str]]:
    out = []
    while (item := w.get_nowait()) is not None:
        out.append((item[0], item[1].object_for(item[0]).key))
    return out


def exists(store: ClusterStore, rtype: Any, ns: str | None, name: str) -> bool:
    try:
        store.get(rtype, ns, name)
        return True
    except errors.StatusError as e:
        assert e.code == 404
        return False


def meta(store: ClusterStore, rtype: Any, ns: str | None, name: str) -> dict[str, Any]:
    return store.get_object(rtype, ns, name)["metadata"]


def ref(rec: Any, block: bool = False, controller: bool | None = None) -> dict[str, Any]:
    d = rec.decode()
    r = {"apiVersion": d["apiVersion"], "kind": d["kind"], "name": d["metadata"]["name"],
         "uid": d["metadata"]["uid"], "blockOwnerDeletion": block}
    if controller is not None:
        r["controller"] = controller
    return r


def cm(store: ClusterStore, name: str, *owners: dict[str, Any], ns: str = "default", fins: list[str] | None = None,
       **labels: str) -> Any:
    m: dict[str, Any] = {"name": name, "labels": labels}
    if owners:
        m["ownerReferences"] = list(owners)
    if fins:
        m["finalizers"] = fins
    return store.create(CMS, ns, {"metadata": m})


def pod(store: ClusterStore, name: str, *owners: dict[str, Any], ns: str = "default", node: str = "",
        phase: str | None = None, fins: list[str] | None = None, grace: int | None = None, **labels: str) -> Any:
    m: dict[str, Any] = {"name": name, "labels": labels}
    if owners:
        m["ownerReferences"] = list(owners)
    if fins:
        m["finalizers"] = fins
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox:1"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    body: dict[str, Any] = {"metadata": m, "spec": spec}
    if phase:
        body["status"] = {"phase": phase}
    return store.create(PODS, ns, body)


def release(store: ClusterStore, rtype: Any, ns: str | None, name: str, *keep: str) -> Any:
    return store.patch(rtype, ns, name, MERGE_PATCH, {"metadata": {"finalizers": list(keep) or None}})


@pytest.fixture
def slow_kubelet(clock: ManualClock) -> ClusterStore:
    """Pods in their grace period are reaped 10 s after the delete (or sooner if their grace is shorter)."""
    return ClusterStore("k", clock=clock, seed=2, config=StoreConfig(pod_termination_seconds=10))


# ---- finalizers -------------------------------------------------------------------------------------
def test_finalizers_hold_an_object_until_the_last_one_goes(store: ClusterStore, clock: ManualClock) -> None:
    rec = cm(store, "c", fins=["example.com/a", "example.com/b"])
    w = store.watch(CMS, "default", resource_version=str(rec.rv))
    clock.advance(5)
    marked, gone = store.delete(CMS, "default", "c")
    assert not gone
    m = marked.decode()["metadata"]
    assert m["deletionTimestamp"] == format_time(clock.now()) and m["deletionGracePeriodSeconds"] == 0
    assert m["finalizers"] == ["example.com/a", "example.com/b"]
    again, gone = store.delete(CMS, "default", "c")  # deleting again changes nothing
    assert again is marked and not gone
    release(store, CMS, "default", "c", "example.com/b")
    assert meta(store, CMS, "default", "c")["deletionTimestamp"] == m["deletionTimestamp"]
    last = release(store, CMS, "default", "c")
    assert not exists(store, CMS, "default", "c")
    assert events(w) == [(MODIFIED, "default/c"), (MODIFIED, "default/c"), (DELETED, "default/c")]
    assert last.rv == store.resource_version
    assert last.decode()["metadata"]["finalizers"] == ["example.com/b"]  # the last stored state, at the new rv
    # deletionTimestamp cannot be set or cleared by a write
    rec = cm(store, "d", fins=[HOLD])
    body = rec.decode()
    body["metadata"]["deletionTimestamp"] = "2020-01-01T00:00:00Z"
    assert "deletionTimestamp" not in store.update(CMS, "default", "d", body).decode()["metadata"]
    marked, _ = store.delete(CMS, "default", "d")
    body = marked.decode()
    del body["metadata"]["deletionTimestamp"]
    assert "deletionTimestamp" in store.update(CMS, "default", "d", body).decode()["metadata"]


def test_object_without_finalizers_goes_at_once(store: ClusterStore) -> None:
    rec = cm(store, "c")
    w = store.watch(CMS, "default", resource_version=str(rec.rv))
    final, gone = store.delete(CMS, "default", "c")
    assert gone and final.rv == store.resource_version and "deletionTimestamp" not in final.decode()["metadata"]
    assert events(w) == [(DELETED, "default/c")]


# ---- pods and their grace period --------------------------------------------------------------------
@pytest.mark.parametrize("node,phase", [("", None), ("n1", "Succeeded"), ("n1", "Failed")])
def test_unscheduled_or_finished_pods_go_at_once(slow_kubelet: ClusterStore, node: str, phase: str | None) -> None:
    pod(slow_kubelet, "p", node=node, phase=phase)
    _, gone = slow_kubelet.delete(PODS, "default", "p")
    assert gone and not exists(slow_kubelet, PODS, "default", "p")


def test_running_pod_waits_for_the_kubelet(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    store = slow_kubelet
    rec = pod(store, "p", node="n1", phase="Running")
    w = store.watch(PODS, None, resource_version=str(rec.rv))
    t0 = clock.now()
    marked, gone = store.delete(PODS, "default", "p")
    assert not gone
    m = marked.decode()["metadata"]
    assert m["deletionTimestamp"] == format_time(t0 + 30) and m["deletionGracePeriodSeconds"] == 30
    assert store.next_reap_at() == t0 + 10
    clock.advance(9.5)
    assert exists(store, PODS, "default", "p")
    clock.advance(0.5)
    assert store.list(PODS, "default").items == []  # any call lets the kubelet catch up
    assert events(w) == [(MODIFIED, "default/p"), (DELETED, "default/p")]
    assert store.next_reap_at() is None


def test_pod_grace_period_sources(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    store = slow_kubelet
    pod(store, "short", node="n1", phase="Running")
    t0 = clock.now()
    marked, _ = store.delete(PODS, "default", "short", grace_period_seconds=4)
    assert marked.decode()["metadata"]["deletionGracePeriodSeconds"] == 4
    assert store.next_reap_at() == t0 + 4  # min(grace, the kubelet's delay)
    pod(store, "spec0", node="n1", phase="Running", grace=0)
    _, gone = store.delete(PODS, "default", "spec0")
    assert gone  # spec.terminationGracePeriodSeconds=0
    pod(store, "now", node="n1", phase="Running")
    _, gone = store.delete(PODS, "default", "now", grace_period_seconds=0)
    assert gone
    pod(store, "forced", node="n1", phase="Running")
    store.delete(PODS, "default", "forced")
    _, gone = store.delete(PODS, "default", "forced", grace_period_seconds=0)  # --force on a terminating pod
    assert gone and not exists(store, PODS, "default", "forced")
    clock.advance(4)
    assert not exists(store, PODS, "default", "short")


def test_terminating_pod_with_a_finalizer(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    """Upstream deletes on finalizer removal only once the grace period is over (ShouldDeleteDuringUpdate)."""
    store = slow_kubelet
    pod(store, "p", node="n1", phase="Running", fins=[HOLD])
    store.delete(PODS, "default", "p")
    release(store, PODS, "default", "p")  # finalizer gone, but the kubelet has not confirmed yet
    m = meta(store, PODS, "default", "p")
    assert "finalizers" not in m and m["deletionGracePeriodSeconds"] == 30
    clock.advance(10)
    assert not exists(store, PODS, "default", "p")
    # the other order: the kubelet confirms first (grace 0), the finalizer keeps it
    pod(store, "q", node="n1", phase="Running", fins=[HOLD])
    store.delete(PODS, "default", "q")
    clock.advance(10)
    m = meta(store, PODS, "default", "q")
    assert m["deletionGracePeriodSeconds"] == 0 and m["finalizers"] == [HOLD]
    release(store, PODS, "default", "q")
    assert not exists(store, PODS, "default", "q")


def test_kubelet_does_not_reap_a_recreated_pod_early(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    store = slow_kubelet
    pod(store, "p", node="n1", phase="Running")
    store.delete(PODS, "default", "p")
    store.delete(PODS, "default", "p", grace_period_seconds=0)
    clock.advance(5)
    pod(store, "p", node="n1", phase="Running")
    store.delete(PODS, "default", "p")  # its own kubelet delay ends at +15
    clock.advance(5)  # the first pod's reap time (+10) has come: it must not take the new one
    assert exists(store, PODS, "default", "p")
    clock.advance(5)
    assert not exists(store, PODS, "default", "p")


# ---- garbage collection -----------------------------------------------------------------------------
def deployment_tree(store: ClusterStore) -> tuple[Any, Any, list[Any]]:
    d = store.create(DEPLOYS, "default", {"metadata": {"name": "web"}, "spec": {"replicas": 2}})
    rs = store.create(RSS, "default", {"metadata": {"name": "web-1", "ownerReferences": [ref(d, True, True)]},
                                       "spec": {"replicas": 2}})
    pods = [pod(store, f"web-1-{i}", ref(rs, True, True)) for i in range(2)]
    return d, rs, pods


def test_background_cascade(store: ClusterStore) -> None:
    d, rs, _ = deployment_tree(store)
    other = cm(store, "other")
    shared = cm(store, "shared", ref(rs), ref(other))  # another owner is alive: it stays
    w = store.watch(PODS, None, resource_version=str(store.resource_version))
    _, gone = store.delete(DEPLOYS, "default", "web", propagation_policy="Background")
    assert gone
    assert not exists(store, RSS, "default", "web-1")
    assert store.list(PODS, "default").items == []
    assert sorted(events(w)) == [(DELETED, "default/web-1-0"), (DELETED, "default/web-1-1")]
    refs = meta(store, CMS, "default", "shared")["ownerReferences"]
    assert [r["name"] for r in refs] == ["other"]  # the dangling reference is dropped
    assert shared.rv < store.get(CMS, "default", "shared").rv
    _, gone = store.delete(CMS, "default", "other")  # default policy is Background
    assert gone and not exists(store, CMS, "default", "shared")


def test_orphan_cascade(store: ClusterStore) -> None:
    d, rs, pods = deployment_tree(store)
    _, gone = store.delete(DEPLOYS, "default", "web", propagation_policy="Orphan")
    assert gone
    assert "ownerReferences" not in meta(store, RSS, "default", "web-1")
    assert all("ownerReferences" in meta(store, PODS, "default", p.name) for p in pods)  # one level only
    # with a finalizer the owner stays terminating, its dependents already orphaned, no "orphan" finalizer left
    owner = cm(store, "owner", fins=[HOLD])
    cm(store, "dep", ref(owner))
    _, gone = store.delete(CMS, "default", "owner", propagation_policy="Orphan")
    assert not gone and meta(store, CMS, "default", "owner")["finalizers"] == [HOLD]
    assert "ownerReferences" not in meta(store, CMS, "default", "dep")
    release(store, CMS, "default", "owner")
    assert exists(store, CMS, "default", "dep")


def test_foreground_cascade(store: ClusterStore) -> None:
    d, rs, pods = deployment_tree(store)
    w = store.watch(DEPLOYS, None, resource_version=str(store.resource_version))
    marked, gone = store.delete(DEPLOYS, "default", "web", propagation_policy="Foreground")
    # pods without nodeName go at once, so the whole tree is gone within the call
    assert gone and not exists(store, RSS, "default", "web-1") and store.list(PODS, None).items == []
    kinds = events(w)
    assert kinds == [(MODIFIED, "default/web"), (DELETED, "default/web")]


def test_foreground_waits_for_blocking_dependents(store: ClusterStore) -> None:
    owner = cm(store, "owner")
    cm(store, "blocker", ref(owner, block=True), fins=[HOLD])
    cm(store, "lazy", ref(owner, block=False), fins=[HOLD])
    cm(store, "plain", ref(owner, block=True))
    w = store.watch(CMS, None, resource_version=str(store.resource_version))
    marked, gone = store.delete(CMS, "default", "owner", propagation_policy="Foreground")
    assert not gone
    m = marked.decode()["metadata"]
    assert m["finalizers"] == ["foregroundDeletion"] and "deletionTimestamp" in m
    assert not exists(store, CMS, "default", "plain")
    for name in ("blocker", "lazy"):  # both are being deleted
        assert "deletionTimestamp" in meta(store, CMS, "default", name)
    release(store, CMS, "default", "lazy")  # not blocking: the owner keeps waiting for "blocker"
    assert meta(store, CMS, "default", "owner")["finalizers"] == ["foregroundDeletion"]
    release(store, CMS, "default", "blocker")
    assert not exists(store, CMS, "default", "owner")
    seq = events(w)
    assert seq[0] == (MODIFIED, "default/owner") and seq[-1] == (DELETED, "default/owner")
    assert (DELETED, "default/blocker") in seq and seq.index((DELETED, "default/blocker")) < len(seq) - 1


def test_foreground_keeps_dependents_with_another_owner(store: ClusterStore) -> None:
    owner, other = cm(store, "owner"), cm(store, "other")
    cm(store, "a", ref(owner, block=True))
    cm(store, "shared", ref(owner, block=True), ref(other))
    cm(store, "b", ref(owner, block=True))
    _, gone = store.delete(CMS, "default", "owner", propagation_policy="Foreground")
    assert gone and not exists(store, CMS, "default", "a") and not exists(store, CMS, "default", "b")
    assert [r["name"] for r in meta(store, CMS, "default", "shared")["ownerReferences"]] == ["other"]


def test_foreground_on_a_running_pod_owner(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    """The GC drops foregroundDeletion during the pod's grace period; the kubelet then finishes it."""
    store = slow_kubelet
    owner = pod(store, "owner", node="n1", phase="Running")
    cm(store, "dep", ref(owner, block=True))
    _, gone = store.delete(PODS, "default", "owner", propagation_policy="Foreground")
    assert not gone and not exists(store, CMS, "default", "dep")
    m = meta(store, PODS, "default", "owner")
    assert "finalizers" not in m and m["deletionGracePeriodSeconds"] == 30
    clock.advance(10)
    assert not exists(store, PODS, "default", "owner")


def test_foreground_waits_for_a_terminating_pod(slow_kubelet: ClusterStore, clock: ManualClock) -> None:
    store = slow_kubelet
    rs = store.create(RSS, "default", {"metadata": {"name": "rs"}, "spec": {"replicas": 1}})
    pod(store, "p", ref(rs, block=True), node="n1", phase="Running")
    _, gone = store.delete(RSS, "default", "rs", propagation_policy="Foreground")
    assert not gone
    assert "deletionTimestamp" in meta(store, PODS, "default", "p")
    assert meta(store, RSS, "default", "rs")["finalizers"] == ["foregroundDeletion"]
    clock.advance(10)
    assert store.list(RSS, "default").items == [] and store.list(PODS, "default").items == []


# ---- namespaces -------------------------------------------------------------------------------------------
def test_namespace_deletion(store: ClusterStore) -> None:
    store.create(NAMESPACES, None, {"metadata": {"name": "team"}})
    owner = cm(store, "owner", ns="team")
    cm(store, "dep", ref(owner), ns="team")
    cm(store, "held", ns="team", fins=[HOLD])
    pod(store, "p", ns="team", node="n1", phase="Running")
    cm(store, "outside")
    nsw = store.watch(NAMESPACES, None, resource_version=str(store.resource_version))
    marked, gone = store.delete(NAMESPACES, None, "team")
    assert not gone
    ns = marked.decode()
    assert ns["status"]["phase"] == "Terminating" and "deletionTimestamp" in ns["metadata"]
    assert ns["spec"]["finalizers"] == ["kubernetes"]
    assert [o.name for o in store.list(CMS, "team").items] == ["held"]
    assert store.list(PODS, "team").items == []  # the namespace controller does not wait for grace periods
    assert exists(store, CMS, "default", "outside")
    assert [o.name for o in store.list(NAMESPACES, None, field_selector="status.phase=Terminating").items] == ["team"]
    release(store, CMS, "team", "held")
    assert not exists(store, NAMESPACES, None, "team")
    assert events(nsw) == [(MODIFIED, "team"), (DELETED, "team")]
    store.create(NAMESPACES, None, {"metadata": {"name": "team"}})  # the name is free again
    assert store.list(CMS, "team").items == []


def test_namespaces_carry_their_name_label(store: ClusterStore) -> None:
    """kube-apiserver labels every namespace kubernetes.io/metadata.name=<name>, and keeps it so."""
    assert meta(store, NAMESPACES, None, "default")["labels"] == {"kubernetes.io/metadata.name": "default"}
    rec = store.create(NAMESPACES, None, {"metadata": {"name": "team", "labels": {"a": "b",
                                                                                  "kubernetes.io/metadata.name": "x"}}})
    assert rec.decode()["metadata"]["labels"] == {"a": "b", "kubernetes.io/metadata.name": "team"}
    body = rec.decode()
    body["metadata"]["labels"] = {"c": "d"}
    out = store.update(NAMESPACES, None, "team", body).decode()
    assert out["metadata"]["labels"] == {"c": "d", "kubernetes.io/metadata.name": "team"}
    sel = "kubernetes.io/metadata.name in (team,default)"
    assert [o.name for o in store.list(NAMESPACES, None, label_selector=sel).items] == ["default", "team"]


def test_empty_namespace_goes_at_once(store: ClusterStore) -> None:
    store.create(NAMESPACES, None, {"metadata": {"name": "empty"}})
    _, gone = store.delete(NAMESPACES, None, "empty")
    assert gone and not exists(store, NAMESPACES, None, "empty")


# ---- deletecollection -------------------------------------------------------------------------------------
def test_deletecollection_with_selectors(store: ClusterStore) -> None:
    for i, (app, node) in enumerate([("a", "n1"), ("a", "n2"), ("b", "n1"), ("a", "n1")]):
        pod(store, f"p{i}", node=node, phase="Succeeded", app=app)
    pod(store, "p9", ns="kube-system", node="n1", phase="Succeeded", app="a")
    cm(store, "held", fins=[HOLD], app="a")
    cm(store, "spared", app="b")
    out = store.delete_collection(PODS, "default", label_selector="app=a", field_selector="spec.nodeName=n1")
    assert [o.name for o in out] == ["p0", "p3"]
    assert [o.key for o in store.list(PODS, None).items] == ["default/p1", "default/p2", "kube-system/p9"]
    out = store.delete_collection(CMS, "default", label_selector="app in (a)")
    assert [o.name for o in out] == ["held"] and "deletionTimestamp" in out[0].decode()["metadata"]
    assert exists(store, CMS, "default", "spared")
    assert store.delete_collection(CMS, "default", label_selector="app=zzz") == []
    rv = store.resource_version
    out = store.delete_collection(PODS, None, dry_run=True)
    assert len(out) == 3 and store.resource_version == rv


def test_deletecollection_cascades(store: ClusterStore) -> None:
    owner = cm(store, "owner", kind="owner")
    cm(store, "dep", ref(owner), kind="dep")
    out = store.delete_collection(CMS, "default")  # "dep" goes with its owner; no 404 for it
    assert {o.name for o in out} <= {"owner", "dep"} and "owner" in {o.name for o in out}
    assert store.list(CMS, "default").items == []
