"""Serving over TLS (``Server(tls=True)``, ``kubesim serve --tls``): kubeconfigs carry the CA, real
clients verify it, and bearer tokens (which client-go sends only over TLS) reach the server."""
from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from apiserver.kubeconfig import kubeconfig
from apiserver.multiplexer import Multiplexer
from apiserver.server import Server

from helpers import kubesim_serve

KUBECTL = str(Path(sys.executable).with_name("kubectl"))


@pytest.fixture(scope="module")
def tls_server() -> Server:
    mux = Multiplexer()
    mux.create("t1")
    server = Server(mux, "127.0.0.1", 0, tls=True).start()
    yield server
    server.stop()


def kubectl(path: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    p = subprocess.run([KUBECTL, "--kubeconfig", path, *args], capture_output=True, text=True, env=env, timeout=30)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_kubectl_over_https_with_the_ca_and_a_bearer_token(tls_server: Server, tmp_path: Path) -> None:
    assert tls_server.url.startswith("https://")
    path = tmp_path / "t1.kubeconfig"
    path.write_text(kubeconfig(tls_server.url, "t1", tls_server.ca_pem))
    assert "default" in kubectl(str(path), "get", "namespaces", "-o", "name").stdout
    kubectl(str(path), "create", "serviceaccount", "robot")
    token = kubectl(str(path), "create", "token", "robot").stdout.strip()
    who = json.loads(kubectl(str(path), "auth", "whoami", "-o", "json", f"--token={token}").stdout)
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
    # without the CA, kubectl refuses the server
    bare = tmp_path / "bare.kubeconfig"
    bare.write_text(kubeconfig(tls_server.url, "t1"))
    p = kubectl(str(bare), "get", "namespaces", check=False)
    assert p.returncode != 0 and "certificate" in p.stderr


def test_python_clients_verify_the_ca(tls_server: Server, tmp_path: Path) -> None:
    from kubernetes import client, config

    ca = tmp_path / "ca.crt"
    ca.write_bytes(tls_server.ca_pem or b"")
    trust = ssl.create_default_context(cafile=str(ca))
    r = httpx.get(f"{tls_server.url}/clusters/t1/api/v1/namespaces", verify=trust)
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{tls_server.url}/healthz")  # the system trust store does not know kubesim's CA
    path = tmp_path / "k.kubeconfig"
    path.write_text(kubeconfig(tls_server.url, "t1", tls_server.ca_pem))
    v1 = client.CoreV1Api(config.new_client_from_config(str(path)))
    assert {n.metadata.name for n in v1.list_namespace().items} >= {"default", "kube-system"}
    # the admin API hands out kubeconfigs that carry the CA
    text = httpx.get(f"{tls_server.url}/kubesim/v1/clusters/t1/kubeconfig", params={"server": tls_server.url},
                     verify=trust).text
    assert "certificate-authority-data" in text


def test_cli_serve_tls_writes_kubeconfigs_that_work(tmp_path: Path) -> None:
    with kubesim_serve("--tls", "--clusters", "1", "--kubeconfig-dir", str(tmp_path), "--tls-dir",
                       str(tmp_path)) as url:
        assert url.startswith("https://")
        assert (tmp_path / "ca.crt").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        assert "kube-system" in kubectl(str(tmp_path / "c1.kubeconfig"), "get", "ns", "-o", "name").stdout
