"""Writing answers: JSON bodies with kube-apiserver's headers, and Status objects for errors."""
from __future__ import annotations

from typing import Any, Awaitable, Callable

import orjson

from .. import errors
from ..objects import join_list

Send = Callable[[dict[str, Any]], Awaitable[None]]
JSON = b"application/json"


async def send_bytes(send: Send, status: int, body: bytes, content_type: bytes = JSON,
                     extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-cache, private")]
    if extra:
        headers.extend(extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def send_json(send: Send, status: int, obj: Any) -> None:
    await send_bytes(send, status, orjson.dumps(obj))


async def send_error(send: Send, err: errors.StatusError) -> None:
    extra = [(k.lower().encode(), v.encode()) for k, v in err.headers.items()]
    await send_bytes(send, err.code, err.encode(), extra=extra)


async def send_text(send: Send, status: int, text: str) -> None:
    await send_bytes(send, status, text.encode(), b"text/plain; charset=utf-8")


def success_status(name: str, group: str, plural: str, uid: str) -> bytes:
    details: dict[str, Any] = {"name": name}
    if group:
        details["group"] = group
    details["kind"] = plural
    details["uid"] = uid
    return orjson.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                         "details": details})


def list_bytes(api_version: str, list_kind: str, rv: int, continue_token: str | None, remaining: int | None,
               items: list[bytes]) -> bytes:
    """A List as a byte join of stored objects: the serialize-once hot path."""
    meta = b'{"resourceVersion":"' + str(rv).encode() + b'"'
    if continue_token:
        meta += b',"continue":"' + continue_token.encode() + b'"'
        if remaining is not None:
            meta += b',"remainingItemCount":' + str(remaining).encode()
    meta += b"}"
    head = b'{"kind":"' + list_kind.encode() + b'","apiVersion":"' + api_version.encode() + b'","metadata":' + meta
    return join_list(head + b',"items":[', items, b"]}")  # one copy of the (possibly many MB of) items
