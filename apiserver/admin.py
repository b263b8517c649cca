"""The admin API (FastAPI) under ``/kubesim/v1``: clusters at run time, with counts.

Off the Kubernetes hot path on purpose; its OpenAPI docs are at ``/kubesim/docs``.
"""
from __future__ import annotations

import re
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from .faults import FaultPlan, FaultPlanError, Rule
from .kubeconfig import kubeconfig
from .multiplexer import Multiplexer

_CLUSTER_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class ClusterCreate(BaseModel):
    name: str = Field(pattern=_CLUSTER_NAME, max_length=63, description="DNS-1123 label")
    bootstrap: bool = Field(True, description="create default, kube-system, kube-public, kube-node-lease")


class ClusterSummary(BaseModel):
    name: str
    resourceVersion: int
    objects: int
    watchers: int


class RuleToggle(BaseModel):
    enabled: bool


class Offline(BaseModel):
    offline: bool


def _parse_or_422(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except FaultPlanError as e:
        raise HTTPException(422, str(e)) from None
    except (TypeError, ValueError, KeyError, AttributeError) as e:
        raise HTTPException(422, f"invalid fault plan: {e}") from None


class ClusterDetail(ClusterSummary):
    resources: dict[str, int]
    historyEvents: int
    compactedResourceVersion: int
    watchersOverflowed: int


def _summary(cluster: Any) -> dict[str, Any]:
    st = cluster.storage
    return {"name": cluster.name, "resourceVersion": st.rv,
            "objects": sum(len(t.objects) for t in st.tables.values()), "watchers": st.watcher_count()}


def build_admin(mux: Multiplexer, app: Any = None) -> FastAPI:
    api = FastAPI(title="kubesim admin", version="1", docs_url="/kubesim/docs",
                  openapi_url="/kubesim/openapi.json", redoc_url=None)

    def find(name: str) -> Any:
        cluster = mux.find(name)
        if cluster is None:
            raise HTTPException(404, f'cluster "{name}" not found')
        return cluster

    @api.get("/kubesim/v1/clusters", response_model=list[ClusterSummary])
    def list_clusters() -> list[dict[str, Any]]:
        return [_summary(c) for c in mux]

    @api.post("/kubesim/v1/clusters", response_model=ClusterSummary, status_code=201)
    def create_cluster(body: ClusterCreate) -> dict[str, Any]:
        if body.name in mux:
            raise HTTPException(409, f'cluster "{body.name}" already exists')
        return _summary(mux.create(body.name, bootstrap=body.bootstrap))

    @api.get("/kubesim/v1/clusters/{name}", response_model=ClusterDetail)
    def get_cluster(name: str) -> dict[str, Any]:
        cluster = find(name)
        st = cluster.storage
        d = _summary(cluster)
        d.update(resources={sid: len(t.objects) for sid, t in sorted(st.tables.items()) if t.objects},
                 historyEvents=len(st.history), compactedResourceVersion=st.history.compacted_rv,
                 watchersOverflowed=st.stats.watchers_overflowed)
        return d

    @api.delete("/kubesim/v1/clusters/{name}", response_model=ClusterSummary)
    def delete_cluster(name: str) -> dict[str, Any]:
        d = _summary(find(name))
        mux.delete(name)
        return d

    @api.get("/kubesim/v1/clusters/{name}/kubeconfig", response_class=PlainTextResponse)
    def get_kubeconfig(name: str, server: str = Query(..., description="base URL of this kubesim server",
                                                       max_length=2048)) -> str:
        if not re.match(r"^https?://[^\s/]+(/[^\s]*)?$", server):
            raise HTTPException(422, "server must be an http(s) URL")
        find(name)
        return kubeconfig(server, name, getattr(app, "ca_pem", None))

    if app is not None:
        _fault_routes(api, mux, app)
    return api


def _fault_routes(api: FastAPI, mux: Multiplexer, app: Any) -> None:
    """Fault rules at run time: the same shapes as a fault-plan file."""

    def plan() -> FaultPlan:
        return app.faults

    def rule_or_404(name: str) -> Rule:
        rule = plan().rule(name)
        if rule is None:
            raise HTTPException(404, f"rule {name!r} not found")
        return rule

    @api.get("/kubesim/v1/faults")
    def get_faults() -> dict[str, Any]:
        return plan().to_dict()

    @api.put("/kubesim/v1/faults")
    def replace_faults(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        new = _parse_or_422(FaultPlan.from_dict, body, "request body")
        plan().replace(new)
        return plan().to_dict()

    @api.post("/kubesim/v1/faults/rules", status_code=201)
    def add_rule(body: dict[str, Any] = Body(...)) -> dict[str, Any]:
        rule = _parse_or_422(Rule.parse, body, "request body", len(plan().rules))
        if plan().rule(rule.name) is not None:
            raise HTTPException(409, f"rule {rule.name!r} already exists")
        plan().add(rule)
        return rule.to_dict()

    @api.get("/kubesim/v1/faults/rules/{name}")
    def get_rule(name: str) -> dict[str, Any]:
        rule = rule_or_404(name)
        return rule.to_dict()

    @api.patch("/kubesim/v1/faults/rules/{name}")
    def toggle_rule(name: str, body: RuleToggle) -> dict[str, Any]:
        rule = rule_or_404(name)
        rule.enabled = body.enabled
        return rule.to_dict()

    @api.delete("/kubesim/v1/faults/rules/{name}")
    def delete_rule(name: str) -> dict[str, Any]:
        rule = rule_or_404(name)
        plan().remove(name)
        return rule.to_dict()

    @api.get("/kubesim/v1/faults/log")
    def fault_log(limit: int = Query(1000, ge=1, le=100_000)) -> Response:
        """Injected faults as JSON lines: time, rule, fault, request."""
        p = plan()
        entries = p.log[-limit:]
        import orjson
        return Response(b"".join(orjson.dumps(e) + b"\n" for e in entries), media_type="application/x-ndjson")

    @api.get("/kubesim/v1/faults/counts")
    def fault_counts() -> list[dict[str, Any]]:
        return [{"rule": r, "fault": f, "count": n} for (r, f), n in sorted(plan().injected.items())]

    @api.post("/kubesim/v1/compaction")
    def compact(cluster: str | None = Query(None, max_length=63)) -> dict[str, Any]:
        """Cut the watch history now: watches resumed from older resourceVersions get 410."""
        if cluster is not None:
            c = mux.find(cluster)
            if c is None:
                raise HTTPException(404, f'cluster "{cluster}" not found')
            c.storage.compact()
            return {"compacted": [cluster]}
        app.compact_all()
        return {"compacted": mux.names()}

    @api.get("/kubesim/v1/clusters/{name}/offline")
    def get_offline(name: str) -> dict[str, Any]:
        if mux.find(name) is None:
            raise HTTPException(404, f'cluster "{name}" not found')
        return {"name": name, "offline": name in plan().offline}

    @api.put("/kubesim/v1/clusters/{name}/offline")
    def set_offline(name: str, body: Offline) -> dict[str, Any]:
        """Offline: connections to this cluster are reset (no HTTP answer) until brought back."""
        if mux.find(name) is None:
            raise HTTPException(404, f'cluster "{name}" not found')
        if body.offline:
            plan().offline.add(name)
        else:
            plan().offline.discard(name)
        return {"name": name, "offline": name in plan().offline}
