"""The store's "serialize once" claims, measured against plain-Python references in the same run.

    python -m benchmarks.store            # full: 100k and 1M pods (a few minutes)
    python -m benchmarks.store --quick    # 20k and 100k pods (under a minute on 2 cores)

Figures (the LAST line printed is one JSON object with all of them):

- memory_ratio: resident memory per stored pod / the pod's stored JSON size, everything the
  store keeps included (bytes, record, key, indexes, GC graph, history window). Measured as an
  RSS delta (/proc/self VmRSS, after gc.collect()) in a fresh subprocess per (variant, N); the
  reference keeps the same pods as plain dicts in a dict keyed by ``ns/name``.
- list_speedup: a 10,000-pod PodList as the store serves it (ClusterStore.list + the byte join,
  done by ``objects.join_list`` in one copy) vs ``orjson.dumps`` of the same list of dicts (the
  outputs are checked to be identical); list_speedup_concat joins as ``head + join + tail``.
- creates_per_s (ClusterStore.create, copy=True, one core, in process), creates_per_s_nocopy,
  gets_per_s (ClusterStore.get, keys in random order).
- empty_cluster_bytes: RSS per cluster over 10,000 ``Multiplexer.create(name)`` (with the 4
  bootstrap namespaces), and with ``bootstrap=False`` and with a seeded Multiplexer.

Timings are the best of several runs in the thread's CPU time (time.thread_time): the figure is
what one core does, whatever else the machine is running.
- watch_events_per_s: one write fanned out to 1,000 watchers, consumers draining with
  ``get_nowait()`` and taking the wire line via ``encode_item``; also with half of the
  watchers on a label selector. Reference: encoding the event per watcher with orjson.
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from typing import Any

import orjson

from apiserver.cluster import ClusterStore
from apiserver.multiplexer import Multiplexer
from apiserver.objects import join_list
from apiserver.resources import BUILTIN_BY_GVR
from apiserver.watch import encode_item

from . import _common as C

MODULE = "benchmarks.store"
PODS = BUILTIN_BY_GVR[("", "v1", "pods")]
NAMESPACES = BUILTIN_BY_GVR[("", "v1", "namespaces")]

TARGETS = {"memory_ratio": 2.0, "list_speedup": 4.0, "creates_per_s": 30_000,
           "empty_cluster_bytes": 10_000}

# ---- the workload ----------------------------------------------------------------------------
# A handful of Deployments (app, namespace); each pod belongs to its Deployment's ReplicaSet.
DEPLOYMENTS = (("web", "default"), ("api", "default"), ("worker", "jobs"), ("cache", "jobs"),
               ("ingress", "edge"))
EXTRA_NAMESPACES = ("jobs", "edge")
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"   # kube's generateName alphabet
NODES = 100


def _suffix(i: int) -> str:
    out = []
    for _ in range(5):
        i, r = divmod(i, 27)
        out.append(_ALPHABET[r])
    return "".join(out)


def make_pod(i: int) -> dict[str, Any]:
    """Pod ``i``: ~770 bytes as a client sends it (more once the server adds its defaults)."""
    d = i % len(DEPLOYMENTS)
    app, ns = DEPLOYMENTS[d]
    h = f"{0x5f7c9d8b4 + d * 7919:x}"
    rs = f"{app}-{h}"
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    node = (i * 7) % NODES
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": f"{rs}-{_suffix(i)}", "namespace": ns,
            "labels": {"app": app, "pod-template-hash": h},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                 "uid": f"6b1d3c2e-0000-4000-8000-00000000000{d}", "controller": True,
                                 "blockOwnerDeletion": True}],
        },
        "spec": {
            "containers": [{"name": app, "image": f"{app}:1.4.2", "ports": [{"containerPort": 8080}],
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                            "imagePullPolicy": "IfNotPresent"}],
            "nodeName": f"node-{node:03d}",
            "restartPolicy": "Always", "schedulerName": "default-scheduler", "serviceAccountName": "default",
        },
        "status": {
            "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": f"192.168.0.{node}",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def new_store(**kw: Any) -> ClusterStore:
    c = ClusterStore("bench", seed=1, **kw)
    for ns in EXTRA_NAMESPACES:
        c.create(NAMESPACES, None, {"metadata": {"name": ns}}, copy=False)
    return c


def fill(c: ClusterStore, n: int, start: int = 0) -> None:
    create = c.create
    for i in range(start, start + n):
        create(PODS, None, make_pod(i), copy=False)


# ---- children (fresh interpreters, for memory) ----------------------------------------------
def child_memory(variant: str, n: int) -> dict[str, Any]:
    c = new_store()
    # warm every code path (and any lazily built cache) before the baseline
    c.create(PODS, None, make_pod(n + 1), copy=False, dry_run=True)
    orjson.loads(orjson.dumps(make_pod(n + 2)))
    json_bytes = 0
    t0 = time.perf_counter()
    with C.RssDelta() as mem:
        if variant == "store":
            create = c.create
            for i in range(n):
                json_bytes += len(create(PODS, None, make_pod(i), copy=False).data)
            assert c.storage.count(PODS) == n
        else:  # the same pods (server defaults and all) kept as plain dicts
            kept: dict[str, dict[str, Any]] = {}
            rv = c.resource_version
            for i in range(n):
                rec = c.create(PODS, None, make_pod(i), copy=False, dry_run=True)
                obj = orjson.loads(rec.data)
                obj["metadata"]["resourceVersion"] = str(rv + 1 + i)
                kept[rec.key] = obj
                json_bytes += len(rec.data) + len(',"resourceVersion":""') + len(str(rv + 1 + i))
    seconds = time.perf_counter() - t0
    return {"variant": variant, "n": n, "bytes": mem.bytes, "json_bytes": json_bytes, "seconds": seconds,
            "per_pod": mem.bytes / n, "json_per_pod": json_bytes / n, "ratio": mem.bytes / json_bytes}


def child_clusters(n: int, bootstrap: bool, seed: int | None = None) -> dict[str, Any]:
    m = Multiplexer(seed=seed)
    m.create("warmup", bootstrap=bootstrap)
    names = [f"cluster-{i:05d}" for i in range(n)]
    with C.RssDelta() as mem:
        for name in names:
            m.create(name, bootstrap=bootstrap)
    return {"n": n, "bootstrap": bootstrap, "seeded": seed is not None, "bytes": mem.bytes, "per_cluster": mem.bytes / n}


# ---- in-process timings ----------------------------------------------------------------------
LIST_HEAD = b'{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"%d"},"items":['


def bench_list(runs: int) -> dict[str, Any]:
    n = 10_000
    c = new_store()
    fill(c, n)
    dicts = [o.decode() for o in c.list(PODS).items]

    def served() -> bytes:  # ClusterStore.list + the HTTP layer's join, in one copy (objects.join_list)
        r = c.list(PODS)
        return join_list(LIST_HEAD % r.resource_version, [o.data for o in r.items], b"]}")

    def served_concat() -> bytes:  # the same bytes as head + b",".join(items) + tail: three copies
        r = c.list(PODS)
        return LIST_HEAD % r.resource_version + b",".join([o.data for o in r.items]) + b"]}"

    def reference() -> bytes:
        return orjson.dumps({"kind": "PodList", "apiVersion": "v1",
                             "metadata": {"resourceVersion": str(c.resource_version)}, "items": dicts})

    assert served() == served_concat() == reference(), "the served list and the reference differ"
    # rounds of back-to-back runs (each after a warm-up run), best of each: all variants see the
    # same machine conditions, and none pays for the allocator state another left behind
    times: dict[str, list[float]] = {"served": [], "concat": [], "ref": [], "store": []}
    for _ in range(3):
        times["served"] += C.repeat(served, runs=runs)
        times["concat"] += C.repeat(served_concat, runs=runs)
        times["ref"] += C.repeat(reference, runs=runs)
        times["store"] += C.repeat(lambda: c.list(PODS), runs=runs)
    best = {k: min(v) for k, v in times.items()}
    return {"list_items": n, "list_ms": best["served"] * 1e3, "list_concat_ms": best["concat"] * 1e3,
            "list_ref_ms": best["ref"] * 1e3, "list_store_ms": best["store"] * 1e3,
            "list_speedup": best["ref"] / best["served"], "list_speedup_concat": best["ref"] / best["concat"],
            "list_bytes": len(served())}


def bench_writes(n: int, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rates: dict[str, list[float]] = {"copy": [], "nocopy": [], "get": [], "floor": []}
    for _ in range(runs):
        bodies = [make_pod(i) for i in range(n)]
        c = new_store()
        create = c.create
        gc.collect()
        rates["copy"].append(n / C.timed(lambda: [create(PODS, None, b) for b in bodies]))
        keys = [(b["metadata"]["namespace"], b["metadata"]["name"]) for b in bodies]
        random.Random(7).shuffle(keys)
        get = c.get
        rates["get"].append(n / C.timed(lambda: [get(PODS, ns, name) for ns, name in keys]))
        del c, create, get
        c = new_store()
        create = c.create
        gc.collect()
        rates["nocopy"].append(n / C.timed(lambda: [create(PODS, None, b, copy=False) for b in bodies]))
        # the floor a copy=True create cannot go under: deep copy + one encode, nothing stored
        bodies = [make_pod(i) for i in range(n)]
        rates["floor"].append(n / C.timed(lambda: [orjson.dumps(orjson.loads(orjson.dumps(b))) for b in bodies]))
        del c, create, bodies
    out["creates_per_s"] = max(rates["copy"])
    out["creates_per_s_nocopy"] = max(rates["nocopy"])
    out["gets_per_s"] = max(rates["get"])
    out["encode_floor_per_s"] = max(rates["floor"])
    out["writes_n"] = n
    return out


def _watch_run(watchers: int, writes: int, selector_every: int) -> tuple[int, float, float]:
    """(events delivered, seconds through the store, seconds for the per-watcher-encode reference)."""
    c = new_store(config=None)
    fill(c, 10)
    rv = str(c.resource_version)
    ws = [c.watch(PODS, None, resource_version=rv,
                  label_selector=("app=web" if selector_every and i % selector_every == 0 else None))
          for i in range(watchers)]
    bodies = [make_pod(1000 + i) for i in range(writes)]
    create = c.create
    delivered = 0

    def run() -> None:
        nonlocal delivered
        for body in bodies:
            create(PODS, None, body, copy=False)
            for w in ws:
                get = w.get_nowait
                while (item := get()) is not None:
                    encode_item(PODS, item[0], item[1])
                    delivered += 1

    seconds = C.timed(run)
    # reference: the same deliveries from dicts, each watcher matching and encoding its own copy
    objs = [orjson.loads(c.get(PODS, b["metadata"]["namespace"], b["metadata"]["name"]).data) for b in bodies]
    selective = [bool(selector_every) and i % selector_every == 0 for i in range(watchers)]
    ref_delivered = 0

    def reference() -> None:
        nonlocal ref_delivered
        dumps = orjson.dumps
        for o in objs:
            for sel in selective:
                if sel and (o["metadata"].get("labels") or {}).get("app") != "web":
                    continue
                dumps({"type": "ADDED", "object": o}) + b"\n"
                ref_delivered += 1

    ref_seconds = C.timed(reference)
    assert ref_delivered == delivered, (ref_delivered, delivered)
    for w in ws:
        w.close()
    return delivered, seconds, ref_seconds


def bench_watch(writes: int, runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, every in (("", 0), ("_selector", 2)):
        for _ in range(runs):
            delivered, seconds, ref_seconds = _watch_run(1000, writes, every)
            key = "watch_events_per_s" + label
            out[key] = max(out.get(key, 0.0), delivered / seconds)
            key = "watch_ref_events_per_s" + label
            out[key] = max(out.get(key, 0.0), delivered / ref_seconds)
        out["watch_events" + label] = delivered
    out["watch_watchers"] = 1000
    out["watch_writes"] = writes
    return out


# ---- main --------------------------------------------------------------------------------------
def _fmt_n(n: int) -> str:
    return f"{n // 1_000_000}m" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.store", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes; under a minute on 2 cores")
    p.add_argument("--write", dest="write", action="store_true", default=None,
                   help="write benchmarks/RESULTS.md (default: full runs only)")
    p.add_argument("--no-write", dest="write", action="store_false")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "memory":
            res = child_memory(rest[0], int(rest[1]))
        elif kind == "clusters":
            res = child_clusters(int(rest[0]), rest[1] == "1", int(rest[2]) if len(rest) > 2 else None)
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(res))
        return 0

    t_start = time.perf_counter()
    quick = args.quick
    sizes = (20_000, 100_000) if quick else (100_000, 1_000_000)
    argv_shown = [a for a in (argv if argv is not None else sys.argv[1:])]
    print(f"kubesim store benchmark ({'quick' if quick else 'full'}); {C.machine_line()}", flush=True)

    # memory and clusters: fresh interpreters, two at a time (RSS is per process)
    jobs = [["--child", "memory", v, str(n)] for n in sizes for v in ("store", "dict")]
    jobs += [["--child", "clusters", "10000", b] for b in ("1", "0")]
    jobs += [["--child", "clusters", "10000", "1", "42"]]
    children = C.run_children(MODULE, jobs, parallel=min(2, C.machine()["nproc"] or 1))
    mem = {(r["variant"], r["n"]): r for r in children if "variant" in r}
    clusters = {r["bootstrap"]: r for r in children if "bootstrap" in r and not r["seeded"]}
    seeded = next(r for r in children if r.get("seeded"))

    # timings in this process, with nothing else running
    res: dict[str, Any] = {}
    res.update(bench_list(runs=5 if quick else 10))
    res.update(bench_writes(20_000 if quick else 100_000, runs=3))
    res.update(bench_watch(writes=100 if quick else 300, runs=2 if quick else 3))

    small, large = sizes
    out: dict[str, Any] = {
        "memory_ratio": mem[("store", large)]["ratio"],
        f"memory_ratio_{_fmt_n(small)}": mem[("store", small)]["ratio"],
        f"memory_ratio_{_fmt_n(large)}": mem[("store", large)]["ratio"],
    }
    out.setdefault("memory_ratio_100k", None)
    out.setdefault("memory_ratio_1m", None)
    out.update({
        "list_speedup": res["list_speedup"],
        "creates_per_s": res["creates_per_s"],
        "creates_per_s_nocopy": res["creates_per_s_nocopy"],
        "gets_per_s": res["gets_per_s"],
        "empty_cluster_bytes": clusters[True]["per_cluster"],
        "empty_cluster_bytes_no_bootstrap": clusters[False]["per_cluster"],
        "empty_cluster_bytes_seeded": seeded["per_cluster"],
        "watch_events_per_s": res["watch_events_per_s"],
        "watch_events_per_s_selector": res["watch_events_per_s_selector"],
        # references and context
        f"dict_memory_ratio_{_fmt_n(small)}": mem[("dict", small)]["ratio"],
        f"dict_memory_ratio_{_fmt_n(large)}": mem[("dict", large)]["ratio"],
        "store_bytes_per_pod": mem[("store", large)]["per_pod"],
        "dict_bytes_per_pod": mem[("dict", large)]["per_pod"],
        "pod_json_bytes": mem[("store", large)]["json_per_pod"],
        "pod_json_submitted_bytes": len(orjson.dumps(make_pod(12345))),
        "list_speedup_concat": res["list_speedup_concat"],
        "list_ms": res["list_ms"], "list_concat_ms": res["list_concat_ms"], "list_ref_ms": res["list_ref_ms"],
        "list_store_ms": res["list_store_ms"],
        "encode_floor_per_s": res["encode_floor_per_s"],
        "watch_ref_events_per_s": res["watch_ref_events_per_s"],
        "watch_ref_events_per_s_selector": res["watch_ref_events_per_s_selector"],
        "quick": quick,
        "nproc": C.machine()["nproc"], "python": C.machine()["python"],
    })
    out["seconds"] = time.perf_counter() - t_start
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}

    def ratio(x: float) -> str:
        return f"{x:.2f}x"

    rows = []
    for n in sizes:
        s, d = mem[("store", n)], mem[("dict", n)]
        rows.append(C.Row(f"memory / JSON size, {n:,} pods", f"{ratio(s['ratio'])} ({s['per_pod']:,.0f} B/pod)",
                          f"dicts {ratio(d['ratio'])} ({d['per_pod']:,.0f} B/pod)", "<= 2.00x",
                          C.verdict(s["ratio"] <= TARGETS["memory_ratio"]) if n == large else ""))
    rows.append(C.Row("list 10,000 pods (list + join_list)", f"{res['list_ms']:.2f} ms ({ratio(res['list_speedup'])})",
                      f"orjson.dumps(dicts) {res['list_ref_ms']:.2f} ms", ">= 4.00x",
                      C.verdict(res["list_speedup"] >= TARGETS["list_speedup"])))
    rows.append(C.Row("  ... joined as head + join + tail", f"{res['list_concat_ms']:.2f} ms "
                      f"({ratio(res['list_speedup_concat'])})", f"ClusterStore.list alone {res['list_store_ms']:.2f} ms"))
    rows.append(C.Row("creates/s (copy=True, 1 core)", f"{res['creates_per_s']:,.0f}",
                      f"copy+encode floor {res['encode_floor_per_s']:,.0f}", ">= 30,000",
                      C.verdict(res["creates_per_s"] >= TARGETS["creates_per_s"])))
    rows.append(C.Row("creates/s (copy=False)", f"{res['creates_per_s_nocopy']:,.0f}"))
    rows.append(C.Row("gets/s", f"{res['gets_per_s']:,.0f}"))
    rows.append(C.Row("empty cluster (4 namespaces)", f"{clusters[True]['per_cluster']:,.0f} B",
                      f"bootstrap=False {clusters[False]['per_cluster']:,.0f} B", "<= 10,000 B",
                      C.verdict(clusters[True]["per_cluster"] <= TARGETS["empty_cluster_bytes"])))
    rows.append(C.Row("  ... seeded Multiplexer", f"{seeded['per_cluster']:,.0f} B"))
    rows.append(C.Row("watch events/s, 1,000 watchers", f"{res['watch_events_per_s']:,.0f}",
                      f"dicts, encode per watcher {res['watch_ref_events_per_s']:,.0f}"))
    rows.append(C.Row("  ... half with a label selector", f"{res['watch_events_per_s_selector']:,.0f}",
                      f"dicts, match + encode per watcher {res['watch_ref_events_per_s_selector']:,.0f}"))

    print()
    print(C.format_table(rows))
    print(f"\npod JSON: {out['pod_json_submitted_bytes']} B as submitted, {out['pod_json_bytes']:.0f} B as stored "
          f"(server defaults, uid, timestamps); memory = RSS delta in a fresh process; timings = best of "
          f"several runs in thread CPU time; {out['seconds']:.0f} s total")

    write = args.write if args.write is not None else not quick
    if write:
        cmd = C.command_line(MODULE, argv_shown)
        body = "\n".join([
            f"Command: `{cmd}` (from the repository root, `PYTHONPATH=.`)", "",
            f"Machine: {C.machine_line()}", "",
            "Memory is the RSS delta (VmRSS after `gc.collect()`) of loading N pods in a fresh process, "
            "divided by the pods' stored JSON size (server defaults included, "
            f"{out['pod_json_bytes']:.0f} B/pod; {out['pod_json_submitted_bytes']} B as submitted). "
            "The store figure includes the record, key, indexes, garbage-collector graph and history window; "
            "the reference keeps the same pods as dicts keyed by `ns/name`. Timings are in process on one core, "
            "the best of several runs measured in the thread's CPU time (`time.thread_time`, so other load on "
            "the machine does not count), garbage collection off while timed; references are measured in the "
            "same run, in alternating rounds with the store's runs. `list_speedup` serves the list as "
            "`ClusterStore.list` + `apiserver.objects.join_list` (the bytes of `head + b\",\".join(items) + tail`, "
            "asserted identical to the reference's); `list_speedup_concat` is that literal expression.", "",
            C.format_table(rows, markdown=True), "",
            "```json", json.dumps(out), "```",
        ])
        C.write_section("store", body)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
