"""A minimal but well-formed OpenAPI v3: what kubectl create/apply need at --validate=strict.

kubectl (cli-runtime ``queryParamVerifierV3``) looks, in the group-version document, for the
PATCH operation whose ``x-kubernetes-group-version-kind`` is the object's GVK and checks that its
parameters list ``fieldValidation`` (in: query). If so it sends ``fieldValidation=Strict`` and
skips client-side validation (which would need the protobuf /openapi/v2 we do not serve).

The apply patcher then asks whether that PATCH operation's ``requestBody.content`` lists
``application/strategic-merge-patch+json``; if it did, kubectl would compute the patch from
``components.schemas`` (needing merge keys we do not describe). It is therefore never listed:
kubectl falls back to its compiled-in types (SMP for built-ins, merge patch for CRs).

Component schemas are permissive (``x-kubernetes-preserve-unknown-fields``) and carry the GVK
as a list, the form kubectl's schema lookups expect. The root lists ``serverRelativeURL``s
rooted at /openapi/v3: client-go then prefixes them with the client's base path (so
/clusters/<name> multiplexing works) and passes ``hash`` as a query parameter.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson

from ..resources import BUILTIN, Registry, ResourceType
from .discovery import _GROUP_PRIORITY, kube_version_key

_META = "io.k8s.apimachinery.pkg.apis.meta.v1"
_OBJECT_META = f"{_META}.ObjectMeta"
_LIST_META = f"{_META}.ListMeta"
_PATCH = f"{_META}.Patch"
_STATUS = f"{_META}.Status"
_DELETE_OPTIONS = f"{_META}.DeleteOptions"
_SCALE = "io.k8s.api.autoscaling.v1.Scale"

# Patch types advertised on every PATCH operation. Strategic merge patch is deliberately absent.
PATCH_CONTENT_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _q(name: str, typ: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": {"type": typ, "uniqueItems": True}}


_PRETTY = _q("pretty", "string", "If 'true', then the output is pretty printed.")
_DRY_RUN = _q("dryRun", "string", "When present, indicates that modifications should not be persisted.")
_FIELD_MANAGER = _q("fieldManager", "string", "fieldManager is a name associated with the actor or entity that is making these changes.")
_FIELD_VALIDATION = _q("fieldValidation", "string",
                       "fieldValidation instructs the server on how to handle objects in the request containing "
                       "unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.")
_FORCE = _q("force", "boolean", "Force is going to \"force\" Apply requests.")
_LIST_PARAMS = [
    _q("allowWatchBookmarks", "boolean", "allowWatchBookmarks requests watch events with type \"BOOKMARK\"."),
    _q("continue", "string", "The continue option should be set when retrieving more results from the server."),
    _q("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
    _q("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
    _q("limit", "integer", "limit is a maximum number of responses to return for a list call."),
    _q("resourceVersion", "string", "resourceVersion sets a constraint on what resource versions a request may be served from."),
    _q("resourceVersionMatch", "string", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
    _q("sendInitialEvents", "boolean", "`sendInitialEvents=true` may be set together with `watch=true`."),
    _q("timeoutSeconds", "integer", "Timeout for the list/watch call."),
    _q("watch", "boolean", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _q("gracePeriodSeconds", "integer", "The duration in seconds before the object should be deleted."),
    _q("orphanDependents", "boolean", "Deprecated: please use the PropagationPolicy."),
    _q("propagationPolicy", "string", "Whether and how garbage collection will be performed."),
]


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "description": f"{name} of the resource", "required": True,
            "schema": {"type": "string", "uniqueItems": True}}


def schema_name(group: str, version: str, kind: str, custom: bool) -> str:
    """The components.schemas key upstream uses (io.k8s.api.core.v1.Pod, com.example.v1.Widget)."""
    if custom:
        prefix = ".".join(reversed(group.split("."))) if group else "core"
        return f"{prefix}.{version}.{kind}"
    if not group:
        return f"io.k8s.api.core.{version}.{kind}"
    if group == "apiextensions.k8s.io":
        return f"io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.{version}.{kind}"
    if group == "autoscaling":
        return f"io.k8s.api.autoscaling.{version}.{kind}"
    return f"io.k8s.api.{group.split('.')[0]}.{version}.{kind}"


def _camel(group: str, version: str) -> str:
    if not group:
        base = "Core"
    else:
        g = group[:-len(".k8s.io")] if group.endswith(".k8s.io") else group
        labels = g.split(".")
        if "." in group and not group.endswith(".k8s.io"):
            labels = list(reversed(labels))
        base = "".join(part[:1].upper() + part[1:] for label in labels for part in label.split("-"))
    return base + version[:1].upper() + version[1:]


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _json_response(schema: str) -> dict[str, Any]:
    return {"200": {"description": "OK", "content": {"application/json": {"schema": _ref(schema)}}},
            "401": {"description": "Unauthorized"}}


def _op(action: str, op_id: str, gvk: dict[str, str], schema: str, params: list[dict[str, Any]],
        body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"description": f"{action} {gvk['kind']}", "operationId": op_id}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = body
    op["responses"] = _json_response(schema)
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _object_body(schema: str) -> dict[str, Any]:
    return {"content": {"*/*": {"schema": _ref(schema)}}, "required": True}


def _patch_body() -> dict[str, Any]:
    return {"content": {ct: {"schema": _ref(_PATCH)} for ct in PATCH_CONTENT_TYPES}, "required": True}


def _item_ops(verb_name: str, gvk: dict[str, str], schema: str, verbs: tuple[str, ...]) -> dict[str, Any]:
    """get/put/patch/delete on one object (or one object's subresource)."""
    ops: dict[str, Any] = {}
    if "get" in verbs:
        ops["get"] = _op("get", f"read{verb_name}", gvk, schema, [])
    if "update" in verbs:
        ops["put"] = _op("put", f"replace{verb_name}", gvk, schema, [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION],
                         _object_body(schema))
    if "patch" in verbs:
        ops["patch"] = _op("patch", f"patch{verb_name}", gvk, schema,
                           [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION, _FORCE], _patch_body())
    return ops


def _paths_for(r: ResourceType) -> dict[str, dict[str, Any]]:
    prefix = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    gvk = _gvk(r.group, r.version, r.kind)
    schema = schema_name(r.group, r.version, r.kind, r.custom)
    list_schema = schema_name(r.group, r.version, r.list_kind, r.custom)
    cv = _camel(r.group, r.version)
    scoped = "Namespaced" if r.namespaced else ""
    base = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
    scope_params = [_path_param("namespace")] if r.namespaced else []
    paths: dict[str, dict[str, Any]] = {}

    collection: dict[str, Any] = {}
    if "list" in r.verbs:
        collection["get"] = _op("list", f"list{cv}{scoped}{r.kind}", gvk, list_schema, list(_LIST_PARAMS))
    if "create" in r.verbs:
        collection["post"] = _op("post", f"create{cv}{scoped}{r.kind}", gvk, schema,
                                 [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION], _object_body(schema))
    if "deletecollection" in r.verbs:
        collection["delete"] = _op("deletecollection", f"deleteCollection{cv}{scoped}{r.kind}", gvk, _STATUS,
                                   _DELETE_PARAMS + _LIST_PARAMS, {"content": {"*/*": {"schema": _ref(_DELETE_OPTIONS)}}})
    if collection:
        paths[base] = {**collection, "parameters": scope_params + [_PRETTY]}

    item = _item_ops(f"{cv}{scoped}{r.kind}", gvk, schema, r.verbs)
    if "delete" in r.verbs:
        item["delete"] = _op("delete", f"delete{cv}{scoped}{r.kind}", gvk, _STATUS, list(_DELETE_PARAMS),
                             {"content": {"*/*": {"schema": _ref(_DELETE_OPTIONS)}}})
    item_params = [_path_param("name")] + scope_params + [_PRETTY]
    if item:
        paths[f"{base}/{{name}}"] = {**item, "parameters": item_params}

    if r.has_status:
        paths[f"{base}/{{name}}/status"] = {
            **_item_ops(f"{cv}{scoped}{r.kind}Status", gvk, schema, ("get", "patch", "update")),
            "parameters": item_params}
    for sub in r.extra_status_subresources:
        paths[f"{base}/{{name}}/{sub}"] = {
            **_item_ops(f"{cv}{scoped}{r.kind}{sub.capitalize()}", gvk, schema, ("get", "patch", "update")),
            "parameters": item_params}
    if r.has_scale:
        paths[f"{base}/{{name}}/scale"] = {
            **_item_ops(f"{cv}{scoped}{r.kind}Scale", _gvk("autoscaling", "v1", "Scale"), _SCALE,
                        ("get", "patch", "update")),
            "parameters": item_params}
    if r.namespaced and "list" in r.verbs:
        paths[f"{prefix}/{r.plural}"] = {
            "get": _op("list", f"list{cv}{r.kind}ForAllNamespaces", gvk, list_schema, list(_LIST_PARAMS)),
            "parameters": [_PRETTY]}
    return paths


def _kind_schema(group: str, version: str, kind: str, description: str, list_of: str | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."},
        "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this object represents."},
    }
    if list_of is None:
        props["metadata"] = {"allOf": [_ref(_OBJECT_META)], "default": {}}
    else:
        props["metadata"] = {"allOf": [_ref(_LIST_META)], "default": {}}
        props["items"] = {"type": "array", "items": {"allOf": [_ref(list_of)], "default": {}}}
    schema: dict[str, Any] = {
        "description": description,
        "type": "object",
        "properties": props,
        "x-kubernetes-preserve-unknown-fields": True,
        "x-kubernetes-group-version-kind": [_gvk(group, version, kind)],
    }
    if list_of is not None:
        schema["required"] = ["items"]
    return schema


def _open_object(description: str) -> dict[str, Any]:
    return {"description": description, "type": "object", "x-kubernetes-preserve-unknown-fields": True}


def _schemas_for(types: list[ResourceType]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        _OBJECT_META: _open_object("ObjectMeta is metadata that all persisted resources must have."),
        _LIST_META: _open_object("ListMeta describes metadata that synthetic resources must have."),
        _PATCH: {"description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
                 "type": "object"},
        _STATUS: {**_open_object("Status is a return value for calls that don't return other objects."),
                  "x-kubernetes-group-version-kind": [_gvk("", "v1", "Status")]},
        _DELETE_OPTIONS: {**_open_object("DeleteOptions may be provided when deleting an API object."),
                          "x-kubernetes-group-version-kind": [_gvk("", "v1", "DeleteOptions")]},
    }
    for r in types:
        name = schema_name(r.group, r.version, r.kind, r.custom)
        schemas[name] = _kind_schema(r.group, r.version, r.kind, f"{r.kind} ({r.api_version}). Fields are not "
                                     "described here; the server checks them as kube-apiserver does (unknown "
                                     "fields are dropped, or refused with fieldValidation=Strict).")
        schemas[schema_name(r.group, r.version, r.list_kind, r.custom)] = _kind_schema(
            r.group, r.version, r.list_kind, f"{r.list_kind} is a list of {r.kind}.", list_of=name)
        if r.has_scale and _SCALE not in schemas:
            schemas[_SCALE] = _kind_schema("autoscaling", "v1", "Scale", "Scale represents a scaling request for a resource.")
    return schemas


def _gv_types(registry: Registry, group: str, version: str) -> tuple[ResourceType, ...]:
    return tuple(r for r in (list(BUILTIN) + list(registry.custom.values())) if r.group == group and r.version == version)


def openapi_v3_group_version(registry: Registry, group: str, version: str) -> bytes | None:
    """/openapi/v3/api/v1, /openapi/v3/apis/<g>/<v>: the document, or None for an unknown group version."""
    types = _gv_types(registry, group, version)
    return _gv_document(types) if types else None


@lru_cache(maxsize=1024)
def _gv_document(types: tuple[ResourceType, ...]) -> bytes:
    ordered = sorted(types, key=lambda r: r.plural)
    paths: dict[str, Any] = {}
    for r in ordered:
        paths.update(_paths_for(r))
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.4"},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(_schemas_for(ordered).items())),
            "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication",
                                                "name": "authorization", "in": "header"}},
        },
    }
    return orjson.dumps(doc)


@lru_cache(maxsize=1024)
def _hash_of(types: tuple[ResourceType, ...]) -> str:
    return hashlib.sha512(_gv_document(types)).hexdigest().upper()


def openapi_hash(registry: Registry, group: str, version: str) -> str | None:
    """The ``hash`` of one group-version document (changes with any CRD change in it); None if unknown.

    kubectl caches documents by URL, and the URL carries this hash.
    """
    types = _gv_types(registry, group, version)
    return _hash_of(types) if types else None


def openapi_v3_root(registry: Registry) -> bytes:
    """/openapi/v3: every served group version with a hash-bearing URL rooted at /openapi/v3."""
    return _root(tuple(registry.custom.values()))


@lru_cache(maxsize=256)
def _root(custom: tuple[ResourceType, ...]) -> bytes:
    by_gv: dict[tuple[str, str], list[ResourceType]] = {}
    for r in list(BUILTIN) + list(custom):
        by_gv.setdefault((r.group, r.version), []).append(r)
    keys = sorted(by_gv, key=lambda gv: (-_GROUP_PRIORITY.get(gv[0], 1000), gv[0], kube_version_key(gv[1])))
    paths = {}
    for group, version in keys:
        rel = f"apis/{group}/{version}" if group else f"api/{version}"
        paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={_hash_of(tuple(by_gv[(group, version)]))}"}
    return orjson.dumps({"paths": paths})
