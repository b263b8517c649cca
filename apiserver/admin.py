"""The admin API (FastAPI) under ``/kubesim/v1``: clusters at run time, with counts.

Off the Kubernetes hot path on purpose; its OpenAPI docs are at ``/kubesim/docs``.
"""
from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

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


class ClusterDetail(ClusterSummary):
    resources: dict[str, int]
    historyEvents: int
    compactedResourceVersion: int
    watchersOverflowed: int


def _summary(cluster: Any) -> dict[str, Any]:
    st = cluster.storage
    return {"name": cluster.name, "resourceVersion": st.rv,
            "objects": sum(len(t.objects) for t in st.tables.values()), "watchers": st.watcher_count()}


def build_admin(mux: Multiplexer) -> FastAPI:
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
        return kubeconfig(server, name)

    return api
