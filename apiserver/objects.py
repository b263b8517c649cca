"""How an object is kept: its encoded JSON bytes plus a compact record of what filters read.

"Serialize once": a list is a byte join of ``data`` and a watch event wraps ``data`` once for
all watchers. The record holds only what selectors and indexes need without decoding.
"""
from __future__ import annotations

from typing import Any, Mapping

import orjson

EMPTY_LABELS: Mapping[str, str] = {}


class StoredObject:
    """One stored version of an object (immutable once committed)."""

    __slots__ = ("key", "namespace", "rv", "labels", "fields", "data")

    def __init__(self, key: str, namespace: str, rv: int, labels: Mapping[str, str],
                 fields: tuple[str, ...] | None, data: bytes) -> None:
        self.key = key
        self.namespace = namespace
        self.rv = rv
        self.labels = labels
        self.fields = fields
        self.data = data

    @property
    def name(self) -> str:
        return self.key[len(self.namespace) + 1:] if self.namespace else self.key

    def decode(self) -> dict[str, Any]:
        return orjson.loads(self.data)

    def __repr__(self) -> str:
        return f"StoredObject({self.key!r}, rv={self.rv})"


def object_key(namespace: str, name: str) -> str:
    """etcd's key suffix: ``ns/name`` for namespaced objects, ``name`` otherwise (same order)."""
    return f"{namespace}/{name}" if namespace else name


class LabelInterner:
    """Objects of one workload share label sets; keep one dict per distinct set."""

    __slots__ = ("_sets",)

    def __init__(self) -> None:
        self._sets: dict[tuple[tuple[str, str], ...], Mapping[str, str]] = {}

    def intern(self, labels: Mapping[str, str] | None) -> Mapping[str, str]:
        if not labels:
            return EMPTY_LABELS
        k = tuple(sorted(labels.items()))
        found = self._sets.get(k)
        if found is None:
            found = self._sets[k] = dict(k)
        return found

    def __len__(self) -> int:
        return len(self._sets)


class StringInterner:
    """One shared copy of each repeated string (namespaces, node names, phases) per cluster.

    ``strings`` maps a value to its shared copy (``strings.setdefault(v, v)`` from hot loops).
    Not ``sys.intern``: those are immortal on some Pythons, and node names churn. Bounded: past
    ``limit`` distinct values it starts over (records keep their strings; only sharing is lost).
    """

    __slots__ = ("strings", "limit")

    def __init__(self, limit: int = 1 << 16) -> None:
        self.strings: dict[str, str] = {}
        self.limit = limit

    def table(self) -> dict[str, str]:
        if len(self.strings) >= self.limit:
            self.strings.clear()
        return self.strings

    def __call__(self, s: str) -> str:
        return self.table().setdefault(s, s)

    def __len__(self) -> int:
        return len(self.strings)


def exact_bytes(data: bytes) -> bytes:
    """An exact-size copy of ``data``, for bytes that are kept.

    orjson returns its output buffer without shrinking it: 4 KiB for a tiny object, ~4x the size
    of a 1 KB pod. Joining with an empty tail always allocates a fresh, exactly sized object.
    """
    return b"".join((data, b""))


def join_list(head: bytes, items: list[bytes], tail: bytes) -> bytes:
    """``head + b",".join(items) + tail`` (a List body), copying the items once instead of three times.

    Each ``+`` on a multi-megabyte body is another full copy into a freshly mapped block.
    """
    if len(items) < 2:
        return b"".join((head, *items, tail))
    return b",".join([head + items[0], *items[1:-1], items[-1] + tail])


def with_resource_version(data: bytes, rv: int) -> bytes:
    """Re-encode an object with another resourceVersion (rare paths only)."""
    obj = orjson.loads(data)
    obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
    return exact_bytes(orjson.dumps(obj))
