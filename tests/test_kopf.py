"""A real kopf operator (a subprocess) against a path-prefixed fake cluster.

kopf lists and watches the custom resources, adds its finalizer, patches the status on
creation, and on deletion runs its delete handler and removes the finalizer, which lets the
object go. The test drives it through the Python client and polls with bounded waits.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

OPERATOR = Path(__file__).parent / "operators" / "widget_operator.py"
GROUP = "kopf.kubesim.io"
FINALIZER = "kopf.kubesim.io/finalizer"
T = TypeVar("T")


def wait_for(what: str, fn: Callable[[], T | None], timeout: float, log: Path) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log.exists() else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}; kopf's log ends with:\n{tail}")
        time.sleep(0.1)


@pytest.fixture
def cluster(kubesim_session: Any) -> Iterator[tuple[str, client.ApiClient]]:
    kubesim_session.create_cluster("kopf")
    path = kubesim_session.kubeconfig("kopf")
    cfg = client.Configuration()
    config.load_kube_config(config_file=path, client_configuration=cfg)
    assert cfg.host.endswith("/clusters/kopf")
    api = client.ApiClient(cfg)
    try:
        yield path, api
    finally:
        api.close()
        kubesim_session.delete_cluster("kopf")


def start_operator(kubeconfig: str, tmp_path: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
    env.update(KUBECONFIG=kubeconfig, HOME=str(tmp_path), KUBESIM_KOPF_MARKER=str(tmp_path / "deleted.txt"),
               PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces", "--verbose", str(OPERATOR)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(tmp_path), start_new_session=True)


def stop_operator(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_kopf_operator_patches_status_and_releases_its_finalizer(
        cluster: tuple[str, client.ApiClient], tmp_path: Path) -> None:
    kubeconfig, api = cluster
    ext = client.ApiextensionsV1Api(api)
    ext.create_custom_resource_definition({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    })
    co = client.CustomObjectsApi(api)
    log = tmp_path / "kopf.log"
    proc = start_operator(kubeconfig, tmp_path, log)
    try:
        co.create_namespaced_custom_object(GROUP, "v1", "default", "widgets", {
            "apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 21}})

        def handled() -> dict[str, Any] | None:
            assert proc.poll() is None, f"kopf exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            obj = co.get_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w1")
            status = obj.get("status") or {}
            return obj if status.get("on_create") and status.get("phase") else None

        obj = wait_for("kopf to patch the status", handled, 30, log)
        assert obj["status"]["on_create"] == {"message": "hello w1", "size": 42}
        assert obj["status"]["phase"] == "Ready"
        assert FINALIZER in obj["metadata"].get("finalizers", [])
        assert obj["metadata"]["generation"] == 1  # status and metadata writes keep the generation

        # kopf has finished with creation once its progress annotations are settled
        def idle() -> bool:
            o = co.get_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w1")
            ann = o["metadata"].get("annotations") or {}
            return "kopf.zalando.org/last-handled-configuration" in ann and not any(
                k.startswith("kopf.zalando.org/on_create") for k in ann)
        wait_for("kopf to settle", idle, 15, log)

        deleting = co.delete_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w1")
        assert deleting["metadata"].get("deletionTimestamp")  # held by kopf's finalizer for now

        def gone() -> bool:
            try:
                co.get_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w1")
            except ApiException as e:
                assert e.status == 404
                return True
            return False

        wait_for("kopf to release the finalizer", gone, 30, log)
        assert (tmp_path / "deleted.txt").read_text() == "deleted default/w1\n"
        assert proc.poll() is None
    finally:
        stop_operator(proc)
    text = log.read_text()
    assert "Traceback" not in text, text[-4000:]
    assert "[ERROR" not in text and "[WARNING" not in text, text[-4000:]
