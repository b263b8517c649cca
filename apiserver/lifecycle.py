"""How objects leave: DELETE, finalizers, pod grace periods, garbage collection, namespace and CRD cleanup.

kube-apiserver only marks objects (deletionTimestamp, finalizers); kube-controller-manager's
garbage collector and namespace controller, and the kubelet, finish the job. A fake server has
no such processes, so this module plays them synchronously inside the write that triggers
them: deterministic, and with the same events a client of a real cluster would see.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, Iterable

import orjson

from . import errors
from .objects import StoredObject
from .resources import BUILTIN, CRDS, NAMESPACES, ResourceType

if TYPE_CHECKING:
    from .cluster import ClusterStore

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
NAMESPACE_FINALIZER = "kubernetes"
CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"
UNDELETABLE_NAMESPACES = ("default", "kube-system", "kube-public")
_BUILTIN_BY_KIND = {(r.api_version, r.kind): r for r in BUILTIN}


def _owner_refs(obj: dict[str, Any]) -> list[dict[str, Any]]:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [r for r in refs if isinstance(r, dict) and r.get("uid")]


class Lifecycle:
    """Mixed into ``ClusterStore``; uses its storage, registry, clock and write helpers."""

    def __init__(self: "ClusterStore") -> None:
        # owner uid -> dependents (storage_id, key): the garbage collector's graph
        self._dependents: dict[str, set[tuple[str, str]]] = {}
        self._reaps: list[tuple[float, int, str, str, str]] = []  # (due, seq, storage_id, key, uid)
        self._reap_seq = 0

    # ---- bookkeeping on every commit ------------------------------------------------------------
    def after_put(self: "ClusterStore", rtype: ResourceType, rec: StoredObject, obj: dict[str, Any],
                  old: dict[str, Any] | None) -> None:
        new_refs = _owner_refs(obj)
        old_refs = _owner_refs(old) if old is not None else []
        if new_refs or old_refs:
            ref = (rtype.storage_id, rec.key)
            new_uids = {r["uid"] for r in new_refs}
            for r in old_refs:
                if r["uid"] not in new_uids:
                    self._unlink(r["uid"], ref)
            for uid in new_uids:
                self._dependents.setdefault(uid, set()).add(ref)
        if rtype is CRDS:  # created, or updated (a new version, a new schema): serve what it says now
            if old is not None:
                self.registry.remove_crd(old)
            self.registry.add_crd(obj)

    def _unlink(self, uid: str, ref: tuple[str, str]) -> None:
        deps = self._dependents.get(uid)
        if deps is not None:
            deps.discard(ref)
            if not deps:
                del self._dependents[uid]

    def _rtype_for(self: "ClusterStore", api_version: str, kind: str) -> ResourceType | None:
        r = _BUILTIN_BY_KIND.get((api_version, kind))
        if r is None:
            for c in self.registry.custom.values():
                if c.kind == kind and c.group == api_version.rpartition("/")[0]:
                    return c
        return r

    def _table_rtype(self: "ClusterStore", storage_id: str) -> ResourceType | None:
        t = self.storage.tables.get(storage_id)
        return t.rtype if t is not None else None

    # ---- DELETE ----------------------------------------------------------------------------
    def delete(self: "ClusterStore", rtype: ResourceType, namespace: str | None, name: str, *,
               propagation_policy: str | None = None, grace_period_seconds: int | None = None,
               preconditions: dict[str, Any] | None = None, dry_run: bool = False) -> tuple[StoredObject, bool]:
        """Returns the object as it now stands and whether it is gone (else it is terminating)."""
        self.reap_due()
        prev = self.get(rtype, namespace, name)
        if propagation_policy not in (None, "", "Background", "Foreground", "Orphan"):
            raise errors.invalid("DeleteOptions", "meta.k8s.io", "", [errors.field_error(
                "propagationPolicy", "FieldValueNotSupported",
                f'Unsupported value: "{propagation_policy}": supported values: "Foreground", "Background", "Orphan", "nil"')])
        old = prev.decode()
        meta = old["metadata"]
        if preconditions:
            if preconditions.get("uid") and preconditions["uid"] != meta.get("uid"):
                raise errors.conflict(rtype.plural, rtype.group, name,
                                      f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                                      f"UID in object meta: {meta.get('uid')}")
            if preconditions.get("resourceVersion") and str(preconditions["resourceVersion"]) != str(prev.rv):
                raise errors.conflict(rtype.plural, rtype.group, name,
                                      f"Precondition failed: ResourceVersion in precondition: "
                                      f"{preconditions['resourceVersion']}, ResourceVersion in object meta: {prev.rv}")
        if rtype is NAMESPACES and name in UNDELETABLE_NAMESPACES:
            raise errors.forbidden("namespaces", "", name, "this namespace may not be deleted")
        if dry_run:
            return prev, not meta.get("finalizers")
        terminating = "deletionTimestamp" in meta
        if terminating:
            if rtype.kind == "Pod" and not rtype.group and grace_period_seconds == 0:
                return self._terminate_now(rtype, prev, old)
            return prev, False
        policy = propagation_policy or "Background"
        has_dependents = bool(self._dependents.get(meta.get("uid", "")))
        if policy == "Orphan" and has_dependents:
            self._orphan_dependents(meta["uid"])
        grace = self._grace_period(rtype, old, grace_period_seconds)
        finalizers = list(meta.get("finalizers") or [])
        if policy == "Foreground" and has_dependents and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        system = rtype is NAMESPACES or rtype is CRDS
        if not finalizers and not system and grace == 0:
            return self.remove_object(rtype, prev, old), True
        # Mark it: deletionTimestamp (+grace), then let the "controllers" make progress.
        new = orjson.loads(prev.data)
        nmeta = new["metadata"]
        nmeta["deletionTimestamp"] = self.now_timestamp(grace)
        nmeta["deletionGracePeriodSeconds"] = grace
        if finalizers:
            nmeta["finalizers"] = finalizers
        if rtype is NAMESPACES:
            new.setdefault("status", {})["phase"] = "Terminating"
        rec = self._commit_put(rtype, prev.key, prev.namespace, new, prev, old)
        if grace > 0:
            self._schedule_reap(rtype, rec.key, grace, nmeta.get("uid", ""))
        if FOREGROUND in finalizers:
            self._delete_dependents(nmeta["uid"], "Foreground")
        if rtype is NAMESPACES:
            self._delete_namespace_contents(name)
        elif rtype is CRDS:
            self._delete_custom_resources(new)
        self.progress(rtype, rec.key)
        cur = self.storage.current(rtype, prev.key)
        return (cur, False) if cur is not None else (self._last_deleted(rtype, prev.key, rec), True)

    def _last_deleted(self: "ClusterStore", rtype: ResourceType, key: str, fallback: StoredObject) -> StoredObject:
        for ev in reversed(list(self.storage.history.since(fallback.rv - 1))):
            if ev.storage_id == rtype.storage_id and ev.obj.key == key:
                return ev.obj
        return fallback

    @staticmethod
    def _grace_period(rtype: ResourceType, obj: dict[str, Any], requested: int | None) -> int:
        if rtype.kind != "Pod" or rtype.group:
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is not None:
            return max(0, int(requested))
        return int(spec.get("terminationGracePeriodSeconds", 30) or 0)

    def delete_collection(self: "ClusterStore", rtype: ResourceType, namespace: str | None, *,
                          label_selector: Any = None, field_selector: Any = None,
                          propagation_policy: str | None = None, grace_period_seconds: int | None = None,
                          dry_run: bool = False) -> list[StoredObject]:
        result = self.list(rtype, namespace, label_selector=label_selector, field_selector=field_selector)
        out = []
        for obj in result.items:
            try:
                rec, _ = self.delete(rtype, obj.namespace or None, obj.name, propagation_policy=propagation_policy,
                                     grace_period_seconds=grace_period_seconds, dry_run=dry_run)
            except errors.StatusError as e:
                if e.code == 404:  # removed meanwhile by a cascade
                    continue
                raise
            out.append(rec)
        return out

    # ---- the kubelet: pods past their grace period ---------------------------------------------
    def _schedule_reap(self: "ClusterStore", rtype: ResourceType, key: str, grace: int, uid: str = "") -> None:
        delay = min(float(grace), self.config.pod_termination_seconds)
        self._reap_seq += 1
        heapq.heappush(self._reaps, (self.clock.now() + delay, self._reap_seq, rtype.storage_id, key, uid))

    def reap_due(self: "ClusterStore") -> None:
        reaps = self._reaps
        if not reaps:
            return
        now = self.clock.now()
        while reaps and reaps[0][0] <= now:
            _, _, sid, key, uid = heapq.heappop(reaps)
            rtype = self._table_rtype(sid)
            rec = self.storage.tables[sid].objects.get(key) if rtype is not None else None
            if rec is not None:
                old = rec.decode()
                # (the uid: a pod deleted, re-created and deleted again under the same name waits for its own time)
                if "deletionTimestamp" in old["metadata"] and old["metadata"].get("uid", "") == uid:
                    self._terminate_now(rtype, rec, old)  # type: ignore[arg-type]

    def next_reap_at(self) -> float | None:
        return self._reaps[0][0] if self._reaps else None

    def _terminate_now(self: "ClusterStore", rtype: ResourceType, prev: StoredObject, old: dict[str, Any]
                       ) -> tuple[StoredObject, bool]:
        """The kubelet confirms termination (a delete with grace 0): gone unless finalizers hold it."""
        if old["metadata"].get("finalizers"):
            if old["metadata"].get("deletionGracePeriodSeconds") != 0:
                new = orjson.loads(prev.data)
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                return self._commit_put(rtype, prev.key, prev.namespace, new, prev, old), False
            return prev, False
        return self.remove_object(rtype, prev, old), True

    # ---- the finalizers the control plane itself handles -----------------------------------------
    def holds_system_finalizer(self, rtype: ResourceType, obj: dict[str, Any]) -> bool:
        return rtype is NAMESPACES and NAMESPACE_FINALIZER in ((obj.get("spec") or {}).get("finalizers") or ())

    def progress(self: "ClusterStore", rtype: ResourceType, key: str) -> None:
        """Let the GC, namespace and CRD controllers finish what they can for a terminating object."""
        rec = self.storage.current(rtype, key)
        if rec is None:
            return
        obj = rec.decode()
        meta = obj["metadata"]
        if "deletionTimestamp" not in meta:
            return
        fins = list(meta.get("finalizers") or [])
        uid = meta.get("uid", "")
        changed = False
        if ORPHAN in fins:
            self._orphan_dependents(uid)
            fins.remove(ORPHAN)
            changed = True
        if FOREGROUND in fins and not self._blocking_dependents(uid):
            fins.remove(FOREGROUND)
            changed = True
        if CRD_CLEANUP in fins and rtype is CRDS and not self._custom_resources_left(obj):
            fins.remove(CRD_CLEANUP)
            changed = True
        spec_fins = list((obj.get("spec") or {}).get("finalizers") or [])
        if rtype is NAMESPACES and NAMESPACE_FINALIZER in spec_fins and self._namespace_empty(rec.name):
            spec_fins.remove(NAMESPACE_FINALIZER)
            obj["spec"]["finalizers"] = spec_fins
            changed = True
        if not changed:
            return
        if fins:
            meta["finalizers"] = fins
        else:
            meta.pop("finalizers", None)
        old = rec.decode()
        if not fins and not spec_fins and not (meta.get("deletionGracePeriodSeconds") or 0):
            self.remove_object(rtype, rec, old)  # (a pod in its grace period waits for the kubelet)
        else:
            self._commit_put(rtype, rec.key, rec.namespace, obj, rec, old)

    # ---- removal and what follows it ------------------------------------------------------------
    def remove_object(self: "ClusterStore", rtype: ResourceType, prev: StoredObject, old: dict[str, Any]
                      ) -> StoredObject:
        """Really delete: the DELETED event carries the last stored state at the deletion's rv."""
        rv = self.storage.next_rv()
        old["metadata"]["resourceVersion"] = str(rv)
        final = self.storage.make_object(rtype, prev.key, prev.namespace, rv, old, orjson.dumps(old))
        self.storage.remove(rtype, final, prev)
        self._after_remove(rtype, prev, old)
        return final

    def _after_remove(self: "ClusterStore", rtype: ResourceType, prev: StoredObject, old: dict[str, Any]) -> None:
        meta = old["metadata"]
        uid = meta.get("uid", "")
        ref = (rtype.storage_id, prev.key)
        refs = _owner_refs(old)
        for r in refs:
            self._unlink(r["uid"], ref)
        # Dependents whose owners are now all gone are collected (background); others lose the dangling ref.
        if uid in self._dependents:
            self._collect_dependents(uid)
        for r in refs:  # an owner waiting in foreground deletion may now be free to go
            owner = self._find_owner(r, prev.namespace)
            if owner is not None:
                self.progress(owner[0], owner[1].key)
        if rtype.namespaced:
            ns = self.storage.current(NAMESPACES, prev.namespace)
            if ns is not None and b'"deletionTimestamp"' in ns.data:
                self.progress(NAMESPACES, ns.key)
        if rtype.custom:
            crd = self.storage.current(CRDS, f"{rtype.plural}.{rtype.group}")
            if crd is not None and b'"deletionTimestamp"' in crd.data:
                self.progress(CRDS, crd.key)
        if rtype is CRDS:
            for t in self.registry.remove_crd(old):
                self.storage.drop_table(t)

    def _cascade(self: "ClusterStore", rtype: ResourceType, rec: StoredObject, policy: str,
                 grace: int | None = None) -> None:
        """A delete the control plane itself issues: an object already gone (reaped, or collected by
        an earlier step of the same cascade) is simply done, as it is for the garbage collector."""
        try:
            self.delete(rtype, rec.namespace or None, rec.name, propagation_policy=policy,
                        grace_period_seconds=grace)
        except errors.StatusError as e:
            if e.code != 404:
                raise

    def _find_owner(self: "ClusterStore", ref: dict[str, Any], namespace: str
                    ) -> tuple[ResourceType, StoredObject] | None:
        rtype = self._rtype_for(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if rtype is None:
            return None
        key = self.key(rtype, namespace, str(ref.get("name", "")))
        rec = self.storage.current(rtype, key)
        if rec is None or orjson.loads(rec.data)["metadata"].get("uid") != ref.get("uid"):
            return None
        return rtype, rec

    def _dependent_records(self: "ClusterStore", uid: str) -> list[tuple[ResourceType, StoredObject]]:
        out = []
        for sid, key in sorted(self._dependents.get(uid, ())):
            table = self.storage.tables.get(sid)
            rec = table.objects.get(key) if table is not None else None
            if rec is not None:
                out.append((table.rtype, rec))  # type: ignore[union-attr]
        return out

    def _collect_dependents(self: "ClusterStore", uid: str) -> None:
        for rtype, rec in self._dependent_records(uid):
            cur = self.storage.current(rtype, rec.key)
            if cur is None:
                continue
            obj = cur.decode()
            refs = _owner_refs(obj)
            alive = [r for r in refs if r["uid"] != uid and self._find_owner(r, cur.namespace) is not None]
            if alive:
                self._drop_owner_refs(rtype, cur, obj, {r["uid"] for r in refs} - {r["uid"] for r in alive})
            elif "deletionTimestamp" not in obj["metadata"]:
                self._cascade(rtype, cur, "Background")
        self._dependents.pop(uid, None)

    def _drop_owner_refs(self: "ClusterStore", rtype: ResourceType, rec: StoredObject, obj: dict[str, Any],
                         uids: set[str]) -> None:
        new = orjson.loads(rec.data)
        refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") not in uids]
        if refs:
            new["metadata"]["ownerReferences"] = refs
        else:
            new["metadata"].pop("ownerReferences", None)
        self._commit_put(rtype, rec.key, rec.namespace, new, rec, obj)

    def _orphan_dependents(self: "ClusterStore", uid: str) -> None:
        for rtype, rec in self._dependent_records(uid):
            self._drop_owner_refs(rtype, rec, rec.decode(), {uid})

    def _delete_dependents(self: "ClusterStore", uid: str, policy: str) -> None:
        for rtype, rec in self._dependent_records(uid):
            cur = self.storage.current(rtype, rec.key)
            if cur is None or b'"deletionTimestamp"' in cur.data:
                continue
            obj = cur.decode()
            refs = _owner_refs(obj)
            if all(r["uid"] != uid for r in refs):
                continue  # let go of meanwhile (the owner went, and the collector got here first)
            # ``uid`` counts as waiting even if its foregroundDeletion finalizer went mid-loop
            solid = {r["uid"] for r in refs if r["uid"] != uid and self._solid_owner(r, cur.namespace)}
            if solid:  # upstream's GC keeps it, dropping only its dangling and waiting references
                self._drop_owner_refs(rtype, cur, obj, {r["uid"] for r in refs} - solid)
            else:
                self._cascade(rtype, cur, policy)

    def _solid_owner(self: "ClusterStore", ref: dict[str, Any], namespace: str) -> bool:
        """An owner that exists and is not waiting in foreground deletion (upstream's "solid")."""
        found = self._find_owner(ref, namespace)
        if found is None:
            return False
        meta = orjson.loads(found[1].data)["metadata"]
        return not ("deletionTimestamp" in meta and FOREGROUND in (meta.get("finalizers") or ()))

    def _blocking_dependents(self: "ClusterStore", uid: str) -> bool:
        for _, rec in self._dependent_records(uid):
            for r in _owner_refs(rec.decode()):
                if r["uid"] == uid and r.get("blockOwnerDeletion"):
                    return True
        return False

    # ---- namespaces and CRDs ---------------------------------------------------------------
    def _namespaced_tables(self: "ClusterStore") -> Iterable[Any]:
        return [t for t in self.storage.tables.values() if t.rtype.namespaced]

    def _namespace_empty(self: "ClusterStore", ns: str) -> bool:
        lo, hi = ns + "/", ns + "0"
        for t in self._namespaced_tables():
            if t.keys.bisect_left(hi) - t.keys.bisect_left(lo):
                return False
        return True

    def _delete_namespace_contents(self: "ClusterStore", ns: str) -> None:
        lo, hi = ns + "/", ns + "0"
        for t in self._namespaced_tables():
            for key in list(t.keys.irange(lo, hi, inclusive=(True, False))):
                rec = t.objects.get(key)
                if rec is not None and b'"deletionTimestamp"' not in rec.data:
                    self._cascade(t.rtype, rec, "Background", 0)

    def _custom_resources_left(self: "ClusterStore", crd: dict[str, Any]) -> bool:
        spec = crd.get("spec") or {}
        sid = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
        t = self.storage.tables.get(sid)
        return bool(t is not None and t.objects)

    def _delete_custom_resources(self: "ClusterStore", crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        sid = f"{(spec.get('names') or {}).get('plural', '')}.{spec.get('group', '')}"
        t = self.storage.tables.get(sid)
        if t is None:
            return
        for key in list(t.keys):
            rec = t.objects.get(key)
            if rec is not None and b'"deletionTimestamp"' not in rec.data:
                self._cascade(t.rtype, rec, "Background")
