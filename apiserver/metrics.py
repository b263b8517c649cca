"""kube-apiserver's metrics, in its names, labels and buckets, as Prometheus text.

A tiny purpose-built registry rather than prometheus_client: a request is recorded with one
dict lookup, one bisect and two increments (~0.25 us; prometheus_client doing the same
observations: ~19x that; see benchmarks/RESULTS.md, ``faults``). The per-cluster label can be switched off:
10,000 clusters x verbs x resources x 24 buckets is a lot of series.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any, Callable, Iterable

REQUEST_BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
                   10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
SLI_BUCKETS = REQUEST_BUCKETS[2:]
FIRST_BUCKET = REQUEST_BUCKETS[0]  # most requests fall here: one comparison instead of a bisect

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


class _Derived:
    """A family computed at scrape time from another table (the request metrics below)."""

    def __init__(self, name: str, help: str, kind: str, labelnames: tuple[str, ...],
                 samples: Callable[[], Iterable[str]]) -> None:
        self.name, self.help, self.kind, self.labelnames, self.samples = name, help, kind, labelnames, samples


def _histogram_samples(name: str, labelnames: tuple[str, ...], series: Iterable[tuple[tuple[Any, ...], list[float]]],
                       skip: int = 0) -> Iterable[str]:
    """Histogram lines over REQUEST_BUCKETS, leaving out the first ``skip`` bounds (SLI_BUCKETS: 2)."""
    n = len(REQUEST_BUCKETS)
    les = ['le="' + _num(le) + '"' for le in REQUEST_BUCKETS]
    for labels, s in series:
        cumulative = 0.0
        for i in range(n):
            cumulative += s[i]
            if i >= skip:
                yield f"{name}_bucket{_labels(labelnames, labels, les[i])} {_num(cumulative)}"
        cumulative += s[n]
        yield f"{name}_bucket{_labels(labelnames, labels, _INF)} {_num(cumulative)}"
        yield f"{name}_sum{_labels(labelnames, labels)} {repr(s[-1])}"
        yield f"{name}_count{_labels(labelnames, labels)} {_num(cumulative)}"


def _summed(series: Iterable[tuple[tuple[Any, ...], list[float]]]) -> list[tuple[tuple[Any, ...], list[float]]]:
    out: dict[tuple[Any, ...], list[float]] = {}
    for labels, s in series:
        acc = out.get(labels)
        if acc is None:
            out[labels] = list(s)
        else:
            for i, v in enumerate(s):
                acc[i] += v
    return list(out.items())


Metric = Counter | Gauge | CallbackGauge | Histogram | _Derived


class Metrics:
    """The server's metrics; one instance per server (no global registry)."""

    def __init__(self, *, per_cluster: bool = True) -> None:
        self.per_cluster = per_cluster
        c = ("cluster",) if per_cluster else ()
        req = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")
        # One table for the three request families: per (cluster, verb, dryRun, group, version, resource,
        # subresource, scope, code), [count in each REQUEST_BUCKETS bucket, count above, sum]. A request
        # is one lookup, one bisect and two increments; the total (per code), the duration histogram
        # (over codes) and the SLI histogram (over codes and dry run, from the 0.05 s bound on: nothing
        # here waits on webhooks or priority & fairness) are summed out at scrape time.
        self.requests: dict[tuple[Any, ...], list[float]] = {}
        self.request_total = _Derived("apiserver_request_total",
                                      "Counter of apiserver requests broken out for each verb, dry run value, group, "
                                      "version, resource, scope, component, and HTTP response code.", "counter",
                                      c + req + ("code",), self._total_samples)
        self.request_duration = _Derived("apiserver_request_duration_seconds",
                                         "Response latency distribution in seconds for each verb, dry run value, "
                                         "group, version, resource, subresource, scope and component.", "histogram",
                                         c + req, self._duration_samples)
        self.request_sli = _Derived("apiserver_request_sli_duration_seconds",
                                    "Response latency distribution (not counting webhook duration and priority & "
                                    "fairness queue wait times) in seconds for each verb, group, version, resource, "
                                    "subresource, scope and component.", "histogram",
                                    c + tuple(n for n in req if n != "dry_run"), self._sli_samples)
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
                        subresource: str | None, scope: str, code: int, seconds: float) -> None:
        """The request families' one observation. ``KubeApp`` inlines this for successful requests."""
        key = (cluster if self.per_cluster else "", verb, dry_run, group, version, resource, subresource, scope, code)
        s = self.requests.get(key)
        if s is None:
            s = self.new_request_row(key)
        s[bisect_left(REQUEST_BUCKETS, seconds)] += 1
        s[-1] += seconds

    def new_request_row(self, key: tuple[Any, ...]) -> list[float]:
        row = self.requests[key] = [0.0] * (len(REQUEST_BUCKETS) + 2)
        return row

    def _request_rows(self) -> Iterable[tuple[tuple[Any, ...], tuple[Any, ...], list[float]]]:
        """(labels up to component, code, the row) for every row of the request table."""
        c = self.per_cluster
        for (cluster, verb, dry_run, group, version, resource, sub, scope, code), s in list(self.requests.items()):
            base = (VERB_LABEL.get(verb, verb.upper()), "All" if dry_run else "", group, version, resource,
                    sub or "", scope, "apiserver")
            yield ((cluster,) + base if c else base), str(code), s

    def _total_samples(self) -> Iterable[str]:
        for labels, code, s in self._request_rows():
            yield self.request_total.name + _labels(self.request_total.labelnames, labels + (code,)) + " " + _num(
                sum(s[:-1]))

    def _duration_samples(self) -> Iterable[str]:
        rows = _summed((labels, s) for labels, _, s in self._request_rows())
        return _histogram_samples(self.request_duration.name, self.request_duration.labelnames, rows)

    def _sli_samples(self) -> Iterable[str]:
        d = 2 if self.per_cluster else 1  # where dry_run sits in the labels
        rows = _summed((labels[:d] + labels[d + 1:], s) for labels, _, s in self._request_rows())
        return _histogram_samples(self.request_sli.name, self.request_sli.labelnames, rows, skip=2)

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
