"""fieldValidation on built-in kinds: unknown fields are dropped; Strict fails (kubectl), Warn warns (the default)."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from test_kubectl import Kubectl, kubectl  # noqa: F401  (the fixture)

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labelz: {a: b}}
spec:
  replicas: 2
  replica: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: c, image: nginx, imagePullPolicy: Always, imagez: typo, ports: [{containerPort: 80, portz: 1}]}
"""


def test_kubectl_apply_with_unknown_fields_fails_as_upstream(kubectl: Kubectl) -> None:
    path = kubectl.home / "d.yaml"
    path.write_text(DEPLOYMENT)
    p = kubectl.run("apply", "-f", str(path), check=False)
    assert p.returncode != 0
    assert ('Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
            'unknown field "metadata.labelz", unknown field "spec.replica", '
            'unknown field "spec.template.spec.containers[0].imagez", '
            'unknown field "spec.template.spec.containers[0].ports[0].portz"') in p.stderr, p.stderr
    assert kubectl.get("apps", "v1", "deployments", "default", "web") is None
    # --validate=false (fieldValidation=Ignore): created, the unknown fields dropped
    kubectl.run("apply", "-f", str(path), "--validate=false")
    dep = kubectl.get("apps", "v1", "deployments", "default", "web")
    assert "replica" not in dep["spec"] and "labelz" not in dep["metadata"] and dep["spec"]["replicas"] == 2
    c = dep["spec"]["template"]["spec"]["containers"][0]
    assert "imagez" not in c and "portz" not in c["ports"][0] and c["ports"][0]["containerPort"] == 80


def test_default_is_warn_with_warning_headers_and_pruning(kubectl: Kubectl) -> None:
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/configmaps"
    r = httpx.post(url, json={"metadata": {"name": "cm"}, "data": {"a": "b"}, "dataz": 1, "metadata2": {}})
    assert r.status_code == 201
    assert r.headers.get_list("warning") == ['299 - "unknown field \\"dataz\\""', '299 - "unknown field \\"metadata2\\""']
    assert "dataz" not in r.json() and "dataz" not in kubectl.get("", "v1", "configmaps", "default", "cm")
    # merge patch: the patch's unknown fields are dropped too; a bad mode is a 400
    r = httpx.patch(f"{url}/cm?fieldValidation=Strict", content=b'{"datum": {"x": "y"}}',
                    headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 400 and 'unknown field "datum"' in r.json()["message"]
    r = httpx.patch(f"{url}/cm?fieldValidation=Ignore", content=b'{"datum": {"x": "y"}, "data": {"c": "d"}}',
                    headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200 and "warning" not in r.headers and r.json()["data"] == {"a": "b", "c": "d"}
    assert "datum" not in r.json()
    assert httpx.post(f"{url}?fieldValidation=Loose", json={"metadata": {"name": "x"}}).status_code == 400


def test_strategic_merge_directives_are_not_unknown_fields(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "d", "--image=nginx")
    p = kubectl.run("patch", "deployment", "d", "-p",
                    '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"nginx"}],'
                    '"containers":[{"name":"nginx","image":"nginx:2"}]}}}}')
    assert "patched" in p.stdout
    assert kubectl.get("apps", "v1", "deployments", "default", "d")["spec"]["template"]["spec"]["containers"][0][
        "image"] == "nginx:2"


def test_custom_resources_keep_their_fields(kubectl: Kubectl) -> None:
    url = kubectl.schemaless_crd("things", "Thing", "fv.example.com")
    r = httpx.post(url + "?fieldValidation=Strict", json={"apiVersion": "fv.example.com/v1", "kind": "Thing",
                                                           "metadata": {"name": "t"}, "anything": {"goes": 1}})
    assert r.status_code == 201 and r.json()["anything"] == {"goes": 1}
