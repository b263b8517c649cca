"""kubectl's typed commands (``create configmap|secret|deployment|job|...``) send protobuf bodies.

Each object kubectl creates that way must be stored as the JSON kubectl itself would have sent: the
client-side dry run (``--dry-run=client -o json``) is the reference, and what the server then serves
must contain every field of it (the server adds uid, timestamps, defaults and status)."""
from __future__ import annotations

import json
from typing import Any

import pytest

from test_kubectl import Kubectl, kubectl  # noqa: F401  (the fixture)

COMMANDS = [
    ("configmaps", "cm1", ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=empty="]),
    ("secrets", "s1", ["create", "secret", "generic", "s1", "--from-literal=user=admin", "--from-literal=pw=s3cr3t"]),
    ("secrets", "tls1", ["create", "secret", "docker-registry", "tls1", "--docker-server=r.example",
                         "--docker-username=u", "--docker-password=p"]),
    ("namespaces", "ns-pb", ["create", "namespace", "ns-pb"]),
    ("serviceaccounts", "sa1", ["create", "serviceaccount", "sa1"]),
    ("deployments", "d1", ["create", "deployment", "d1", "--image=nginx:1.27", "--replicas=0", "--port=80"]),
    ("jobs", "j1", ["create", "job", "j1", "--image=busybox", "--", "echo", "hi"]),
    ("cronjobs", "cj1", ["create", "cronjob", "cj1", "--image=busybox", "--schedule=*/5 * * * *", "--", "date"]),
    ("services", "svc1", ["create", "service", "clusterip", "svc1", "--tcp=80:8080"]),
    ("services", "np1", ["create", "service", "nodeport", "np1", "--tcp=443:8443", "--node-port=30443"]),
    ("roles", "r1", ["create", "role", "r1", "--verb=get,list", "--resource=pods"]),
    ("rolebindings", "rb1", ["create", "rolebinding", "rb1", "--role=r1", "--serviceaccount=default:sa1"]),
    ("clusterroles", "cr1", ["create", "clusterrole", "cr1", "--verb=get", "--resource=nodes"]),
    ("clusterrolebindings", "crb1", ["create", "clusterrolebinding", "crb1", "--clusterrole=cr1", "--user=alice"]),
    ("resourcequotas", "q1", ["create", "quota", "q1", "--hard=pods=10,requests.cpu=2"]),
    ("poddisruptionbudgets", "pdb1", ["create", "poddisruptionbudget", "pdb1", "--selector=app=x",
                                      "--min-available=50%"]),
    ("priorityclasses", "pc1", ["create", "priorityclass", "pc1", "--value=1000", "--description=test"]),
    ("ingresses", "ing1", ["create", "ingress", "ing1", "--rule=foo.com/bar=svc1:80"]),
]


def contains(got: Any, want: Any, path: str = "") -> None:
    """Every field of ``want`` is in ``got`` with the same value (``got`` may have more)."""
    if isinstance(want, dict):
        assert isinstance(got, dict), f"{path}: {got!r} is not an object"
        for k, v in want.items():
            if v is None:  # creationTimestamp: null in a client-side object: the server sets it
                continue
            assert k in got, f"{path}.{k} is missing from {sorted(got)}"
            contains(got[k], v, f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            contains(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def dry_run_args(args: list[str]) -> list[str]:
    i = args.index("--") if "--" in args else len(args)
    return args[:i] + ["--dry-run=client", "-o", "json"] + args[i:]


@pytest.mark.parametrize("plural,name,args", COMMANDS, ids=[c[1] for c in COMMANDS])
def test_typed_create_stores_what_kubectl_meant(kubectl: Kubectl, plural: str, name: str, args: list[str]) -> None:
    want = json.loads(kubectl.run(*dry_run_args(args)).stdout)  # the same object, built by kubectl, as JSON
    kubectl.run(*args)
    got = kubectl.json("get", plural, name)
    contains(got, want)
    assert got["metadata"]["uid"] and got["metadata"]["resourceVersion"]


def test_the_bodies_are_protobuf_and_zero_values_survive(kubectl: Kubectl) -> None:
    p = kubectl.run("create", "deployment", "zero", "--image=nginx", "--replicas=0", "-v=8")
    assert "Content-Type: application/vnd.kubernetes.protobuf" in p.stderr
    dep = kubectl.json("get", "deployment", "zero")
    assert dep["spec"]["replicas"] == 0  # a *int32 set to 0 is not "unset" (unset would default to 1)
    kubectl.run("create", "secret", "generic", "bin", "--from-literal=k=\x01\x02 x")
    assert kubectl.json("get", "secret", "bin")["data"] == {"k": "AQIgeA=="}  # []byte -> base64, as JSON has it


def test_a_custom_resource_in_protobuf_is_refused_with_415(kubectl: Kubectl) -> None:
    import httpx

    from apiserver.protobuf import MAGIC

    url = kubectl.schemaless_crd("gadgets", "Gadget", "pb.example.com")
    r = httpx.post(url, content=MAGIC + b"\x0a\x00", headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert r.status_code == 415 and r.json()["reason"] == "UnsupportedMediaType"


def test_a_malformed_protobuf_body_is_a_400(kubectl: Kubectl) -> None:
    import httpx

    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/api/v1/namespaces/default/configmaps"
    for body in (b"not protobuf", b"k8s\x00\x0a\xff"):
        r = httpx.post(url, content=body, headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
        assert r.status_code == 400 and r.json()["reason"] == "BadRequest", r.text
        assert "must be of type ConfigMap" in r.json()["message"]


def test_job_and_cronjob_defaults_as_kube_apiserver(kubectl: Kubectl) -> None:
    kubectl.run("create", "job", "j", "--image=busybox", "--", "true")
    job = kubectl.json("get", "job", "j")
    uid = job["metadata"]["uid"]
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "controller-uid": uid, "batch.kubernetes.io/controller-uid": uid, "job-name": "j",
        "batch.kubernetes.io/job-name": "j"}
    assert {k: job["spec"][k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend",
                                        "podReplacementPolicy")} == {
        "completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False,
        "podReplacementPolicy": "TerminatingOrFailed"}
    kubectl.run("create", "cronjob", "cj", "--image=busybox", "--schedule=0 * * * *", "--", "true")
    cj = kubectl.json("get", "cronjob", "cj")["spec"]
    assert (cj["suspend"], cj["concurrencyPolicy"], cj["successfulJobsHistoryLimit"], cj["failedJobsHistoryLimit"]) == (
        False, "Allow", 3, 1)
    rows = kubectl.run("get", "cronjob", "cj").stdout.splitlines()
    assert rows[0].split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"] and rows[1].split()[6:8] == ["<none>", "False"]


def test_delete_options_in_protobuf(kubectl: Kubectl) -> None:
    """client-go's typed Delete sends DeleteOptions as a protobuf body (clusterloader2 always does)."""
    import httpx

    from test_protobuf import envelope, ld, vi

    kubectl.run("create", "deployment", "owner", "--image=nginx")
    dep = kubectl.json("get", "deployment", "owner")
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner", "uid": dep["metadata"]["uid"]}
    kubectl.create("", "v1", "configmaps", "default", {"metadata": {"name": "dependent", "ownerReferences": [ref]}})
    # gracePeriodSeconds (1) = 0, propagationPolicy (4) = Orphan
    body = envelope("meta.k8s.io/v1", "DeleteOptions", vi(1, 0) + ld(4, "Orphan"))
    url = f"{kubectl.handle.url}/clusters/{kubectl.cluster}/apis/apps/v1/namespaces/default/deployments/owner"
    r = httpx.request("DELETE", url, content=body, headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert r.status_code == 200, r.text
    assert kubectl.get("apps", "v1", "deployments", "default", "owner") is None
    orphan = kubectl.get("", "v1", "configmaps", "default", "dependent")
    assert orphan is not None and not orphan["metadata"].get("ownerReferences")  # orphaned, not collected
