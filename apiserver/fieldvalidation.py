"""Unknown fields in built-in kinds: dropped, and reported as the request's ``fieldValidation`` asks.

kube-apiserver decodes a body into Go structs, so a field the type does not have never reaches
storage; with ``fieldValidation=Strict`` (what kubectl sends) the request fails with 400, with
``Warn`` (the default) each dropped field comes back as a ``Warning`` header, with ``Ignore`` silently.
The field names come from the same schema the protobuf decoder uses (kubectl's own Go types).
Custom resources are pruned by their CRD version's structural schema, as apiextensions-apiserver
does: fields not in ``properties`` go unless ``additionalProperties`` or
``x-kubernetes-preserve-unknown-fields`` keeps them; ``metadata`` is checked as ObjectMeta.
"""
from __future__ import annotations

import functools
from typing import Any

from . import errors
from .protobuf import SPECIAL_TYPES, Schema, builtin_schema
from .resources import ResourceType

MODES = ("Ignore", "Warn", "Strict")
OBJECT_META = "k8s.io/apimachinery/pkg/apis/meta/v1.ObjectMeta"
_SCALAR, _MESSAGE, _LIST, _MAP = range(4)
_SCALARS = frozenset(("string", "bool", "int32", "int64", "uint32", "uint64", "float32", "float64", "bytes"))


class FieldChecker:
    """Per message, its JSON field names (inlined structs merged in) and their Go types; built lazily."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._fields: dict[str, dict[str, tuple[int, Any]]] = {}
        self._types: dict[str, tuple[int, Any]] = {}

    def fields(self, message: str) -> dict[str, tuple[int, Any]]:
        out = self._fields.get(message)
        if out is None:
            out = {}
            for entry in self.schema.messages.get(message, ()):
                _, name, go_type, *rest = entry
                if "i" in (rest[0] if rest else ""):
                    out.update(self.fields(go_type.lstrip("*")))
                else:
                    out[name] = self._compile(go_type)
            self._fields[message] = out
        return out

    def _compile(self, go_type: str) -> tuple[int, Any]:
        """(what to walk, its argument), once per type expression: the walk then makes no string tests."""
        compiled = self._types.get(go_type)
        if compiled is None:
            t = go_type.lstrip("*")
            if t.startswith("[]") and t != "[]byte":
                compiled = (_LIST, self._compile(t[2:]))
            elif t.startswith("map["):
                compiled = (_MAP, self._compile(t[t.index("]") + 1:]))
            elif t in _SCALARS or t in SPECIAL_TYPES:
                compiled = (_SCALAR, None)
            else:
                compiled = (_MESSAGE, t)
            self._types[go_type] = compiled
        return compiled

    def unknown(self, rtype: ResourceType, obj: dict[str, Any], *, patch: bool = False) -> list[str]:
        """Paths of the fields ``rtype`` does not have, removed from ``obj``; ``patch``: skip ``$`` directives."""
        out: list[str] = []
        if rtype.custom:
            if isinstance(rtype.schema, dict):
                self._prune(obj, rtype.schema, "", out, patch, top=True)
            return out
        message = self.schema.kinds.get(f"{rtype.group}/{rtype.version}/{rtype.kind}")
        if message is not None:
            self._walk(obj, message, "", out, patch, top=True)
        return out

    def _prune(self, obj: dict[str, Any], schema: dict[str, Any], path: str, out: list[str], patch: bool,
               top: bool = False) -> None:
        """Structural pruning of one object node (apiextensions-apiserver's pruning.Prune)."""
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        keep = bool(schema.get("x-kubernetes-preserve-unknown-fields")) or extra is True
        embedded = top or bool(schema.get("x-kubernetes-embedded-resource"))
        for key in list(obj):
            sub = props.get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if embedded and key in ("apiVersion", "kind", "metadata") and sub is None:
                if key == "metadata" and isinstance(obj[key], dict):
                    self._walk(obj[key], OBJECT_META, path + "metadata.", out, patch)
                continue
            if sub is None:
                if keep or (patch and key.startswith("$")):
                    continue
                out.append(path + key)
                del obj[key]
                continue
            self._prune_value(obj[key], sub, path + key, out, patch)

    def _prune_value(self, value: Any, schema: Any, path: str, out: list[str], patch: bool) -> None:
        if not isinstance(schema, dict):
            return
        if isinstance(value, dict):
            self._prune(value, schema, path + ".", out, patch)
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                self._prune_value(item, schema["items"], f"{path}[{i}]", out, patch)

    def _walk(self, obj: dict[str, Any], message: str, path: str, out: list[str], patch: bool,
              top: bool = False) -> None:
        fields = self.fields(message)
        for key in list(obj):
            compiled = fields.get(key)
            if compiled is None:
                if (top and key in ("apiVersion", "kind")) or (patch and key.startswith("$")):
                    continue
                out.append(path + key)
                del obj[key]
            elif compiled[0] != _SCALAR:
                self._value(obj[key], compiled, path + key, out, patch)

    def _value(self, value: Any, compiled: tuple[int, Any], path: str, out: list[str], patch: bool) -> None:
        kind, arg = compiled
        if kind == _MESSAGE:
            if isinstance(value, dict):
                self._walk(value, arg, path + ".", out, patch)
        elif arg[0] == _SCALAR:
            return
        elif kind == _LIST:
            if isinstance(value, list):
                for i, item in enumerate(value):
                    self._value(item, arg, f"{path}[{i}]", out, patch)
        elif isinstance(value, dict):
            for k, item in value.items():
                if not (patch and k.startswith("$")):
                    self._value(item, arg, f"{path}[{k}]", out, patch)


@functools.cache
def field_checker() -> FieldChecker:
    """The checker for the built-in kinds (read-only once built, shared like the schema)."""
    return FieldChecker(builtin_schema())


def mode(value: str | None) -> str:
    """The request's fieldValidation (Warn when absent, as kube-apiserver since 1.27)."""
    if value is None or value == "":
        return "Warn"
    if value not in MODES:
        raise errors.bad_request(f'fieldValidation parameter unsupported: "{value}", must be one of: '
                                 f'"Ignore", "Warn", "Strict"')
    return value


def enforce(rtype: ResourceType, unknown: list[str], how: str) -> list[tuple[bytes, bytes]]:
    """400 under Strict; under Warn the ``Warning`` headers to answer with."""
    if not unknown or how == "Ignore":
        return []
    fields = [f'unknown field "{p}"' for p in unknown]
    if how == "Strict":
        raise errors.bad_request(f'{rtype.kind} in version "{rtype.version}" cannot be handled as a {rtype.kind}: '
                                 f"strict decoding error: {', '.join(fields)}")
    return [(b"warning", ('299 - "' + f.replace("\\", "\\\\").replace('"', '\\"') + '"').encode()) for f in fields]
