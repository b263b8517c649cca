"""Decode Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``) into JSON dicts.

client-go's typed clients (and so kubectl for built-in kinds) send this encoding. We have no generated
Go structs, so a *schema* (produced by the schema extractor, loaded by the caller) describes each
message: ``{"messages": {name: [[number, json_name, go_type, flags], ...]}, "kinds": {"group/version/Kind":
name}}``. The result is what kube-apiserver would serve as JSON for the Go struct gogo-protobuf decodes
into: pointers emitted when set, non-pointer scalars unless ``omitempty``/``omitzero`` and zero, structs
always (``omitempty`` never omits a struct), keys in struct declaration (schema) order.

Use: ``builtin_schema().decode_object(body)`` for the shipped schema of the built-in kinds, or build
``Schema(raw)`` once for another one.
"""
from __future__ import annotations

import functools
import gzip
import math
import re
import struct
from base64 import b64encode
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import orjson

PROTOBUF = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

_META = "k8s.io/apimachinery/pkg/apis/meta/v1."
TIME, MICRO_TIME, DURATION, FIELDS_V1 = _META + "Time", _META + "MicroTime", _META + "Duration", _META + "FieldsV1"
QUANTITY = "k8s.io/apimachinery/pkg/api/resource.Quantity"
INT_OR_STRING = "k8s.io/apimachinery/pkg/util/intstr.IntOrString"
RAW_EXTENSION = "k8s.io/apimachinery/pkg/runtime.RawExtension"

# Wire type per scalar; "raw" is internal (bytes kept as bytes, for the hand-decoded special types).
_WIRE = {"string": 2, "bytes": 2, "raw": 2, "bool": 0, "int32": 0, "int64": 0, "uint32": 0, "uint64": 0,
         "float32": 5, "float64": 1}
_ZERO: dict[str, Any] = {"string": "", "bytes": "", "bool": False, "int32": 0, "int64": 0, "uint32": 0,
                         "uint64": 0, "float32": 0.0, "float64": 0.0}
_M32, _M64 = (1 << 32) - 1, (1 << 64) - 1
_GO_ZERO_UNIX = -62135596800  # time.Time{} (0001-01-01T00:00:00Z) as Unix seconds
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_QUANTITY_ZERO = re.compile(r"[+-]?0*(\.0*)?([a-zA-Z]*|[eE][+-]?\d+)")


class ProtobufError(ValueError):
    """A body that is not a well-formed Kubernetes protobuf object (the caller answers 400)."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); at most 10 bytes and 64 bits, like gogo's generated Unmarshal."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtobufError("truncated varint")
        if shift >= 64:
            raise ProtobufError("varint overflows 64 bits")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _M64, pos
        shift += 7


def _iter(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) per field: an int for varints, bytes for everything else.

    Keys and lengths under 128 (nearly all of them) are read inline: ~2x faster than calling _varint."""
    pos, end = 0, len(data)
    while pos < end:
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtobufError("illegal field number 0")
        if wt == 2:
            if pos < end and data[pos] < 0x80:
                n = data[pos]
                pos += 1
            else:
                n, pos = _varint(data, pos)
        elif wt == 0:
            if pos < end and data[pos] < 0x80:
                val = data[pos]
                pos += 1
            else:
                val, pos = _varint(data, pos)
            yield num, 0, val
            continue
        elif wt == 1 or wt == 5:
            n = 8 if wt == 1 else 4
        else:  # groups (3/4) are proto2 relics Kubernetes never writes; 6/7 are invalid
            raise ProtobufError(f"unsupported wire type {wt} for field {num}")
        if n > end - pos:
            raise ProtobufError(f"field {num} runs past the end of the message")
        yield num, wt, data[pos:pos + n]
        pos += n


def _f32(raw: bytes) -> float:
    """A float32 as the shortest decimal that round-trips, as Go's encoding/json prints it."""
    x: float = struct.unpack("<f", raw)[0]
    for digits in range(1, 10):
        y = float(f"{x:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", y))[0] == x:
            return y
    return x


def _scalar(kind: str, wt: int, val: Any, where: str) -> Any:
    """One scalar occurrence as its JSON value (ints are two's complement varints, truncated like Go)."""
    if wt != _WIRE[kind]:
        raise ProtobufError(f"wrong wire type {wt} for {where}")
    if kind == "string":
        try:
            return val.decode()
        except UnicodeDecodeError:
            raise ProtobufError(f"invalid UTF-8 in {where}") from None
    if kind == "bytes":
        return b64encode(val).decode("ascii")  # encoding/json's []byte
    if kind in ("raw", "uint64"):
        return val
    if kind == "bool":
        return val != 0
    if kind == "int32":
        val &= _M32
        return val - (1 << 32) if val >> 31 else val
    if kind == "int64":
        return val - (1 << 64) if val >> 63 else val
    if kind == "uint32":
        return val & _M32
    x = struct.unpack("<d", val)[0] if kind == "float64" else _f32(val)
    if not math.isfinite(x):
        raise ProtobufError(f"non-finite number in {where} cannot be represented in JSON")
    return x


def _packed(kind: str, blob: bytes, where: str) -> list[Any]:
    """A packed repeated numeric field: one length-delimited run of varints or fixed-width values."""
    wt = _WIRE[kind]
    if wt == 0:
        out, pos = [], 0
        while pos < len(blob):
            v, pos = _varint(blob, pos)
            out.append(_scalar(kind, 0, v, where))
        return out
    size = 8 if wt == 1 else 4
    if len(blob) % size:
        raise ProtobufError(f"packed {where} ends in a partial element")
    return [_scalar(kind, wt, blob[i:i + size], where) for i in range(0, len(blob), size)]


def _plain(data: bytes, spec: dict[int, str], where: str) -> dict[int, Any]:
    """Scalar fields of a fixed-layout message (the special types' own encodings); last one wins."""
    return {num: _scalar(spec[num], wt, val, where) for num, wt, val in _iter(data) if num in spec}


def duration_string(ns: int) -> str:
    """Go's time.Duration.String(): "1h0m0s", "1.5s", "500ms", "1µs", "0s"."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)

    def frac(v: int, prec: int) -> str:
        q, r = divmod(v, 10 ** prec)
        return f"{q}.{str(r).rjust(prec, '0').rstrip('0')}" if r else str(q)
    if u < 1000:
        return f"{sign}{u}ns"
    if u < 10 ** 9:
        return sign + (frac(u, 3) + "µs" if u < 10 ** 6 else frac(u, 6) + "ms")
    seconds, minutes = frac(u % (60 * 10 ** 9), 9), u // (60 * 10 ** 9)
    if not minutes:
        return f"{sign}{seconds}s"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours}h{minutes}m{seconds}s" if hours else f"{sign}{minutes}m{seconds}s"


def _time(data: bytes, micro: bool) -> str | None:
    """metav1.Time (seconds; protobuf nanos are dropped, as Time.Unmarshal does) or MicroTime; zero is null."""
    if not data:
        return None
    f = _plain(data, {1: "int64", 2: "int32"}, "Timestamp")
    seconds, nanos = divmod(f.get(1, 0) * 10 ** 9 + (f.get(2, 0) if micro else 0), 10 ** 9)
    if seconds == _GO_ZERO_UNIX and nanos == 0:
        return None
    try:
        t = _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        raise ProtobufError(f"timestamp {seconds} is out of range") from None
    text = f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return f"{text}.{t.microsecond:06d}Z" if micro else text + "Z"


def _int_or_string(data: bytes) -> int | str:
    f = _plain(data, {1: "int64", 2: "int32", 3: "string"}, "IntOrString")
    kind = f.get(1, 0)
    if kind not in (0, 1):
        raise ProtobufError(f"impossible IntOrString.Type {kind}")
    return f.get(2, 0) if kind == 0 else f.get(3, "")


def _raw_json(data: bytes, schema: Schema, where: str) -> Any:
    """RawExtension / FieldsV1: the raw bytes are JSON (or, for RawExtension, an enveloped protobuf object)."""
    raw = _plain(data, {1: "raw"}, where).get(1)
    if not raw:
        return None
    if raw.startswith(MAGIC) and where == "RawExtension":
        return schema.decode_object(raw)[2]
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise ProtobufError(f"{where} does not hold JSON: {e}") from None


_SPECIAL: dict[str, Callable[[bytes, Schema], Any]] = {
    TIME: lambda d, s: _time(d, False),
    MICRO_TIME: lambda d, s: _time(d, True),
    DURATION: lambda d, s: duration_string(_plain(d, {1: "int64"}, "Duration").get(1, 0)),
    QUANTITY: lambda d, s: _plain(d, {1: "string"}, "Quantity").get(1) or "0",
    INT_OR_STRING: lambda d, s: _int_or_string(d),
    RAW_EXTENSION: lambda d, s: _raw_json(d, s, "RawExtension"),
    FIELDS_V1: lambda d, s: _raw_json(d, s, "FieldsV1"),
}
SPECIAL_TYPES = frozenset(_SPECIAL)  # decoded by hand, JSON scalars or free-form: no fields to check
# Go zero-ness of each special's JSON value, for ``omitzero`` and for "is the enclosing struct zero".
# (Time, MicroTime, RawExtension and FieldsV1 are zero when null.)
_SPECIAL_ZERO: dict[str, Callable[[Any], bool]] = {
    DURATION: lambda v: v == "0s", QUANTITY: lambda v: bool(_QUANTITY_ZERO.fullmatch(v)),
    INT_OR_STRING: lambda v: type(v) is int and v == 0}
_REPLACING = {TIME, MICRO_TIME, QUANTITY}  # hand-written Unmarshal: a repeated occurrence replaces, not merges


def _is_none(v: Any) -> bool:
    return v is None


def _type(expr: str) -> tuple[str, str]:
    """("s" scalar | "x" special | "m" message | "w" wrapped slice, name) for a Go type expression."""
    expr = expr.lstrip("*")
    if expr == "[]byte":
        return "s", "bytes"
    if expr.startswith("[]") and not expr.startswith(("[][]", "[]map[")):
        return "w", expr[2:]  # a map's slice value: gogo wraps it as a message {repeated items = 1}
    if expr.startswith(("[]", "map[")):
        raise ProtobufError(f"unsupported nested container type {expr!r}")
    if expr in _ZERO:
        return "s", expr
    return ("x" if expr in _SPECIAL else "m"), expr


class _Field:
    """One compiled schema entry: container kind, element type and JSON emptiness flags."""
    __slots__ = ("pos", "num", "name", "where", "ptr", "box", "t", "key", "omit", "omitzero", "inline")

    def __init__(self, pos: int, message: str, num: int, name: str, go_type: str, flags: str = "") -> None:
        self.pos, self.num, self.name = pos, num, name
        self.where = f"field {num} ({name or 'inline'}) of {message}"
        self.ptr, self.box, self.key = go_type.startswith("*"), "", None
        expr = go_type.lstrip("*")
        if expr.startswith("map["):
            key, _, expr = expr[4:].partition("]")
            if key not in _ZERO:
                raise ProtobufError(f"unsupported map key type {key!r} in {self.where}")
            self.box, self.key = "map", key
        elif expr.startswith("[]") and expr != "[]byte":
            self.box, expr = "list", expr[2:]
        self.t = _type(expr)
        self.omit, self.omitzero, self.inline = "o" in flags or "z" in flags, "z" in flags, "i" in flags


class Schema:
    """A raw schema dict plus lazily compiled per-message field tables; build once, reuse for every body."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.messages: Mapping[str, list] = raw.get("messages", {})
        self.kinds: Mapping[str, str] = raw.get("kinds", {})
        self._tables: dict[str, tuple[list[_Field], dict[int, _Field]]] = {}

    def _table(self, name: str) -> tuple[list[_Field], dict[int, _Field]]:
        table = self._tables.get(name)
        if table is None:
            spec = self.messages.get(name)
            if spec is None:
                raise ProtobufError(f"no protobuf schema for message {name}")
            fields = [_Field(i, name, *entry) for i, entry in enumerate(spec)]
            table = self._tables[name] = (fields, {f.num: f for f in reversed(fields)})
        return table

    def decode_object(self, body: bytes) -> tuple[str, str, dict[str, Any]]:
        """(apiVersion, kind, object) from a ``k8s\\x00`` + runtime.Unknown body; apiVersion/kind come first."""
        if not body.startswith(MAGIC):
            raise ProtobufError("request body is missing the k8s protobuf prefix")
        f = _plain(body[len(MAGIC):], {1: "raw", 2: "raw", 3: "string"}, "runtime.Unknown")
        if f.get(3):
            raise ProtobufError(f"unsupported protobuf contentEncoding {f[3]!r}")
        meta = _plain(f.get(1, b""), {1: "string", 2: "string"}, "runtime.TypeMeta")
        api, kind = meta.get(1, ""), meta.get(2, "")
        if not kind:
            raise ProtobufError("protobuf object has no kind")
        type_name = self.kinds.get(f"{api if '/' in api else '/' + api}/{kind}")
        if type_name is None:
            raise ProtobufError(f"no protobuf schema for kind {kind!r} in {api!r}")
        obj = self.decode_message(f.get(2, b""), type_name)
        return api, kind, {"apiVersion": api, "kind": kind,
                           **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}

    def decode_message(self, data: bytes, type_name: str) -> dict[str, Any]:
        """One encoded message of ``type_name`` (a key of ``messages``) as its JSON dict."""
        try:
            return self._message(data, type_name)[0]
        except RecursionError:
            raise ProtobufError("protobuf message is nested too deeply") from None

    def _value(self, t: tuple[str, str], wt: int, val: Any, where: str) -> Any:
        """A list element or map value (decoded on its own, never merged)."""
        if t[0] == "s":
            return _scalar(t[1], wt, val, where)
        if wt != 2:
            raise ProtobufError(f"wrong wire type {wt} for {where}")
        if t[0] == "w":
            item = _type(t[1])
            out = []
            for num, iwt, ival in _iter(val):
                if num != 1:
                    continue
                if iwt == 2 and item[0] == "s" and _WIRE[item[1]] != 2:
                    out.extend(_packed(item[1], ival, where))
                else:
                    out.append(self._value(item, iwt, ival, where))
            return out
        return self._message(val, t[1])[0] if t[0] == "m" else _SPECIAL[t[1]](val, self)

    def _entry(self, f: _Field, data: bytes) -> tuple[str, Any]:
        """A map entry {1: key, 2: value}; a missing key or value is its type's zero value."""
        key, value = _ZERO[f.key], None
        for num, wt, val in _iter(data):
            if num == 1:
                key = _scalar(f.key, wt, val, f.where)
            elif num == 2:
                value = (wt, val)
        if value is None and f.t[0] == "s":
            return (key if isinstance(key, str) else str(key)), _ZERO[f.t[1]]
        v = self._value(f.t, *(value or (2, b"")), f.where)
        return (key if isinstance(key, str) else str(key)), v

    def _message(self, data: bytes, name: str) -> tuple[dict[str, Any], bool]:
        """(JSON dict, whether the Go struct would be non-zero — for ``omitzero`` of the enclosing field)."""
        fields, by_num = self._table(name)
        acc: dict[int, Any] = {}
        for num, wt, val in _iter(data):
            f = by_num.get(num)
            if f is None:  # a newer client's field: gogo skips it too
                continue
            cat, tname = f.t
            if f.box == "list":
                items = acc.setdefault(f.pos, [])
                if wt == 2 and cat == "s" and _WIRE[tname] != 2:
                    items.extend(_packed(tname, val, f.where))
                else:
                    items.append(self._value(f.t, wt, val, f.where))
            elif f.box == "map" or cat != "s":
                if wt != 2:
                    raise ProtobufError(f"wrong wire type {wt} for {f.where}")
                if f.box == "map":
                    k, v = self._entry(f, val)
                    acc.setdefault(f.pos, {})[k] = v
                else:
                    acc.setdefault(f.pos, []).append(val)  # chunks: decoding their concatenation merges them
            else:
                acc[f.pos] = _scalar(tname, wt, val, f.where)
        out: dict[str, Any] = {}
        nonzero = False
        for pos in sorted(acc):
            f, v = fields[pos], acc[pos]
            cat, tname = f.t
            if f.box:
                if not v:  # a packed field with no elements: gogo leaves the slice nil
                    if not f.omit:
                        out[f.name] = None
                    continue
                nonzero = True
            elif cat == "s":
                if not f.ptr and f.omit and not v:
                    continue
                nonzero = nonzero or f.ptr or bool(v) or tname == "bytes"
            else:
                if cat == "m":
                    v, nz = self._message(b"".join(v), tname)
                    if f.inline:
                        out.update(v)
                        nonzero = nonzero or nz or f.ptr
                        continue
                else:
                    v = _SPECIAL[tname](v[-1] if tname in _REPLACING else b"".join(v), self)
                    nz = not _SPECIAL_ZERO.get(tname, _is_none)(v)
                if not f.ptr and f.omitzero and not nz:
                    continue
                nonzero = nonzero or nz or f.ptr
            out[f.name] = v
        return out, nonzero


SCHEMA_FILE = Path(__file__).with_name("data") / "protobuf_schema.json.gz"


@functools.cache
def builtin_schema() -> Schema:
    """The built-in API types, as kubectl 1.37 encodes them (``scripts/k8s_protobuf_schema.py`` made the file).

    Loaded on first use (~20 ms), read-only afterwards: every server in the process shares it."""
    with gzip.open(SCHEMA_FILE) as f:
        return Schema(orjson.loads(f.read()))
