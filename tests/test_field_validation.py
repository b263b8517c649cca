"""fieldValidation on built-in kinds: unknown fields are dropped; Strict fails (kubectl), Warn warns (the default)."""
from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
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


SCHEMA_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: boxes.fv.example.com}
spec:
  group: fv.example.com
  scope: Namespaced
  names: {plural: boxes, singular: box, kind: Box}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
              tags: {type: array, items: {type: object, properties: {name: {type: string}}}}
              labels: {type: object, additionalProperties: {type: string}}
              free: {type: object, x-kubernetes-preserve-unknown-fields: true}
              template: {type: object, x-kubernetes-embedded-resource: true, properties: {spec: {type: object}}}
          status: {type: object, properties: {ready: {type: boolean}}}
"""

BOX = {"apiVersion": "fv.example.com/v1", "kind": "Box", "metadata": {"name": "b", "colour": "red"}, "extra": 1,
       "spec": {"size": 2, "bogus": True, "tags": [{"name": "t", "other": 1}], "labels": {"any": "kept"},
                "free": {"anything": {"goes": 1}},
                "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "junk": 1}}}


def test_custom_resources_are_pruned_by_their_structural_schema(kubectl: Kubectl) -> None:
    kubectl.run("create", "-f", "-", stdin=SCHEMA_CRD)
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/fv.example.com/v1/namespaces/default/boxes"
    r = httpx.post(f"{url}?fieldValidation=Strict", json=BOX)
    assert r.status_code == 400
    assert r.json()["message"] == (
        'Box in version "v1" cannot be handled as a Box: strict decoding error: unknown field "metadata.colour", '
        'unknown field "extra", unknown field "spec.bogus", unknown field "spec.tags[0].other", '
        'unknown field "spec.template.junk"')
    r = httpx.post(url, json=BOX)  # Warn: created without them
    assert r.status_code == 201 and len(r.headers.get_list("warning")) == 5
    box = r.json()
    assert "extra" not in box and "colour" not in box["metadata"]
    assert box["spec"] == {"size": 2, "tags": [{"name": "t"}], "labels": {"any": "kept"},
                           "free": {"anything": {"goes": 1}},
                           "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}
    # the status subresource is pruned the same way
    r = httpx.patch(f"{url}/b/status", content=b'{"status": {"ready": true, "phase": "x"}}',
                    headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200 and r.json()["status"] == {"ready": True}
    # kubectl apply (Strict) names the field
    p = kubectl.run("apply", "-f", "-", check=False, stdin="""
apiVersion: fv.example.com/v1
kind: Box
metadata: {name: c}
spec: {size: 1, sise: 2}
""")
    assert p.returncode != 0 and 'strict decoding error: unknown field "spec.sise"' in p.stderr


def test_a_crd_update_that_adds_a_version_is_served(kubectl: Kubectl) -> None:
    kubectl.run("create", "-f", "-", stdin=SCHEMA_CRD)
    crd = kubectl.json("get", "crd", "boxes.fv.example.com")
    v2 = {**crd["spec"]["versions"][0], "name": "v2", "storage": False}
    v2["schema"] = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    crd["spec"]["versions"].append(v2)
    kubectl.run("replace", "-f", "-", stdin=json.dumps(crd))
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/fv.example.com/v2/namespaces/default/boxes"
    r = httpx.post(url, json={"apiVersion": "fv.example.com/v2", "kind": "Box", "metadata": {"name": "v2box"},
                              "spec": {"whatever": 1}})
    assert r.status_code == 201 and r.json()["spec"] == {"whatever": 1}


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["spec", "metadata", "containers", "ports", "labels", "template", "name",
                                         "selector", "matchLabels", "$patch", "x", "status", "volumes", "emptyDir"]),
                        inner, max_size=5), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["spec", "metadata", "status", "data", "junk"]), JSON, max_size=4),
       st.booleans())
def test_the_field_check_never_fails_on_odd_json(obj: dict[str, Any], patch: bool) -> None:
    """Any JSON (lists where objects belong, nulls, numbers) is walked without an exception: type errors
    are for validation, not for this pass; what it reports is exactly what it removed."""
    from apiserver.fieldvalidation import field_checker
    from apiserver.resources import BUILTIN_BY_GVR, resource_types_from_crd

    for rtype in (BUILTIN_BY_GVR[("", "v1", "pods")], BUILTIN_BY_GVR[("apps", "v1", "deployments")]):
        before = json.dumps(obj, sort_keys=True)
        copy = json.loads(before)
        unknown = field_checker().unknown(rtype, copy, patch=patch)
        assert len(unknown) == len(set(unknown)) and (unknown == []) == (json.dumps(copy, sort_keys=True) == before)
    crd = {"spec": {"group": "g.io", "names": {"plural": "ws", "kind": "W"}, "scope": "Namespaced", "versions": [
        {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
            "type": "object", "properties": {"spec": {"type": "object", "properties": {"x": {"type": "string"}}}}}}}]}}
    custom = resource_types_from_crd(crd)[0]
    field_checker().unknown(custom, json.loads(json.dumps(obj)), patch=patch)


def test_a_scale_put_is_not_checked_as_the_kind_itself(kubectl: Kubectl) -> None:
    """PUT .../scale carries an autoscaling/v1 Scale (status.selector is a string there), as the HPA
    controller sends it; it must not be checked against the Deployment's fields."""
    kubectl.run("create", "deployment", "web", "--image=nginx")
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/apps/v1/namespaces/default/deployments/web/scale"
    scale = httpx.get(url).json()
    scale["spec"]["replicas"] = 4
    scale["status"]["selector"] = "app=web"
    r = httpx.put(f"{url}?fieldValidation=Strict", json=scale)
    assert r.status_code == 200 and r.json()["spec"]["replicas"] == 4 and "warning" not in r.headers
