"""Create-only review kinds: access reviews (``kubectl auth can-i``), rules reviews, token reviews and
``kubectl auth whoami`` (SelfSubjectReview). Answered, never stored, as kube-apiserver does.

kubesim authorizes everything (as an AlwaysAllow authorizer would), so access reviews say yes; a
token review accepts the service-account tokens kubesim itself issued (``apiserver/tokens.py``)
and nothing else; whoami reports the service account of such a token, else the admin that
kubesim's kubeconfigs stand for.
"""
from __future__ import annotations

from typing import Any

from . import errors
from .cluster import ClusterStore
from .resources import ResourceType
from .tokens import verify

ADMIN = {"username": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", "system:authenticated"]}
REVIEW_KINDS = frozenset(("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview",
                          "SelfSubjectRulesReview", "TokenReview", "SelfSubjectReview"))


def review(cluster: ClusterStore, rtype: ResourceType, namespace: str | None, body: dict[str, Any],
           bearer: str) -> dict[str, Any]:
    """The answered review (201): the request's spec with its status filled in."""
    kind = rtype.kind
    if body.get("kind") not in (None, kind) or body.get("apiVersion") not in (None, rtype.api_version):
        raise errors.bad_request(f"the object provided is unrecognized (must be of type {kind})")
    raw_spec = body.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    meta: dict[str, Any] = {"creationTimestamp": None}
    if kind == "LocalSubjectAccessReview":
        meta["namespace"] = namespace
        attrs = spec.get("resourceAttributes") or {}
        if attrs.get("namespace") not in (None, "", namespace):
            raise errors.invalid(kind, "authorization.k8s.io", "", [errors.field_error(
                "spec.resourceAttributes.namespace", "FieldValueInvalid",
                f'Invalid value: "{attrs.get("namespace")}": must match metadata.namespace')])
    if kind in ("SelfSubjectAccessReview", "SubjectAccessReview", "LocalSubjectAccessReview"):
        if not spec.get("resourceAttributes") and not spec.get("nonResourceAttributes"):
            raise errors.invalid(kind, "authorization.k8s.io", "", [errors.field_error(
                "spec.resourceAttributes", "FieldValueRequired",
                "Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified")])
        status: dict[str, Any] = {"allowed": True, "reason": "kubesim authorizes every request"}
    elif kind == "SelfSubjectRulesReview":
        if not spec.get("namespace"):
            raise errors.invalid(kind, "authorization.k8s.io", "", [errors.field_error(
                "spec.namespace", "FieldValueRequired", "Required value: no namespace on request")])
        status = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
    elif kind == "TokenReview":
        claims = verify(cluster, str(spec.get("token") or ""))
        if claims is None:
            status = {"authenticated": False, "user": {}, "error": "invalid bearer token"}
        else:
            wanted = spec.get("audiences") or []
            audiences = [a for a in claims.get("aud") or [] if not wanted or a in wanted]
            if wanted and not audiences:
                status = {"authenticated": False, "user": {}, "error": "token audiences do not match"}
            else:
                status = {"authenticated": True, "user": _service_account_user(claims), "audiences": audiences}
    else:  # SelfSubjectReview
        claims = verify(cluster, bearer) if bearer else None
        status = {"userInfo": _service_account_user(claims) if claims else dict(ADMIN)}
        return {"kind": kind, "apiVersion": rtype.api_version, "metadata": meta, "status": status}
    return {"kind": kind, "apiVersion": rtype.api_version, "metadata": meta, "spec": spec, "status": status}


def _service_account_user(claims: dict[str, Any]) -> dict[str, Any]:
    k8s = claims.get("kubernetes.io") or {}
    ns, sa = k8s.get("namespace", ""), (k8s.get("serviceaccount") or {})
    return {"username": f"system:serviceaccount:{ns}:{sa.get('name', '')}", "uid": sa.get("uid", ""),
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]}
