"""One fake cluster's API semantics: kube-apiserver's create / update / patch rules on the storage.

Deletion, finalizers and garbage collection live in ``lifecycle.py``; this module is the read
paths and the writes that keep an object alive. Every public call first lets the simulated
kubelet reap pods whose grace period has run out, so time-based deletion needs no thread.
"""
from __future__ import annotations

import os
import random
from typing import Any

import orjson

from . import errors
from .apply import apply as server_side_apply, record_update
from .clock import Clock, RealClock, TimestampFormatter
from .defaults import NAMESPACE_NAME_LABEL, apply_create_defaults
from .lifecycle import Lifecycle
from .objects import StoredObject, object_key
from .patch import json_patch, merge_patch, merge_schema_for, strategic_merge_patch
from .resources import CRDS, NAMESPACES, Registry, ResourceType
from .selectors import FieldSelector, LabelSelector
from .storage import ListResult, Storage, StoreConfig
from .validation import require_mapping, validate_metadata
from .watch import ObjectFilter, Watcher

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
CR_PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, APPLY_PATCH)

_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
BOOTSTRAP_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

DEFAULT_CONFIG = StoreConfig()
# RFC 4122 version 4: variant bits 10, version nibble 4 (what uuid.UUID(..., version=4) sets)
_UUID4_CLEAR = ~((0xc000 << 48) | (0xf000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


class ClusterStore(Lifecycle):
    """The API semantics of one fake cluster (what kube-apiserver does between HTTP and etcd)."""

    def __init__(self, name: str, *, clock: Clock | None = None, config: StoreConfig | None = None,
                 seed: int | None = None, bootstrap: bool = True) -> None:
        self.name = name
        self.clock: Clock = clock or RealClock()
        self.config = config or DEFAULT_CONFIG
        self.storage = Storage(self.clock, self.config)
        self.registry = Registry()
        self._ts = TimestampFormatter()
        self._seed = seed
        self._rng_state: random.Random | None = None
        self._seeded = seed is not None
        Lifecycle.__init__(self)
        if bootstrap:
            for ns in BOOTSTRAP_NAMESPACES:
                self.create(NAMESPACES, None, {"metadata": {"name": ns}}, copy=False)

    @property
    def _rng(self) -> random.Random:
        """Built on first use: its state is 2.5 KB, and an unseeded cluster may never need it."""
        rng = self._rng_state
        if rng is None:
            rng = self._rng_state = random.Random(self._seed)
        return rng

    @property
    def resource_version(self) -> int:
        return self.storage.rv

    # ---- resolution and filters ------------------------------------------------------------
    def resource(self, group: str, version: str, plural: str) -> ResourceType:
        return self.registry.resolve(group, version, plural)

    def filter(self, rtype: ResourceType, namespace: str | None, label_selector: str | LabelSelector | None = None,
               field_selector: str | FieldSelector | None = None) -> ObjectFilter:
        lsel = label_selector if isinstance(label_selector, LabelSelector) else (
            LabelSelector.parse(label_selector) if label_selector else None)
        fsel = field_selector if isinstance(field_selector, FieldSelector) else (
            FieldSelector.parse(field_selector) if field_selector else None)
        if fsel is not None and not fsel.empty:
            rtype.check_field_labels(fsel.fields())
        return ObjectFilter(rtype, namespace if rtype.namespaced else None, lsel, fsel)

    def key(self, rtype: ResourceType, namespace: str | None, name: str) -> str:
        return object_key(namespace or "", name) if rtype.namespaced else name

    # ---- reads ----------------------------------------------------------------------------
    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> StoredObject:
        self.reap_due()
        obj = self.storage.current(rtype, self.key(rtype, namespace, name))
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        return obj

    def get_object(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        return self.get(rtype, namespace, name).decode()

    def list(self, rtype: ResourceType, namespace: str | None = None, *, label_selector: Any = None,
             field_selector: Any = None, limit: int = 0, continue_token: str | None = None,
             resource_version: str | None = None, resource_version_match: str | None = None) -> ListResult:
        self.reap_due()
        flt = self.filter(rtype, namespace, label_selector, field_selector)
        return self.storage.list(rtype, flt, limit=limit, continue_token=continue_token,
                                 resource_version=resource_version, match=resource_version_match)

    def watch(self, rtype: ResourceType, namespace: str | None = None, *, label_selector: Any = None,
              field_selector: Any = None, resource_version: str | None = None,
              resource_version_match: str | None = None, send_initial_events: bool | None = None,
              allow_bookmarks: bool = False, max_buffer: int | None = None) -> Watcher:
        self.reap_due()
        flt = self.filter(rtype, namespace, label_selector, field_selector)
        return self.storage.watch(rtype, flt, resource_version=resource_version, match=resource_version_match,
                                  send_initial_events=send_initial_events, allow_bookmarks=allow_bookmarks,
                                  max_buffer=max_buffer)

    # ---- encoding and commits -------------------------------------------------------------
    def now_timestamp(self, offset: float = 0.0) -> str:
        return self._ts.format(self.clock.now() + offset)

    def new_uid(self) -> str:
        # str(uuid.UUID(int=n, version=4)) / str(uuid.uuid4()), without building UUID objects
        n = self._rng.getrandbits(128) if self._seeded else int.from_bytes(os.urandom(16), "big")
        h = "%032x" % ((n & _UUID4_CLEAR) | _UUID4_SET)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    @staticmethod
    def _normalise(rtype: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """kind, apiVersion, metadata first: stored bytes then start the same way for every object."""
        out = {"kind": rtype.kind, "apiVersion": rtype.api_version, "metadata": obj.get("metadata") or {}}
        for k, v in obj.items():
            if k not in out:
                out[k] = v
        return out

    def _encode(self, rtype: ResourceType, key: str, namespace: str, obj: dict[str, Any], rv: int) -> StoredObject:
        obj["metadata"]["resourceVersion"] = str(rv)
        return self.storage.make_object(rtype, key, namespace, rv, obj, orjson.dumps(obj))

    def _commit_put(self, rtype: ResourceType, key: str, namespace: str, obj: dict[str, Any],
                    prev: StoredObject | None, old: dict[str, Any] | None) -> StoredObject:
        rec = self._encode(rtype, key, namespace, obj, self.storage.next_rv())
        self.storage.put(rtype, rec, prev)
        self.after_put(rtype, rec, obj, old)
        return rec

    def guaranteed_update(self, rtype: ResourceType, prev: StoredObject, new: dict[str, Any]) -> StoredObject:
        """Write ``new`` whole, spec and status together, as the server's own registry code does
        (pods/binding): no strategy, no status isolation; one event."""
        return self._commit_put(rtype, prev.key, prev.namespace, self._normalise(rtype, new), prev, prev.decode())

    # ---- create -----------------------------------------------------------------------------
    def create(self, rtype: ResourceType, namespace: str | None, body: dict[str, Any], *, dry_run: bool = False,
               field_manager: str | None = None, copy: bool = True) -> StoredObject:
        """POST: ``copy=False`` lets a caller that owns ``body`` (the HTTP layer) skip the deep copy."""
        self.reap_due()
        obj = orjson.loads(orjson.dumps(require_mapping(body))) if copy else require_mapping(body)
        self._check_type(rtype, obj)
        meta = obj.setdefault("metadata", {})
        ns = self._create_namespace(rtype, namespace, meta)
        if meta.get("resourceVersion"):
            raise errors.internal_error("resourceVersion should not be set on objects to be created")
        name = meta.get("name") or ""
        generated = False
        if not name:
            base = meta.get("generateName") or ""
            if not base:
                raise errors.invalid(rtype.kind, rtype.group, "", [errors.field_error(
                    "metadata.name", "FieldValueRequired", "Required value: name or generateName is required")])
            generated = True
            name = self._generate_name(rtype, ns, base)
            meta["name"] = name
        validate_metadata(rtype, obj, name)
        if rtype.custom and rtype.has_status:
            obj.pop("status", None)
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(f, None)
        meta["uid"] = self.new_uid()
        meta["creationTimestamp"] = self.now_timestamp()
        apply_create_defaults(rtype.storage_id, obj)
        if rtype.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rtype is CRDS:
            self._prepare_crd(obj)
        key = self.key(rtype, ns, name)
        if self.storage.current(rtype, key) is not None:
            raise errors.already_exists(rtype.plural, rtype.group, name, generated=generated)
        if field_manager is not None:
            self._record_update(rtype, None, obj, field_manager, "")
        obj = self._normalise(rtype, obj)
        if dry_run:
            return self.storage.make_object(rtype, key, ns, 0, obj, orjson.dumps(obj))
        return self._commit_put(rtype, key, ns, obj, None, None)

    def _check_type(self, rtype: ResourceType, obj: dict[str, Any]) -> None:
        api_version = obj.get("apiVersion")
        if api_version and api_version != rtype.api_version and not (
                rtype.custom and api_version.rpartition("/")[2] in rtype.served_versions
                and api_version.rpartition("/")[0] == rtype.group):
            raise errors.bad_request(f"the API version in the data ({api_version}) does not match the expected "
                                     f"API version ({rtype.api_version})")
        kind = obj.get("kind")
        if kind and kind != rtype.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rtype.kind})")

    def _create_namespace(self, rtype: ResourceType, namespace: str | None, meta: dict[str, Any]) -> str:
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return ""
        body_ns = meta.get("namespace")
        ns = namespace or body_ns or ""
        if body_ns and namespace and body_ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        if not ns:
            raise errors.bad_request("the namespace of the object must be set")
        meta["namespace"] = ns
        nsobj = self.storage.current(NAMESPACES, ns)
        if nsobj is None:
            raise errors.not_found("namespaces", "", ns)
        if b'"deletionTimestamp"' in nsobj.data:
            raise errors.forbidden(rtype.plural, rtype.group, meta.get("name") or meta.get("generateName", ""),
                                   f"unable to create new content in namespace {ns} because it is being terminated",
                                   {"reason": "NamespaceTerminating",
                                    "message": f"namespace {ns} is being terminated", "field": "metadata.namespace"})
        return ns

    def _generate_name(self, rtype: ResourceType, ns: str, base: str) -> str:
        base = base[:58]
        for _ in range(8):
            name = base + "".join(self._rng.choice(_GENERATE_ALPHABET) for _ in range(5))
            if self.storage.current(rtype, self.key(rtype, ns, name)) is None:
                return name
        raise errors.already_exists(rtype.plural, rtype.group, name, generated=True)

    def _prepare_crd(self, obj: dict[str, Any]) -> None:
        spec = obj.get("spec") or {}
        names = dict(spec.get("names") or {})
        names.setdefault("singular", str(names.get("kind", "")).lower())
        names.setdefault("listKind", f"{names.get('kind', '')}List")
        versions = spec.get("versions") or []
        storage = [v.get("name") for v in versions if isinstance(v, dict) and v.get("storage")]
        meta = obj["metadata"]
        fins = meta.setdefault("finalizers", [])
        if CRD_CLEANUP_FINALIZER not in fins:
            fins.append(CRD_CLEANUP_FINALIZER)
        now = self.now_timestamp()
        obj["status"] = {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "storedVersions": storage[:1],
        }

    # ---- update and patch ---------------------------------------------------------------------
    def update(self, rtype: ResourceType, namespace: str | None, name: str, body: dict[str, Any], *,
               subresource: str | None = None, dry_run: bool = False, field_manager: str | None = None,
               copy: bool = True) -> StoredObject:
        """PUT, with optimistic concurrency on ``metadata.resourceVersion``."""
        self.reap_due()
        new = orjson.loads(orjson.dumps(require_mapping(body))) if copy else require_mapping(body)
        self._check_type(rtype, new)
        prev = self.get(rtype, namespace, name)
        meta = new.setdefault("metadata", {})
        self._check_identity(rtype, namespace, name, meta)
        body_rv = meta.get("resourceVersion")
        if body_rv:
            if str(body_rv) != str(prev.rv):
                raise errors.conflict(rtype.plural, rtype.group, name, errors.CONFLICT_MODIFIED)
        elif rtype.custom:  # upstream names the resource here, not the kind (registry/store.go)
            raise errors.invalid(rtype.plural, rtype.group, name, [errors.field_error(
                "metadata.resourceVersion", "FieldValueInvalid", "Invalid value: 0x0: must be specified for an update")])
        return self.write_update(rtype, prev, prev.decode(), new, subresource=subresource, dry_run=dry_run,
                                 field_manager=field_manager)

    @staticmethod
    def _check_identity(rtype: ResourceType, namespace: str | None, name: str, meta: dict[str, Any]) -> None:
        body_name = meta.get("name")
        if body_name and body_name != name:
            raise errors.bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        body_ns = meta.get("namespace")
        if rtype.namespaced and body_ns and namespace and body_ns != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")

    def patch(self, rtype: ResourceType, namespace: str | None, name: str, patch_type: str, body: Any, *,
              subresource: str | None = None, dry_run: bool = False, field_manager: str | None = None,
              force: bool = False) -> StoredObject:
        """PATCH with any of the four content types (strategic merge only for built-in kinds)."""
        self.reap_due()
        if patch_type not in PATCH_TYPES or (rtype.custom and patch_type == STRATEGIC_MERGE_PATCH):
            raise errors.unsupported_media_type(patch_type, list(CR_PATCH_TYPES if rtype.custom else PATCH_TYPES))
        key = self.key(rtype, namespace, name)
        prev = self.storage.current(rtype, key)
        if patch_type == APPLY_PATCH:
            if not field_manager:
                raise errors.StatusError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                         "Required value: is required for apply patch",
                                         {"kind": "PatchOptions", "group": "meta.k8s.io", "causes": [{
                                             "reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                             "field": "fieldManager"}]})
            if not isinstance(body, dict):
                raise errors.bad_request("the body of an apply patch must be an object")
            self._check_type(rtype, body)
            if rtype.has_status and subresource is None and "status" in body:
                body = {k: v for k, v in body.items() if k != "status"}  # status is owned through /status only
            if prev is None:
                if subresource:
                    raise errors.not_found(rtype.plural, rtype.group, name)
                applied = server_side_apply(None, body, field_manager, force=force, schema=merge_schema_for(
                    rtype.group, rtype.kind), now=self.now_timestamp(), api_version=rtype.api_version,
                    name=name, kind=rtype.plural, group=rtype.group)
                applied.setdefault("metadata", {}).setdefault("name", name)
                return self.create(rtype, namespace, applied, dry_run=dry_run, copy=False)
        if prev is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        old = prev.decode()
        if patch_type == JSON_PATCH:
            new = json_patch(old, body)
        elif patch_type == MERGE_PATCH:
            new = merge_patch(old, body)
        elif patch_type == STRATEGIC_MERGE_PATCH:
            if not isinstance(body, dict):
                raise errors.bad_request("strategic merge patch must be a JSON object")
            new = strategic_merge_patch(old, body, merge_schema_for(rtype.group, rtype.kind))
        else:
            new = server_side_apply(old, body, field_manager or "", force=force,
                                    schema=merge_schema_for(rtype.group, rtype.kind), now=self.now_timestamp(),
                                    api_version=rtype.api_version, name=name, kind=rtype.plural, group=rtype.group)
        if not isinstance(new, dict):
            raise errors.unprocessable()
        new = orjson.loads(orjson.dumps(new))  # patch engines may share sub-trees with ``old``
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            raise errors.unprocessable()
        self._check_identity(rtype, namespace, name, meta)
        if str(meta.get("resourceVersion") or prev.rv) != str(prev.rv):
            raise errors.conflict(rtype.plural, rtype.group, name, errors.CONFLICT_MODIFIED)
        return self.write_update(rtype, prev, old, new, subresource=subresource, dry_run=dry_run,
                                 field_manager=None if patch_type == APPLY_PATCH else field_manager)

    def write_update(self, rtype: ResourceType, prev: StoredObject, old: dict[str, Any], new: dict[str, Any], *,
                     subresource: str | None = None, dry_run: bool = False,
                     field_manager: str | None = None) -> StoredObject:
        """The shared tail of update and patch: isolation, immutables, generation, no-op, finalizers;
        with a ``field_manager`` (every HTTP write names one), its managedFields ``Update`` entry."""
        role = rtype.subresource(subresource) if subresource else None
        status_write = role == "status"
        if status_write:
            result = orjson.loads(prev.data)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            if "managedFields" in (new.get("metadata") or {}):
                result["metadata"]["managedFields"] = new["metadata"]["managedFields"]
            if rtype.kind == "Pod" and not rtype.custom:  # podStatusStrategy: metadata too, but not ownerReferences
                new_meta = new.get("metadata") or {}
                for f in ("labels", "annotations", "finalizers"):
                    if f in new_meta:
                        result["metadata"][f] = new_meta[f]
                    else:
                        result["metadata"].pop(f, None)
        elif role == "finalize":  # spec.finalizers, and nothing else
            result = orjson.loads(prev.data)
            result.setdefault("spec", {})["finalizers"] = list((new.get("spec") or {}).get("finalizers") or [])
        elif subresource:
            raise errors.path_not_found()
        else:
            result = new
            if rtype.has_status:
                if "status" in old:
                    result["status"] = old["status"]
                else:
                    result.pop("status", None)
        meta = result.setdefault("metadata", {})
        old_meta = old.get("metadata") or {}
        for f in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "generation"):
            if f in old_meta:
                meta[f] = old_meta[f]
            else:
                meta.pop(f, None)
        meta["resourceVersion"] = str(prev.rv)
        if "deletionTimestamp" in old_meta:
            added = [f for f in meta.get("finalizers") or () if f not in (old_meta.get("finalizers") or ())]
            if added:
                raise errors.invalid(rtype.kind, rtype.group, prev.name, [errors.field_error(
                    "metadata.finalizers", "FieldValueForbidden",
                    f"Forbidden: no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers []string{{{', '.join(orjson.dumps(f).decode() for f in sorted(set(added)))}}}")])
        if not status_write:
            validate_metadata(rtype, result, prev.name)
        if rtype is NAMESPACES and not role:
            result["spec"] = old.get("spec", result.get("spec"))  # spec.finalizers change only via /finalize
            meta["labels"] = {**(meta.get("labels") or {}), NAMESPACE_NAME_LABEL: prev.name}
        if rtype.tracks_generation and self._spec_changed(rtype, old, result):
            meta["generation"] = int(old_meta.get("generation") or 0) + 1
        if field_manager is not None:
            self._record_update(rtype, old, result, field_manager, subresource or "")
            meta = result["metadata"]
        result = self._normalise(rtype, result)
        if result == old:
            return prev
        if dry_run:
            return self.storage.make_object(rtype, prev.key, prev.namespace, prev.rv, result, orjson.dumps(result))
        if ("deletionTimestamp" in meta and not meta.get("finalizers") and not meta.get("deletionGracePeriodSeconds")
                and not self.holds_system_finalizer(rtype, result)):  # upstream's ShouldDeleteDuringUpdate
            return self.remove_object(rtype, prev, old)
        rec = self._commit_put(rtype, prev.key, prev.namespace, result, prev, old)
        if "deletionTimestamp" in meta:
            self.progress(rtype, rec.key)
        return rec

    def _record_update(self, rtype: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                       subresource: str) -> None:
        """Set ``new``'s managedFields for a non-apply write by ``manager`` (``record_update``, apply.py).

        A main-resource write never owns status (the strategy resets it), so status is left out of the diff;
        a create owns the defaulted fields too, as upstream's (defaults are applied at decoding)."""
        def probe(o: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in o.items() if k != "status"} if rtype.has_status and not subresource else o

        out = record_update(probe(old) if old is not None else None, probe(new), manager, now=self.now_timestamp(),
                            api_version=rtype.api_version, subresource=subresource,
                            schema=merge_schema_for(rtype.group, rtype.kind))
        entries = out["metadata"].get("managedFields")
        meta = new.setdefault("metadata", {})
        if entries:
            meta["managedFields"] = entries
        else:
            meta.pop("managedFields", None)

    @staticmethod
    def _spec_changed(rtype: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
        skip = ("kind", "apiVersion", "metadata", "status") if rtype.has_status else ("kind", "apiVersion", "metadata")
        keys = (set(old) | set(new)).difference(skip)
        return any(old.get(k) != new.get(k) for k in keys)

    # ---- scale subresource (autoscaling/v1 Scale) -------------------------------------------
    def get_scale(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any]:
        if not rtype.has_scale:
            raise errors.path_not_found()
        obj = self.get_object(rtype, namespace, name)
        meta = obj["metadata"]
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                             if k in meta},
                "spec": {"replicas": spec.get("replicas", 0)},
                "status": {"replicas": status.get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in selector.items())}}

    def set_scale(self, rtype: ResourceType, namespace: str | None, name: str, scale: dict[str, Any]) -> dict[str, Any]:
        if not rtype.has_scale:
            raise errors.path_not_found()
        prev = self.get(rtype, namespace, name)
        meta = scale.get("metadata") or {}
        if meta.get("resourceVersion") and str(meta["resourceVersion"]) != str(prev.rv):
            raise errors.conflict(rtype.plural, rtype.group, name, errors.CONFLICT_MODIFIED)
        replicas = (scale.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.invalid("Scale", "autoscaling", name, [errors.field_error(
                "spec.replicas", "FieldValueInvalid", f"Invalid value: {replicas}: must be greater than or equal to 0")])
        old = prev.decode()
        new = orjson.loads(prev.data)
        new.setdefault("spec", {})["replicas"] = replicas
        self.write_update(rtype, prev, old, new)
        return self.get_scale(rtype, namespace, name)
