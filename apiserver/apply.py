"""Server-side apply and field ownership (``metadata.managedFields``), on plain JSON values.

Field sets are kept exactly as upstream serializes them (``fieldsType: FieldsV1``): a tree of
path elements — ``f:<field>`` for a map key, ``k:{"name":"x"}`` for an item of a keyed list,
``v:<json>`` for an item of a set, ``.`` when a node with children is itself owned; a leaf is ``{}``.

* :func:`apply` merges an applied configuration into the live object with the list semantics of
  the :class:`~apiserver.patch.MergeSchema`, removes what the manager applied before and no longer
  applies (unless someone else owns it), detects conflicts and records the ``Apply`` entry;
* :func:`record_update` records the ``Update`` entry of a create / update / patch.

Like structured-merge-diff, a field changed by one manager is taken from every other manager
(an Update always; an Apply only with ``force``, otherwise it is a 409 conflict), and a field that
disappears is dropped from every set. Nothing here mutates its inputs.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

from apiserver.errors import StatusError, bad_request
from apiserver.patch import MergeSchema, hkey, json_equal, merge_schema_for

_MISSING: Any = object()
# metadata no manager owns (structured-merge-diff's stripMeta, plus the deletion stamps)
_SERVER_META = frozenset({"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
                          "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"})
# map-typed fields (not structs): the map itself is owned too, shown as "."
_GRANULAR_MAPS = frozenset({"labels", "annotations", "data", "binaryData", "stringData", "nodeSelector",
                            "limits", "requests", "matchLabels", "capacity", "allocatable"})


def _compact(v: Any) -> str:
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS).decode()


def _item_pe(x: dict, key: str) -> str:
    return "k:" + _compact({key: x[key]})


def _strip(obj: dict) -> dict:
    """``obj`` without the fields that are never owned (apiVersion, kind, server-set metadata)."""
    out = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k not in _SERVER_META}
        if meta:
            out["metadata"] = meta
        else:
            del out["metadata"]
    return out


def _drop_nulls(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _drop_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_nulls(x) for x in v]
    return v


# --------------------------------------------------------------------------- field sets

def field_set(obj: dict, schema: MergeSchema) -> dict:
    """The FieldsV1 set of every field present in ``obj`` (nulls are absent)."""
    return {"f:" + k: _member(v, schema.child(k), k) for k, v in obj.items() if v is not None}


def _member(v: Any, node: MergeSchema, name: str) -> dict:
    if isinstance(v, dict):
        if not v or node.strategy == "atomic":
            return {}
        sub = field_set(v, node)
        return {".": {}, **sub} if node.strategy == "map" or name in _GRANULAR_MAPS else sub
    if isinstance(v, list) and v and node.strategy == "merge":
        item, key, out = node.child("*"), node.key, {}
        for x in v:
            if key and isinstance(x, dict):
                if key in x:
                    out[_item_pe(x, key)] = {".": {}, **field_set(x, item)}
            else:
                out["v:" + _compact(x)] = {}
        return out
    return {}


def _is_member(t: dict) -> bool:
    return not t or "." in t


def _union(a: dict, b: dict) -> dict:
    if a is b:
        return a
    if not a or not b:  # a leaf (owned node) united with a subtree: the node stays owned
        t = a or b
        return t if not t or "." in t else {".": {}, **t}
    out = dict(a)
    for k, v in b.items():
        out[k] = _union(out[k], v) if k in out else v
    return out


def _subtract(t: dict, sub: dict) -> dict:
    """``t`` without ownership of the owned paths of ``sub`` (children of ``t`` stay)."""
    out = None
    for k, s in sub.items():
        if k == "." or k not in t:
            continue
        cur = new = t[k]
        if _is_member(s):
            new = {kk: vv for kk, vv in new.items() if kk != "."} if new else {}
            if not cur:
                new = None
        if new and s:
            new = _subtract(new, s)
        if new is cur:
            continue
        out = dict(t) if out is None else out
        if new:
            out[k] = new
        else:
            del out[k]
    return t if out is None else out


def _remove(t: dict, gone: dict) -> dict:
    """``t`` without the paths of ``gone``, where a ``{}`` in ``gone`` removes a whole subtree."""
    out = None
    for k, g in gone.items():
        if k not in t:
            continue
        cur = t[k]
        new = _remove(cur, g) if g and cur else (cur if g else None)
        if new is cur:
            continue
        out = dict(t) if out is None else out
        if new:
            out[k] = new
        else:
            del out[k]
    return t if out is None else out


def _diff(old: dict, new: dict, schema: MergeSchema) -> tuple[dict, dict]:
    """(modified + added fields as a field set, removed paths) between two objects."""
    changed: dict = {}
    removed: dict = {}
    _diff_maps(old, new, schema, changed, removed)
    return changed, removed


def _diff_maps(old: dict, new: dict, node: MergeSchema, changed: dict, removed: dict) -> None:
    for k, nv in new.items():
        if nv is None:
            continue
        ov = old.get(k)
        if ov is nv:
            continue
        child = node.child(k)
        if ov is None:
            changed["f:" + k] = _member(nv, child, k)
            continue
        c, r = _diff_value(ov, nv, child, k)
        if c is not None:
            changed["f:" + k] = c
        if r:
            removed["f:" + k] = r
    for k, ov in old.items():
        if ov is not None and new.get(k) is None:
            removed["f:" + k] = {}


def _diff_value(ov: Any, nv: Any, node: MergeSchema, name: str) -> tuple[dict | None, dict | None]:
    if isinstance(ov, dict) and isinstance(nv, dict) and ov and nv and node.strategy != "atomic":
        c: dict = {}
        r: dict = {}
        _diff_maps(ov, nv, node, c, r)
        return c or None, r
    if isinstance(ov, list) and isinstance(nv, list) and ov and nv and node.strategy == "merge":
        key, item = node.key, node.child("*")
        if not (key and isinstance(ov[0], dict)):  # a set of primitives
            olds, news = dict.fromkeys("v:" + _compact(x) for x in ov), dict.fromkeys("v:" + _compact(x) for x in nv)
            return {pe: {} for pe in news if pe not in olds} or None, {pe: {} for pe in olds if pe not in news}
        olds = {_item_pe(x, key): x for x in ov if isinstance(x, dict) and key in x}
        c, r, news = {}, {}, set()
        for x in nv:
            if isinstance(x, dict) and key in x:
                pe = _item_pe(x, key)
                news.add(pe)
                o = olds.get(pe)
                if o is None:
                    c[pe] = {".": {}, **field_set(x, item)}
                elif o is not x:
                    sub_c, sub_r = _diff_value(o, x, item, "")
                    if sub_c is not None:
                        c[pe] = sub_c
                    if sub_r:
                        r[pe] = sub_r
        r.update((pe, {}) for pe in olds if pe not in news)
        return c or None, r
    if json_equal(ov, nv):
        return None, None
    c = _member(nv, node, name)
    return c, {pe: {} for pe in _member(ov, node, name) if pe != "." and pe not in c}


# --------------------------------------------------------------------------- values by path element

def _resolve(value: Any, pe: str) -> Any:
    if pe[0] == "f":
        return value.get(pe[2:], _MISSING) if isinstance(value, dict) else _MISSING
    if isinstance(value, list):
        want = json.loads(pe[2:])
        for x in value:
            if _matches(x, pe[0], want):
                return x
    return _MISSING


def _matches(x: Any, kind: str, want: Any) -> bool:
    if kind == "k":
        return isinstance(x, dict) and all(json_equal(x.get(k, _MISSING), v) for k, v in want.items())
    return json_equal(x, want)


def _without(value: Any, pe: str) -> Any:
    if pe[0] == "f":
        return {k: v for k, v in value.items() if k != pe[2:]}
    want = json.loads(pe[2:])
    return [x for x in value if not _matches(x, pe[0], want)]


def _replaced(value: Any, pe: str, old: Any, new: Any) -> Any:
    if pe[0] == "f":
        return {**value, pe[2:]: new}
    return [new if x is old else x for x in value]


def _prune(value: Any, mine_before: dict, mine_now: dict, others: list[dict], keep: frozenset = frozenset()) -> Any:
    """``value`` without the fields of ``mine_before`` that no set in ``mine_now``/``others`` has."""
    out = value
    for pe, before in mine_before.items():
        if pe == "." or pe in keep:
            continue
        now = mine_now.get(pe)
        owners = [o[pe] for o in others if pe in o]
        cur = _resolve(out, pe)
        if cur is _MISSING:
            continue
        if now is None and not owners:
            out = _without(out, pe)
        elif any(k != "." for k in before) and isinstance(cur, (dict, list)):
            item_keys = frozenset("f:" + k for k in json.loads(pe[2:])) if pe[0] == "k" else frozenset()
            new = _prune(cur, before, now or {}, owners, item_keys)
            if new is not cur:
                out = _replaced(out, pe, cur, new)
    return out


# --------------------------------------------------------------------------- merging the applied config

def _merge(live: Any, applied: Any, node: MergeSchema) -> Any:
    if isinstance(applied, dict):
        if not isinstance(live, dict) or node.strategy == "atomic":
            return applied
        out = dict(live)
        for k, v in applied.items():
            out[k] = _merge(live.get(k, _MISSING), v, node.child(k))
        return out
    if isinstance(applied, list) and isinstance(live, list) and node.strategy == "merge":
        # structured-merge-diff's order: live items first (merged in place), then new applied items
        key, item = node.key, node.child("*")
        keyf = (lambda m: hkey(m.get(key)) if isinstance(m, dict) else hkey(m)) if key else hkey
        merged = list(live)
        where: dict[Any, int] = {}
        for i, m in enumerate(merged):
            where.setdefault(keyf(m), i)
        for a in applied:
            i = where.get(keyf(a))
            if i is None:
                where[keyf(a)] = len(merged)
                merged.append(a)
            elif key:
                merged[i] = _merge(merged[i], a, item)
        return merged
    return applied


# --------------------------------------------------------------------------- managedFields entries

def _entry(manager: str, operation: str, api_version: str, now: str, fields: dict, subresource: str) -> dict:
    e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
         "fieldsType": "FieldsV1", "fieldsV1": fields}
    if subresource:
        e["subresource"] = subresource
    return e


def _identity(e: dict) -> tuple:
    op = e.get("operation")
    ident = (op, e.get("manager", ""), e.get("subresource", ""))
    return ident + (e.get("apiVersion", ""),) if op == "Update" else ident


def _sorted(entries: list[dict]) -> list[dict]:
    """Upstream's order: operation, then time (oldest first), manager, apiVersion, subresource."""
    return sorted(entries, key=lambda e: (e.get("operation") or "", e.get("time") or "", e.get("manager") or "",
                                          e.get("apiVersion") or "", e.get("subresource") or ""))


def _entries(obj: dict | None) -> list[dict]:
    mf = ((obj or {}).get("metadata") or {}).get("managedFields") or []
    return [e for e in mf if isinstance(e, dict)]


def _with_managed_fields(obj: dict, entries: list[dict]) -> dict:
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    if entries:
        meta["managedFields"] = _sorted(entries)
    else:
        meta.pop("managedFields", None)
    out["metadata"] = meta
    return out


def _who(e: dict) -> str:
    """How upstream's ``printManager`` names a manager in conflict messages."""
    s = json.dumps(e.get("manager", ""), ensure_ascii=False)
    if e.get("subresource"):
        s += f" with subresource {json.dumps(e['subresource'], ensure_ascii=False)}"
    if e.get("operation") == "Update":
        s += f" using {e.get('apiVersion', '')}" + (f" at {e['time']}" if e.get("time") else "")
    return s


def _path_string(pes: tuple[str, ...]) -> str:
    out = []
    for pe in pes:
        if pe[0] == "f":
            out.append("." + pe[2:])
        elif pe[0] == "k":
            out.append("[" + ",".join(f"{k}={_compact(v)}" for k, v in sorted(json.loads(pe[2:]).items())) + "]")
        elif pe[0] == "v":
            out.append("[=" + pe[2:] + "]")
        else:
            out.append("[" + pe[2:] + "]")
    return "".join(out)


def _owned_changes(owned: dict, changed: dict, prefix: tuple[str, ...], out: list[tuple[str, ...]]) -> None:
    for pe, c in changed.items():
        if pe == "." or pe not in owned:
            continue
        o = owned[pe]
        if _is_member(c) and _is_member(o):
            out.append(prefix + (pe,))
        if c and o:
            _owned_changes(o, c, prefix + (pe,), out)


def conflict_error(conflicts: list[tuple[dict, str]], *, name: str | None = None, kind: str | None = None,
                   group: str | None = None) -> StatusError:
    """409 ``Conflict`` as upstream's ``NewConflictError``, for ``(entry, field path)`` pairs."""
    if len(conflicts) == 1:
        e, path = conflicts[0]
        msg = f"Apply failed with 1 conflict: conflict with {_who(e)}: {path}"
    else:
        by_manager: dict[str, list[str]] = {}
        for e, path in conflicts:
            by_manager.setdefault(_who(e), []).append(path)
        lines = []
        for who, paths in by_manager.items():
            lines.append(f"conflicts with {who}:")
            lines.extend(f"- {p}" for p in paths)
        msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details["causes"] = [{"type": "FieldManagerConflict", "message": f"conflict with {_who(e)}", "field": path}
                         for e, path in conflicts]
    return StatusError(409, "Conflict", msg, details)


# --------------------------------------------------------------------------- public API

def apply(live: dict | None, applied: dict, manager: str, *, force: bool, schema: MergeSchema, now: str,
          api_version: str, subresource: str = "", name: str | None = None, kind: str | None = None,
          group: str | None = None) -> dict:
    """Server-side apply ``applied`` (already parsed) as ``manager``; ``live`` None means create."""
    if not isinstance(applied, dict):
        raise bad_request("the body of an apply patch must be an object")
    meta = applied.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields"):
        raise bad_request("metadata.managedFields must be nil")
    applied = _drop_nulls(applied)
    mine = field_set(_strip(applied), schema)
    me = _entry(manager, "Apply", api_version, now, mine, subresource)
    if live is None:
        return _with_managed_fields(applied, [me] if mine else [])

    my_id = _identity(me)
    before: dict = {}
    others: list[dict] = []
    for e in _entries(live):
        if _identity(e) == my_id:
            before = e.get("fieldsV1") or {}
        else:
            others.append(e)
    other_sets = [e.get("fieldsV1") or {} for e in others]
    merged = _prune(_merge(live, applied, schema), before, mine, other_sets)
    changed, removed = _diff(_strip(live), _strip(merged), schema)

    conflicts: list[tuple[dict, str]] = []
    for e, s in sorted(zip(others, other_sets), key=lambda es: (es[0].get("manager") or "", _identity(es[0]))):
        paths: list[tuple[str, ...]] = []
        _owned_changes(s, changed, (), paths)
        conflicts.extend((e, _path_string(p)) for p in sorted(paths))
    if conflicts and not force:
        raise conflict_error(conflicts, name=name, kind=kind, group=group)

    entries = []
    for e, s in zip(others, other_sets):
        s2 = _subtract(s, changed) if conflicts else s  # force: the applier takes the fields over
        s2 = _remove(s2, removed) if removed else s2
        if s2:
            entries.append(e if s2 is s else {**e, "fieldsV1": s2})
    if mine:
        entries.append(me)
    return _with_managed_fields(merged, entries)


def record_update(old: dict | None, new: dict, manager: str, *, now: str, api_version: str,
                  subresource: str = "", schema: MergeSchema | None = None) -> dict:
    """``new`` with its managedFields updated for a create (``old`` None) / update / patch by ``manager``.

    The manager's ``Update`` entry gains the fields that changed; other managers lose them; removed
    fields leave every set. ``managedFields`` sent in ``new`` replace the old ones (``[{}]`` clears them).
    """
    if schema is None:
        av = str(new.get("apiVersion") or "")
        schema = merge_schema_for(av.split("/")[0] if "/" in av else "", str(new.get("kind") or ""))
    sent = (new.get("metadata") or {}).get("managedFields")
    entries = [] if sent == [{}] else _entries(new) if sent else _entries(old)
    if old is None:
        changed, removed = field_set(_strip(new), schema), {}
    else:
        changed, removed = _diff(_strip(old), _strip(new), schema)
    if not changed and not removed:
        return _with_managed_fields(new, entries)
    my_id = ("Update", manager, subresource, api_version)
    out: list[dict] = []
    mine: dict | None = None
    for e in entries:
        s = e.get("fieldsV1") or {}
        if _identity(e) == my_id:
            mine = e
            continue
        s2 = _subtract(s, changed) if changed else s
        s2 = _remove(s2, removed) if removed else s2
        if s2:
            out.append(e if s2 is s else {**e, "fieldsV1": s2})
    before = my_set = (mine or {}).get("fieldsV1") or {}
    if removed:
        my_set = _remove(my_set, removed)
    if changed:
        my_set = _union(my_set, changed) if my_set else changed
    if my_set:
        unchanged = mine is not None and json_equal(my_set, before)
        out.append(mine if unchanged else _entry(manager, "Update", api_version, now, my_set, subresource))
    return _with_managed_fields(new, out)


