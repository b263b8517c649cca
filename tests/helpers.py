"""Shared test helpers: ``kubesim serve`` as a real process."""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from typing import Any, Iterator

import httpx

from apiserver.faults import FaultPlan
from apiserver.multiplexer import Multiplexer
from apiserver.server import Server

KUBESIM = os.path.join(os.path.dirname(sys.executable), "kubesim")


@contextlib.contextmanager
def kubesim_serve(*args: str) -> Iterator[str]:
    """``kubesim serve --port 0 ARGS`` in its own process (its own GIL); yields its base URL once healthy."""
    proc = subprocess.Popen([KUBESIM, "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = None
        for line in proc.stdout:
            m = re.search(r"serving \d+ cluster\(s\) on (https?://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url, proc.stderr.read() if proc.stderr else ""
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1, verify=False)
                break
            except httpx.TransportError:
                time.sleep(0.025)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def served(plan: dict[str, Any] | None = None, clusters: tuple[str, ...] = ("c1", "c2"),
           **kw: Any) -> Iterator[Server]:
    """An in-thread kubesim Server with these clusters and fault plan (kw go to ``Server``)."""
    mux = Multiplexer()
    for c in clusters:
        mux.create(c)
    faults = FaultPlan.from_dict(plan or {}, "test plan", clock=mux.clock)
    srv = Server(mux, "127.0.0.1", 0, faults=faults, **kw).start()
    try:
        yield srv
    finally:
        srv.stop()
