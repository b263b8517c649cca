"""Kubeconfigs for fake clusters: the server URL keeps the ``/clusters/<name>`` path prefix."""
from __future__ import annotations

import base64
import os

import yaml


def cluster_url(server: str, cluster: str) -> str:
    return f"{server.rstrip('/')}/clusters/{cluster}"


def kubeconfig(server: str, cluster: str, ca_pem: bytes | None = None) -> str:
    """A kubeconfig (YAML text) whose current context talks to ``cluster`` on ``server`` (trusting ``ca_pem``)."""
    name = f"kubesim-{cluster}"
    entry: dict[str, str] = {"server": cluster_url(server, cluster)}
    if ca_pem:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": entry}],
        "users": [{"name": name, "user": {"token": "kubesim"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_kubeconfigs(directory: str, server: str, clusters: list[str], ca_pem: bytes | None = None) -> dict[str, str]:
    os.makedirs(directory, exist_ok=True)
    paths = {}
    for c in clusters:
        path = os.path.join(directory, f"{c}.kubeconfig")
        with open(path, "w") as f:
            f.write(kubeconfig(server, c, ca_pem))
        paths[c] = path
    return paths
