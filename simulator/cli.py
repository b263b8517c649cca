"""The ``kubesim`` command line: serve fake clusters, print kubeconfigs, and a demo for ``make run``."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import urllib.request
from typing import Any, Sequence

from apiserver.faults import FaultPlan, FaultPlanError
from apiserver.kubeconfig import cluster_url, kubeconfig, write_kubeconfigs
from apiserver.multiplexer import Multiplexer
from apiserver.http.handlers import HttpConfig
from apiserver.server import Server
from apiserver.storage import StoreConfig


def _cluster_names(args: argparse.Namespace) -> list[str]:
    if args.clusters is not None:
        if args.clusters < 1:
            raise SystemExit("kubesim serve: --clusters must be at least 1")
        return [f"c{i}" for i in range(1, args.clusters + 1)]
    if args.cluster:
        return list(dict.fromkeys(args.cluster))
    return ["default"]


def _store_config(args: argparse.Namespace) -> StoreConfig:
    return StoreConfig(history_events=args.history_events, history_seconds=args.history_seconds)


def cmd_serve(args: argparse.Namespace) -> int:
    names = _cluster_names(args)
    mux = Multiplexer(config=_store_config(args))
    faults = None
    if args.faults:
        try:
            faults = FaultPlan.load(args.faults, clock=mux.clock)
        except FaultPlanError as e:
            print(f"kubesim serve: invalid fault plan: {e}", file=sys.stderr)
            return 2
    for n in names:
        mux.create(n)
    try:
        server = Server(mux, args.host, args.port, log_level=args.log_level, faults=faults,
                        per_cluster_metrics=args.cluster_metrics, tls=args.tls, tls_dir=args.tls_dir,
                        http_config=HttpConfig(managed_fields=args.managed_fields))
    except OSError as e:
        print(f"kubesim serve: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 1
    if args.kubeconfig_dir:
        paths = write_kubeconfigs(args.kubeconfig_dir, server.url, names, server.ca_pem)
        print(f"kubeconfigs: {len(paths)} written to {args.kubeconfig_dir}")
    shown = names[:5]
    print(f"kubesim serving {len(names)} cluster(s) on {server.url}")
    for n in shown:
        print(f"  {n}: {cluster_url(server.url, n)}")
    if len(names) > len(shown):
        print(f"  ... and {len(names) - len(shown)} more")
    print(f"  admin API: {server.url}/kubesim/docs   metrics: {server.url}/metrics")
    if server.certificate is not None:
        print(f"  TLS: CA certificate in {server.ca_file} (the kubeconfigs carry it)")
    if faults is not None:
        print(f"  fault plan: {args.faults} ({len(faults.rules)} rules, seed {faults.seed})")
    sys.stdout.flush()
    try:
        _run(server.serve())
    except KeyboardInterrupt:
        pass
    print("kubesim: stopped")
    return 0


def _run(coro: Any) -> None:
    """uvloop when installed (uvicorn[standard] brings it): fewer microseconds per request and per watch event."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def cmd_kubeconfig(args: argparse.Namespace) -> int:
    sys.stdout.write(kubeconfig(args.server, args.cluster))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve a few clusters, fill them over HTTP, and show list/watch figures: the quickest tour."""
    import orjson

    mux = Multiplexer(seed=1)
    names = [f"c{i}" for i in range(1, args.clusters + 1)]
    for n in names:
        mux.create(n)
    server = Server(mux, "127.0.0.1", 0).start()
    try:
        def post(url: str, obj: dict) -> None:
            req = urllib.request.Request(url, data=orjson.dumps(obj), method="POST",
                                         headers={"Content-Type": "application/json"})
            urllib.request.urlopen(req).read()

        t0 = time.perf_counter()
        for n in names:
            base = cluster_url(server.url, n)
            for i in range(args.nodes):
                post(f"{base}/api/v1/nodes", {"metadata": {"name": f"node-{i}", "labels": {"role": "worker"}},
                                             "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
            for i in range(args.pods):
                post(f"{base}/api/v1/namespaces/default/pods",
                     {"metadata": {"name": f"pod-{i}", "labels": {"app": f"app-{i % 3}"}},
                      "spec": {"nodeName": f"node-{i % args.nodes}", "containers": [{"name": "c", "image": "nginx"}]}})
        writes = len(names) * (args.nodes + args.pods)
        dt = time.perf_counter() - t0
        print(f"kubesim demo: {len(names)} clusters on {server.url}")
        print(f"  {writes} objects created over HTTP in {dt:.2f}s ({writes / dt:.0f}/s)")
        base = cluster_url(server.url, names[0])
        body = orjson.loads(urllib.request.urlopen(f"{base}/api/v1/pods?labelSelector=app%3Dapp-1").read())
        print(f"  {names[0]}: pods with app=app-1: {len(body['items'])} (list rv {body['metadata']['resourceVersion']})")
        body = orjson.loads(urllib.request.urlopen(f"{base}/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-0").read())
        print(f"  {names[0]}: pods on node-0: {len(body['items'])}")
        print(f"  try it yourself:  kubesim serve --clusters 3 --kubeconfig-dir ./kubeconfigs")
        print(f"                    kubectl --kubeconfig ./kubeconfigs/c1.kubeconfig get pods -A")
    finally:
        server.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubesim", description="An in-memory fake Kubernetes control plane for "
                                                           "scale testing.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="serve fake clusters' API servers on one port")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=6443)
    group = s.add_mutually_exclusive_group()
    group.add_argument("--clusters", type=int, metavar="N", help="serve clusters c1..cN")
    group.add_argument("--cluster", action="append", metavar="NAME", help="serve a cluster by name (repeatable)")
    s.add_argument("--kubeconfig-dir", metavar="DIR", help="write one kubeconfig per cluster here")
    s.add_argument("--history-events", type=int, default=StoreConfig.history_events, metavar="N",
                   help="watch history window per cluster, in events (default %(default)s)")
    s.add_argument("--history-seconds", type=float, default=StoreConfig.history_seconds, metavar="S",
                   help="watch history window per cluster, in seconds (default %(default)s)")
    s.add_argument("--faults", metavar="FILE", help="a fault plan (YAML): latency, errors, outages, compaction")
    s.add_argument("--no-cluster-metrics", dest="cluster_metrics", action="store_false",
                   help="drop the per-cluster label from request metrics (fewer series with many clusters)")
    s.add_argument("--no-managed-fields", dest="managed_fields", action="store_false",
                   help="record no managedFields Update entries (server-side apply keeps its own): cheaper writes "
                        "for write-heavy runs")
    s.add_argument("--tls", action="store_true",
                   help="serve https with a CA made at start (kubeconfigs carry it; client-go sends tokens only "
                        "over TLS)")
    s.add_argument("--tls-dir", metavar="DIR", help="with --tls: write tls.crt, tls.key and ca.crt here")
    s.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    s.set_defaults(func=cmd_serve)

    k = sub.add_parser("kubeconfig", help="print a kubeconfig for one fake cluster")
    k.add_argument("--server", required=True, metavar="URL", help="the kubesim server's base URL")
    k.add_argument("--cluster", required=True, metavar="NAME")
    k.set_defaults(func=cmd_kubeconfig)

    d = sub.add_parser("demo", help="serve a few clusters, fill them over HTTP and show what it took")
    d.add_argument("--clusters", type=int, default=3)
    d.add_argument("--nodes", type=int, default=20)
    d.add_argument("--pods", type=int, default=300)
    d.set_defaults(func=cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
