"""Metrics in kube-apiserver's names, labels and buckets, as Prometheus text."""
from __future__ import annotations

import re

from apiserver.metrics import REQUEST_BUCKETS, Metrics, scope_of


def test_request_metrics_names_labels_buckets() -> None:
    m = Metrics()
    m.observe_request("c1", "list", False, "apps", "v1", "deployments", "", "namespace", 200, 0.03)
    m.observe_request("c1", "list", False, "apps", "v1", "deployments", "", "namespace", 200, 2.5)
    text = m.exposition().decode()
    assert ('apiserver_request_total{cluster="c1",verb="LIST",dry_run="",group="apps",version="v1",'
            'resource="deployments",subresource="",scope="namespace",component="apiserver",code="200"} 2') in text
    buckets = re.findall(r'apiserver_request_duration_seconds_bucket\{[^}]*le="([^"]+)"\} (\d+)', text)
    assert [b for b, _ in buckets] == [f"{b:g}" if b != int(b) else str(int(b)) for b in REQUEST_BUCKETS] + ["+Inf"]
    counts = dict(buckets)
    assert counts["0.025"] == "0" and counts["0.05"] == "1" and counts["2"] == "1" and counts["3"] == "2"
    assert counts["+Inf"] == "2"
    assert "apiserver_request_duration_seconds_count{" in text and "apiserver_request_sli_duration_seconds_bucket" in text
    assert "# TYPE apiserver_request_duration_seconds histogram" in text


def test_cluster_label_can_be_turned_off() -> None:
    m = Metrics(per_cluster=False)
    m.observe_request("c1", "get", True, "", "v1", "pods", "status", "resource", 404, 0.001)
    text = m.exposition().decode()
    assert 'cluster="' not in text
    assert 'apiserver_request_total{verb="GET",dry_run="All",group="",version="v1",resource="pods",subresource="status",' \
           'scope="resource",component="apiserver",code="404"} 1' in text


def test_scope_of_follows_clean_scope() -> None:
    assert scope_of("x", "get", "ns") == "resource"
    assert scope_of(None, "create", "ns") == "resource"
    assert scope_of(None, "list", "ns") == "namespace"
    assert scope_of(None, "list", None) == "cluster"
