"""The ``kubesim`` command line: ``serve`` (with kubeconfigs kubectl can use, stopped by SIGINT),
``kubeconfig`` and ``demo``, each run as a real subprocess."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

BIN = os.path.dirname(sys.executable)
KUBESIM = os.path.join(BIN, "kubesim")
KUBECTL = os.path.join(BIN, "kubectl")


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(HOME=str(home), PATH=BIN + os.pathsep + os.environ.get("PATH", ""), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """``kubesim serve --port 0 --clusters 2 --kubeconfig-dir DIR``; yields (process, base URL, DIR)."""
    kdir = tmp_path / "kubeconfigs"
    proc = subprocess.Popen([KUBESIM, "serve", "--port", "0", "--clusters", "2", "--kubeconfig-dir", str(kdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env(tmp_path),
                            start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.match(r"kubesim serving 2 cluster\(s\) on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url is not None, f"no serving line; exit {proc.poll()}: {proc.stderr.read() if proc.poll() else ''}"
        assert not url.endswith(":0"), url
        for _ in range(100):  # the port is bound before the line is printed; wait until it answers
            try:
                assert httpx.get(url + "/clusters/c1/healthz", timeout=1).status_code == 200
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield proc, url, kdir
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_serve_kubeconfigs_work_with_kubectl_and_sigint_stops_cleanly(
        served: tuple[subprocess.Popen[str], str, Path], tmp_path: Path) -> None:
    proc, url, kdir = served
    assert sorted(p.name for p in kdir.iterdir()) == ["c1.kubeconfig", "c2.kubeconfig"]
    env = clean_env(tmp_path)
    for name in ("c1", "c2"):
        kc = str(kdir / f"{name}.kubeconfig")
        doc = yaml.safe_load(Path(kc).read_text())
        assert doc["clusters"][0]["cluster"]["server"] == f"{url}/clusters/{name}"
        manifest = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-{name}\ndata:\n  a: b\n"
        p = subprocess.run([KUBECTL, "--kubeconfig", kc, "--cache-dir", str(tmp_path / "cache"), "create", "-f", "-"],
                           input=manifest, capture_output=True, text=True, env=env, timeout=30)
        assert p.returncode == 0, p.stderr
    for name in ("c1", "c2"):
        kc = str(kdir / f"{name}.kubeconfig")
        p = subprocess.run([KUBECTL, "--kubeconfig", kc, "--cache-dir", str(tmp_path / "cache"), "get", "cm",
                            "-o", "name"], capture_output=True, text=True, env=env, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout.split() == [f"configmap/only-in-{name}"]  # clusters are isolated
    clusters = {c["name"]: c for c in httpx.get(url + "/kubesim/v1/clusters").json()}
    assert set(clusters) == {"c1", "c2"}

    # a watch is open when SIGINT arrives: the server still stops promptly and cleanly
    with httpx.stream("GET", f"{url}/clusters/c1/api/v1/configmaps",
                      params={"watch": "true", "timeoutSeconds": "60"}, timeout=10) as r:
        assert r.status_code == 200
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail("kubesim serve did not stop within 15s of SIGINT")
    out, err = proc.communicate(timeout=5)
    assert code == 0, err
    assert "kubesim: stopped" in out
    assert "Traceback" not in err, err


def test_serve_rejects_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        p = subprocess.run([KUBESIM, "serve", "--port", port], capture_output=True, text=True,
                           env=clean_env(tmp_path), timeout=30)
    assert p.returncode == 1
    assert "cannot listen" in p.stderr


def test_kubeconfig_command_output(tmp_path: Path) -> None:
    p = subprocess.run([KUBESIM, "kubeconfig", "--server", "http://127.0.0.1:16443", "--cluster", "wl-7"],
                       capture_output=True, text=True, env=clean_env(tmp_path), timeout=30)
    assert p.returncode == 0, p.stderr
    doc = yaml.safe_load(p.stdout)
    assert doc["kind"] == "Config" and doc["apiVersion"] == "v1"
    ctx = next(c for c in doc["contexts"] if c["name"] == doc["current-context"])["context"]
    cluster = next(c for c in doc["clusters"] if c["name"] == ctx["cluster"])["cluster"]
    assert cluster["server"] == "http://127.0.0.1:16443/clusters/wl-7"
    assert any(u["name"] == ctx["user"] for u in doc["users"])


def test_demo_runs(tmp_path: Path) -> None:
    p = subprocess.run([KUBESIM, "demo", "--clusters", "1", "--nodes", "2", "--pods", "5"],
                       capture_output=True, text=True, env=clean_env(tmp_path), timeout=60)
    assert p.returncode == 0, p.stderr
    assert "7 objects created over HTTP" in p.stdout
    assert "pods on node-0: 3" in p.stdout


def test_usage_errors(tmp_path: Path) -> None:
    p = subprocess.run([KUBESIM, "serve", "--clusters", "0"], capture_output=True, text=True,
                       env=clean_env(tmp_path), timeout=30)
    assert p.returncode != 0 and "--clusters must be at least 1" in (p.stderr + p.stdout)
    p = subprocess.run([KUBESIM], capture_output=True, text=True, env=clean_env(tmp_path), timeout=30)
    assert p.returncode == 2
