"""A tiny kopf operator for tests/test_kopf.py: run with ``python -m kopf run --standalone --all-namespaces``.

On a Widget's creation it answers with a status (the handler's return value lands in
``status.on_create``, sent to the ``/status`` subresource); on deletion it records the name in
the file named by ``$KUBESIM_KOPF_MARKER`` before kopf removes its finalizer.
"""
import os

import kopf

GROUP = "kopf.kubesim.io"


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    settings.posting.level = 100          # no k8s Events: keep the traffic to what the test checks
    settings.watching.reconnect_backoff = 0.1
    settings.watching.server_timeout = 30
    settings.networking.request_timeout = 10
    settings.persistence.finalizer = "kopf.kubesim.io/finalizer"


@kopf.on.create(GROUP, "v1", "widgets")
def on_create(spec, name, patch, **_):
    patch.status["phase"] = "Ready"
    return {"message": f"hello {name}", "size": spec.get("size", 0) * 2}


@kopf.on.delete(GROUP, "v1", "widgets")
def on_delete(name, namespace, **_):
    marker = os.environ.get("KUBESIM_KOPF_MARKER")
    if marker:
        with open(marker, "a") as f:
            f.write(f"deleted {namespace}/{name}\n")
