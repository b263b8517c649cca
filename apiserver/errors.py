"""kube-apiserver's error vocabulary: every failure is a ``Status`` with upstream's reason, code and message.

Constructors mirror apimachinery's ``errors.New*`` so messages match what clients parse
(``details.kind`` is the plural resource except for ``Invalid``, which carries the Kind).
"""
from __future__ import annotations

from typing import Any

import orjson


class StatusError(Exception):
    """A failure that is answered with a ``Status`` object; ``code`` is also the HTTP status."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        retry = (details or {}).get("retryAfterSeconds")
        if retry:
            self.headers.setdefault("Retry-After", str(retry))

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def encode(self) -> bytes:
        return orjson.dumps(self.status())

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def qualified(resource: str, group: str) -> str:
    """``pods`` or ``deployments.apps``: how upstream names a resource in messages."""
    return f"{resource}.{group}" if group else resource


def _details(resource: str, group: str, name: str | None, **extra: Any) -> dict[str, Any]:
    d: dict[str, Any] = {}
    if name is not None:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = resource
    d.update({k: v for k, v in extra.items() if v is not None})
    return d


def not_found(resource: str, group: str, name: str) -> StatusError:
    return StatusError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                       _details(resource, group, name))


def path_not_found() -> StatusError:
    return StatusError(404, "NotFound", "the server could not find the requested resource",
                       {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})


def already_exists(resource: str, group: str, name: str, *, generated: bool = False) -> StatusError:
    msg = f'{qualified(resource, group)} "{name}" already exists'
    extra: dict[str, Any] = {}
    if generated:
        msg += ", the server was not able to generate a unique name for the object"
        extra["retryAfterSeconds"] = 1
    return StatusError(409, "AlreadyExists", msg, _details(resource, group, name, **extra))


def conflict(resource: str, group: str, name: str, why: str) -> StatusError:
    return StatusError(409, "Conflict",
                       f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
                       _details(resource, group, name))


CONFLICT_MODIFIED = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: list[dict[str, str]]) -> StatusError:
    """422 Invalid; each cause is ``{"reason": "FieldValueInvalid", "message": ..., "field": ...}``."""
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    msg = f'{qualified(kind, group)} "{name}" is invalid: {summary}'
    d: dict[str, Any] = {"name": name}
    if group:
        d["group"] = group
    d["kind"] = kind
    d["causes"] = causes
    return StatusError(422, "Invalid", msg, d)


def field_error(field: str, reason: str, message: str) -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def unprocessable(message: str = "the server rejected our request due to an error in our request") -> StatusError:
    """The generic 422 (a failed JSON-patch ``test`` and other patch application errors)."""
    return StatusError(422, "Invalid", message)


def bad_request(message: str) -> StatusError:
    return StatusError(400, "BadRequest", message)


def forbidden(resource: str, group: str, name: str, why: str, cause: dict[str, str] | None = None) -> StatusError:
    d = _details(resource, group, name)
    if cause:
        d["causes"] = [cause]
    return StatusError(403, "Forbidden", f'{qualified(resource, group)} "{name}" is forbidden: {why}', d)


def method_not_allowed(verb: str, resource: str) -> StatusError:
    return StatusError(405, "MethodNotAllowed", f'{verb} is not supported on resources of kind "{resource}"',
                       {"kind": resource})


def expired(message: str) -> StatusError:
    return StatusError(410, "Expired", message)


CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.")


def too_old_resource_version(requested: int, oldest_minus_one: int) -> StatusError:
    return expired(f"too old resource version: {requested} ({oldest_minus_one})")


def too_large_resource_version(requested: int, current: int) -> StatusError:
    return StatusError(504, "Timeout", f"Timeout: Too large resource version: {requested}, current: {current}",
                       {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
                        "retryAfterSeconds": 1})


def unsupported_media_type(content_type: str, accepted: list[str]) -> StatusError:
    return StatusError(415, "UnsupportedMediaType",
                       f"the body of the request was in an unknown format - accepted media types include: "
                       f"{', '.join(accepted)}", None)


def request_entity_too_large(message: str = "Request entity too large: limit is 3145728") -> StatusError:
    return StatusError(413, "RequestEntityTooLarge", message)


def too_many_requests(message: str = "Too many requests, please try again later.", retry_after: int = 1) -> StatusError:
    return StatusError(429, "TooManyRequests", message, {"retryAfterSeconds": retry_after})


def internal_error(message: str) -> StatusError:
    return StatusError(500, "InternalError", f"Internal error occurred: {message}",
                       {"causes": [{"message": message}]})


def service_unavailable(message: str) -> StatusError:
    return StatusError(503, "ServiceUnavailable", message)


def timeout(message: str, retry_after: int = 1) -> StatusError:
    return StatusError(504, "Timeout", f"Timeout: {message}", {"retryAfterSeconds": retry_after})


def success(code: int = 201) -> dict[str, Any]:
    """A Status reporting success, what pods/binding and pods/eviction answer instead of an object."""
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": code}
