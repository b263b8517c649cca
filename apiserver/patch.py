"""The three PATCH flavours of kube-apiserver, on plain JSON values.

* :func:`merge_patch` — RFC 7386 (``application/merge-patch+json``);
* :func:`json_patch` — RFC 6902 (``application/json-patch+json``), with evanphx/json-patch v4's
  leniencies that kube-apiserver inherits (negative indexes, ``test`` of ``null`` on a missing path);
* :func:`strategic_merge_patch` — ``application/strategic-merge-patch+json`` for built-in kinds, as
  apimachinery's ``strategicpatch.StrategicMergeMapPatch`` applies it server-side.

None of them mutates its inputs: containers on the changed paths are copied, everything else is
shared with the target (or with the patch). :class:`MergeSchema` / :func:`merge_schema_for` say
which list fields merge and by which key (the ``patchStrategy`` / ``patchMergeKey`` struct tags).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping

from apiserver.errors import StatusError, bad_request, request_entity_too_large, unprocessable

MAX_JSON_PATCH_OPERATIONS = 10000
_MISSING: Any = object()


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, ``true`` is not ``1``, objects ignore key order."""
    if a is b:
        return True
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    if (type(a) is bool) != (type(b) is bool) or isinstance(b, (dict, list)):
        return False
    return a == b


def hkey(v: Any) -> Any:
    """A hashable identity for a JSON scalar (a list item or a merge-key value)."""
    if isinstance(v, (dict, list)):
        return ("\0json", repr(v))
    return (type(v) is bool, v)


# --------------------------------------------------------------------------- RFC 7386

def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = merge_patch(result.get(k), v)
    return result


# --------------------------------------------------------------------------- RFC 6902

class _OpFailed(Exception):
    pass


def _go_type(v: Any) -> str:
    return {dict: "object", list: "array", bool: "bool", str: "string"}.get(type(v), "number")


def json_patch(target: Any, ops: Any) -> Any:
    """RFC 6902 JSON patch; any failing operation (or ``test``) is the generic 422."""
    if ops is None:  # a JSON ``null`` body decodes to an empty patch upstream
        return target
    if not isinstance(ops, list):
        raise bad_request(f"json: cannot unmarshal {_go_type(ops)} into Go value of type jsonpatch.Patch")
    for bad in (op for op in ops if not isinstance(op, dict)):
        raise bad_request(f"json: cannot unmarshal {_go_type(bad)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise request_entity_too_large(
            f"The allowed maximum operations in a JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}")
    patcher = _Patcher(target)
    try:
        for op in ops:
            patcher.apply(op)
    except _OpFailed:
        raise unprocessable() from None
    return patcher.doc


def _pointer(ptr: Any) -> list[str]:
    if not isinstance(ptr, str) or (ptr and ptr[0] != "/"):
        raise _OpFailed
    return [] if not ptr else [t.replace("~1", "/").replace("~0", "~") for t in ptr[1:].split("/")]


def _index(token: str, n: int, adding: bool) -> int:
    if adding and token == "-":
        return n
    digits = token[1:] if token[:1] == "-" else token
    if not digits or not digits.isascii() or not digits.isdigit():
        raise _OpFailed
    i = int(token)
    if i < 0:
        i += n
    if i < 0 or i > n or (i == n and not adding):
        raise _OpFailed
    return i


class _Patcher:
    """Applies ops copy-on-write: containers it copied (``owned``) are mutated in place afterwards."""

    __slots__ = ("doc", "owned")

    def __init__(self, doc: Any) -> None:
        self.doc = doc
        self.owned: dict[int, Any] = {}  # id -> container; holding it keeps ids unique

    def _own(self, c: Any) -> Any:
        if id(c) in self.owned:
            return c
        c = dict(c) if isinstance(c, dict) else list(c)
        self.owned[id(c)] = c
        return c

    def get(self, tokens: list[str]) -> Any:
        cur = self.doc
        for t in tokens:
            if isinstance(cur, dict):
                if t not in cur:
                    raise _OpFailed
                cur = cur[t]
            elif isinstance(cur, list):
                cur = cur[_index(t, len(cur), False)]
            else:
                raise _OpFailed
        return cur

    def parent(self, tokens: list[str]) -> tuple[Any, str]:
        """The (owned) container holding the last token, copying the path down to it."""
        if not isinstance(self.doc, (dict, list)):
            raise _OpFailed
        cur = self.doc = self._own(self.doc)
        for t in tokens[:-1]:
            if isinstance(cur, dict):
                if t not in cur:
                    raise _OpFailed
                slot: Any = t
            else:
                slot = _index(t, len(cur), False)
            child = cur[slot]
            if not isinstance(child, (dict, list)):
                raise _OpFailed
            cur[slot] = child = self._own(child)
            cur = child
        return cur, tokens[-1]

    def add(self, tokens: list[str], value: Any, replace: bool = False) -> None:
        if not tokens:
            self.doc = value
            return
        parent, t = self.parent(tokens)
        if isinstance(parent, dict):
            if replace and t not in parent:
                raise _OpFailed
            parent[t] = value
        elif replace:
            parent[_index(t, len(parent), False)] = value
        else:
            parent.insert(_index(t, len(parent), True), value)

    def remove(self, tokens: list[str]) -> Any:
        if not tokens:
            raise _OpFailed
        parent, t = self.parent(tokens)
        if isinstance(parent, dict):
            if t not in parent:
                raise _OpFailed
            return parent.pop(t)
        return parent.pop(_index(t, len(parent), False))

    def apply(self, op: dict[str, Any]) -> None:
        kind = op.get("op")
        path = _pointer(op.get("path"))
        if kind == "add":
            self.add(path, op.get("value"))
        elif kind == "remove":
            self.remove(path)
        elif kind == "replace":
            self.add(path, op.get("value"), replace=True)
        elif kind == "move":
            src = op.get("from")
            if src == op["path"]:
                self.get(path)
                return
            if isinstance(src, str) and op["path"].startswith(src + "/"):
                raise _OpFailed  # cannot move a value into one of its children
            self.add(path, self.remove(_pointer(src)))
        elif kind == "copy":
            # deep copy: the value may contain containers this patcher mutates in place later
            self.add(path, copy.deepcopy(self.get(_pointer(op.get("from")))))
        elif kind == "test":
            try:
                current = self.get(path)
            except _OpFailed:  # evanphx v4: testing a missing path for null succeeds
                current = None
            if not json_equal(current, op.get("value")):
                raise _OpFailed
        else:
            raise _OpFailed


# --------------------------------------------------------------------------- schema

@dataclass(frozen=True, eq=False, slots=True)
class MergeSchema:
    """Patch metadata of one field, and of its children by name (``"*"``: the items of a list).

    ``strategy``: ``"merge"`` for a list merged by ``key`` (or as a set of primitives when ``key``
    is None); ``"replace"`` for a map replaced wholesale by SMP; ``"atomic"`` for a map that
    server-side apply owns and replaces as a unit (e.g. a LabelSelector); ``"map"`` for a map whose
    entries server-side apply owns one by one. ``None``: maps merge, lists are replaced.
    """

    strategy: str | None = None
    key: str | None = None
    fields: Mapping[str, "MergeSchema"] = field(default_factory=lambda: MappingProxyType({}))

    def child(self, name: str) -> "MergeSchema":
        return self.fields.get(name, EMPTY_SCHEMA)

    def at(self, path: Iterable[str]) -> "MergeSchema":
        node = self
        for p in path:
            node = node.child(p)
        return node

    @classmethod
    def from_paths(cls, entries: Mapping[tuple[str, ...], tuple[str | None, str | None]]) -> "MergeSchema":
        """Build from ``{("spec", "containers"): ("merge", "name"), ("spec", "containers", "*", "env"): ...}``."""
        tree: dict[str, Any] = {}
        for path, meta in entries.items():
            node = tree
            for p in path:
                node = node.setdefault(p, {})
            node["\0meta"] = meta

        def build(node: dict[str, Any]) -> MergeSchema:
            strategy, key = node.get("\0meta", (None, None))
            kids = {k: build(v) for k, v in node.items() if k != "\0meta"}
            return cls(strategy, key, MappingProxyType(kids))
        return build(tree)


EMPTY_SCHEMA = MergeSchema()

_Paths = dict[tuple[str, ...], tuple[str | None, str | None]]


def _BY(key: str) -> tuple[str, str]:  # noqa: N802
    return ("merge", key)


def _at(prefix: tuple[str, ...], frag: _Paths) -> _Paths:
    return {prefix + p: m for p, m in frag.items()}


def _kind_tables() -> dict[tuple[str, str], _Paths]:
    """Paths of the ``patchStrategy``/``patchMergeKey`` tags of the kinds kubesim serves (k8s.io/api)."""
    object_meta: _Paths = {("finalizers",): ("merge", None), ("ownerReferences",): _BY("uid")}
    container: _Paths = {("ports",): _BY("containerPort"), ("env",): _BY("name"),
                         ("volumeMounts",): _BY("mountPath"), ("volumeDevices",): _BY("devicePath")}
    pod_spec: _Paths = {("volumes",): _BY("name"), ("imagePullSecrets",): _BY("name"), ("hostAliases",): _BY("ip"),
                        ("topologySpreadConstraints",): _BY("topologyKey"), ("resourceClaims",): _BY("name"),
                        ("schedulingGates",): _BY("name")}
    for c in ("containers", "initContainers", "ephemeralContainers"):
        pod_spec[(c,)] = _BY("name")
        pod_spec.update(_at((c, "*"), container))
    pod_status: _Paths = {("conditions",): _BY("type"), ("podIPs",): _BY("ip"),
                          ("hostIPs",): _BY("ip"), ("resourceClaimStatuses",): _BY("name")}
    conditions: _Paths = {("status", "conditions"): _BY("type")}
    meta = _at(("metadata",), object_meta)
    workload = {**meta, **conditions, **_at(("spec", "template", "metadata"), object_meta),
                **_at(("spec", "template", "spec"), pod_spec), ("spec", "selector"): ("atomic", None)}
    kinds = {
        ("", "Pod"): {**meta, **_at(("spec",), pod_spec), **_at(("status",), pod_status)},
        ("", "Node"): {**meta, **conditions, ("spec", "podCIDRs"): ("merge", None),
                       ("status", "addresses"): _BY("type")},
        ("", "Service"): {**meta, **conditions, ("spec", "ports"): _BY("port"), ("spec", "selector"): ("map", None)},
        ("", "Namespace"): {**meta, **conditions},
        ("", "ServiceAccount"): {**meta, ("secrets",): _BY("name")},
        ("apps", "StatefulSet"): {**workload, **_at(("spec", "volumeClaimTemplates", "*", "metadata"), object_meta)},
        ("", "*"): meta,  # every other kind, custom resources included
    }
    kinds.update({("apps", k): workload for k in ("Deployment", "ReplicaSet", "DaemonSet")})
    kinds.update({("", k): meta for k in ("Endpoints", "ConfigMap", "Secret", "Event")})
    kinds[("coordination.k8s.io", "Lease")] = meta
    return kinds


_SCHEMAS: Mapping[tuple[str, str], MergeSchema] = MappingProxyType(
    {gk: MergeSchema.from_paths(paths) for gk, paths in _kind_tables().items()})


def merge_schema_for(group: str, kind: str) -> MergeSchema:
    """The merge schema of a served kind; any other kind (a custom resource) gets ObjectMeta's only."""
    return _SCHEMAS.get(("" if group == "core" else group, kind)) or _SCHEMAS[("", "*")]


# --------------------------------------------------------------------------- strategic merge patch

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVES = "$deleteFromPrimitiveList/"


def strategic_merge_patch(target: dict, patch: dict, schema: MergeSchema) -> dict:
    """Apply a strategic merge patch as kube-apiserver does (``IgnoreUnmatchedNulls``, parallel lists merged)."""
    if not isinstance(patch, dict):
        raise bad_request("invalid JSON document")
    return _smp_map(target if isinstance(target, dict) else None, patch, schema)


def _smp_map(orig: dict | None, patch: dict, node: MergeSchema) -> dict:
    directive = patch.get(_DIRECTIVE, _MISSING)
    if directive is not _MISSING:
        if directive == "replace":
            return _smp_map(None, {k: v for k, v in patch.items() if k != _DIRECTIVE}, node)
        if directive == "delete":
            return {}
        raise bad_request(f"unknown patch type: {directive} in map: {patch}")
    result = dict(orig) if orig else {}
    if _RETAIN_KEYS in patch:
        retain = patch[_RETAIN_KEYS]
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise bad_request("invalid patch format of retainKeys")
        keep = set(retain)
        if any(v is not None and k[:1] != "$" and k not in keep for k, v in patch.items()):
            raise bad_request("invalid patch format of retainKeys")
        result = {k: v for k, v in result.items() if k in keep}
    handled: set[str] = set()
    for k, order in patch.items():
        if k.startswith(_SET_ORDER):
            name = k[len(_SET_ORDER):]
            if _set_element_order(result, patch, name, order, node.child(name)):
                handled.add(name)
    for k, drop in patch.items():
        if k.startswith(_DELETE_PRIMITIVES):
            if not isinstance(drop, list):
                raise bad_request("invalid patch format of primitive list")
            name = k[len(_DELETE_PRIMITIVES):]
            cur = result.get(name)
            if isinstance(cur, list):
                gone = {hkey(x) for x in drop}
                result[name] = [x for x in cur if hkey(x) not in gone]
    for k, pv in patch.items():
        if k[:1] == "$" or k in handled:
            continue  # directives never reach the result
        if pv is None:
            result.pop(k, None)
        else:
            result[k] = _smp_value(result.get(k, _MISSING), pv, node.child(k))
    return result


def _smp_value(ov: Any, pv: Any, node: MergeSchema) -> Any:
    """Merge one patch value into the original value (``_MISSING`` when absent)."""
    if isinstance(pv, dict):
        if isinstance(ov, dict) and node.strategy != "replace":
            return _smp_map(ov, pv, node)
        return _smp_map(None, pv, node)
    if isinstance(pv, list):
        if node.strategy == "merge":
            return _smp_list(ov if isinstance(ov, list) else [], pv, node)
        item = node.child("*")
        return [_smp_value(_MISSING, v, item) if isinstance(v, (dict, list)) else v for v in pv]
    return pv


def _elements_kind(*lists: list) -> str:
    kind = ""
    for lst in lists:
        for v in lst:
            k = "map" if isinstance(v, dict) else "list" if isinstance(v, list) else "scalar"
            if k == "list":
                raise StatusError(422, "Invalid", "lists of lists are not supported")
            if kind and k != kind:
                raise bad_request(f"list element types are not identical: {lists}")
            kind = k
    return kind


def _keyfunc(key: str | None, kind: str) -> Callable[[Any], Any]:
    if kind == "map" and key:
        return lambda m: hkey(m.get(key)) if isinstance(m, dict) else hkey(m)
    return hkey


def _smp_list(orig: list, patch: list, node: MergeSchema) -> list:
    """Merge a ``patchStrategy: merge`` list (upstream ``mergeSlice``)."""
    if not orig and not patch:
        return []
    kind = _elements_kind(orig, patch)
    key = node.key
    if kind == "scalar":
        merged = _dedupe(orig + patch)
    else:
        if not key:
            raise bad_request("cannot merge lists without merge key")
        orig, patch = _special_elements(orig, patch, key, node.child("*"))
        merged = list(orig)
        where: dict[Any, int] = {}
        for i, m in enumerate(merged):
            if isinstance(m, dict) and key in m:
                where.setdefault(hkey(m[key]), i)
        item = node.child("*")
        for pv in patch:
            if key not in pv:
                raise bad_request(f"map: {pv} does not contain declared merge key: {key}")
            h = hkey(pv[key])
            i = where.get(h)
            if i is None:
                where[h] = len(merged)
                merged.append(_smp_map(None, pv, item))
            else:
                merged[i] = _smp_map(merged[i], pv, item)
    return _order_merged(merged, patch, orig, _keyfunc(key, kind))


def _dedupe(items: list) -> list:
    first: dict[Any, Any] = {}
    for v in items:
        first.setdefault(hkey(v), v)
    return list(first.values())


def _special_elements(orig: list, patch: list, key: str, item: MergeSchema) -> tuple[list, list]:
    """Handle list items carrying ``$patch``; returns the new original and the plain patch items."""
    plain = []
    deleted: set[Any] = set()
    replace = False
    for pv in patch:
        directive = pv.get(_DIRECTIVE, _MISSING)
        if directive is _MISSING:
            plain.append(pv)
        elif directive == "delete":
            if key not in pv:
                raise bad_request(f"map: {pv} does not contain declared merge key: {key}")
            deleted.add(hkey(pv[key]))
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise bad_request("merging lists cannot yet be specified in the patch")
        else:
            raise bad_request(f"unknown patch type: {directive} in map: {pv}")
    if replace:
        return [_smp_map(None, pv, item) for pv in plain], []
    if deleted:
        orig = [o for o in orig if not (isinstance(o, dict) and key in o and hkey(o[key]) in deleted)]
    return orig, plain


def _order_merged(merged: list, patch_order: list, server_order: list, keyf: Callable[[Any], Any]) -> list:
    """Upstream's ``normalizeElementOrder``: items named in the patch follow the patch's order,
    server-only items keep the live order, and the two are interleaved by the live order."""
    in_patch = {keyf(v) for v in patch_order}
    if not in_patch:
        return merged
    pidx: dict[Any, int] = {}
    for i, v in enumerate(patch_order):
        pidx.setdefault(keyf(v), i)
    sidx: dict[Any, int] = {}
    for i, v in enumerate(server_order):
        sidx.setdefault(keyf(v), i)
    big = len(patch_order) + len(server_order)
    right = sorted((m for m in merged if keyf(m) in in_patch), key=lambda v: pidx.get(keyf(v), big))
    left = sorted((m for m in merged if keyf(m) not in in_patch), key=lambda v: sidx.get(keyf(v), big))
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        li, ri = sidx.get(keyf(left[i])), sidx.get(keyf(right[j]))
        if li is not None and ri is not None and li < ri:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out


def _set_element_order(result: dict, patch: dict, name: str, order: Any, node: MergeSchema) -> bool:
    """Merge field ``name`` and order it by its ``$setElementOrder`` list; True if it was handled."""
    if not isinstance(order, list):
        raise bad_request("invalid patch format of setElementOrder list")
    pv = patch.get(name, _MISSING)
    ov = result.get(name, _MISSING)
    if pv is None or (pv is _MISSING and ov is _MISSING):
        return False
    if (pv is not _MISSING and not isinstance(pv, list)) or (ov is not _MISSING and not isinstance(ov, list)):
        raise bad_request("invalid patch format of setElementOrder list")
    merged = ov if pv is _MISSING else _smp_value(ov, pv, node)
    kind = _elements_kind(merged, order)
    if kind == "map" and not node.key:
        result[name] = merged
        return True
    result[name] = _order_merged(merged, order, ov if ov is not _MISSING else [], _keyfunc(node.key, kind))
    return True
