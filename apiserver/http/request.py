"""From an ASGI scope to a Kubernetes request: which cluster, resource, namespace, name, verb.

This is kube-apiserver's ``RequestInfo`` resolver: the one place that knows the REST path
shapes (``/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`` and the ``/apis`` forms).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import parse_qs

import orjson
import yaml

from .. import errors
from ..protobuf import PROTOBUF, ProtobufError, builtin_schema

MAX_BODY = 3 * 1024 * 1024


@dataclass(slots=True)
class RequestInfo:
    """A resource request, as kube-apiserver's RequestInfoFactory would describe it."""

    group: str
    version: str
    resource: str
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    verb: str = ""  # get, list, watch, create, update, patch, delete, deletecollection
    code: int = 200  # the status a successful handler answered (201 for creates), read by metrics


def request_verb(method: str, info: RequestInfo, query: "Query") -> str:
    """The Kubernetes verb of a resource request (what RBAC, metrics and fault rules match on)."""
    if method == "GET" or method == "HEAD":
        if info.name is not None:
            return "get"
        return "watch" if query.flag("watch") else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if info.name is not None else "deletecollection"
    return method.lower()


def parse_resource_path(segments: list[str]) -> RequestInfo | None:
    """``segments`` start at ``api`` or ``apis``; None when the path is not a resource path."""
    if not segments:
        return None
    if segments[0] == "api":
        if len(segments) < 3:
            return None
        group, version, rest = "", segments[1], segments[2:]
    elif segments[0] == "apis":
        if len(segments) < 4:
            return None
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
        namespace = rest[1]
        rest = rest[2:]
    if not rest or len(rest) > 3 or "" in rest:
        return None
    info = RequestInfo(group, version, rest[0], namespace)
    if len(rest) >= 2:
        info.name = rest[1]
    if len(rest) == 3:
        info.subresource = rest[2]
    return info


@dataclass(slots=True)
class Query:
    """The query string; unknown parameters are ignored, as upstream does."""

    values: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: bytes) -> "Query":
        return cls(parse_qs(raw.decode("latin-1"), keep_blank_values=True)) if raw else cls()

    def get(self, name: str, default: str | None = None) -> str | None:
        v = self.values.get(name)
        return v[-1] if v else default

    def flag(self, name: str) -> bool | None:
        v = self.get(name)
        if v is None:
            return None
        return v.lower() in ("true", "1", "")

    def integer(self, name: str, default: int = 0) -> int:
        v = self.get(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise errors.bad_request(f'invalid value for {name}: "{v}"') from None

    def dry_run(self) -> bool:
        v = self.values.get("dryRun")
        if not v:
            return False
        for item in v:
            if item not in ("All", ""):
                raise errors.bad_request(f'unsupported dry run value "{item}"; supported values: "All"')
        return any(item == "All" for item in v)


def media_ranges(accept: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Accept header clauses in order: (type/subtype lowercased, params with lowercased keys)."""
    for clause in accept.split(","):
        parts = [p.strip() for p in clause.split(";")]
        if not parts[0]:
            continue
        params: dict[str, str] = {}
        for p in parts[1:]:
            k, sep, v = p.partition("=")
            if sep:
                params[k.strip().lower()] = v.strip().strip('"')
        yield parts[0].lower(), params


def header(scope: dict[str, Any], name: bytes) -> str:
    for k, v in scope["headers"]:
        if k == name:
            return v.decode("latin-1")
    return ""


async def read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.request_entity_too_large()
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def decode_body(body: bytes, content_type: str, expected: str = "", *, protobuf: bool = False) -> Any:
    """JSON, YAML (apply patches, YAML uploads) or, where ``protobuf`` (built-in kinds: client-go's typed
    clients and kubectl's ``create <kind>`` send it), Kubernetes protobuf; 400 with the parser's reason."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == PROTOBUF and protobuf:
        try:
            return builtin_schema().decode_object(body)[2]
        except ProtobufError as e:
            raise errors.bad_request(f"the object provided is unrecognized (must be of type {expected}): {e}") from None
    if media in (PROTOBUF, "application/cbor"):
        # Encodings we cannot decode: upstream's answer to an unsupported body type is 415, not a parse error.
        raise errors.unsupported_media_type(media, ["application/json", "application/yaml"])
    if not body.strip():
        raise errors.bad_request("the body of the request was empty")
    if media in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            return yaml.safe_load(body)
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error decoding YAML: {e}") from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        what = f" (must be of type {expected})" if expected else ""
        raise errors.bad_request(f"the object provided is unrecognized{what}: couldn't get version/kind; "
                                 f"json parse error: {e}") from None
