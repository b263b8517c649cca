"""managedFields for every write, not only server-side apply: the Update entries kubectl and controllers
leave, and the apply conflicts they cause (as on a real cluster)."""
from __future__ import annotations

import httpx

from test_kubectl import Kubectl, kubectl  # noqa: F401  (the fixture)


def entries(obj: dict) -> dict[str, dict]:
    return {e["manager"]: e for e in obj["metadata"].get("managedFields") or []}


def test_kubectl_writers_each_get_an_update_entry(kubectl: Kubectl) -> None:
    kubectl.run("create", "deployment", "web", "--image=nginx")
    dep = kubectl.json("get", "deployment", "web", "--show-managed-fields")
    create = entries(dep)["kubectl-create"]
    assert create["operation"] == "Update" and create["apiVersion"] == "apps/v1" and create["fieldsType"] == "FieldsV1"
    spec = create["fieldsV1"]["f:spec"]
    assert "f:replicas" in spec and "f:selector" in spec  # defaulted fields are the creator's, as upstream
    assert "f:status" not in create["fieldsV1"]
    kubectl.run("label", "deployment", "web", "team=a")
    dep = kubectl.json("get", "deployment", "web", "--show-managed-fields")
    label = entries(dep)["kubectl-label"]
    assert label["fieldsV1"] == {"f:metadata": {"f:labels": {"f:team": {}}}}
    # a server-side apply that takes the label over conflicts with kubectl-label
    p = kubectl.run("apply", "--server-side", "-f", "-", check=False, stdin="""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {team: b}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx}]}
""")
    assert p.returncode != 0
    assert 'conflict with "kubectl-label"' in p.stderr and ".metadata.labels.team" in p.stderr


def test_manager_from_user_agent_and_status_writes(kubectl: Kubectl) -> None:
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/configmaps"
    r = httpx.post(url, json={"metadata": {"name": "cm"}, "data": {"a": "1"}},
                   headers={"User-Agent": "my-controller/1.2 (linux/amd64)"})
    assert r.status_code == 201
    assert [(e["manager"], e["operation"]) for e in r.json()["metadata"]["managedFields"]] == [("my-controller", "Update")]
    # a no-op update by another manager changes nothing, not even the resourceVersion
    cm = r.json()
    r2 = httpx.put(f"{url}/cm?fieldManager=other", json=cm)
    assert r2.json()["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"]
    # another manager changing the value takes the field over
    cm["data"]["a"] = "2"
    r3 = httpx.put(f"{url}/cm?fieldManager=other", json=cm)
    got = entries(r3.json())
    assert "f:a" in got["other"]["fieldsV1"]["f:data"]
    assert "my-controller" not in got or "f:a" not in got["my-controller"]["fieldsV1"].get("f:data", {})


def test_no_managed_fields_switch() -> None:
    from helpers import kubesim_serve

    with kubesim_serve("--clusters", "1", "--no-managed-fields") as url:
        cms = f"{url}/clusters/c1/api/v1/namespaces/default/configmaps"
        r = httpx.post(cms, json={"metadata": {"name": "cm"}, "data": {"a": "1"}})
        assert r.status_code == 201 and "managedFields" not in r.json()["metadata"]
        applied = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm2}\ndata: {a: b}\n"
        r = httpx.patch(f"{cms}/cm2?fieldManager=me", content=applied,
                        headers={"Content-Type": "application/apply-patch+yaml"})
        assert r.status_code == 201 and r.json()["metadata"]["managedFields"][0]["operation"] == "Apply"
