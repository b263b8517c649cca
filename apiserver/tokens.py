"""The ``serviceaccounts/token`` subresource (TokenRequest): what ``kubectl create token`` asks for.

The token is JWT-shaped with the claims kube-apiserver puts in one (issuer, subject
``system:serviceaccount:<ns>:<name>``, audiences, expiry, the ``kubernetes.io`` claim), signed with
a per-cluster HMAC key: clients that only carry a token, or decode its claims, see the real shape;
nothing can verify it against a real issuer, and nothing in kubesim authenticates with it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from . import errors
from .cluster import ClusterStore
from .resources import BUILTIN_BY_GVR

SERVICE_ACCOUNTS = BUILTIN_BY_GVR[("", "v1", "serviceaccounts")]
ISSUER = "https://kubernetes.default.svc.cluster.local"
DEFAULT_AUDIENCES = (ISSUER,)
DEFAULT_EXPIRATION = 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token_request(cluster: ClusterStore, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """The TokenRequest to answer (201) for service account ``namespace/name``."""
    sa = cluster.get(SERVICE_ACCOUNTS, namespace, name).decode()
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise errors.bad_request("spec must be an object")
    audiences = spec.get("audiences") or list(DEFAULT_AUDIENCES)
    expiration = spec.get("expirationSeconds", DEFAULT_EXPIRATION)
    if expiration is None:
        expiration = DEFAULT_EXPIRATION
    causes = []
    if not isinstance(expiration, int) or isinstance(expiration, bool):
        causes.append(errors.field_error("spec.expirationSeconds", "FieldValueInvalid",
                                         f"Invalid value: {expiration!r}: must be an integer"))
    elif expiration < MIN_EXPIRATION:
        causes.append(errors.field_error("spec.expirationSeconds", "FieldValueInvalid",
                                         f"Invalid value: {expiration}: may not specify a duration less than 10 minutes"))
    elif expiration > MAX_EXPIRATION:
        causes.append(errors.field_error("spec.expirationSeconds", "FieldValueInvalid",
                                         f"Invalid value: {expiration}: may not specify a duration larger than 2^32 "
                                         f"seconds"))
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        causes.append(errors.field_error("spec.audiences", "FieldValueInvalid",
                                         "Invalid value: audiences must be a list of strings"))
    if causes:
        raise errors.invalid("TokenRequest", "authentication.k8s.io", name, causes)
    now = int(cluster.clock.now())
    meta = sa["metadata"]
    claims: dict[str, Any] = {
        "aud": audiences, "exp": now + expiration, "iat": now, "iss": ISSUER,
        "jti": cluster.new_uid(), "nbf": now, "sub": f"system:serviceaccount:{namespace}:{name}",
        "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": meta.get("uid", "")}},
    }
    bound = spec.get("boundObjectRef")
    if isinstance(bound, dict) and bound.get("kind") and bound.get("name"):
        claims["kubernetes.io"][str(bound["kind"]).lower()] = {"name": bound["name"], "uid": bound.get("uid", "")}
    head = _b64(orjson.dumps({"alg": "HS256", "kid": cluster.name, "typ": "JWT"}))
    payload = _b64(orjson.dumps(claims))
    signature = _signature(cluster, str(meta.get("uid", "")), head, payload)
    return {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": cluster.now_timestamp()},
        "spec": {"audiences": audiences, "expirationSeconds": expiration, "boundObjectRef": bound},
        "status": {"token": f"{head}.{payload}.{signature}",
                   "expirationTimestamp": cluster.now_timestamp(float(expiration))},
    }


def _signature(cluster: ClusterStore, sa_uid: str, head: str, payload: str) -> str:
    key = hashlib.sha256(f"kubesim/{cluster.name}/{sa_uid}".encode()).digest()
    return _b64(hmac.new(key, f"{head}.{payload}".encode(), hashlib.sha256).digest())


def verify(cluster: ClusterStore, token: str) -> dict[str, Any] | None:
    """The claims of a token this cluster issued, still valid, for a service account that still exists
    with the same uid (upstream's check); None otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        sa = claims["kubernetes.io"]["serviceaccount"]
        ns = claims["kubernetes.io"]["namespace"]
    except (ValueError, KeyError, TypeError):
        return None
    if not hmac.compare_digest(_signature(cluster, str(sa.get("uid", "")), parts[0], parts[1]), parts[2]):
        return None
    if not isinstance(claims.get("exp"), int) or claims["exp"] <= cluster.clock.now():
        return None
    try:
        live = cluster.get(SERVICE_ACCOUNTS, ns, sa.get("name", "")).decode()
    except errors.StatusError:
        return None
    return claims if live["metadata"].get("uid") == sa.get("uid") else None
