"""Kubernetes protobuf request bodies -> JSON dicts, against a small hand-written schema.

Bodies are built with a minimal protobuf encoder below, so every case pins the exact wire bytes and
the exact dict Go's encoding/json would produce for the struct gogo-protobuf decodes them into.
"""
from __future__ import annotations

import os
import struct

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apiserver.protobuf import MAGIC, ProtobufError, Schema, builtin_schema, duration_string

# --- a minimal protobuf encoder ---------------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negatives: two's complement, 10 bytes
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def tag(num: int, wt: int) -> bytes:
    return varint(num << 3 | wt)


def vi(num: int, n: int) -> bytes:
    """A varint field."""
    return tag(num, 0) + varint(n)


def ld(num: int, payload: bytes | str) -> bytes:
    """A length-delimited field."""
    data = payload.encode() if isinstance(payload, str) else payload
    return tag(num, 2) + varint(len(data)) + data


def f64(num: int, x: float) -> bytes:
    return tag(num, 1) + struct.pack("<d", x)


def f32(num: int, x: float) -> bytes:
    return tag(num, 5) + struct.pack("<f", x)


def entry(num: int, key: bytes, value: bytes = b"") -> bytes:
    """A map entry: key and value are already-encoded fields 1 and 2."""
    return ld(num, key + value)


def sentry(num: int, key: str, value: str) -> bytes:
    return entry(num, ld(1, key), ld(2, value))


def envelope(api: str, kind: str, raw: bytes, encoding: str = "") -> bytes:
    return (MAGIC + ld(1, ld(1, api) + ld(2, kind)) + ld(2, raw) + ld(3, encoding)
            + ld(4, "application/vnd.kubernetes.protobuf"))


# --- the schema -------------------------------------------------------------------------------------

META = "k8s.io/apimachinery/pkg/apis/meta/v1."
CORE = "k8s.io/api/core/v1."
APPS = "k8s.io/api/apps/v1."
EX = "example.com/sample/v1."
TIME, MICRO, DURATION, FIELDS = META + "Time", META + "MicroTime", META + "Duration", META + "FieldsV1"
QTY = "k8s.io/apimachinery/pkg/api/resource.Quantity"
IOS = "k8s.io/apimachinery/pkg/util/intstr.IntOrString"
RAW = "k8s.io/apimachinery/pkg/runtime.RawExtension"

RAW_SCHEMA = {
    "messages": {
        META + "ObjectMeta": [
            [1, "name", "string", "o"], [2, "generateName", "string", "o"], [3, "namespace", "string", "o"],
            [8, "creationTimestamp", TIME, "o"], [9, "deletionTimestamp", "*" + TIME, "o"],
            [11, "labels", "map[string]string", "o"], [12, "annotations", "map[string]string", "o"],
            [13, "ownerReferences", "[]" + META + "OwnerReference", "o"],
            [17, "managedFields", "[]" + META + "ManagedFieldsEntry", "o"]],
        META + "OwnerReference": [
            [5, "apiVersion", "string", ""], [1, "kind", "string", ""], [3, "name", "string", ""],
            [4, "uid", "string", ""], [6, "controller", "*bool", "o"], [7, "blockOwnerDeletion", "*bool", "o"]],
        META + "ManagedFieldsEntry": [
            [1, "manager", "string", "o"], [2, "operation", "string", "o"], [3, "apiVersion", "string", "o"],
            [4, "time", "*" + TIME, "o"], [6, "fieldsType", "string", "o"], [7, "fieldsV1", "*" + FIELDS, "o"]],
        CORE + "ConfigMap": [
            [1, "metadata", META + "ObjectMeta", "o"], [4, "immutable", "*bool", "o"],
            [2, "data", "map[string]string", "o"], [3, "binaryData", "map[string]bytes", "o"]],
        APPS + "Deployment": [
            [1, "metadata", META + "ObjectMeta", "o"], [2, "spec", APPS + "DeploymentSpec", "o"],
            [3, "status", APPS + "DeploymentStatus", "o"]],
        APPS + "DeploymentSpec": [
            [1, "replicas", "*int32", "o"], [3, "template", CORE + "PodTemplateSpec", ""],
            [4, "strategy", APPS + "DeploymentStrategy", "o"], [5, "minReadySeconds", "int32", "o"],
            [7, "paused", "bool", "o"]],
        APPS + "DeploymentStrategy": [
            [1, "type", "string", "o"], [2, "rollingUpdate", "*" + APPS + "RollingUpdateDeployment", "o"]],
        APPS + "RollingUpdateDeployment": [
            [1, "maxUnavailable", "*" + IOS, "o"], [2, "maxSurge", "*" + IOS, "o"]],
        APPS + "DeploymentStatus": [[1, "observedGeneration", "int64", "o"], [2, "replicas", "int32", "o"]],
        CORE + "PodTemplateSpec": [[1, "metadata", META + "ObjectMeta", "o"], [2, "spec", CORE + "PodSpec", "o"]],
        CORE + "Pod": [[1, "metadata", META + "ObjectMeta", "o"], [2, "spec", CORE + "PodSpec", "o"]],
        CORE + "PodSpec": [
            [1, "volumes", "[]" + CORE + "Volume", "o"], [2, "containers", "[]" + CORE + "Container", ""],
            [4, "terminationGracePeriodSeconds", "*int64", "o"], [5, "activeDeadlineSeconds", "*int64", "o"],
            [7, "nodeSelector", "map[string]string", "o"], [25, "priority", "*int32", "o"]],
        CORE + "Volume": [[1, "name", "string", ""], [2, "", CORE + "VolumeSource", "i"]],
        CORE + "VolumeSource": [
            [1, "hostPath", "*" + CORE + "HostPathVolumeSource", "o"],
            [2, "emptyDir", "*" + CORE + "EmptyDirVolumeSource", "o"]],
        CORE + "HostPathVolumeSource": [[1, "path", "string", ""], [2, "type", "*string", "o"]],
        CORE + "EmptyDirVolumeSource": [[1, "medium", "string", "o"], [2, "sizeLimit", "*" + QTY, "o"]],
        CORE + "Container": [
            [1, "name", "string", ""], [2, "image", "string", "o"], [3, "command", "[]string", "o"],
            [6, "ports", "[]" + CORE + "ContainerPort", "o"], [8, "resources", CORE + "ResourceRequirements", "o"]],
        CORE + "ContainerPort": [
            [1, "name", "string", "o"], [2, "hostPort", "int32", "o"], [3, "containerPort", "int32", ""],
            [4, "protocol", "string", "o"]],
        CORE + "ResourceRequirements": [
            [1, "limits", "map[string]" + QTY, "o"], [2, "requests", "map[string]" + QTY, "o"]],
        EX + "Sample": [
            [1, "plain", "string", ""], [2, "opt", "string", "o"], [3, "count", "int32", ""],
            [4, "big", "int64", "o"], [5, "ratio", "float64", "o"], [6, "small", "float32", "o"],
            [7, "u32", "uint32", "o"], [8, "u64", "uint64", "o"], [9, "ints", "[]int32", "o"],
            [10, "doubles", "[]float64", "o"], [11, "timeout", DURATION, "o"], [12, "renewTime", "*" + MICRO, "o"],
            [13, "raw", RAW, ""], [14, "z", EX + "Inner", "z"], [15, "zt", TIME, "z"],
            [16, "byId", "map[int32]string", "o"], [17, "blob", "bytes", "o"], [18, "blobs", "[]bytes", "o"],
            [19, "nums", "[]int64", ""], [20, "inner", EX + "Inner", ""], [21, "quantities", "map[string]" + QTY, "o"],
            [22, "children", "map[string]" + EX + "Inner", "o"], [23, "flag", "bool", ""],
            [24, "self", "*" + EX + "Sample", "o"], [25, "when", TIME, "o"], [26, "ios", IOS, ""],
            [27, "zq", QTY, "z"], [28, "zd", DURATION, "z"], [29, "pblob", "*bytes", "o"]],
        EX + "Inner": [[1, "a", "string", "o"], [2, "b", "[]string", "o"], [3, "n", "*int32", "o"],
                     [4, "t", "*" + TIME, "o"]],
    },
    "kinds": {
        "/v1/ConfigMap": CORE + "ConfigMap", "/v1/Pod": CORE + "Pod", "apps/v1/Deployment": APPS + "Deployment",
        "example.com/v1/Sample": EX + "Sample",
    },
}
SCHEMA = Schema(RAW_SCHEMA)
T0 = 1795472349  # 2026-11-23T22:19:09Z


def sample(*fields: bytes) -> dict:
    """Decode a Sample object; apiVersion/kind are checked and stripped."""
    api, kind, obj = SCHEMA.decode_object(envelope("example.com/v1", "Sample", b"".join(fields)))
    assert (api, kind) == ("example.com/v1", "Sample")
    assert list(obj)[:2] == ["apiVersion", "kind"]
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def error(body: bytes) -> str:
    with pytest.raises(ProtobufError) as info:
        SCHEMA.decode_object(body)
    return str(info.value)


# --- whole objects ----------------------------------------------------------------------------------


def test_configmap_exact_dict_in_schema_order() -> None:
    meta = (ld(1, "cfg") + ld(3, "default") + ld(8, vi(1, T0)) + sentry(11, "app", "web")
            + sentry(11, "tier", "fe") + sentry(12, "note", "x"))
    raw = (ld(1, meta) + sentry(2, "k", "v") + sentry(2, "empty", "")
           + entry(3, ld(1, "bin"), ld(2, b"\x00\x01\xff")) + vi(4, 0))
    api, kind, obj = SCHEMA.decode_object(envelope("v1", "ConfigMap", raw))
    assert (api, kind) == ("v1", "ConfigMap")
    assert obj == {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "default", "creationTimestamp": "2026-11-23T22:19:09Z",
                     "labels": {"app": "web", "tier": "fe"}, "annotations": {"note": "x"}},
        "immutable": False,  # a set pointer is kept even when false
        "data": {"k": "v", "empty": ""},
        "binaryData": {"bin": "AAH/"},
    }
    assert list(obj) == ["apiVersion", "kind", "metadata", "immutable", "data", "binaryData"]


def test_zero_time_is_null_even_with_omitempty() -> None:
    raw = ld(1, ld(1, "cfg") + ld(8, b"") + ld(9, b""))
    obj = SCHEMA.decode_object(envelope("v1", "ConfigMap", raw))[2]
    assert obj["metadata"] == {"name": "cfg", "creationTimestamp": None, "deletionTimestamp": None}


def test_owner_references_and_managed_fields() -> None:
    ref = ld(1, "ReplicaSet") + ld(3, "web-1") + ld(4, "u-1") + ld(5, "apps/v1") + vi(6, 1) + vi(7, 0)
    mf = (ld(1, "kubectl") + ld(2, "Update") + ld(3, "v1") + ld(4, vi(1, T0)) + ld(6, "FieldsV1")
          + ld(7, ld(1, b'{"f:data":{".":{}}}')))
    obj = SCHEMA.decode_object(envelope("v1", "ConfigMap", ld(1, ld(13, ref) + ld(13, ld(3, "b")) + ld(17, mf))))[2]
    assert obj["metadata"] == {
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "u-1",
             "controller": True, "blockOwnerDeletion": False},
            {"name": "b"}],
        "managedFields": [{"manager": "kubectl", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-11-23T22:19:09Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {".": {}}}}],
    }
    assert list(obj["metadata"]["ownerReferences"][0])[:2] == ["apiVersion", "kind"]


def test_deployment_replicas_zero_intorstring_and_inline() -> None:
    volumes = ld(1, ld(1, "scratch") + ld(2, ld(2, b""))) + ld(1, ld(1, "host") + ld(2, ld(1, ld(1, "/tmp"))))
    template = ld(1, sentry(11, "app", "web")) + ld(2, volumes)
    rolling = ld(1, vi(1, 1) + ld(3, "25%")) + ld(2, vi(1, 0) + vi(2, 1))
    spec = vi(1, 0) + ld(3, template) + ld(4, ld(1, "RollingUpdate") + ld(2, rolling)) + vi(5, 0) + vi(7, 0)
    raw = ld(1, ld(1, "web")) + ld(2, spec) + ld(3, b"")
    api, kind, obj = SCHEMA.decode_object(envelope("apps/v1", "Deployment", raw))
    assert (api, kind) == ("apps/v1", "Deployment")
    assert obj == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 0,
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"volumes": [{"name": "scratch", "emptyDir": {}},
                                              {"name": "host", "hostPath": {"path": "/tmp"}}]}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
        },
        "status": {},  # a non-pointer struct present on the wire: omitempty does not drop it
    }


def test_pod_containers_ports_resources_and_pointers() -> None:
    port0 = ld(6, ld(1, "metrics") + vi(2, 0) + vi(3, 0))
    port1 = ld(6, vi(3, 8080) + ld(4, "TCP"))
    resources = ld(8, entry(1, ld(1, "cpu"), ld(2, ld(1, "500m"))) + entry(1, ld(1, "memory"), ld(2, ld(1, "128Mi")))
                   + entry(2, ld(1, "cpu"), ld(2, b"")))
    c1 = ld(2, ld(1, "app") + ld(2, "nginx") + ld(3, "sh") + ld(3, "-c") + port0 + port1 + resources)
    c2 = ld(2, ld(1, "sidecar") + ld(2, ""))
    vol = ld(1, ld(1, "cache") + ld(2, ld(2, ld(1, "Memory") + ld(2, ld(1, "1Gi")))))
    priority = vi(25, -5)
    assert len(priority) == 2 + 10  # a negative int32 is a 10-byte varint
    spec = vol + c1 + c2 + vi(4, 0) + vi(5, -30) + priority
    obj = SCHEMA.decode_object(envelope("v1", "Pod", ld(2, spec)))[2]
    assert obj == {"apiVersion": "v1", "kind": "Pod", "spec": {
        "volumes": [{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}],
        "containers": [
            {"name": "app", "image": "nginx", "command": ["sh", "-c"],
             "ports": [{"name": "metrics", "containerPort": 0}, {"containerPort": 8080, "protocol": "TCP"}],
             "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "0"}}},
            {"name": "sidecar"}],
        "terminationGracePeriodSeconds": 0, "activeDeadlineSeconds": -30, "priority": -5}}


# --- scalars, lists, maps ---------------------------------------------------------------------------


def test_emptiness_of_non_pointer_scalars() -> None:
    assert sample(ld(1, ""), ld(2, ""), vi(3, 0), vi(4, 0), f64(5, 0.0), vi(23, 0), ld(17, b"")) == {
        "plain": "", "count": 0, "flag": False}
    assert sample(ld(2, "x"), vi(4, 7), f64(5, 2.0), vi(23, 2), ld(17, b"\x01")) == {
        "opt": "x", "big": 7, "ratio": 2.0, "flag": True, "blob": "AQ=="}


def test_numbers() -> None:
    got = sample(vi(3, -7), vi(4, -1), f64(5, -1.5), f32(6, 0.1), vi(7, 2**32 - 1), vi(8, 2**64 - 1))
    assert got == {"count": -7, "big": -1, "ratio": -1.5, "small": 0.1, "u32": 4294967295,
                   "u64": 18446744073709551615}
    assert sample(vi(3, 2**31)) == {"count": -2147483648}  # int32 truncates like Go
    assert sample(vi(3, 2**40 + 5)) == {"count": 5}


def test_repeated_packed_and_unpacked() -> None:
    packed = ld(9, varint(1) + varint(-2) + varint(300))
    got = sample(packed, vi(9, 4), ld(10, struct.pack("<dd", 0.5, -1.25)), f64(10, 3.0),
                 ld(18, b""), ld(18, b"\x01"))
    assert got == {"ints": [1, -2, 300, 4], "doubles": [0.5, -1.25, 3.0], "blobs": ["", "AQ=="]}


def test_packed_empty_lists() -> None:
    assert sample(ld(9, b""), ld(19, b"")) == {"nums": None}  # gogo leaves the slice nil


def test_maps_with_missing_keys_and_values() -> None:
    got = sample(entry(16, vi(1, 7), ld(2, "seven")), entry(16, b"", ld(2, "zero")), entry(16, vi(1, -1)),
                 entry(21, ld(1, "cpu")), entry(22, ld(1, "k")), entry(22, ld(1, "j"), ld(2, ld(1, "x"))))
    assert got == {"byId": {"7": "seven", "0": "zero", "-1": ""}, "quantities": {"cpu": "0"},
                   "children": {"k": {}, "j": {"a": "x"}}}
    assert sample(entry(22, ld(1, "k"), ld(2, ld(1, "a"))),
                  entry(22, ld(1, "k"), ld(2, ld(2, "b")))) == {"children": {"k": {"b": ["b"]}}}


def test_last_scalar_wins_and_messages_merge() -> None:
    got = sample(ld(1, "first"), ld(1, "second"), ld(20, ld(1, "x") + ld(2, "1")), ld(20, ld(2, "2") + vi(3, 3)),
                 ld(25, vi(1, 1)), ld(25, vi(1, T0)), ld(26, vi(1, 1) + ld(3, "a")), ld(26, vi(2, 9)))
    assert got == {"plain": "second", "inner": {"a": "x", "b": ["1", "2"], "n": 3},
                   "when": "2026-11-23T22:19:09Z", "ios": "a"}
    assert sample(ld(25, vi(1, T0)), ld(25, b"")) == {"when": None}  # Time.Unmarshal replaces


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    junk = vi(90, 5) + f64(91, 1.0) + ld(92, b"\xff\xfe") + f32(93, 2.0) + vi(2**29 - 1, 1)
    body = envelope("example.com/v1", "Sample", junk + ld(1, "p") + ld(20, junk + ld(1, "a")) + junk)
    body += vi(77, 1) + ld(78, "x")  # unknown envelope fields too
    assert SCHEMA.decode_object(body)[2] == {"apiVersion": "example.com/v1", "kind": "Sample", "plain": "p",
                                             "inner": {"a": "a"}}


# --- special types ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ns", "text"), [
    (0, "0s"), (1, "1ns"), (1000, "1µs"), (1500, "1.5µs"), (500_000_000, "500ms"), (1_500_000, "1.5ms"),
    (1_500_000_000, "1.5s"), (90 * 10**9, "1m30s"), (3600 * 10**9, "1h0m0s"), (-2 * 10**9, "-2s"),
    (3661 * 10**9 + 1, "1h1m1.000000001s"), (-(2**63), "-2562047h47m16.854775808s"),
])
def test_duration(ns: int, text: str) -> None:
    assert duration_string(ns) == text
    assert sample(ld(11, vi(1, ns))) == {"timeout": text}


def test_time_microtime_and_empty_specials() -> None:
    got = sample(ld(12, vi(1, T0) + vi(2, 123_456_789)), ld(25, vi(1, T0) + vi(2, 999_999_999)),
                 ld(11, b""), ld(13, b""), ld(26, b""))
    assert got == {"timeout": "0s", "renewTime": "2026-11-23T22:19:09.123456Z", "raw": None,
                   "when": "2026-11-23T22:19:09Z", "ios": 0}
    assert sample(ld(25, vi(1, 0))) == {"when": "1970-01-01T00:00:00Z"}  # only the empty message is zero
    assert sample(ld(12, vi(1, 0))) == {"renewTime": "1970-01-01T00:00:00.000000Z"}
    assert sample(ld(25, vi(1, -62135596800))) == {"when": None}  # Go's zero time.Time


def test_int_or_string() -> None:
    assert sample(ld(26, vi(1, 0) + vi(2, -3))) == {"ios": -3}
    assert sample(ld(26, vi(1, 1) + ld(3, "25%"))) == {"ios": "25%"}
    assert sample(ld(26, vi(1, 1))) == {"ios": ""}
    with pytest.raises(ProtobufError, match="impossible IntOrString.Type 2"):
        sample(ld(26, vi(1, 2)))


def test_raw_extension() -> None:
    assert sample(ld(13, ld(1, b'{"a": [1, null, "x"]}'))) == {"raw": {"a": [1, None, "x"]}}
    embedded = envelope("v1", "ConfigMap", sentry(2, "k", "v"))
    assert sample(ld(13, ld(1, embedded))) == {"raw": {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}}}
    with pytest.raises(ProtobufError, match="RawExtension does not hold JSON"):
        sample(ld(13, ld(1, b"{nope")))


def test_omitzero() -> None:
    assert sample(ld(14, b""), ld(14, ld(1, "")), ld(15, b""), ld(27, ld(1, "0")), ld(28, vi(1, 0))) == {}
    assert sample(ld(14, vi(3, 0)), ld(27, ld(1, "0.0m")), ld(28, b"")) == {"z": {"n": 0}}
    assert sample(ld(14, ld(2, b"")), ld(15, vi(1, T0)), ld(27, ld(1, "100m"))) == {
        "z": {"b": [""]}, "zt": "2026-11-23T22:19:09Z", "zq": "100m"}
    assert sample(ld(14, ld(17, b"x"))) == {}  # only unknown fields: still a zero struct
    assert sample(ld(14, ld(4, b""))) == {"z": {"t": None}}  # a set pointer makes the struct non-zero


def test_non_pointer_struct_and_pointer_bytes() -> None:
    assert sample(ld(20, b""), ld(29, b""), ld(24, b"")) == {"inner": {}, "self": {}, "pblob": ""}


# --- envelope and errors ----------------------------------------------------------------------------


def test_group_versions_select_kinds() -> None:
    assert SCHEMA.decode_object(envelope("v1", "ConfigMap", b"")) == (
        "v1", "ConfigMap", {"apiVersion": "v1", "kind": "ConfigMap"})
    assert "'ConfigMap' in 'apps/v1'" in error(envelope("apps/v1", "ConfigMap", b""))
    assert "'Deployment' in 'v1'" in error(envelope("v1", "Deployment", b""))


def test_decode_message_and_the_shipped_schema() -> None:
    assert SCHEMA.decode_message(ld(1, ld(1, "n")), CORE + "ConfigMap") == {"metadata": {"name": "n"}}
    assert SCHEMA.decode_message(b"", EX + "Inner") == {}
    shipped = builtin_schema()
    assert shipped is builtin_schema()  # loaded once
    # the real v1.ConfigMap: metadata 1, data 2, binaryData 3, immutable 4 (*bool, so false is kept)
    body = envelope("v1", "ConfigMap", ld(1, ld(1, "c") + ld(3, "ns")) + sentry(2, "k", "v") + vi(4, 0))
    assert shipped.decode_object(body)[2] == {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "c", "namespace": "ns"},
                                              "data": {"k": "v"}, "immutable": False}


ERRORS = [
    (b'{"kind": "ConfigMap"}', "missing the k8s protobuf prefix"),
    (b"k8s", "missing the k8s protobuf prefix"),
    (envelope("v1", "Widget", b""), "no protobuf schema for kind 'Widget' in 'v1'"),
    (envelope("v1", "", b""), "no kind"),
    (envelope("v1", "ConfigMap", b"", encoding="gzip"), "unsupported protobuf contentEncoding 'gzip'"),
    (envelope("v1", "ConfigMap", b"\x0a\x80"), "truncated varint"),
    (envelope("v1", "ConfigMap", b"\x0a\x0a\x0a\x01"), "runs past the end"),
    (envelope("v1", "ConfigMap", tag(1, 3)), "unsupported wire type 3"),
    (envelope("v1", "ConfigMap", tag(1, 4)), "unsupported wire type 4"),
    (envelope("v1", "ConfigMap", tag(1, 7)), "unsupported wire type 7"),
    (envelope("v1", "ConfigMap", tag(0, 0) + b"\x00"), "illegal field number 0"),
    (envelope("v1", "ConfigMap", vi(1, 5)), "wrong wire type 0 for field 1 (metadata)"),
    (envelope("v1", "ConfigMap", f64(4, 1.0)), "wrong wire type 1 for field 4 (immutable)"),
    (envelope("v1", "ConfigMap", vi(2, 1)), "wrong wire type 0 for field 2 (data)"),
    (envelope("v1", "ConfigMap", ld(1, vi(1, 1))), "wrong wire type 0 for field 1 (name)"),
    (envelope("v1", "ConfigMap", ld(1, ld(1, b"\xff"))), "invalid UTF-8"),
    (envelope("v1", "ConfigMap", vi(4, 1)[:1] + b"\xff" * 10 + b"\x01"), "varint overflows 64 bits"),
    (envelope("example.com/v1", "Sample", ld(10, b"\x00" * 12)), "partial element"),
    (envelope("example.com/v1", "Sample", f64(5, float("inf"))), "non-finite"),
    (envelope("example.com/v1", "Sample", ld(25, vi(1, 2**62))), "out of range"),
    (MAGIC + b"\x0a\x05ab", "runs past the end"),
]


@pytest.mark.parametrize(("body", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_errors(body: bytes, message: str) -> None:
    assert message in error(body)


def test_protobuf_error_is_a_value_error() -> None:
    assert issubclass(ProtobufError, ValueError)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    raw = b""
    for _ in range(5000):
        raw = ld(24, raw)
    assert "nested too deeply" in error(envelope("example.com/v1", "Sample", raw))


def test_schema_errors() -> None:
    bad = Schema({"messages": {"M": [[1, "m", "map[string][][]string", "o"]], "N": [[1, "x", "Nope", ""]]},
                  "kinds": {"/v1/N": "N"}})
    with pytest.raises(ProtobufError, match="nested container"):
        bad.decode_message(b"", "M")
    with pytest.raises(ProtobufError, match="no protobuf schema for message Nope"):
        bad.decode_object(envelope("v1", "N", ld(1, b"")))


def test_a_map_of_slices_is_a_map_of_wrapped_lists() -> None:
    """authentication/v1 UserInfo.extra (map[string]ExtraValue, ExtraValue []string): gogo writes each value
    as a message {repeated string items = 1}; packed numbers are accepted too."""
    schema = Schema({"messages": {"U": [[4, "extra", "map[string][]string", "o"], [5, "n", "map[string][]int32", "o"]]},
                     "kinds": {}})
    raw = (entry(4, ld(1, "groups"), ld(2, ld(1, "a") + ld(1, "b"))) + entry(4, ld(1, "none"), ld(2, b""))
           + entry(5, ld(1, "p"), ld(2, ld(1, bytes([1, 2, 0x7F])))))
    assert schema.decode_message(raw, "U") == {"extra": {"groups": ["a", "b"], "none": []}, "n": {"p": [1, 2, 127]}}


def test_the_extractor_reads_the_installed_kubectl_and_agrees_with_the_shipped_schema() -> None:
    """scripts/k8s_protobuf_schema.py on the kubectl the tests run: field numbers never change upstream,
    so every shipped field of the common kinds must come out the same (a newer kubectl may add fields)."""
    import importlib.util
    import shutil
    import sys
    from pathlib import Path

    kubectl_path = Path(sys.executable).with_name("kubectl")
    if not kubectl_path.exists():
        kubectl_path = Path(shutil.which("kubectl") or "")
    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("k8s_protobuf_schema", root / "scripts" / "k8s_protobuf_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    extracted = module.Extractor(str(kubectl_path)).run()
    shipped = builtin_schema()
    assert len(extracted["messages"]) > 1000 and extracted["kinds"]["apps/v1/Deployment"] == "k8s.io/api/apps/v1.Deployment"
    checked: set[str] = set()
    for kind in ("/v1/Pod", "/v1/ConfigMap", "/v1/Secret", "/v1/Service", "apps/v1/Deployment", "batch/v1/Job",
                 "policy/v1/Eviction", "authentication.k8s.io/v1/TokenRequest"):
        name = shipped.kinds[kind]
        todo, seen = [name], set()
        while todo:
            message = todo.pop()
            if message in seen:
                continue
            seen.add(message)
            got = {tuple(f[:3]) for f in extracted["messages"][message]}
            for f in shipped.messages[message]:
                assert tuple(f[:3]) in got, (message, f)
                ref = f[2].lstrip("*").removeprefix("[]").split("]")[-1].lstrip("*").removeprefix("[]")
                if ref in shipped.messages:
                    todo.append(ref)
        checked |= seen
    assert len(checked) > 100  # the walk reached the nested messages (PodSpec, Container, probes, volumes ...)


def _message_bytes() -> st.SearchStrategy[bytes]:
    """Well-formed-ish protobuf: fields 1-20 of every wire type, length-delimited ones holding random bytes,
    UTF-8 text or (recursively) another such message: reaches deep into the real schemas."""
    leaf = st.one_of(st.binary(max_size=12), st.text(max_size=8).map(str.encode))

    def fields(inner: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
        one = st.one_of(
            st.tuples(st.integers(1, 20), st.integers(0, 2**64 - 1)).map(lambda t: vi(t[0], t[1])),
            st.tuples(st.integers(1, 20), inner).map(lambda t: ld(t[0], t[1])),
            st.tuples(st.integers(1, 20), st.binary(min_size=8, max_size=8)).map(
                lambda t: varint(t[0] << 3 | 1) + t[1]),
            st.tuples(st.integers(1, 20), st.binary(min_size=4, max_size=4)).map(
                lambda t: varint(t[0] << 3 | 5) + t[1]))
        return st.lists(one, max_size=6).map(b"".join)

    return st.recursive(leaf, fields, max_leaves=40)


@settings(max_examples=int(os.environ.get("KUBESIM_FUZZ_EXAMPLES", "300")), deadline=None)
@given(_message_bytes(), st.sampled_from(["/v1/Pod", "apps/v1/Deployment", "/v1/Secret", "batch/v1/CronJob",
                                          "policy/v1/Eviction", "/v1/Service"]))
def test_any_message_decodes_or_fails_cleanly(raw: bytes, kind_key: str) -> None:
    """Whatever a client sends, the decoder answers a dict or ProtobufError (a 400), never another exception
    (which the server would turn into a 500)."""
    shipped = builtin_schema()
    group_version, _, kind = kind_key.rpartition("/")
    api = group_version.lstrip("/")
    for body in (envelope(api, kind, raw), MAGIC + raw, envelope(api, kind, raw[:-1])):
        try:
            obj = shipped.decode_object(body)[2]
        except ProtobufError:
            continue
        orjson.dumps(obj)  # and what it returns can be stored
