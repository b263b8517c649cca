"""The official Python ``kubernetes`` client against path-prefixed fake clusters (``/clusters/<name>``)."""
from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Iterator

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from apiserver.kubeconfig import write_kubeconfigs
from apiserver.multiplexer import Multiplexer
from apiserver.server import Server
from apiserver.storage import StoreConfig

GROUP = "pyclient.kubesim.io"


def api_client_for(kubeconfig_path: str) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig_path, client_configuration=cfg)
    assert "/clusters/" in cfg.host  # the path prefix survives the client's configuration
    return client.ApiClient(cfg)


@pytest.fixture
def api(kubesim_session: Any, request: pytest.FixtureRequest) -> Iterator[client.ApiClient]:
    """A fresh cluster per test on the session server, reached through its kubeconfig."""
    name = "py-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50]
    kubesim_session.create_cluster(name)
    c = api_client_for(kubesim_session.kubeconfig(name))
    try:
        yield c
    finally:
        c.close()
        kubesim_session.delete_cluster(name)


@pytest.fixture
def small_history(tmp_path: Any) -> Iterator[tuple[Server, client.ApiClient]]:
    """Its own server whose watch history keeps only 5 events."""
    mux = Multiplexer(config=StoreConfig(history_events=5))
    mux.create("short")
    srv = Server(mux, "127.0.0.1", 0).start()
    paths = write_kubeconfigs(str(tmp_path), srv.url, ["short"])
    c = api_client_for(paths["short"])
    try:
        yield srv, c
    finally:
        c.close()
        srv.stop()


def cm(name: str, **labels: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or None), data={"k": name})


def deployment(name: str, replicas: int = 1) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=replicas, selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.25"),
                                                  client.V1Container(name="sidecar", image="envoy:1")]))))


# ---- CRUD ----------------------------------------------------------------------------------------

def test_pod_crud(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="p1", labels={"app": "a"}),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
    created = v1.create_namespaced_pod("default", pod)
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    assert created.status.phase == "Pending"
    got = v1.read_namespaced_pod("p1", "default")
    assert got.metadata.uid == created.metadata.uid
    got.metadata.labels["tier"] = "web"
    replaced = v1.replace_namespaced_pod("p1", "default", got)
    assert replaced.metadata.labels == {"app": "a", "tier": "web"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)
    status = v1.patch_namespaced_pod_status("p1", "default", {"status": {"phase": "Running"}})
    assert status.status.phase == "Running"
    pods = v1.list_namespaced_pod("default", label_selector="tier=web")
    assert [p.metadata.name for p in pods.items] == ["p1"]
    assert pods.metadata.resource_version
    assert v1.list_pod_for_all_namespaces(field_selector="status.phase=Running").items[0].metadata.name == "p1"
    deleted = v1.delete_namespaced_pod("p1", "default")
    assert deleted.metadata.name == "p1"  # pods answer DELETE with the object
    with pytest.raises(ApiException) as e:
        v1.read_namespaced_pod("p1", "default")
    assert e.value.status == 404


def test_configmap_crud_and_namespaces(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    v1.create_namespaced_config_map("team-a", cm("settings", app="x"))
    with pytest.raises(ApiException) as e:
        v1.create_namespaced_config_map("team-a", cm("settings"))
    assert e.value.status == 409 and "AlreadyExists" in e.value.body
    patched = v1.patch_namespaced_config_map("settings", "team-a", {"data": {"extra": "1"}})
    assert patched.data == {"k": "settings", "extra": "1"}
    obj = v1.read_namespaced_config_map("settings", "team-a")
    obj.data = {"only": "this"}
    assert v1.replace_namespaced_config_map("settings", "team-a", obj).data == {"only": "this"}
    assert [c.metadata.name for c in v1.list_config_map_for_all_namespaces(label_selector="app=x").items] == ["settings"]
    status = v1.delete_namespaced_config_map("settings", "team-a")
    status = status if isinstance(status, dict) else status.to_dict()
    assert status["kind"] == "Status" and status["status"] == "Success"
    assert status["details"]["name"] == "settings" and status["details"]["kind"] == "configmaps"
    assert v1.list_namespaced_config_map("team-a").items == []
    with pytest.raises(ApiException) as e:
        v1.create_namespaced_config_map("nowhere", cm("x"))
    assert e.value.status == 404


def test_deployment_crud_scale_and_status(api: client.ApiClient) -> None:
    apps = client.AppsV1Api(api)
    created = apps.create_namespaced_deployment("default", deployment("web", 2))
    assert created.metadata.generation == 1
    scale = apps.read_namespaced_deployment_scale("web", "default")
    assert scale.spec.replicas == 2
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    got = apps.read_namespaced_deployment("web", "default")
    assert got.spec.replicas == 5 and got.metadata.generation == 2
    apps.patch_namespaced_deployment_status("web", "default", {"status": {"replicas": 5, "readyReplicas": 5}})
    got = apps.read_namespaced_deployment("web", "default")
    assert got.status.ready_replicas == 5 and got.metadata.generation == 2  # status writes keep generation
    listed = apps.list_namespaced_deployment("default")
    assert [d.metadata.name for d in listed.items] == ["web"]
    apps.delete_namespaced_deployment("web", "default")
    assert apps.list_namespaced_deployment("default").items == []


def test_strategic_merge_patch_of_a_deployment(api: client.ApiClient) -> None:
    """A dict body goes out as a strategic-merge patch: containers merge by name, not replace."""
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("smp"))
    patched = apps.patch_namespaced_deployment("smp", "default", {
        "metadata": {"labels": {"patched": "yes"}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    containers = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert containers == {"web": "nginx:1.27", "sidecar": "envoy:1"}
    assert patched.metadata.labels == {"patched": "yes"}
    # $patch: delete removes one list element by its merge key
    patched = apps.patch_namespaced_deployment("smp", "default", {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}})
    assert [c.name for c in patched.spec.template.spec.containers] == ["web"]
    # a list body is a JSON patch
    patched = apps.patch_namespaced_deployment("smp", "default", [
        {"op": "replace", "path": "/spec/replicas", "value": 3}])
    assert patched.spec.replicas == 3


# ---- lists, paging, watches ---------------------------------------------------------------------

def test_list_paging_is_consistent_across_pages(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    for i in range(11):
        v1.create_namespaced_config_map("default", cm(f"cm-{i:02d}"))
    first = v1.list_namespaced_config_map("default", limit=4)
    snapshot_rv = first.metadata.resource_version
    names = [c.metadata.name for c in first.items]
    assert len(names) == 4 and first.metadata._continue
    assert first.metadata.remaining_item_count == 7
    # changes made while paging must not show up in later pages
    v1.create_namespaced_config_map("default", cm("cm-99"))
    v1.delete_namespaced_config_map("cm-10", "default")
    token = first.metadata._continue
    while token:
        page = v1.list_namespaced_config_map("default", limit=4, _continue=token)
        assert page.metadata.resource_version == snapshot_rv
        names += [c.metadata.name for c in page.items]
        token = page.metadata._continue
    assert names == [f"cm-{i:02d}" for i in range(11)]
    now = [c.metadata.name for c in v1.list_namespaced_config_map("default").items]
    assert now == [f"cm-{i:02d}" for i in range(10)] + ["cm-99"]


def test_watch_resumes_from_a_resource_version_without_losing_events(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("default", cm("a"))
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    # changes made while nobody watches
    v1.create_namespaced_config_map("default", cm("b"))
    v1.patch_namespaced_config_map("a", "default", {"data": {"k": "changed"}})
    v1.delete_namespaced_config_map("b", "default")
    w = watch.Watch()
    seen: list[tuple[str, str]] = []
    last_rv = rv
    for event in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        last_rv = event["object"].metadata.resource_version
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    # resume again from the last event seen: only what came after it, live this time
    def later() -> None:
        time.sleep(0.3)
        v1.create_namespaced_config_map("default", cm("c"))
    t = threading.Thread(target=later)
    t.start()
    w = watch.Watch()
    seen = []
    for event in w.stream(v1.list_namespaced_config_map, "default", resource_version=last_rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        w.stop()
    t.join()
    assert seen == [("ADDED", "c")]


def test_watch_without_resource_version_starts_with_synthetic_adds(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    for n in ("x", "y"):
        v1.create_namespaced_config_map("default", cm(n, app="syn"))
    w = watch.Watch()
    seen = []
    for event in w.stream(v1.list_namespaced_config_map, "default", label_selector="app=syn", timeout_seconds=1):
        seen.append((event["type"], event["object"].metadata.name))
    assert sorted(seen) == [("ADDED", "x"), ("ADDED", "y")]


def test_watch_410_after_the_history_window_moved_on_then_relist(
        small_history: tuple[Server, client.ApiClient]) -> None:
    _, api = small_history
    v1 = client.CoreV1Api(api)
    rv = v1.list_namespaced_config_map("default").metadata.resource_version
    for i in range(10):
        v1.create_namespaced_config_map("default", cm(f"h{i}"))
    w = watch.Watch()
    start = time.monotonic()
    with pytest.raises(ApiException) as e:
        for _ in w.stream(v1.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=5):
            pass
    assert e.value.status == 410
    assert "too old resource version" in str(e.value.reason)
    assert time.monotonic() - start < 4
    # relist, then watch from the fresh resourceVersion: works, and sees the next change
    listed = v1.list_namespaced_config_map("default")
    assert len(listed.items) == 10
    fresh = listed.metadata.resource_version
    v1.delete_namespaced_config_map("h0", "default")
    w = watch.Watch()
    events = []
    for event in w.stream(v1.list_namespaced_config_map, "default", resource_version=fresh, timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name))
        w.stop()
    assert events == [("DELETED", "h0")]


def test_unsupported_field_selector_is_a_400(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    with pytest.raises(ApiException) as e:
        v1.list_namespaced_config_map("default", field_selector="data.k=v")
    assert e.value.status == 400
    assert json.loads(e.value.body)["message"] == \
        '"data.k" is not a known field selector: only "metadata.name", "metadata.namespace"'
    with pytest.raises(ApiException) as e:
        v1.list_namespaced_pod("default", field_selector="spec.containers=x")
    assert e.value.status == 400 and "field label not supported: spec.containers" in e.value.body
    with pytest.raises(ApiException) as e:
        v1.list_namespaced_pod("default", label_selector="a b")
    assert e.value.status == 400
    # supported ones work
    assert v1.list_namespaced_pod("default", field_selector="spec.nodeName=n1,status.phase!=Failed").items == []


def test_replace_with_a_stale_resource_version_is_a_409(api: client.ApiClient) -> None:
    v1 = client.CoreV1Api(api)
    v1.create_namespaced_config_map("default", cm("occ"))
    mine = v1.read_namespaced_config_map("occ", "default")
    theirs = v1.read_namespaced_config_map("occ", "default")
    theirs.data = {"k": "theirs"}
    v1.replace_namespaced_config_map("occ", "default", theirs)
    mine.data = {"k": "mine"}
    with pytest.raises(ApiException) as e:
        v1.replace_namespaced_config_map("occ", "default", mine)
    assert e.value.status == 409
    assert "the object has been modified" in e.value.body
    assert v1.read_namespaced_config_map("occ", "default").data == {"k": "theirs"}
    # no-op write: same resourceVersion back
    cur = v1.read_namespaced_config_map("occ", "default")
    again = v1.replace_namespaced_config_map("occ", "default", cur)
    assert again.metadata.resource_version == cur.metadata.resource_version


# ---- custom resources --------------------------------------------------------------------------

def crd_body() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{GROUP}"},
        "spec": {"group": GROUP, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def test_custom_objects_api(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    created = ext.create_custom_resource_definition(crd_body())
    assert created.metadata.name == f"widgets.{GROUP}"
    established = ext.read_custom_resource_definition(f"widgets.{GROUP}")
    assert any(c.type == "Established" and c.status == "True" for c in established.status.conditions)
    co = client.CustomObjectsApi(api)
    for n in ("w1", "w2"):
        obj = co.create_namespaced_custom_object(GROUP, "v1", "default", "widgets", {
            "apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": n, "labels": {"n": n}},
            "spec": {"size": 1}, "status": {"ignored": True}})
        assert "status" not in obj  # the status subresource owns status
    st = co.patch_namespaced_custom_object_status(GROUP, "v1", "default", "widgets", "w1",
                                                  {"status": {"phase": "Ready"}})
    assert st["status"] == {"phase": "Ready"}
    assert st["metadata"]["generation"] == 1
    # merge patch of the main resource (the client's default for custom objects)
    obj = co.patch_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w1", {"spec": {"color": "red"}})
    assert obj["spec"] == {"size": 1, "color": "red"} and obj["status"] == {"phase": "Ready"}
    assert obj["metadata"]["generation"] == 2
    listed = co.list_namespaced_custom_object(GROUP, "v1", "default", "widgets")
    assert listed["kind"] == "WidgetList"
    assert [(i["kind"], i["metadata"]["name"]) for i in listed["items"]] == [("Widget", "w1"), ("Widget", "w2")]
    assert listed["metadata"]["resourceVersion"]
    assert [i["metadata"]["name"] for i in co.list_cluster_custom_object(
        GROUP, "v1", "widgets", label_selector="n=w2")["items"]] == ["w2"]
    # PUT without resourceVersion is refused for custom resources
    with pytest.raises(ApiException) as e:
        co.replace_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w2", {
            "apiVersion": f"{GROUP}/v1", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {}})
    assert e.value.status == 422
    co.delete_namespaced_custom_object(GROUP, "v1", "default", "widgets", "w2")
    assert len(co.list_namespaced_custom_object(GROUP, "v1", "default", "widgets")["items"]) == 1
    # deleting the CRD removes its custom resources and its API
    ext.delete_custom_resource_definition(f"widgets.{GROUP}")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            co.list_namespaced_custom_object(GROUP, "v1", "default", "widgets")
        except ApiException as e:
            assert e.status == 404
            break
        time.sleep(0.05)
    else:
        pytest.fail("the CRD's API is still served after deleting the CRD")
