"""Table printers for the kinds added beside core workloads (batch, autoscaling, policy, scheduling,
networking, discovery, RBAC, storage, node, and core quotas/volumes/templates/RCs), cell by cell as
kube-apiserver's ``pkg/printers/internalversion/printers.go`` prints them; then real kubectl.
"""
from __future__ import annotations

from typing import Any

import pytest

from apiserver.http import tables
from apiserver.http.printers import PRINTERS
from apiserver.http.printers_core import format_quantity
from apiserver.resources import BUILTIN, BUILTIN_BY_GVR
from test_discovery_openapi_tables import NOW, decode_table, stored, ts, visible, wide
from test_kubectl import Kubectl, kubectl, table  # noqa: F401  (the fixture)


def render(group: str, version: str, plural: str, *objs: dict[str, Any]) -> dict[str, Any]:
    """The Table a list request gets (what ``kubectl get`` reads), at the fixed clock NOW."""
    rtype = BUILTIN_BY_GVR[(group, version, plural)]
    return decode_table(tables.table_for_list(rtype, [stored(o) for o in objs], {"resourceVersion": "9"}, now=NOW))


def columns(t: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(c["name"], c["type"], c["priority"]) for c in t["columnDefinitions"]]


def cells(t: dict[str, Any], row: int = 0) -> list[Any]:
    return list(t["rows"][row]["cells"])


def meta(name: str, age: float = 300, namespace: str | None = "default", **extra: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name, "creationTimestamp": ts(age), **extra}
    if namespace:
        m["namespace"] = namespace
    return m


# --- batch/v1 ------------------------------------------------------------------------------

def job(name: str, spec: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    base = {"template": {"spec": {"containers": [{"name": "pi", "image": "perl:5.34"}], "restartPolicy": "Never"}}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta(name), "spec": {**base, **(spec or {})},
            "status": status}


def test_job_columns_and_a_complete_job() -> None:
    done = job("pi", {"completions": 1, "parallelism": 1,
                      "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}},
               succeeded=1, startTime=ts(125), completionTime=ts(60),
               conditions=[{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}])
    t = render("batch", "v1", "jobs", done)
    assert columns(t) == [("Name", "string", 0), ("Status", "string", 0), ("Completions", "string", 0),
                          ("Duration", "string", 0), ("Age", "string", 0), ("Containers", "string", 1),
                          ("Images", "string", 1), ("Selector", "string", 1)]
    assert t["columnDefinitions"][1]["description"] == "Status of the job."
    assert t["columnDefinitions"][3]["description"] == "Time required to complete the job."
    assert cells(t) == ["pi", "Complete", "1/1", "65s", "5m", "pi", "perl:5.34",
                        "batch.kubernetes.io/controller-uid=u-1"]


@pytest.mark.parametrize(("spec", "status", "expected"), [
    ({"completions": 5, "parallelism": 2}, {"succeeded": 2, "startTime": ts(90)}, ["Running", "2/5", "90s"]),
    ({"parallelism": 3}, {"startTime": ts(3 * 3600)}, ["Running", "0/1 of 3", "3h"]),
    ({"parallelism": 1}, {}, ["Running", "0/1", ""]),
    ({"completions": 1, "suspend": True},
     {"conditions": [{"type": "Suspended", "status": "True", "reason": "JobSuspended"}]}, ["Suspended", "0/1", ""]),
    ({"completions": 3, "backoffLimit": 0},
     {"failed": 1, "startTime": ts(200), "conditions": [{"type": "FailureTarget", "status": "True"},
                                                        {"type": "Failed", "status": "True"}]},
     ["Failed", "0/3", "3m20s"]),
    ({"completions": 3}, {"startTime": ts(30), "conditions": [{"type": "FailureTarget", "status": "True"}]},
     ["FailureTarget", "0/3", "30s"]),
    ({"completions": 3}, {"succeeded": 1, "startTime": ts(30),
                          "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}]},
     ["SuccessCriteriaMet", "1/3", "30s"]),
    ({"completions": 1}, {"conditions": [{"type": "Complete", "status": "False"}]}, ["Running", "0/1", ""]),
])
def test_job_status_completions_and_duration(spec: dict[str, Any], status: dict[str, Any],
                                             expected: list[str]) -> None:
    t = render("batch", "v1", "jobs", job("j", spec, **status))
    assert cells(t)[1:4] == expected
    assert wide(t)["Selector"] == "<none>"


def test_job_being_deleted_is_terminating_unless_finished() -> None:
    going = job("going", {"completions": 1}, startTime=ts(10))
    going["metadata"]["deletionTimestamp"] = ts(1)
    finished = job("finished", {"completions": 1}, succeeded=1, conditions=[{"type": "Complete", "status": "True"}])
    finished["metadata"]["deletionTimestamp"] = ts(1)
    t = render("batch", "v1", "jobs", going, finished)
    assert visible(t, 0)["Status"] == "Terminating" and visible(t, 1)["Status"] == "Complete"


def cronjob(name: str, spec: dict[str, Any], **status: Any) -> dict[str, Any]:
    template = {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"},
                                                              {"name": "log", "image": "fluent-bit"}]}}}}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(name, 7200),
            "spec": {"schedule": "*/5 * * * *", "jobTemplate": template, **spec}, "status": status}


def test_cronjob_table() -> None:
    busy = cronjob("hello", {"timeZone": "Etc/UTC", "suspend": False},
                   active=[{"kind": "Job", "name": "hello-1", "namespace": "default"}], lastScheduleTime=ts(45))
    fresh = cronjob("fresh", {})
    paused = cronjob("paused", {"suspend": True})
    paused["spec"]["jobTemplate"]["spec"]["selector"] = {"matchLabels": {"app": "x"}}
    t = render("batch", "v1", "cronjobs", busy, fresh, paused)
    assert columns(t) == [("Name", "string", 0), ("Schedule", "string", 0), ("Timezone", "string", 0),
                          ("Suspend", "boolean", 0), ("Active", "integer", 0), ("Last Schedule", "string", 0),
                          ("Age", "string", 0), ("Containers", "string", 1), ("Images", "string", 1),
                          ("Selector", "string", 1)]
    assert cells(t, 0) == ["hello", "*/5 * * * *", "Etc/UTC", "False", 1, "45s", "120m", "hello,log",
                           "busybox,fluent-bit", "<none>"]
    assert cells(t, 1)[2:6] == ["<none>", "<unset>", 0, "<none>"]
    assert cells(t, 2)[3] == "True" and cells(t, 2)[9] == "app=x"


# --- autoscaling/v2 ------------------------------------------------------------------------

def hpa(name: str, spec: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta(name, 90),
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, **spec},
            "status": status}


def resource_metric(name: str, **target: Any) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": name, "target": target}}


def test_hpa_table() -> None:
    busy = hpa("web", {"minReplicas": 2, "maxReplicas": 10, "metrics": [
        resource_metric("cpu", type="Utilization", averageUtilization=50),
        resource_metric("memory", type="AverageValue", averageValue="1024Mi"),
        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
    ]}, currentReplicas=3, desiredReplicas=3, currentMetrics=[
        {"type": "Resource", "resource": {"name": "cpu",
                                          "current": {"averageUtilization": 30, "averageValue": "120m"}}},
        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "512Mi"}}},
    ])
    bare = hpa("bare", {"maxReplicas": 4})
    t = render("autoscaling", "v2", "horizontalpodautoscalers", busy, bare)
    assert columns(t) == [("Name", "string", 0), ("Reference", "string", 0), ("Targets", "string", 0),
                          ("MinPods", "string", 0), ("MaxPods", "string", 0), ("Replicas", "string", 0),
                          ("Age", "string", 0)]
    assert cells(t, 0) == ["web", "Deployment/web", "cpu: 30%/50%, memory: 512Mi/1Gi + 1 more...", "2", 10, 3, "90s"]
    assert cells(t, 1) == ["bare", "Deployment/web", "<none>", "<unset>", 4, 0, "90s"]


@pytest.mark.parametrize(("metric", "current", "expected"), [
    (resource_metric("cpu", type="Utilization", averageUtilization=80), None, "cpu: <unknown>/80%"),
    (resource_metric("cpu", type="Utilization"), None, "cpu: <unknown>/<auto>"),
    (resource_metric("cpu", type="AverageValue", averageValue="500m"), None, "cpu: <unknown>/500m"),
    ({"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {
        "type": "Utilization", "averageUtilization": 60}}},
     {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "current": {
         "averageUtilization": 75}}}, "cpu: 75%/60%"),
    ({"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}},
     {"type": "Pods", "pods": {"metric": {"name": "qps"}, "current": {"averageValue": "1500"}}}, "1500/1k"),
    ({"type": "Object", "object": {"metric": {"name": "hits"}, "target": {"type": "Value", "value": "10k"}}},
     {"type": "Object", "object": {"metric": {"name": "hits"}, "current": {"value": "2000"}}}, "2k/10k"),
    ({"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue",
                                                                               "averageValue": "30"}}},
     None, "<unknown>/30 (avg)"),
    ({"type": "Mystery"}, None, "<unknown type>"),
])
def test_hpa_targets_by_metric_type(metric: dict[str, Any], current: dict[str, Any] | None, expected: str) -> None:
    one = hpa("h", {"maxReplicas": 3, "metrics": [metric]}, currentMetrics=[current] if current else [])
    assert visible(render("autoscaling", "v2", "horizontalpodautoscalers", one))["Targets"] == expected


# --- policy/v1, scheduling.k8s.io/v1 -------------------------------------------------------

def test_pdb_table() -> None:
    def pdb(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name, 30),
                "spec": {"selector": {"matchLabels": {"app": "web"}}, **spec},
                "status": {"disruptionsAllowed": 1, "currentHealthy": 3, "desiredHealthy": 2, "expectedPods": 3}}
    only_max = pdb("by-max", maxUnavailable="25%")
    del only_max["status"]
    t = render("policy", "v1", "poddisruptionbudgets", pdb("by-min", minAvailable=2), only_max)
    assert columns(t) == [("Name", "string", 0), ("Min Available", "string", 0), ("Max Unavailable", "string", 0),
                          ("Allowed Disruptions", "integer", 0), ("Age", "string", 0)]
    assert cells(t, 0) == ["by-min", "2", "N/A", 1, "30s"]
    assert cells(t, 1) == ["by-max", "N/A", "25%", 0, "30s"]


def test_priorityclass_table() -> None:
    high = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": meta("high", 600, namespace=None), "value": 1000000, "globalDefault": True,
            "preemptionPolicy": "Never", "description": "urgent"}
    low = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
           "metadata": meta("low", 600, namespace=None), "value": -5}
    t = render("scheduling.k8s.io", "v1", "priorityclasses", high, low)
    assert columns(t) == [("Name", "string", 0), ("Value", "integer", 0), ("Global-Default", "boolean", 0),
                          ("Age", "string", 0), ("PreemptionPolicy", "string", 0)]
    assert cells(t, 0) == ["high", 1000000, True, "10m", "Never"]
    assert cells(t, 1) == ["low", -5, False, "10m", ""]


# --- networking.k8s.io/v1, discovery.k8s.io/v1 ---------------------------------------------

def ingress(name: str, spec: dict[str, Any], **status: Any) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(name, 120), "spec": spec,
            "status": status}


def rule(host: str | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "web", "port": {"number": 80}}}}]}}
    if host:
        r["host"] = host
    return r


def test_ingress_table() -> None:
    tls = ingress("tls", {"ingressClassName": "nginx", "rules": [rule("foo.com"), rule("bar.com"), rule(),
                                                                 rule("baz.com"), rule("qux.com")],
                          "tls": [{"hosts": ["foo.com"], "secretName": "foo-tls"}]},
                  loadBalancer={"ingress": [{"ip": "10.0.0.2"}, {"hostname": "lb.example.com"}, {"ip": "10.0.0.1"},
                                            {"ip": "10.0.0.2"}]})
    four = ingress("four", {"rules": [rule("a.example"), rule("b.example"), rule("c.example"), rule("d.example")]})
    bare = ingress("bare", {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}})
    t = render("networking.k8s.io", "v1", "ingresses", tls, four, bare)
    assert columns(t) == [("Name", "string", 0), ("Class", "string", 0), ("Hosts", "string", 0),
                          ("Address", "string", 0), ("Ports", "string", 0), ("Age", "string", 0)]
    assert cells(t, 0) == ["tls", "nginx", "foo.com,bar.com,baz.com + 2 more...", "10.0.0.1,10.0.0.2,lb.example.com",
                           "80, 443", "2m"]
    assert cells(t, 1)[1:5] == ["<none>", "a.example,b.example,c.example + 1 more...", "", "80"]
    assert cells(t, 2) == ["bare", "<none>", "*", "", "80", "2m"]
    one = ingress("one", {"rules": [rule("foo.com"), rule()]})
    assert visible(render("networking.k8s.io", "v1", "ingresses", one))["Hosts"] == "foo.com"


def test_ingressclass_table() -> None:
    def ic(name: str, **spec: Any) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                "metadata": meta(name, 60, namespace=None), "spec": {"controller": "k8s.io/ingress-nginx", **spec}}
    t = render("networking.k8s.io", "v1", "ingressclasses",
               ic("external", parameters={"apiGroup": "k8s.example.com", "kind": "IngressParameters",
                                          "name": "external-lb", "scope": "Cluster"}),
               ic("cm", parameters={"kind": "ConfigMap", "name": "cfg", "namespace": "ingress", "scope": "Namespace"}),
               ic("plain"))
    assert columns(t) == [("Name", "string", 0), ("Controller", "string", 0), ("Parameters", "string", 0),
                          ("Age", "string", 0)]
    assert cells(t, 0) == ["external", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/external-lb", "60s"]
    assert cells(t, 1)[2] == "ConfigMap/cfg" and cells(t, 2)[2] == "<none>"


def test_networkpolicy_table() -> None:
    def netpol(name: str, selector: dict[str, Any]) -> dict[str, Any]:
        return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(name, 5),
                "spec": {"podSelector": selector, "policyTypes": ["Ingress"]}}
    t = render("networking.k8s.io", "v1", "networkpolicies",
               netpol("db", {"matchLabels": {"role": "db"},
                             "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}),
               netpol("deny-all", {}))
    assert columns(t) == [("Name", "string", 0), ("Pod-Selector", "string", 0), ("Age", "string", 0)]
    assert cells(t, 0) == ["db", "role=db,tier notin (web)", "5s"]
    assert cells(t, 1) == ["deny-all", "<none>", "5s"]


def test_endpointslice_table() -> None:
    def eps(name: str, **body: Any) -> dict[str, Any]:
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": meta(name, 20),
                "addressType": "IPv4", **body}
    full = eps("web-abc", ports=[{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "https", "port": 443}],
               endpoints=[{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]},
                          {"addresses": ["10.0.0.4"], "conditions": {"ready": False}}])
    odd = eps("odd", ports=[{"name": "metrics"}, {}, {"port": 1}, {"port": 2}, {"port": 3}])
    empty = eps("empty", endpoints=[])
    t = render("discovery.k8s.io", "v1", "endpointslices", full, odd, empty)
    assert columns(t) == [("Name", "string", 0), ("AddressType", "string", 0), ("Ports", "string", 0),
                          ("Endpoints", "string", 0), ("Age", "string", 0)]
    assert cells(t, 0) == ["web-abc", "IPv4", "80,443", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...", "20s"]
    assert cells(t, 1)[2:4] == ["metrics,*,1 + 2 more...", "<unset>"]
    assert cells(t, 2)[2:4] == ["<unset>", "<unset>"]


# --- rbac.authorization.k8s.io/v1 ----------------------------------------------------------

SUBJECTS = [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
            {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "devs"},
            {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"},
            {"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"}]


def test_rolebinding_table_with_wide_subjects() -> None:
    rb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("read-pods", 400),
          "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
          "subjects": SUBJECTS}
    lone = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("lone", 400),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}}
    t = render("rbac.authorization.k8s.io", "v1", "rolebindings", rb, lone)
    assert columns(t) == [("Name", "string", 0), ("Role", "string", 0), ("Age", "string", 0), ("Users", "string", 1),
                          ("Groups", "string", 1), ("ServiceAccounts", "string", 1)]
    assert [c["description"] for c in t["columnDefinitions"][3:]] == [
        "Users in the roleBinding", "Groups in the roleBinding", "ServiceAccounts in the roleBinding"]
    assert cells(t, 0) == ["read-pods", "Role/pod-reader", "6m40s", "alice, bob", "devs", "ci/builder"]
    assert cells(t, 1) == ["lone", "ClusterRole/view", "6m40s", "", "", ""]


def test_clusterrolebinding_table() -> None:
    crb = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
           "metadata": meta("admins", 3 * 86400, namespace=None),
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
           "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:masters"}]}
    t = render("rbac.authorization.k8s.io", "v1", "clusterrolebindings", crb)
    assert [c[0] for c in columns(t)] == ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
    assert t["columnDefinitions"][3]["description"] == "Users in the clusterRoleBinding"
    assert cells(t) == ["admins", "ClusterRole/cluster-admin", "3d", "", "system:masters", ""]


@pytest.mark.parametrize(("plural", "kind", "namespace"), [
    ("roles", "Role", "default"), ("clusterroles", "ClusterRole", None)])
def test_roles_keep_the_generic_columns(plural: str, kind: str, namespace: str | None) -> None:
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta("reader", 60, namespace),
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}
    t = render("rbac.authorization.k8s.io", "v1", plural, role)
    assert columns(t) == [("Name", "string", 0), ("Created At", "date", 0)]
    assert cells(t) == ["reader", ts(60)]


# --- storage.k8s.io/v1, node.k8s.io/v1 -----------------------------------------------------

def test_storageclass_table() -> None:
    standard = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                "metadata": meta("standard", 86400, namespace=None,
                                 annotations={"storageclass.kubernetes.io/is-default-class": "true"}),
                "provisioner": "rancher.io/local-path", "reclaimPolicy": "Retain",
                "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True}
    legacy = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
              "metadata": meta("legacy", 86400, namespace=None,
                               annotations={"storageclass.beta.kubernetes.io/is-default-class": "true"}),
              "provisioner": "kubernetes.io/no-provisioner"}
    plain = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
             "metadata": meta("plain", 86400, namespace=None,
                              annotations={"storageclass.kubernetes.io/is-default-class": "false"}),
             "provisioner": "ebs.csi.aws.com"}
    t = render("storage.k8s.io", "v1", "storageclasses", standard, legacy, plain)
    assert columns(t) == [("Name", "string", 0), ("Provisioner", "string", 0), ("ReclaimPolicy", "string", 0),
                          ("VolumeBindingMode", "string", 0), ("AllowVolumeExpansion", "string", 0),
                          ("Age", "string", 0)]
    assert cells(t, 0) == ["standard (default)", "rancher.io/local-path", "Retain", "WaitForFirstConsumer", True, "24h"]
    assert cells(t, 1) == ["legacy (default)", "kubernetes.io/no-provisioner", "Delete", "Immediate", False, "24h"]
    assert cells(t, 2)[0] == "plain"


def test_runtimeclass_table() -> None:
    rc = {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": meta("gvisor", 50, namespace=None),
          "handler": "runsc"}
    t = render("node.k8s.io", "v1", "runtimeclasses", rc)
    assert columns(t) == [("Name", "string", 0), ("Handler", "string", 0), ("Age", "string", 0)]
    assert cells(t) == ["gvisor", "runsc", "50s"]


# --- core/v1: quotas, volumes, templates, replication controllers -------------------------

def test_resourcequota_table() -> None:
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("compute", 60),
             "spec": {"hard": {"pods": "10", "requests.cpu": "2"}},
             "status": {"hard": {"pods": "10", "requests.cpu": "2", "requests.memory": "2048Mi", "limits.cpu": "4",
                                 "limits.memory": "4Gi", "count/jobs.batch": "5"},
                        "used": {"pods": "3", "requests.cpu": "0.5", "requests.memory": "1Gi",
                                 "count/jobs.batch": "1"}}}
    fresh = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("fresh", 60),
             "spec": {"hard": {"pods": "10"}}}
    counted = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta("counted", 60),
               "spec": {"hard": {"pods": "10", "requests.cpu": "2"}},
               "status": {"hard": {"pods": "10", "requests.cpu": "2"}, "used": {"pods": "0", "requests.cpu": "0"}}}
    t = render("", "v1", "resourcequotas", quota, fresh, counted)
    assert columns(t) == [("Name", "string", 0), ("Request", "string", 0), ("Limit", "string", 0),
                          ("Age", "string", 0)]
    assert cells(t, 0) == ["compute", "count/jobs.batch: 1/5, pods: 3/10, requests.cpu: 500m/2, "
                                      "requests.memory: 1Gi/2Gi", "limits.cpu: 0/4, limits.memory: 0/4Gi", "60s"]
    assert cells(t, 1) == ["fresh", "", "", "60s"]
    assert cells(t, 2)[1] == "pods: 0/10, requests.cpu: 0/2"


def test_persistentvolume_table() -> None:
    bound = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": meta("pv-1", 600, namespace=None),
             "spec": {"capacity": {"storage": "10240Mi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce",
                                                                          "ReadWriteOnce"],
                      "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "standard",
                      "volumeAttributesClassName": "gold", "volumeMode": "Filesystem",
                      "claimRef": {"kind": "PersistentVolumeClaim", "namespace": "default", "name": "data"},
                      "hostPath": {"path": "/tmp/pv-1"}},
             "status": {"phase": "Bound"}}
    going = {"apiVersion": "v1", "kind": "PersistentVolume",
             "metadata": meta("pv-2", 600, namespace=None, deletionTimestamp=ts(1),
                              annotations={"volume.beta.kubernetes.io/storage-class": "old"}),
             "spec": {"accessModes": ["ReadOnlyMany", "ReadWriteOncePod"], "storageClassName": "standard"},
             "status": {"phase": "Failed", "reason": "RecyclerFailed"}}
    t = render("", "v1", "persistentvolumes", bound, going)
    assert columns(t) == [("Name", "string", 0), ("Capacity", "string", 0), ("Access Modes", "string", 0),
                          ("Reclaim Policy", "string", 0), ("Status", "string", 0), ("Claim", "string", 0),
                          ("StorageClass", "string", 0), ("VolumeAttributesClass", "string", 0),
                          ("Reason", "string", 0), ("Age", "string", 0), ("VolumeMode", "string", 1)]
    assert cells(t, 0) == ["pv-1", "10Gi", "RWO,RWX", "Retain", "Bound", "default/data", "standard", "gold", "", "10m",
                           "Filesystem"]
    assert cells(t, 1) == ["pv-2", "0", "ROX,RWOP", "", "Terminating", "", "old", "<unset>", "RecyclerFailed", "10m",
                           "<unset>"]


def test_persistentvolumeclaim_table() -> None:
    bound = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("data", 600),
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                      "storageClassName": "standard", "volumeName": "pv-1", "volumeMode": "Block"},
             "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce", "ReadWriteMany"],
                        "capacity": {"storage": "1024Mi"}}}
    pending = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("wait", 600),
               "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                        "volumeAttributesClassName": "silver"},
               "status": {"phase": "Pending"}}
    t = render("", "v1", "persistentvolumeclaims", bound, pending)
    assert columns(t) == [("Name", "string", 0), ("Status", "string", 0), ("Volume", "string", 0),
                          ("Capacity", "string", 0), ("Access Modes", "string", 0), ("StorageClass", "string", 0),
                          ("VolumeAttributesClass", "string", 0), ("Age", "string", 0), ("VolumeMode", "string", 1)]
    assert cells(t, 0) == ["data", "Bound", "pv-1", "1Gi", "RWO,RWX", "standard", "<unset>", "10m", "Block"]
    assert cells(t, 1) == ["wait", "Pending", "", "", "", "", "silver", "10m", "<unset>"]


def test_podtemplate_table() -> None:
    pt = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": meta("tpl", 60),
          "template": {"metadata": {"labels": {"tier": "fe", "app": "web"}},
                       "spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "side", "image": "envoy"}]}}}
    t = render("", "v1", "podtemplates", pt)
    assert columns(t) == [("Name", "string", 0), ("Containers", "string", 0), ("Images", "string", 0),
                          ("Pod Labels", "string", 0)]
    assert cells(t) == ["tpl", "app,side", "nginx,envoy", "app=web,tier=fe"]


def test_replicationcontroller_table() -> None:
    rc = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("web", 60),
          "spec": {"replicas": 3, "selector": {"app": "web"},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
          "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2}}
    bare = {"apiVersion": "v1", "kind": "ReplicationController", "metadata": meta("bare", 60), "spec": {}}
    t = render("", "v1", "replicationcontrollers", rc, bare)
    assert columns(t) == [("Name", "string", 0), ("Desired", "integer", 0), ("Current", "integer", 0),
                          ("Ready", "integer", 0), ("Age", "string", 0), ("Containers", "string", 1),
                          ("Images", "string", 1), ("Selector", "string", 1)]
    assert cells(t, 0) == ["web", 3, 3, 2, "60s", "app", "nginx", "app=web"]
    assert cells(t, 1) == ["bare", 1, 0, 0, "60s", "", "", "<none>"]


def test_limitrange_keeps_the_generic_columns() -> None:
    lr = {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta("limits", 60),
          "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"}}]}}
    t = render("", "v1", "limitranges", lr)
    assert columns(t) == [("Name", "string", 0), ("Created At", "date", 0)]


def test_every_builtin_kind_has_its_upstream_printer() -> None:
    generic = {(r.group, r.kind) for r in BUILTIN if (r.group, r.kind) not in PRINTERS and "list" in r.verbs}
    assert generic == {("", "LimitRange"), ("rbac.authorization.k8s.io", "Role"),
                       ("rbac.authorization.k8s.io", "ClusterRole"),
                       ("apiextensions.k8s.io", "CustomResourceDefinition")}
    for cols, _ in PRINTERS.values():
        assert cols[0]["name"] in ("Name", "Last Seen")
        assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in cols)


def test_replicaset_and_daemonset_selectors_print_none_when_empty() -> None:
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta("rs", 60), "spec": {"replicas": 1}}
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": meta("ds", 60), "spec": {}}
    assert wide(render("apps", "v1", "replicasets", rs))["Selector"] == "<none>"
    assert wide(render("apps", "v1", "daemonsets", ds))["Selector"] == "<none>"


@pytest.mark.parametrize(("text", "expected"), [
    ("1024Mi", "1Gi"), ("1536Mi", "1536Mi"), ("1.5Gi", "1536Mi"), ("1000", "1k"), ("1500", "1500"), ("0.5", "500m"),
    (".25", "250m"), ("100m", "100m"), ("1000m", "1"), ("1e3", "1e3"), ("10", "10"), ("0", "0"), ("0Gi", "0"),
    ("1023Ki", "1023Ki"), ("512", "512"), ("2048", "2048"), ("-2Gi", "-2Gi"), ("0.0000000001", "1n"), ("2E", "2E"),
    (5, "5"), (None, "0"), ("garbage", "garbage"),
])
def test_format_quantity_is_the_canonical_form(text: Any, expected: str) -> None:
    assert format_quantity(text) == expected


# --- real kubectl --------------------------------------------------------------------------

def test_kubectl_get_prints_upstream_headers(kubectl: Kubectl) -> None:
    kubectl.run("create", "job", "pi", "--image=perl:5.34", "--", "perl", "-e", "print 1")
    rows = table(kubectl.run("get", "jobs").stdout)
    assert rows[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows[1][:3] == ["pi", "Running", "0/1"]
    rows = table(kubectl.run("get", "jobs", "-o", "wide").stdout)
    assert rows[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    assert "perl:5.34" in rows[1]

    kubectl.run("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    kubectl.run("create", "rolebinding", "read-pods", "--role=pod-reader", "--user=alice", "--group=devs",
                "--serviceaccount=default:builder")
    rows = table(kubectl.run("get", "rolebindings", "-o", "wide").stdout)
    assert rows[0] == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert rows[1][:2] == ["read-pods", "Role/pod-reader"] and rows[1][3:] == ["alice", "devs", "default/builder"]
    assert table(kubectl.run("get", "roles").stdout)[0] == ["NAME", "CREATED", "AT"]

    kubectl.run("create", "pdb", "web", "--selector=app=web", "--min-available=1")
    rows = table(kubectl.run("get", "pdb").stdout)
    assert rows[0] == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED", "DISRUPTIONS", "AGE"]
    assert rows[1][:4] == ["web", "1", "N/A", "0"]

    kubectl.run("create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *")
    rows = table(kubectl.run("get", "cronjobs").stdout)
    assert rows[0] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    assert rows[1][0] == "tick" and rows[1][-3:-1] == ["0", "<none>"]  # ACTIVE, LAST SCHEDULE
