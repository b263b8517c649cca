"""Server-side apply and managedFields bookkeeping."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiserver.apply import apply, field_set, record_update
from apiserver.errors import StatusError
from apiserver.patch import merge_schema_for

DEPLOY = merge_schema_for("apps", "Deployment")
POD = merge_schema_for("", "Pod")
T0, T1, T2, T3 = "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"


def deployment(replicas=2, image="nginx:1", labels=None, ports=True):
    c = {"name": "nginx", "image": image}
    if ports:
        c["ports"] = [{"containerPort": 80}]
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "labels": labels if labels is not None else {"app": "web"}},
         "spec": {"selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [c]}}}}
    if replicas is not None:
        d["spec"]["replicas"] = replicas
    return d


def stored(obj, rv="1"):
    """What the store would keep after the create: server-set metadata added."""
    out = copy.deepcopy(obj)
    out["metadata"].update(uid="u-1", resourceVersion=rv, creationTimestamp=T0, generation=1)
    return out


def do_apply(live, applied, manager="kubectl", force=False, now=T1, schema=DEPLOY):
    return apply(live, applied, manager, force=force, schema=schema, now=now, api_version="apps/v1",
                 name="web", kind="deployments", group="apps")


def entries(obj):
    return {(e["manager"], e["operation"]): e for e in obj["metadata"]["managedFields"]}


def test_create_returns_applied_object_with_apply_entry():
    applied = deployment()
    out = do_apply(None, applied, now=T0)
    mf = out["metadata"].pop("managedFields")
    assert out == applied
    assert len(mf) == 1
    e = mf[0]
    assert list(e) == ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1"]
    assert (e["manager"], e["operation"], e["apiVersion"], e["time"], e["fieldsType"]) == \
        ("kubectl", "Apply", "apps/v1", T0, "FieldsV1")
    assert e["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:replicas": {},
            "f:selector": {},
            "f:template": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:name": {}, "f:image": {},
                    "f:ports": {'k:{"containerPort":80}': {".": {}, "f:containerPort": {}}}}}}}}}
    assert "managedFields" not in applied["metadata"]


def test_field_set_encodes_sets_and_skips_server_metadata():
    obj = {"metadata": {"finalizers": ["a.io/x", "b"], "ownerReferences": [{"uid": "u1", "name": "o"}]},
           "spec": {"tolerations": [{"key": "k"}], "nodeName": None}}
    assert field_set(obj, POD) == {
        "f:metadata": {"f:finalizers": {'v:"a.io/x"': {}, 'v:"b"': {}},
                       "f:ownerReferences": {'k:{"uid":"u1"}': {".": {}, "f:uid": {}, "f:name": {}}}},
        "f:spec": {"f:tolerations": {}}}
    out = do_apply(None, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}},
                   schema=merge_schema_for("", "ConfigMap"))
    assert out["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {".": {}, "f:k": {}}}


def test_apply_merges_into_live_and_keeps_other_fields():
    live = stored(do_apply(None, deployment(), now=T0))
    live["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log"
    live["status"] = {"replicas": 2}
    applied = deployment(image="nginx:2")
    applied["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox"})
    out = do_apply(live, applied, now=T1)
    cs = out["spec"]["template"]["spec"]["containers"]
    assert cs[0] == {"name": "nginx", "image": "nginx:2", "ports": [{"containerPort": 80}],
                     "terminationMessagePath": "/dev/termination-log"}
    assert cs[1] == {"name": "sidecar", "image": "busybox"}
    assert out["status"] == {"replicas": 2}
    assert out["metadata"]["uid"] == "u-1" and out["metadata"]["resourceVersion"] == "1"
    (e,) = out["metadata"]["managedFields"]
    assert e["time"] == T1 and 'k:{"name":"sidecar"}' in e["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]


def test_apply_removes_fields_no_longer_applied():
    live = stored(do_apply(None, deployment(), now=T0))
    out = do_apply(live, deployment(replicas=None, labels={}, ports=False), now=T1)
    assert "replicas" not in out["spec"]
    assert out["metadata"]["labels"] == {}
    assert "ports" not in out["spec"]["template"]["spec"]["containers"][0]
    fs = out["metadata"]["managedFields"][0]["fieldsV1"]
    assert "f:replicas" not in fs["f:spec"]
    assert fs["f:metadata"] == {"f:labels": {}}
    # dropping a whole container removes it
    applied = deployment()
    applied["spec"]["template"]["spec"]["containers"].append({"name": "extra", "image": "x"})
    live = stored(do_apply(live, applied, now=T1))
    out = do_apply(live, deployment(), now=T2)
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["nginx"]


def test_fields_owned_by_another_manager_survive_removal():
    live = stored(do_apply(None, deployment(), now=T0))
    # another applier also sets the same replicas value: shared ownership, no conflict
    live = stored(do_apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                  "spec": {"replicas": 2}}, manager="hpa-ish", now=T1))
    assert set(entries(live)) == {("kubectl", "Apply"), ("hpa-ish", "Apply")}
    out = do_apply(live, deployment(replicas=None), now=T2)
    assert out["spec"]["replicas"] == 2
    assert "f:replicas" not in entries(out)[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    assert entries(out)[("hpa-ish", "Apply")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_conflict_with_an_update_manager():
    live = stored(do_apply(None, deployment(), now=T0))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 5
    live = stored(record_update(live, scaled, "kube-controller-manager", now=T1, api_version="apps/v1"), rv="2")
    assert entries(live)[("kube-controller-manager", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entries(live)[("kubectl", "Apply")]["fieldsV1"]["f:spec"]
    with pytest.raises(StatusError) as ei:
        do_apply(live, deployment(replicas=3), now=T2)
    err = ei.value
    assert err.code == 409 and err.reason == "Conflict"
    assert err.message == ('Apply failed with 1 conflict: conflict with "kube-controller-manager" using apps/v1 '
                           f'at {T1}: .spec.replicas')
    assert err.details == {"name": "web", "group": "apps", "kind": "deployments", "causes": [
        {"type": "FieldManagerConflict", "message": f'conflict with "kube-controller-manager" using apps/v1 at {T1}',
         "field": ".spec.replicas"}]}
    # applying the value it already has is no conflict: both own it
    out = do_apply(live, deployment(replicas=5), now=T2)
    assert out["spec"]["replicas"] == 5
    assert entries(out)[("kube-controller-manager", "Update")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}


def test_conflict_message_with_several_fields_and_csa_manager():
    live = stored(deployment())
    live = record_update(None, live, "kubectl-client-side-apply", now=T0, api_version="apps/v1")
    del live["metadata"]["managedFields"][0]["time"]
    with pytest.raises(StatusError) as ei:
        do_apply(live, deployment(replicas=3, image="nginx:2"), now=T1)
    err = ei.value
    assert err.message == ('Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n'
                           '- .spec.replicas\n'
                           '- .spec.template.spec.containers[name="nginx"].image')
    assert [c["field"] for c in err.details["causes"]] == [
        ".spec.replicas", '.spec.template.spec.containers[name="nginx"].image']


def test_force_moves_ownership():
    live = stored(do_apply(None, deployment(), manager="a", now=T0))
    out = do_apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"replicas": 9}}, manager="b", force=True, now=T1)
    assert out["spec"]["replicas"] == 9
    assert entries(out)[("b", "Apply")]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entries(out)[("a", "Apply")]["fieldsV1"]["f:spec"]
    # "a" applying again without replicas no longer removes them: "b" owns them
    out2 = do_apply(stored(out), deployment(replicas=None), manager="a", now=T2)
    assert out2["spec"]["replicas"] == 9


def test_apply_finalizers_as_set_and_ownership_per_item():
    base = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a"]}}
    live = stored(do_apply(None, base, manager="m1", schema=POD))
    live = stored(do_apply(live, {**base, "metadata": {"name": "p", "finalizers": ["b"]}}, manager="m2", schema=POD))
    assert live["metadata"]["finalizers"] == ["a", "b"]
    out = do_apply(live, {**base, "metadata": {"name": "p"}}, manager="m1", schema=POD)
    assert out["metadata"]["finalizers"] == ["b"]
    assert set(entries(out)) == {("m2", "Apply")}


def test_managed_fields_in_applied_object_rejected():
    applied = deployment()
    applied["metadata"]["managedFields"] = [{"manager": "x"}]
    with pytest.raises(StatusError) as ei:
        do_apply(None, applied)
    assert ei.value.code == 400


def test_record_update_tracks_changes_and_transfers_ownership():
    obj = stored(deployment())
    created = record_update(None, obj, "kubectl-create", now=T0, api_version="apps/v1")
    (e,) = created["metadata"]["managedFields"]
    assert (e["manager"], e["operation"], e["time"]) == ("kubectl-create", "Update", T0)
    expected = {k: v for k, v in deployment().items() if k not in ("apiVersion", "kind")}
    expected["metadata"] = {"labels": {"app": "web"}}
    assert e["fieldsV1"] == field_set(expected, DEPLOY)
    assert "managedFields" not in obj["metadata"]
    # a no-op update leaves managedFields alone
    same = record_update(created, copy.deepcopy(created), "other", now=T1, api_version="apps/v1")
    assert same["metadata"]["managedFields"] == created["metadata"]["managedFields"]
    # a label change moves that label to the updater
    changed = copy.deepcopy(created)
    changed["metadata"]["labels"]["app"] = "web2"
    changed["metadata"]["labels"]["tier"] = "fe"
    out = record_update(created, changed, "kubectl-label", now=T1, api_version="apps/v1")
    es = entries(out)
    assert es[("kubectl-label", "Update")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}, "f:tier": {}}}}
    assert "f:app" not in es[("kubectl-create", "Update")]["fieldsV1"]["f:metadata"]["f:labels"]
    assert [x["manager"] for x in out["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-label"]
    # a removed field leaves every set
    gone = copy.deepcopy(out)
    del gone["metadata"]["labels"]["tier"]
    out2 = record_update(out, gone, "kubectl-edit", now=T2, api_version="apps/v1")
    assert ("kubectl-edit", "Update") not in entries(out2)
    assert entries(out2)[("kubectl-label", "Update")]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}}}


def test_record_update_sent_managed_fields_win_and_reset():
    created = record_update(None, stored(deployment()), "c", now=T0, api_version="apps/v1")
    reset = copy.deepcopy(created)
    reset["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in record_update(created, reset, "c", now=T1, api_version="apps/v1")["metadata"]


# --------------------------------------------------------------------------- properties

names = st.sampled_from(["a", "b", "c"])
small = st.one_of(st.integers(0, 3), names, st.none())
configs = st.fixed_dictionaries({"apiVersion": st.just("apps/v1"), "kind": st.just("Deployment"),
                                 "metadata": st.fixed_dictionaries({"name": st.just("web")}, optional={
                                     "labels": st.dictionaries(names, names, max_size=2),
                                     "finalizers": st.lists(names, max_size=2)})},
                                optional={"spec": st.fixed_dictionaries({}, optional={
                                    "replicas": small,
                                    "paused": st.booleans(),
                                    "template": st.fixed_dictionaries({"spec": st.fixed_dictionaries({
                                        "containers": st.lists(st.fixed_dictionaries({"name": names}, optional={
                                            "image": small, "args": st.lists(names, max_size=2)}),
                                            max_size=3, unique_by=lambda c: c["name"])})})})})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(configs, configs, configs, st.booleans(), st.sampled_from(["m1", "m2"]))
def test_apply_and_update_never_mutate_inputs(first, second, third, force, manager):
    snap = copy.deepcopy(first)
    live = do_apply(None, first, manager="m1")
    assert first == snap
    second = stored(second)
    snap = [copy.deepcopy(live), copy.deepcopy(second)]
    updated = record_update(live, second, "ctl", now=T1, api_version="apps/v1")
    assert [live, second] == snap
    snap = [copy.deepcopy(updated), copy.deepcopy(third)]
    try:
        out = do_apply(updated, third, manager=manager, force=force, now=T2)
    except StatusError as e:
        assert e.code == 409 and not force
        return
    finally:
        assert [updated, third] == snap
    json.dumps(out)
    assert all(e["fieldsV1"] for e in out["metadata"].get("managedFields", []))
    # every field in the applied config ends up in the result with the applied value
    for k, v in (third.get("spec") or {}).items():
        if v is not None and k != "template":
            assert out["spec"][k] == v
