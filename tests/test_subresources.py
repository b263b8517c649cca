"""pods/eviction (kubectl drain, PodDisruptionBudgets) and serviceaccounts/token (kubectl create token)."""
from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from apiserver.cluster import ClusterStore

from test_kubectl import Kubectl, kubectl, pod  # noqa: F401  (the fixture)

POLICY = "policy/v1"


def running(k: Kubectl, name: str, node: str = "n1", ready: bool = True, **labels: str) -> None:
    """A pod bound to ``node`` and Running (as a kubelet would report it)."""
    def fn(c: ClusterStore) -> None:
        pods = c.resource("", "v1", "pods")
        c.create(pods, "default", pod(name, node=node, **labels))
        obj = c.get(pods, "default", name).decode()
        obj["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}
        c.update(pods, "default", name, obj, subresource="status")
    k.call(fn)


def budget(k: Kubectl, name: str, *, allowed: int, observed: bool = True, policy: str | None = None,
           **match: str) -> None:
    """A PDB whose status a disruption controller has (or has not yet) filled in."""
    def fn(c: ClusterStore) -> None:
        pdbs = c.resource("policy", "v1", "poddisruptionbudgets")
        spec: dict[str, Any] = {"minAvailable": 1, "selector": {"matchLabels": match}}
        if policy:
            spec["unhealthyPodEvictionPolicy"] = policy
        c.create(pdbs, "default", {"metadata": {"name": name}, "spec": spec})
        if observed:
            obj = c.get(pdbs, "default", name).decode()
            obj["status"] = {"observedGeneration": obj["metadata"]["generation"], "disruptionsAllowed": allowed,
                             "currentHealthy": 1 + allowed, "desiredHealthy": 1, "expectedPods": 1 + allowed}
            c.update(pdbs, "default", name, obj, subresource="status")
    k.call(fn)


def evict(k: Kubectl, name: str, **extra: Any) -> httpx.Response:
    body = {"apiVersion": POLICY, "kind": "Eviction", "metadata": {"name": name, "namespace": "default"}, **extra}
    return httpx.post(f"{k.handle.url}/clusters/{k.cluster}/api/v1/namespaces/default/pods/{name}/eviction", json=body)


def pod_state(k: Kubectl, name: str) -> dict[str, Any] | None:
    return k.get("", "v1", "pods", "default", name)


def test_eviction_without_a_budget_deletes_the_pod(kubectl: Kubectl) -> None:
    running(kubectl, "p1")
    r = evict(kubectl, "p1", deleteOptions={"gracePeriodSeconds": 0})
    assert r.status_code == 201
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    assert pod_state(kubectl, "p1") is None


def test_eviction_with_grace_leaves_a_terminating_pod(kubectl: Kubectl) -> None:
    running(kubectl, "p1")
    assert evict(kubectl, "p1").status_code == 201
    p = pod_state(kubectl, "p1")
    assert p is not None and p["metadata"]["deletionTimestamp"] and p["metadata"]["deletionGracePeriodSeconds"] == 30


def test_a_budget_with_room_is_decremented_and_records_the_pod(kubectl: Kubectl) -> None:
    running(kubectl, "p1", app="web")
    budget(kubectl, "web", allowed=1, app="web")
    assert evict(kubectl, "p1", deleteOptions={"gracePeriodSeconds": 0}).status_code == 201
    assert pod_state(kubectl, "p1") is None
    status = kubectl.get("policy", "v1", "poddisruptionbudgets", "default", "web")["status"]
    assert status["disruptionsAllowed"] == 0 and list(status["disruptedPods"]) == ["p1"]
    cond = [c for c in status["conditions"] if c["type"] == "DisruptionAllowed"]
    assert cond and cond[0]["status"] == "False" and cond[0]["reason"] == "InsufficientPods"


def test_a_budget_with_no_room_is_429_with_its_cause(kubectl: Kubectl) -> None:
    running(kubectl, "p1", app="web")
    budget(kubectl, "web", allowed=0, app="web")
    r = evict(kubectl, "p1")
    assert r.status_code == 429 and "retry-after" not in r.headers
    s = r.json()
    assert s["reason"] == "TooManyRequests"
    assert s["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert s["details"]["causes"] == [{"reason": "DisruptionBudget",
                                       "message": "The disruption budget web needs 1 healthy pods and has 1 currently"}]
    assert pod_state(kubectl, "p1") is not None


def test_a_budget_not_yet_observed_is_429_retry_after_10(kubectl: Kubectl) -> None:
    running(kubectl, "p1", app="web")
    budget(kubectl, "web", allowed=5, observed=False, app="web")
    r = evict(kubectl, "p1")
    assert r.status_code == 429 and r.headers["retry-after"] == "10"
    assert r.json()["details"]["causes"][0]["message"] == "The disruption budget web is still being processed by the server."


def test_pending_terminal_and_unready_pods(kubectl: Kubectl) -> None:
    def make(c: ClusterStore) -> None:
        c.create(c.resource("", "v1", "pods"), "default", pod("pending", app="web"))  # Pending: no budget asked
    kubectl.call(make)
    running(kubectl, "unready", ready=False, app="web")
    budget(kubectl, "web", allowed=0, policy="AlwaysAllow", app="web")
    assert evict(kubectl, "pending", deleteOptions={"gracePeriodSeconds": 0}).status_code == 201
    assert evict(kubectl, "unready", deleteOptions={"gracePeriodSeconds": 0}).status_code == 201
    assert pod_state(kubectl, "pending") is None and pod_state(kubectl, "unready") is None
    assert kubectl.get("policy", "v1", "poddisruptionbudgets", "default", "web")["status"]["disruptionsAllowed"] == 0


def test_two_budgets_name_mismatch_dry_run_and_missing_pod(kubectl: Kubectl) -> None:
    running(kubectl, "p1", app="web", tier="fe")
    budget(kubectl, "a", allowed=1, app="web")
    budget(kubectl, "b", allowed=1, tier="fe")
    r = evict(kubectl, "p1")
    assert r.status_code == 500 and r.json()["status"] == "Failure"
    assert r.json()["message"] == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/pods/p1/eviction"
    r = httpx.post(url, json={"apiVersion": POLICY, "kind": "Eviction", "metadata": {"name": "other"}})
    assert r.status_code == 400 and r.json()["message"] == "name in URL does not match name in Eviction object"
    assert httpx.get(url).status_code == 405
    kubectl.call(lambda c: c.delete(c.resource("policy", "v1", "poddisruptionbudgets"), "default", "b"))
    assert httpx.post(url + "?dryRun=All", json={"apiVersion": POLICY, "kind": "Eviction",
                                                "metadata": {"name": "p1"}}).status_code == 201
    assert pod_state(kubectl, "p1") is not None  # dry run: nothing deleted, the budget untouched
    assert kubectl.get("policy", "v1", "poddisruptionbudgets", "default", "a")["status"]["disruptionsAllowed"] == 1
    assert evict(kubectl, "nope").status_code == 404


def test_kubectl_drain_evicts_and_waits(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "nodes", None, {"metadata": {"name": "n1"}})
    for i in range(3):
        running(kubectl, f"p{i}", app="web")
    running(kubectl, "elsewhere", node="n2", app="web")
    p = kubectl.run("drain", "n1", "--force", "--grace-period=0", "--timeout=20s", "-v=6")
    assert "evicting pod default/p0" in p.stdout + p.stderr
    assert "node/n1 drained" in p.stdout
    assert "/pods/p0/eviction" in p.stderr  # the eviction API, not a plain delete
    assert kubectl.get("", "v1", "nodes", None, "n1")["spec"]["unschedulable"] is True
    assert [pod_state(kubectl, f"p{i}") for i in range(3)] == [None, None, None]
    assert pod_state(kubectl, "elsewhere") is not None


def test_kubectl_drain_stops_at_a_budget(kubectl: Kubectl) -> None:
    kubectl.create("", "v1", "nodes", None, {"metadata": {"name": "n1"}})
    running(kubectl, "p0", app="web")
    budget(kubectl, "web", allowed=0, app="web")
    p = kubectl.run("drain", "n1", "--force", "--grace-period=0", "--timeout=3s", check=False, timeout=60)
    assert p.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget" in p.stdout + p.stderr
    assert pod_state(kubectl, "p0") is not None


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_kubectl_create_token(kubectl: Kubectl) -> None:
    kubectl.run("create", "serviceaccount", "robot")
    token = kubectl.run("create", "token", "robot", "--duration=20m", "--audience=api", "--audience=vault").stdout.strip()
    c = claims(token)
    sa = kubectl.get("", "v1", "serviceaccounts", "default", "robot")
    assert c["sub"] == "system:serviceaccount:default:robot" and c["aud"] == ["api", "vault"]
    assert c["exp"] - c["iat"] == 1200
    assert c["kubernetes.io"] == {"namespace": "default", "serviceaccount": {"name": "robot", "uid": sa["metadata"]["uid"]}}
    p = kubectl.run("create", "token", "robot", "--duration=5m", check=False)
    assert p.returncode != 0 and "may not specify a duration less than 10 minutes" in p.stderr
    p = kubectl.run("create", "token", "ghost", check=False)
    assert p.returncode != 0 and 'serviceaccounts "ghost" not found' in p.stderr


def test_token_request_defaults_and_discovery(kubectl: Kubectl) -> None:
    kubectl.run("create", "serviceaccount", "robot")
    base = f"{kubectl.handle.url}/clusters/{kubectl.cluster}"
    r = httpx.post(f"{base}/api/v1/namespaces/default/serviceaccounts/robot/token",
                   json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})
    assert r.status_code == 201
    tr = r.json()
    assert tr["kind"] == "TokenRequest" and tr["spec"]["expirationSeconds"] == 3600
    assert tr["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    assert claims(tr["status"]["token"])["aud"] == tr["spec"]["audiences"]
    legacy = {r["name"]: r for r in httpx.get(f"{base}/api/v1").json()["resources"]}
    assert legacy["pods/eviction"] == {"name": "pods/eviction", "singularName": "", "namespaced": True,
                                       "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"]}
    assert legacy["serviceaccounts/token"]["kind"] == "TokenRequest"
    agg = httpx.get(f"{base}/api", headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"})
    core = {r["resource"]: r for r in agg.json()["items"][0]["versions"][0]["resources"]}
    assert {"subresource": "eviction", "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
            "verbs": ["create"]} in core["pods"]["subresources"]
    assert [s["subresource"] for s in core["serviceaccounts"]["subresources"]] == ["token"]



def test_binding_assigns_the_pod_once(kubectl: Kubectl) -> None:
    kubectl.call(lambda c: c.create(c.resource("", "v1", "pods"), "default", pod("p")))
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/pods/p/binding"
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p", "annotations": {"by": "sched"}},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}
    r = httpx.post(url, json=binding)
    assert r.status_code == 201 and r.json()["status"] == "Success"
    p = pod_state(kubectl, "p")
    assert p["spec"]["nodeName"] == "n1" and p["metadata"]["annotations"] == {"by": "sched"}
    cond = [c for c in p["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert cond and cond[0]["status"] == "True" and cond[0]["lastTransitionTime"]
    assert p["status"]["phase"] == "Pending"  # status kept: one write of spec and status together
    r = httpx.post(url, json={**binding, "target": {"kind": "Node", "name": "n2"}})
    assert r.status_code == 409 and r.json()["message"] == (
        'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to node "n1"')
    r = httpx.post(url, json={**binding, "target": {"kind": "Pod", "name": ""}})
    assert r.status_code == 422 and {c["field"] for c in r.json()["details"]["causes"]} == {"target.kind", "target.name"}
    assert httpx.post(url.replace("/p/", "/ghost/"), json={**binding, "metadata": {"name": "ghost"}}).status_code == 404
    names = [r["name"] for r in httpx.get(f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1").json()["resources"]]
    assert [n for n in names if n.startswith("pods")] == ["pods", "pods/binding", "pods/eviction", "pods/status"]


def test_kubectl_auth_can_i_and_whoami(kubectl: Kubectl) -> None:
    assert kubectl.run("auth", "can-i", "create", "pods").stdout.strip() == "yes"
    assert kubectl.run("auth", "can-i", "get", "/healthz").stdout.strip() == "yes"
    listed = kubectl.run("auth", "can-i", "--list").stdout
    assert "*.*" in listed and "[*]" in listed
    who = kubectl.run("auth", "whoami", "-o", "json").stdout
    assert json.loads(who)["status"]["userInfo"]["username"] == "kubernetes-admin"
    # kubectl sends no bearer token over plain HTTP; a client that does is told whose token it is
    kubectl.run("create", "serviceaccount", "robot")
    token = kubectl.run("create", "token", "robot").stdout.strip()
    r = httpx.post(f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/authentication.k8s.io/v1/selfsubjectreviews",
                   json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
                   headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201 and r.json()["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"


def test_token_review_accepts_only_live_kubesim_tokens(kubectl: Kubectl) -> None:
    kubectl.run("create", "serviceaccount", "robot")
    token = kubectl.run("create", "token", "robot", "--audience=vault").stdout.strip()
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/authentication.k8s.io/v1/tokenreviews"

    def review(tok: str, audiences: list[str] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"token": tok}
        if audiences:
            spec["audiences"] = audiences
        r = httpx.post(url, json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
        assert r.status_code == 201
        return r.json()["status"]

    ok = review(token, ["vault"])
    assert ok["authenticated"] is True and ok["audiences"] == ["vault"]
    assert ok["user"]["username"] == "system:serviceaccount:default:robot"
    assert "system:serviceaccounts:default" in ok["user"]["groups"]
    assert review(token, ["other"])["authenticated"] is False
    assert review(token[:-2] + "xx")["authenticated"] is False  # the signature
    assert review("not-a-token")["authenticated"] is False
    kubectl.run("delete", "serviceaccount", "robot")
    kubectl.run("create", "serviceaccount", "robot")  # same name, new uid: the old token is dead
    assert review(token)["authenticated"] is False
    assert httpx.get(url).status_code == 405


def test_kubectl_certificate_approve(kubectl: Kubectl) -> None:
    csr = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
           "metadata": {"name": "node-csr"},
           "spec": {"request": base64.b64encode(b"-----BEGIN CERTIFICATE REQUEST-----\n...").decode(),
                    "signerName": "kubernetes.io/kube-apiserver-client-kubelet", "usages": ["client auth"],
                    "username": "system:node:n1", "expirationSeconds": 86400}}
    kubectl.run("create", "-f", "-", stdin=json.dumps(csr))
    rows = kubectl.run("get", "csr").stdout.splitlines()
    assert rows[0].split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    assert rows[1].split()[2:] == ["kubernetes.io/kube-apiserver-client-kubelet", "system:node:n1", "24h", "Pending"]
    assert "approved" in kubectl.run("certificate", "approve", "node-csr").stdout
    got = kubectl.json("get", "csr", "node-csr")
    assert [(c["type"], c["status"]) for c in got["status"]["conditions"]] == [("Approved", "True")]
    assert got["spec"]["username"] == "system:node:n1"  # the approval writes status only
    assert kubectl.run("get", "csr").stdout.splitlines()[1].split()[-1] == "Approved"


def test_namespace_finalize_is_how_a_stuck_namespace_is_released(kubectl: Kubectl) -> None:
    kubectl.run("create", "namespace", "stuck")
    ns = kubectl.json("get", "namespace", "stuck")
    ns["spec"]["finalizers"] = ["kubernetes", "example.com/hold"]
    ns["metadata"]["labels"]["ignored"] = "yes"  # /finalize changes spec.finalizers and nothing else
    kubectl.run("replace", "--raw", "/api/v1/namespaces/stuck/finalize", "-f", "-", stdin=json.dumps(ns))
    got = kubectl.json("get", "namespace", "stuck")
    assert got["spec"]["finalizers"] == ["kubernetes", "example.com/hold"] and "ignored" not in got["metadata"]["labels"]
    kubectl.run("delete", "namespace", "stuck", "--wait=false")
    got = kubectl.json("get", "namespace", "stuck")  # the namespace controller's own finalizer is done; ours holds it
    assert got["status"]["phase"] == "Terminating" and got["spec"]["finalizers"] == ["example.com/hold"]
    got["spec"]["finalizers"] = []
    kubectl.run("replace", "--raw", "/api/v1/namespaces/stuck/finalize", "-f", "-", stdin=json.dumps(got))
    assert kubectl.get("", "v1", "namespaces", None, "stuck") is None
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/finalize"
    assert httpx.post(url, json={}).status_code == 405
    names = {r["name"] for r in httpx.get(f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1").json()["resources"]}
    assert "namespaces/finalize" in names


def test_pod_status_writes_may_change_labels_but_not_owners_or_spec(kubectl: Kubectl) -> None:
    """podStatusStrategy: /status keeps the old spec and ownerReferences, takes the new status and metadata
    (a custom resource's /status takes nothing but status)."""
    running(kubectl, "p", app="web")
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/pods/p/status"
    patch = {"metadata": {"labels": {"ready": "yes"}, "annotations": {"a": "b"},
                          "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u"}]},
             "spec": {"nodeName": "elsewhere"}, "status": {"phase": "Succeeded"}}
    r = httpx.patch(url, json=patch, headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200
    p = pod_state(kubectl, "p")
    assert p["metadata"]["labels"] == {"app": "web", "ready": "yes"} and p["metadata"]["annotations"] == {"a": "b"}
    assert "ownerReferences" not in p["metadata"] and p["spec"]["nodeName"] == "n1"
    assert p["status"]["phase"] == "Succeeded"
