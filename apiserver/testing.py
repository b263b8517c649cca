"""A pytest plugin (entry point ``pytest11``): a real kubesim server for a test, in one line.

    def test_my_controller(kubesim):
        config = kubesim.kubeconfig("default")      # path to a kubeconfig file
        ...

``kubesim`` is per test, ``kubesim_session`` per session. Both serve over real HTTP on a free
loopback port, so any client (kubectl, client-go, the Python clients, kopf) can talk to them.
"""
from __future__ import annotations

import os
import tempfile
from typing import Iterator

import pytest

from .kubeconfig import cluster_url, kubeconfig
from .multiplexer import Multiplexer
from .server import Server
from .storage import StoreConfig


class KubesimHandle:
    def __init__(self, server: Server, directory: str) -> None:
        self.server = server
        self.mux = server.mux
        self.url = server.url
        self._dir = directory

    def cluster_url(self, name: str = "default") -> str:
        return cluster_url(self.url, name)

    def kubeconfig(self, name: str = "default") -> str:
        """Path to a kubeconfig file for cluster ``name`` (created on first use)."""
        path = os.path.join(self._dir, f"{name}.kubeconfig")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(kubeconfig(self.url, name, self.server.ca_pem))
        return path

    def create_cluster(self, name: str) -> None:
        self.server.call(self.mux.create, name)

    def delete_cluster(self, name: str) -> None:
        self.server.call(self.mux.delete, name)

    def call(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.server.call(fn, *args, **kwargs)


def start(clusters: tuple[str, ...] = ("default",), config: StoreConfig | None = None) -> tuple[Server, str]:
    mux = Multiplexer(config=config)
    for c in clusters:
        mux.create(c)
    server = Server(mux, "127.0.0.1", 0).start()
    return server, tempfile.mkdtemp(prefix="kubesim-")


@pytest.fixture
def kubesim() -> Iterator[KubesimHandle]:
    server, directory = start()
    try:
        yield KubesimHandle(server, directory)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kubesim_session() -> Iterator[KubesimHandle]:
    server, directory = start()
    try:
        yield KubesimHandle(server, directory)
    finally:
        server.stop()
