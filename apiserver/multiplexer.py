"""Many fake clusters in one process, each with its own store, resourceVersions and watchers."""
from __future__ import annotations

import zlib
from typing import Iterator

from . import errors
from .clock import Clock, RealClock
from .cluster import ClusterStore
from .storage import StoreConfig


class Multiplexer:
    """Clusters by name; created and deleted at run time. An empty cluster costs a few KB."""

    def __init__(self, *, clock: Clock | None = None, config: StoreConfig | None = None,
                 seed: int | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        self.config = config or StoreConfig()
        self.seed = seed
        self._clusters: dict[str, ClusterStore] = {}

    def create(self, name: str, *, bootstrap: bool = True) -> ClusterStore:
        if name in self._clusters:
            raise errors.already_exists("clusters", "kubesim.io", name)
        seed = None if self.seed is None else zlib.crc32(f"{self.seed}/{name}".encode())
        cluster = ClusterStore(name, clock=self.clock, config=self.config, seed=seed, bootstrap=bootstrap)
        self._clusters[name] = cluster
        return cluster

    def get(self, name: str) -> ClusterStore:
        cluster = self._clusters.get(name)
        if cluster is None:
            raise errors.not_found("clusters", "kubesim.io", name)
        return cluster

    def find(self, name: str) -> ClusterStore | None:
        return self._clusters.get(name)

    def delete(self, name: str) -> None:
        cluster = self._clusters.pop(name, None)
        if cluster is None:
            raise errors.not_found("clusters", "kubesim.io", name)
        cluster.storage.close_watchers()

    def names(self) -> list[str]:
        return sorted(self._clusters)

    def __iter__(self) -> Iterator[ClusterStore]:
        return iter(list(self._clusters.values()))

    def __len__(self) -> int:
        return len(self._clusters)

    def __contains__(self, name: object) -> bool:
        return name in self._clusters
