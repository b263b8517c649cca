"""Model-based tests of the store: a hypothesis state machine against plain dicts.

Two clusters of one ``Multiplexer`` on a ``ManualClock``, three namespaces each, ConfigMaps and
Pods with labels, finalizers and ownerReferences. Rules create, update (current, stale and no
resourceVersion), merge-patch, write pod status, delete with every propagation policy, release
finalizers, delete and re-create namespaces, compact the history, page through lists while
writing, replay watches and open long-lived ones. After every step the store must equal the
model under random label and field selectors, and the history (Exact lists, watch replays,
continue tokens, 410s) must agree with the model's snapshots.

The model plays kube-controller-manager's garbage collector as upstream does
(``pkg/controller/garbagecollector``): owners are "solid" unless gone or waiting in foreground
deletion; a dependent with a solid owner only loses its dangling and waiting references; one
without is deleted; "being deleted is a one-way trip". Ownership is one level deep (an object
with ownerReferences is never picked as an owner), which keeps the end state independent of
the order in which the collector visits dependents. References held by an object that is
already terminating may point at owners that are gone (upstream leaves them, the fake may tidy
them); they are compared only for owners that still exist.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from apiserver import errors
from apiserver.clock import ManualClock
from apiserver.cluster import MERGE_PATCH
from apiserver.multiplexer import Multiplexer
from apiserver.resources import BUILTIN_BY_GVR, NAMESPACES
from apiserver.storage import StoreConfig
from apiserver.watch import ADDED, BOOKMARK, DELETED, DELETED_PREV, ERROR, INITIAL_END, MODIFIED

CM = BUILTIN_BY_GVR[("", "v1", "configmaps")]
POD = BUILTIN_BY_GVR[("", "v1", "pods")]
TYPES = {"configmaps": CM, "pods": POD, "namespaces": NAMESPACES}
KINDS = {"configmaps": "ConfigMap", "pods": "Pod"}
OBJECT_RESOURCES = ("configmaps", "pods")
HOLD = "example.com/hold"
FG = "foregroundDeletion"
BOOTSTRAP = ("default", "kube-system", "kube-public", "kube-node-lease")
SPACES = ("default", "ns1", "ns2")
NAMES = ("a", "b", "c", "d", "e")
LABEL_KEYS = ("app", "tier")
LABEL_VALUES = ("x", "y", "z")
NODES = ("", "n1", "n2")
PHASES = ("Pending", "Running", "Succeeded")
CLUSTERS = ("east", "west")
HISTORY = 40  # events per cluster kept for resume / Exact lists: small, so compaction happens


# ---- the model --------------------------------------------------------------------------------
@dataclass
class MObj:
    res: str
    ns: str
    name: str
    uid: str
    labels: dict[str, str]
    fins: list[str]
    refs: list[tuple[str, bool]]  # (owner uid, blockOwnerDeletion)
    deleting: bool = False
    data: str = ""
    node: str = ""
    phase: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.res, self.ns, self.name)

    def field(self, name: str) -> str:
        return {"metadata.name": self.name, "metadata.namespace": self.ns, "spec.nodeName": self.node,
                "status.phase": self.phase}[name]

    def payload(self) -> tuple[str, ...]:
        return (self.data,) if self.res == "configmaps" else (self.node, self.phase)


@dataclass
class MCluster:
    """One cluster's objects and namespaces, and the controllers' rules applied synchronously."""

    ns: dict[str, str] = field(default_factory=lambda: {n: "Active" for n in BOOTSTRAP})
    objs: dict[tuple[str, str, str], MObj] = field(default_factory=dict)

    def by_uid(self, uid: str) -> MObj | None:
        for o in self.objs.values():
            if o.uid == uid:
                return o
        return None

    def dependents(self, uid: str) -> list[MObj]:
        return [o for o in self.objs.values() if any(r[0] == uid for r in o.refs)]

    def roots(self, ns: str) -> list[MObj]:
        """Candidate owners: alive, not terminating, without owners of their own."""
        return sorted((o for o in self.objs.values() if o.ns == ns and not o.deleting and not o.refs),
                      key=lambda o: o.key)

    def solid(self, uid: str) -> bool:
        o = self.by_uid(uid)
        return o is not None and not (o.deleting and FG in o.fins)

    def delete(self, o: MObj, policy: str) -> None:
        deps = self.dependents(o.uid)
        if policy == "Orphan":
            for d in deps:
                d.refs = [r for r in d.refs if r[0] != o.uid]
        elif policy == "Foreground" and deps:
            o.fins.append(FG)
            o.deleting = True
            for d in deps:
                if d.deleting or d.key not in self.objs:
                    continue
                if any(self.solid(r[0]) for r in d.refs):
                    d.refs = [r for r in d.refs if self.solid(r[0])]
                else:
                    self.delete(d, "Foreground")
            return
        if o.fins:
            o.deleting = True
        else:
            self.remove(o)

    def remove(self, o: MObj) -> None:
        del self.objs[o.key]
        for d in self.dependents(o.uid):
            if d.deleting or d.key not in self.objs:
                continue
            if any(self.solid(r[0]) for r in d.refs):
                d.refs = [r for r in d.refs if self.solid(r[0])]
            else:
                self.delete(d, "Background")

    def delete_namespace(self, ns: str) -> None:
        self.ns[ns] = "Terminating"
        for key in sorted(self.objs):
            o = self.objs.get(key)
            if o is not None and o.ns == ns and not o.deleting:
                self.delete(o, "Background")

    def settle(self) -> None:
        """What the GC and the namespace controller finish on their own."""
        changed = True
        while changed:
            changed = False
            for o in list(self.objs.values()):
                if o.key not in self.objs or not o.deleting:
                    continue
                if FG in o.fins and not any(r == (o.uid, True) for x in self.objs.values() for r in x.refs):
                    o.fins.remove(FG)
                    changed = True
                if not o.fins:
                    self.remove(o)
                    changed = True
            for ns, phase in list(self.ns.items()):
                if phase == "Terminating" and not any(o.ns == ns for o in self.objs.values()):
                    del self.ns[ns]
                    changed = True

    def live(self) -> frozenset[str]:
        return frozenset(o.uid for o in self.objs.values())

    def project(self) -> "Snapshot":
        live = self.live()
        objs = {}
        for k, o in self.objs.items():
            refs = o.refs if not o.deleting else [r for r in o.refs if r[0] in live]
            objs[k] = (o.uid, tuple(sorted(o.labels.items())), tuple(o.fins), o.deleting, tuple(refs), o.payload())
        raw = {k: replace(o, labels=dict(o.labels), fins=list(o.fins), refs=list(o.refs)) for k, o in self.objs.items()}
        return Snapshot(objs, dict(self.ns), live, raw)


@dataclass
class Snapshot:
    objs: dict[tuple[str, str, str], tuple]
    ns: dict[str, str]
    live: frozenset[str]
    raw: dict[tuple[str, str, str], MObj]

    def same(self, other: "Snapshot") -> bool:
        return self.objs == other.objs and self.ns == other.ns


def project_stored(res: str, d: dict[str, Any], live: frozenset[str]) -> tuple:
    meta = d["metadata"]
    deleting = "deletionTimestamp" in meta
    refs = tuple((r["uid"], bool(r.get("blockOwnerDeletion"))) for r in meta.get("ownerReferences") or ())
    if deleting:
        refs = tuple(r for r in refs if r[0] in live)
    if res == "configmaps":
        payload: tuple[str, ...] = ((d.get("data") or {}).get("v", ""),)
    else:
        payload = ((d.get("spec") or {}).get("nodeName") or "", (d.get("status") or {}).get("phase", ""))
    return (meta["uid"], tuple(sorted((meta.get("labels") or {}).items())), tuple(meta.get("finalizers") or ()),
            deleting, refs, payload)


def _diff(got: dict, want: dict) -> str:
    lines = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            lines.append(f"{k}: store={got.get(k)} model={want.get(k)}")
    return "\n".join(lines)


# ---- selectors, with an independent model matcher ---------------------------------------------
@dataclass(frozen=True)
class Sel:
    """A label selector and a field selector as text, plus the model's own predicates for them."""

    labels: str
    label_preds: tuple[Callable[[dict[str, str]], bool], ...]
    fields: str
    field_terms: tuple[tuple[str, bool, str], ...]

    def __repr__(self) -> str:
        return f"Sel(labels={self.labels!r}, fields={self.fields!r})"

    def match_obj(self, o: MObj) -> bool:
        return all(p(o.labels) for p in self.label_preds) and all(
            (o.field(f) == v) == eq for f, eq, v in self.field_terms)

    def match_ns(self, name: str, phase: str) -> bool:
        got = {"metadata.name": name, "status.phase": phase}
        return all((got[f] == v) == eq for f, eq, v in self.field_terms)


@st.composite
def label_requirements(draw: Any) -> tuple[str, Callable[[dict[str, str]], bool]]:
    k = draw(st.sampled_from(LABEL_KEYS))
    op = draw(st.sampled_from(["=", "==", "!=", "in", "notin", "exists", "!"]))
    if op in ("=", "==", "!="):
        v = draw(st.sampled_from(LABEL_VALUES))
        if op == "!=":
            return f"{k}!={v}", lambda L: L.get(k) != v
        return f"{k}{op}{v}", lambda L: L.get(k) == v
    if op in ("in", "notin"):
        vs = draw(st.lists(st.sampled_from(LABEL_VALUES), min_size=1, max_size=2, unique=True))
        text = f"{k} {op} ({','.join(vs)})"
        if op == "in":
            return text, lambda L: k in L and L[k] in vs
        return text, lambda L: L.get(k) not in vs
    if op == "exists":
        return k, lambda L: k in L
    return f"!{k}", lambda L: k not in L


FIELD_VALUES = {
    "metadata.name": NAMES,
    "metadata.namespace": SPACES,
    "spec.nodeName": NODES,
    "status.phase": PHASES,
}
NS_FIELD_VALUES = {"metadata.name": ("default", "ns1", "ns2", "kube-system"), "status.phase": ("Active", "Terminating")}


@st.composite
def selectors(draw: Any, res: str, labels: bool = True) -> Sel:
    reqs = draw(st.lists(label_requirements(), max_size=2)) if labels and res != "namespaces" else []
    table = NS_FIELD_VALUES if res == "namespaces" else {
        k: v for k, v in FIELD_VALUES.items() if res == "pods" or not k.startswith(("spec.", "status."))}
    terms = []
    texts = []
    for f in draw(st.lists(st.sampled_from(sorted(table)), max_size=2)):
        v = draw(st.sampled_from(table[f]))
        op = draw(st.sampled_from(["=", "==", "!="]))
        terms.append((f, op != "!=", v))
        texts.append(f"{f}{op}{v}")
    return Sel(",".join(t for t, _ in reqs), tuple(p for _, p in reqs), ",".join(texts), tuple(terms))


@st.composite
def probes(draw: Any) -> tuple[int, str, str | None, Sel]:
    ci = draw(st.integers(0, len(CLUSTERS) - 1))
    res = draw(st.sampled_from(("configmaps", "pods", "pods", "namespaces")))
    ns = None if res == "namespaces" else draw(st.sampled_from((None,) + SPACES))
    return ci, res, ns, draw(selectors(res))


clusters = st.integers(0, len(CLUSTERS) - 1)
picks = st.integers(0, 10_000)
label_dicts = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2)


# ---- helpers over stored objects --------------------------------------------------------------
def apply_event(state: dict[str, Any], kind: str, payload: Any, last_rv: int) -> int:
    """Apply one watch item to ``state`` (key -> StoredObject); returns the event's rv."""
    assert kind in (ADDED, MODIFIED, DELETED, DELETED_PREV), kind
    obj = payload.object_for(kind)
    assert payload.rv > last_rv, (payload.rv, last_rv)
    assert obj.rv == payload.rv
    assert obj.decode()["metadata"]["resourceVersion"] == str(payload.rv)
    if kind == ADDED:
        assert obj.key not in state, obj.key
        state[obj.key] = obj
    elif kind == MODIFIED:
        assert obj.key in state, obj.key
        state[obj.key] = obj
    else:
        assert obj.key in state, obj.key
        if kind == DELETED_PREV:  # the previous content, carrying the new rv
            assert obj.decode()["metadata"].get("uid") == state[obj.key].decode()["metadata"].get("uid")
        del state[obj.key]
    return payload.rv


@dataclass
class LiveWatch:
    ci: int
    res: str
    ns: str | None
    sel: Sel
    watcher: Any
    state: dict[str, Any]
    last_rv: int
    initial: bool  # still reading a WatchList's initial events


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.mux = Multiplexer(clock=self.clock, config=StoreConfig(history_events=HISTORY, history_seconds=0),
                               seed=7)
        self.clusters = [self.mux.create(n) for n in CLUSTERS]
        self.models = [MCluster() for _ in CLUSTERS]
        self.snapshots: list[dict[int, Snapshot]] = [{} for _ in CLUSTERS]
        self.watches: list[LiveWatch] = []
        self.tokens: list[tuple[int, str, str | None, Sel, int, str]] = []
        self.seen_rv = [0 for _ in CLUSTERS]
        for ci, c in enumerate(self.clusters):
            c.create(NAMESPACES, None, {"metadata": {"name": "ns1"}})
            self.models[ci].ns["ns1"] = "Active"
            self._record(ci)

    # ---- bookkeeping ----------------------------------------------------------------------
    def _record(self, ci: int) -> None:
        c = self.clusters[ci]
        snaps = self.snapshots[ci]
        snaps[c.resource_version] = self.models[ci].project()
        for rv in [rv for rv in snaps if rv < c.storage.history.compacted_rv]:
            del snaps[rv]

    def _begin(self) -> list[tuple[int, Snapshot]]:
        return [(c.resource_version, m.project()) for c, m in zip(self.clusters, self.models)]

    def _end(self, before: list[tuple[int, Snapshot]], touched: int | None,
             probe: tuple[int, str, str | None, Sel] | None, one_write: bool = True) -> None:
        """After a rule: reap, settle, then check rvs moved only where the model changed."""
        for ci, (c, m) in enumerate(zip(self.clusters, self.models)):
            c.reap_due()  # the simulated kubelet: pods whose grace has run out go now
            m.settle()
            rv0, snap0 = before[ci]
            rv1, snap1 = c.resource_version, m.project()
            assert rv1 >= rv0
            if ci != touched:
                assert rv1 == rv0, "a write to one cluster moved another cluster's resourceVersion"
                assert snap1.same(snap0)
            elif one_write:  # a write bumps the rv exactly when it changes something
                assert (rv1 > rv0) == (not snap1.same(snap0)), (rv0, rv1)
            self._record(ci)
        if probe is not None:
            self._probe(*probe)

    def _probe(self, ci: int, res: str, ns: str | None, sel: Sel) -> None:
        c, m = self.clusters[ci], self.models[ci]
        got = c.list(TYPES[res], ns, label_selector=sel.labels or None, field_selector=sel.fields or None)
        assert got.resource_version == c.resource_version
        self._compare(res, ns, sel, got.items, m.project())

    def _expected(self, res: str, ns: str | None, sel: Sel, snap: Snapshot) -> list[str]:
        if res == "namespaces":
            return sorted(n for n, phase in snap.ns.items() if sel.match_ns(n, phase))
        return sorted(f"{o.ns}/{o.name}" for k, o in snap.raw.items()
                      if k[0] == res and (ns is None or o.ns == ns) and sel.match_obj(o))

    def _compare(self, res: str, ns: str | None, sel: Sel, items: list[Any], snap: Snapshot) -> None:
        keys = [o.key for o in items]
        want = self._expected(res, ns, sel, snap)
        assert keys == want, (res, ns, sel, keys, want)
        for o in items:
            d = o.decode()
            assert d["metadata"]["resourceVersion"] == str(o.rv)
            if res == "namespaces":
                assert d["status"]["phase"] == snap.ns[o.name]
            else:
                k = (res, o.namespace, o.name)
                assert project_stored(res, d, snap.live) == snap.objs[k], k

    def _target(self, ci: int, pick: int, pred: Callable[[MObj], bool] = lambda o: True) -> MObj | None:
        cands = sorted((o for o in self.models[ci].objs.values() if pred(o)), key=lambda o: o.key)
        return cands[pick % len(cands)] if cands else None

    # ---- write operations (shared by the rules and by the pagination rule) -------------------
    def _create(self, ci: int, res: str, ns: str, name: str | None, labels: dict[str, str], hold: bool,
                owners: list[tuple[int, bool]], node: str, phase: str, data: str) -> None:
        c, m = self.clusters[ci], self.models[ci]
        meta: dict[str, Any] = {"labels": dict(labels)}
        if name is None:
            meta["generateName"] = "g-"
        else:
            meta["name"] = name
        if hold:
            meta["finalizers"] = [HOLD]
        refs: list[tuple[str, bool]] = []
        roots = m.roots(ns)
        for pick, block in owners:
            if roots:
                o = roots[pick % len(roots)]
                if all(r[0] != o.uid for r in refs):
                    refs.append((o.uid, block))
                    meta.setdefault("ownerReferences", []).append(
                        {"apiVersion": "v1", "kind": KINDS[o.res], "name": o.name, "uid": o.uid,
                         "blockOwnerDeletion": block})
        body: dict[str, Any] = {"metadata": meta}
        if res == "configmaps":
            body["data"] = {"v": data}
        else:
            body["spec"] = {"containers": [{"name": "c", "image": "busybox:1"}]}
            if node:
                body["spec"]["nodeName"] = node
            if phase != "Pending":
                body["status"] = {"phase": phase}
        expected = None
        if ns not in m.ns:
            expected = 404
        elif m.ns[ns] == "Terminating":
            expected = 403
        elif name is not None and (res, ns, name) in m.objs:
            expected = 409
        try:
            rec = c.create(TYPES[res], ns, body)
        except errors.StatusError as e:
            assert e.code == expected, e
            return
        assert expected is None
        assert rec.rv == c.resource_version > self.seen_rv[ci]
        self.seen_rv[ci] = rec.rv
        d = rec.decode()
        got = d["metadata"]["name"]
        if name is None:
            assert got.startswith("g-") and len(got) == 7
        m.objs[(res, ns, got)] = MObj(res, ns, got, d["metadata"]["uid"], dict(labels), [HOLD] if hold else [],
                                      refs, data=data if res == "configmaps" else "", node=node,
                                      phase=phase if res == "pods" else "")

    def _merge_patch_labels(self, ci: int, o: MObj, patch: dict[str, str | None], data: str | None) -> None:
        body: dict[str, Any] = {"metadata": {"labels": patch}}
        if data is not None and o.res == "configmaps":
            body["data"] = {"v": data}
        self.clusters[ci].patch(TYPES[o.res], o.ns, o.name, MERGE_PATCH, body)
        for k, v in patch.items():
            if v is None:
                o.labels.pop(k, None)
            else:
                o.labels[k] = v
        if data is not None and o.res == "configmaps":
            o.data = data

    def _delete(self, ci: int, o: MObj, policy: str | None) -> None:
        c, m = self.clusters[ci], self.models[ci]
        rec, gone = c.delete(TYPES[o.res], o.ns, o.name, propagation_policy=policy)
        m.delete(o, policy or "Background")
        m.settle()
        d = rec.decode()
        assert rec.rv == int(d["metadata"]["resourceVersion"])
        if gone:
            assert o.key not in m.objs
        else:  # terminating: finalizers, dependents in the way, or a pod's grace period (here or in a cascade)
            assert "deletionTimestamp" in d["metadata"]

    # ---- rules -------------------------------------------------------------------------------
    @initialize(roots=st.lists(st.tuples(clusters, st.sampled_from(OBJECT_RESOURCES), st.sampled_from(("default", "ns1")),
                                         label_dicts, st.booleans(), st.sampled_from(NODES), st.sampled_from(PHASES)),
                               min_size=2, max_size=8),
                deps=st.lists(st.tuples(clusters, st.sampled_from(OBJECT_RESOURCES), st.sampled_from(("default", "ns1")),
                                        label_dicts, st.booleans(),
                                        st.lists(st.tuples(picks, st.booleans()), min_size=1, max_size=2),
                                        st.sampled_from(NODES), st.sampled_from(PHASES)),
                              max_size=8))
    def populate(self, roots, deps):
        """Start from a few objects per cluster, and dependents owned by one or two of them."""
        for ci, res, ns, labels, hold, node, phase in roots:
            before = self._begin()
            self._create(ci, res, ns, None, labels, hold, [], node, phase, "0")
            self._end(before, ci, None)
        for ci, res, ns, labels, hold, owners, node, phase in deps:
            before = self._begin()
            self._create(ci, res, ns, None, labels, hold, owners, node, phase, "0")
            self._end(before, ci, None)

    @rule(ci=clusters, res=st.sampled_from(OBJECT_RESOURCES), ns=st.sampled_from(SPACES),
          name=st.one_of(st.sampled_from(NAMES), st.none()), labels=label_dicts, hold=st.booleans(),
          owners=st.lists(st.tuples(picks, st.booleans()), max_size=2), node=st.sampled_from(NODES),
          phase=st.sampled_from(PHASES), data=st.sampled_from(("1", "2")), probe=probes())
    def create(self, ci, res, ns, name, labels, hold, owners, node, phase, data, probe):
        before = self._begin()
        self._create(ci, res, ns, name, labels, hold, owners, node, phase, data)
        self._end(before, ci, probe)

    @rule(ci=clusters, res=st.sampled_from(OBJECT_RESOURCES), ns=st.sampled_from(SPACES), labels=label_dicts,
          hold=st.booleans(), owners=st.lists(st.tuples(picks, st.booleans()), min_size=1, max_size=2),
          node=st.sampled_from(NODES), phase=st.sampled_from(PHASES), probe=probes())
    def create_dependent(self, ci, res, ns, labels, hold, owners, node, phase, probe):
        """A generated name and one or two owners among the namespace's root objects."""
        before = self._begin()
        self._create(ci, res, ns, None, labels, hold, owners, node, phase, "dep")
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, labels=label_dicts, data=st.sampled_from(("1", "2", "3")),
          node=st.sampled_from(NODES), fin_op=st.sampled_from(("keep", "add", "remove")),
          rv_mode=st.sampled_from(("current", "current", "stale", "none")), probe=probes())
    def update(self, ci, pick, labels, data, node, fin_op, rv_mode, probe):
        before = self._begin()
        c, m = self.clusters[ci], self.models[ci]
        o = self._target(ci, pick)
        if o is not None:
            body = c.get_object(TYPES[o.res], o.ns, o.name)
            meta = body["metadata"]
            meta["labels"] = dict(labels)
            fins = list(meta.get("finalizers") or [])
            if fin_op == "add" and HOLD not in fins:
                fins.append(HOLD)
            elif fin_op == "remove":
                fins = [f for f in fins if f != HOLD]
            if fins:
                meta["finalizers"] = fins
            else:
                meta.pop("finalizers", None)
            if rv_mode == "stale":
                meta["resourceVersion"] = str(int(meta["resourceVersion"]) - 1)
            elif rv_mode == "none":
                del meta["resourceVersion"]
            if o.res == "configmaps":
                body["data"] = {"v": data}
            else:
                if node:
                    body["spec"]["nodeName"] = node
                else:  # upstream's typed scheme drops an empty nodeName (omitempty): leave it out
                    body["spec"].pop("nodeName", None)
                body["status"]["phase"] = "Failed"  # ignored: status is a subresource
            expected = None
            if rv_mode == "stale":
                expected = 409
            elif o.deleting and fin_op == "add" and HOLD not in o.fins:
                expected = 422
            try:
                c.update(TYPES[o.res], o.ns, o.name, body)
            except errors.StatusError as e:
                assert e.code == expected, e
                if expected == 409:
                    assert e.message == (f'Operation cannot be fulfilled on {o.res} "{o.name}": '
                                         + errors.CONFLICT_MODIFIED)
            else:
                assert expected is None
                o.labels = dict(labels)
                o.fins = fins
                if o.res == "configmaps":
                    o.data = data
                else:
                    o.node = node
                if o.deleting and not o.fins:
                    m.remove(o)
                m.settle()
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks,
          patch=st.dictionaries(st.sampled_from(LABEL_KEYS), st.one_of(st.none(), st.sampled_from(LABEL_VALUES)),
                                min_size=1, max_size=2),
          data=st.one_of(st.none(), st.sampled_from(("1", "2", "3"))), probe=probes())
    def merge_patch(self, ci, pick, patch, data, probe):
        before = self._begin()
        o = self._target(ci, pick)
        if o is not None:
            self._merge_patch_labels(ci, o, patch, data)
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, phase=st.sampled_from(PHASES + ("Failed",)), via=st.sampled_from(("patch", "put")),
          relabel=st.sampled_from((None, "a", "b")), probe=probes())
    def write_pod_status(self, ci, pick, phase, via, relabel, probe):
        before = self._begin()
        c = self.clusters[ci]
        o = self._target(ci, pick, lambda o: o.res == "pods")
        if o is not None:
            if via == "patch":
                patch: dict[str, Any] = {"status": {"phase": phase}}
                if relabel:  # pods/status may change labels too (podStatusStrategy)
                    patch["metadata"] = {"labels": {"app": relabel}}
                c.patch(POD, o.ns, o.name, MERGE_PATCH, patch, subresource="status")
            else:
                body = c.get_object(POD, o.ns, o.name)
                body["status"]["phase"] = phase
                body["spec"]["nodeName"] = "ignored"  # /status never changes the spec
                if relabel:
                    body["metadata"]["labels"] = {**(body["metadata"].get("labels") or {}), "app": relabel}
                c.update(POD, o.ns, o.name, body, subresource="status")
            o.phase = phase
            if relabel:
                o.labels["app"] = relabel
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, policy=st.sampled_from((None, "Background", "Foreground", "Orphan")),
          probe=probes())
    def delete(self, ci, pick, policy, probe):
        before = self._begin()
        o = self._target(ci, pick, lambda o: not o.deleting)
        if o is not None:
            self._delete(ci, o, policy)
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, policy=st.sampled_from((None, "Background", "Foreground", "Orphan")),
          probe=probes())
    def delete_owner(self, ci, pick, policy, probe):
        """The garbage collector's cases: delete an object that others name as their owner."""
        before = self._begin()
        m = self.models[ci]
        o = self._target(ci, pick, lambda o: not o.deleting and bool(m.dependents(o.uid)))
        if o is not None:
            self._delete(ci, o, policy)
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, probe=probes())
    def release_finalizer(self, ci, pick, probe):
        """A controller's last step: drop its finalizer from a terminating object (by merge patch)."""
        before = self._begin()
        c, m = self.clusters[ci], self.models[ci]
        o = self._target(ci, pick, lambda o: o.deleting and HOLD in o.fins)
        if o is not None:
            rest = [f for f in o.fins if f != HOLD]
            c.patch(TYPES[o.res], o.ns, o.name, MERGE_PATCH, {"metadata": {"finalizers": rest or None}})
            o.fins = rest
            if not rest:
                m.remove(o)
            m.settle()
        self._end(before, ci, probe)

    @rule(ci=clusters, ns=st.sampled_from(SPACES), probe=probes())
    def delete_namespace(self, ci, ns, probe):
        before = self._begin()
        c, m = self.clusters[ci], self.models[ci]
        try:
            rec, gone = c.delete(NAMESPACES, None, ns)
        except errors.StatusError as e:
            if ns == "default":
                assert (e.code, e.reason, e.message) == (
                    403, "Forbidden", 'namespaces "default" is forbidden: this namespace may not be deleted')
            else:
                assert ns not in m.ns and e.code == 404
        else:
            assert ns in m.ns and ns != "default"
            if m.ns[ns] == "Active":
                m.delete_namespace(ns)
                m.settle()
            if gone:  # (not gone, yet gone from the model: pods in their grace period, reaped below)
                assert ns not in m.ns
            else:
                assert rec.decode()["status"]["phase"] == "Terminating"
        self._end(before, ci, probe)

    @rule(ci=clusters, ns=st.sampled_from(("ns1", "ns2")), probe=probes())
    def create_namespace(self, ci, ns, probe):
        before = self._begin()
        c, m = self.clusters[ci], self.models[ci]
        try:
            c.create(NAMESPACES, None, {"metadata": {"name": ns}})
        except errors.StatusError as e:
            assert ns in m.ns
            assert (e.code, e.reason, e.message) == (409, "AlreadyExists", f'namespaces "{ns}" already exists')
        else:
            assert ns not in m.ns
            m.ns[ns] = "Active"
        self._end(before, ci, probe)

    @rule(ci=clusters, pick=picks, go=st.integers(0, 2))
    def compact(self, ci, pick, go):
        """etcd compaction up to some rv inside the window (one time in three): older states become 410."""
        if go:
            return
        c = self.clusters[ci]
        lo, hi = c.storage.history.compacted_rv, c.resource_version
        c.storage.compact(lo + pick % (hi - lo + 1))
        self._record(ci)

    # ---- history checks -----------------------------------------------------------------------
    @rule(ci=clusters, res=st.sampled_from(("configmaps", "pods", "namespaces")), ns=st.sampled_from((None,) + SPACES),
          pick=picks, data=st.data())
    def exact_list_and_replay(self, ci, res, ns, pick, data):
        """A watch from any rv in the window, replayed onto the Exact list at that rv, gives today's list."""
        c = self.clusters[ci]
        ns = None if res == "namespaces" else ns
        sel = data.draw(selectors(res))
        lo, hi = max(1, c.storage.history.compacted_rv), c.resource_version
        rv = lo + pick % (hi - lo + 1)
        lsel, fsel = sel.labels or None, sel.fields or None
        base = c.list(TYPES[res], ns, label_selector=lsel, field_selector=fsel, resource_version=str(rv),
                      resource_version_match="Exact")
        assert base.resource_version == rv
        snap = self.snapshots[ci].get(rv)
        if snap is not None:
            self._compare(res, ns, sel, base.items, snap)
        state = {o.key: o for o in base.items}
        w = c.watch(TYPES[res], ns, label_selector=lsel, field_selector=fsel, resource_version=str(rv))
        last = rv
        while (item := w.get_nowait()) is not None:
            last = apply_event(state, item[0], item[1], last)
        w.close()
        now = c.list(TYPES[res], ns, label_selector=lsel, field_selector=fsel)
        assert {k: o.data for k, o in state.items()} == {o.key: o.data for o in now.items}

    @rule(ci=clusters, res=st.sampled_from(("configmaps", "pods", "namespaces")), ns=st.sampled_from((None,) + SPACES),
          limit=st.integers(1, 4), writes=st.lists(st.tuples(st.integers(0, 2), picks), max_size=4), data=st.data())
    def paginate_while_writing(self, ci, res, ns, limit, writes, data):
        """Every page of a paginated list shows the snapshot at the first page's rv, whatever happens between."""
        before = self._begin()
        c, m = self.clusters[ci], self.models[ci]
        ns = None if res == "namespaces" else ns
        sel = data.draw(selectors(res))
        lsel, fsel = sel.labels or None, sel.fields or None
        snap = m.project()
        expected = self._expected(res, ns, sel, snap)
        page = c.list(TYPES[res], ns, label_selector=lsel, field_selector=fsel, limit=limit)
        at = page.resource_version
        assert at == c.resource_version
        items = list(page.items)
        writes = list(writes)
        while True:
            assert len(page.items) <= limit
            if page.continue_token is None:
                assert page.remaining is None
                break
            assert len(page.items) == limit
            if not lsel and not fsel:
                assert page.remaining == len(expected) - len(items)
            self.tokens.append((ci, res, ns, sel, at, page.continue_token))
            if writes:
                self._random_write(ci, *writes.pop())
            page = c.list(TYPES[res], ns, label_selector=lsel, field_selector=fsel, limit=limit,
                          continue_token=page.continue_token)
            assert page.resource_version == at
            items.extend(page.items)
        self._compare(res, ns, sel, items, snap)
        self._end(before, ci, None, one_write=False)

    def _random_write(self, ci: int, what: int, pick: int) -> None:
        m = self.models[ci]
        if what == 0:
            o = self._target(ci, pick)
            if o is not None:
                self._merge_patch_labels(ci, o, {"app": LABEL_VALUES[pick % 3]}, str(pick % 5))
        elif what == 1:
            ns = [n for n in SPACES if m.ns.get(n) == "Active"]
            if ns:
                self._create(ci, "configmaps", ns[pick % len(ns)], None, {"tier": "x"}, False, [], "", "", "w")
        else:
            o = self._target(ci, pick, lambda o: not o.deleting)
            if o is not None:
                self._delete(ci, o, None)
        m.settle()

    @rule(ci=clusters, back=st.integers(1, 5))
    def too_old_resource_versions(self, ci, back):
        """Below the window: Exact lists, watches and continue tokens all answer 410 Expired."""
        c = self.clusters[ci]
        compacted = c.storage.history.compacted_rv
        for (tci, res, ns, sel, rv, token) in self.tokens:
            if tci != ci:
                continue
            kw = dict(label_selector=sel.labels or None, field_selector=sel.fields or None, limit=2)
            if rv < compacted:
                try:
                    c.list(TYPES[res], ns, continue_token=token, **kw)
                except errors.StatusError as e:
                    assert (e.code, e.reason, e.message) == (410, "Expired", errors.CONTINUE_EXPIRED)
                else:
                    raise AssertionError("expired continue token accepted")
            else:
                assert c.list(TYPES[res], ns, continue_token=token, **kw).resource_version == rv
        if compacted <= 1:
            return
        rv = max(1, compacted - back)
        try:
            c.list(CM, None, resource_version=str(rv), resource_version_match="Exact")
        except errors.StatusError as e:
            assert (e.code, e.reason, e.message) == (410, "Expired", f"too old resource version: {rv} ({compacted})")
        else:
            raise AssertionError("Exact list below the window succeeded")
        w = c.watch(POD, None, resource_version=str(rv))
        kind, status = w.get_nowait()
        assert kind == ERROR and (status.code, status.reason) == (410, "Expired")
        assert status.message == f"too old resource version: {rv} ({compacted})"
        assert w.get_nowait() is None and w.closed
        # The oldest state still inside the window is served.
        c.list(CM, None, resource_version=str(compacted), resource_version_match="Exact")

    # ---- long-lived watchers ----------------------------------------------------------------
    @precondition(lambda self: len(self.watches) < 3)
    @rule(ci=clusters, res=st.sampled_from(("configmaps", "pods", "namespaces")), ns=st.sampled_from((None,) + SPACES),
          initial=st.booleans(), data=st.data())
    def open_watch(self, ci, res, ns, initial, data):
        c = self.clusters[ci]
        ns = None if res == "namespaces" else ns
        sel = data.draw(selectors(res))
        lsel, fsel = sel.labels or None, sel.fields or None
        if initial:
            w = c.watch(TYPES[res], ns, label_selector=lsel, field_selector=fsel, resource_version="",
                        resource_version_match="NotOlderThan", send_initial_events=True, allow_bookmarks=True)
            self.watches.append(LiveWatch(ci, res, ns, sel, w, {}, 0, True))
        else:
            base = c.list(TYPES[res], ns, label_selector=lsel, field_selector=fsel)
            w = c.watch(TYPES[res], ns, label_selector=lsel, field_selector=fsel,
                        resource_version=str(base.resource_version))
            self.watches.append(LiveWatch(ci, res, ns, sel, w, {o.key: o for o in base.items},
                                          base.resource_version, False))

    @precondition(lambda self: self.watches)
    @rule(pick=picks)
    def close_watch(self, pick):
        lw = self.watches.pop(pick % len(self.watches))
        lw.watcher.close()
        assert lw.watcher.closed

    @invariant()
    def watchers_follow_the_store(self):
        for lw in self.watches:
            c = self.clusters[lw.ci]
            while (item := lw.watcher.get_nowait()) is not None:
                kind, payload = item
                if lw.initial:
                    if kind == INITIAL_END:
                        lw.initial = False
                        lw.last_rv = payload
                        continue
                    assert kind == ADDED
                    obj = payload.object_for(kind)
                    assert obj.key not in lw.state
                    lw.state[obj.key] = obj
                    continue
                assert kind not in (ERROR, BOOKMARK, INITIAL_END), item
                lw.last_rv = apply_event(lw.state, kind, payload, lw.last_rv)
            assert not lw.initial, "the initial-events-end bookmark never came"
            assert not lw.watcher.closed
            now = c.list(TYPES[lw.res], lw.ns, label_selector=lw.sel.labels or None,
                         field_selector=lw.sel.fields or None)
            assert {k: o.data for k, o in lw.state.items()} == {o.key: o.data for o in now.items}

    @invariant()
    def store_equals_model(self):
        for ci, (c, m) in enumerate(zip(self.clusters, self.models)):
            snap = m.project()
            rvs = []
            for res in OBJECT_RESOURCES:
                items = c.list(TYPES[res], None).items
                assert [o.key for o in items] == sorted(o.key for o in items)
                got = {(res, o.namespace, o.name): project_stored(res, o.decode(), snap.live) for o in items}
                want = {k: v for k, v in snap.objs.items() if k[0] == res}
                assert got == want, _diff(got, want)
                rvs += [o.rv for o in items]
            spaces = c.list(NAMESPACES).items
            assert {o.name: o.decode()["status"]["phase"] for o in spaces} == snap.ns
            rvs += [o.rv for o in spaces]
            # every commit has its own rv, and none is ahead of the cluster's
            assert len(rvs) == len(set(rvs)) and max(rvs) <= c.resource_version
            assert c.resource_version >= self.seen_rv[ci]
            self.seen_rv[ci] = c.resource_version

    def teardown(self) -> None:
        for lw in self.watches:
            lw.watcher.close()


StoreMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
TestStoreModel = StoreMachine.TestCase
