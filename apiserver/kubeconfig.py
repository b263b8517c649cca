"""Kubeconfigs for fake clusters: the server URL keeps the ``/clusters/<name>`` path prefix."""
from __future__ import annotations

import os

import yaml


def cluster_url(server: str, cluster: str) -> str:
    return f"{server.rstrip('/')}/clusters/{cluster}"


def kubeconfig(server: str, cluster: str) -> str:
    """A kubeconfig (YAML text) whose current context talks to ``cluster`` on ``server``."""
    name = f"kubesim-{cluster}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": cluster_url(server, cluster)}}],
        "users": [{"name": name, "user": {"token": "kubesim"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_kubeconfigs(directory: str, server: str, clusters: list[str]) -> dict[str, str]:
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for c in clusters:
        path = os.path.join(directory, f"{c}.kubeconfig")
        with open(path, "w") as f:
            f.write(kubeconfig(server, c))
        paths[c] = path
    return paths
