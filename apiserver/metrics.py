"""kube-apiserver's metrics, in its names, labels and buckets, as Prometheus text.

A tiny purpose-built registry rather than prometheus_client: ``observe`` is one dict lookup,
one bisect and three increments, which keeps the cost per request near a microsecond (see
benchmarks/RESULTS.md, ``overhead_metrics``). The per-cluster label can be switched off:
10,000 clusters x verbs x resources x 24 buckets is a lot of series.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Iterable

REQUEST_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
                   10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
SLI_BUCKETS = REQUEST_BUCKETS[2:]

VERB_LABEL = {"get": "GET", "list": "LIST", "watch": "WATCH", "create": "POST", "update": "PUT", "patch": "PATCH",
              "delete": "DELETE", "deletecollection": "DELETECOLLECTION"}


_INF = 'le="+Inf"'


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: tuple[str, ...], values: tuple[Any, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(str(v))}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class Counter:
    kind = "counter"

    def __init__(self, name: str, help: str, labelnames: tuple[str, ...]) -> None:
        self.name, self.help, self.labelnames = name, help, labelnames
        self.series: dict[tuple[Any, ...], float] = {}

    def inc(self, labels: tuple[Any, ...], n: float = 1.0) -> None:
        s = self.series
        s[labels] = s.get(labels, 0.0) + n

    def samples(self) -> Iterable[str]:
        for labels, v in self.series.items():
            yield f"{self.name}{_labels(self.labelnames, labels)} {_num(v)}"


class Gauge(Counter):
    kind = "gauge"

    def set(self, labels: tuple[Any, ...], v: float) -> None:
        self.series[labels] = v

    def dec(self, labels: tuple[Any, ...], n: float = 1.0) -> None:
        self.inc(labels, -n)


class CallbackGauge:
    """A gauge computed at scrape time (object counts): nothing to maintain on the hot path."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labelnames: tuple[str, ...],
                 collect: Callable[[], Iterable[tuple[tuple[Any, ...], float]]]) -> None:
        self.name, self.help, self.labelnames, self.collect = name, help, labelnames, collect

    def samples(self) -> Iterable[str]:
        for labels, v in self.collect():
            yield f"{self.name}{_labels(self.labelnames, labels)} {_num(v)}"


class Histogram:
    kind = "histogram"

    def __init__(self, name: str, help: str, labelnames: tuple[str, ...], buckets: tuple[float, ...]) -> None:
        self.name, self.help, self.labelnames, self.buckets = name, help, labelnames, buckets
        # per series: [count in bucket 0..n-1, count above the last bucket, sum]
        self.series: dict[tuple[Any, ...], list[float]] = {}

    def observe(self, labels: tuple[Any, ...], value: float) -> None:
        s = self.series.get(labels)
        if s is None:
            s = self.series[labels] = [0.0] * (len(self.buckets) + 2)
        s[bisect_left(self.buckets, value)] += 1
        s[-1] += value

    def samples(self) -> Iterable[str]:
        n = len(self.buckets)
        for labels, s in self.series.items():
            cumulative = 0.0
            for i, le in enumerate(self.buckets):
                cumulative += s[i]
                le_label = 'le="' + _num(le) + '"'
                yield f"{self.name}_bucket{_labels(self.labelnames, labels, le_label)} {_num(cumulative)}"
            cumulative += s[n]
            yield f"{self.name}_bucket{_labels(self.labelnames, labels, _INF)} {_num(cumulative)}"
            yield f"{self.name}_sum{_labels(self.labelnames, labels)} {repr(s[-1])}"
            yield f"{self.name}_count{_labels(self.labelnames, labels)} {_num(cumulative)}"


Metric = Counter | Gauge | CallbackGauge | Histogram


class Metrics:
    """The server's metrics; one instance per server (no global registry)."""

    def __init__(self, *, per_cluster: bool = True) -> None:
        self.per_cluster = per_cluster
        c = ("cluster",) if per_cluster else ()
        req = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
        self.request_total = Counter("apiserver_request_total",
                                     "Counter of apiserver requests broken out for each verb, dry run value, group, "
                                     "version, resource, scope, component, and HTTP response code.", c + req + ("code",))
        self.request_duration = Histogram("apiserver_request_duration_seconds",
                                          "Response latency distribution in seconds for each verb, dry run value, group, "
                                          "version, resource, subresource, scope and component.", c + req, REQUEST_BUCKETS)
        self.request_sli = Histogram("apiserver_request_sli_duration_seconds",
                                     "Response latency distribution (not counting webhook duration and priority & "
                                     "fairness queue wait times) in seconds for each verb, group, version, resource, "
                                     "subresource, scope and component.",
                                     c + tuple(n for n in req if n != "dry_run"), SLI_BUCKETS)
        self.longrunning = Gauge("apiserver_longrunning_requests",
                                 "Gauge of all active long-running apiserver requests broken out by verb, group, "
                                 "version, resource, scope and component.",
                                 c + ("verb", "group", "version", "resource", "subresource", "scope", "component"))
        self.etcd_duration = Histogram("etcd_request_duration_seconds",
                                       "Etcd request latency in seconds for each operation and object type.",
                                       c + ("operation", "group", "resource"), REQUEST_BUCKETS)
        self.watch_events = Counter("apiserver_watch_events_total",
                                    "Number of events sent in watch clients", c + ("group", "version", "resource"))
        self.faults = Counter("kubesim_faults_injected_total", "Faults injected by fault-plan rule and kind.",
                              ("rule", "fault"))
        self.watchers_overflowed: CallbackGauge | None = None
        self.metrics: list[Metric] = [self.request_total, self.request_duration, self.request_sli, self.longrunning,
                                      self.etcd_duration, self.watch_events, self.faults]

    def add(self, metric: Metric) -> None:
        self.metrics.append(metric)

    def cluster_labels(self, cluster: str) -> tuple[str, ...]:
        return (cluster,) if self.per_cluster else ()

    def observe_request(self, cluster: str, verb: str, dry_run: bool, group: str, version: str, resource: str,
                        subresource: str, scope: str, code: int, seconds: float) -> None:
        c = (cluster,) if self.per_cluster else ()
        v = VERB_LABEL.get(verb, verb.upper())
        dr = "All" if dry_run else ""
        base = (v, dr, group, version, resource, subresource, scope, "apiserver")
        self.request_total.inc(c + base + (str(code),))
        self.request_duration.observe(c + base, seconds)
        self.request_sli.observe(c + (v, group, version, resource, subresource, scope, "apiserver"), seconds)

    def exposition(self) -> bytes:
        out: list[str] = []
        for m in self.metrics:
            out.append(f"# HELP {m.name} {m.help}")
            out.append(f"# TYPE {m.name} {m.kind}")
            out.extend(m.samples())
        return ("\n".join(out) + "\n").encode()


def scope_of(name: str | None, verb: str, namespace: str | None) -> str:
    """kube-apiserver's CleanScope."""
    if name or verb == "create":
        return "resource"
    if namespace:
        return "namespace"
    return "cluster"
