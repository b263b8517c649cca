"""uvicorn's httptools protocol, sending a response's head together with its first body bytes.

Stock uvicorn writes the status line and headers in one ``transport.write`` and the body in
another: two ``send()`` system calls and two TCP segments for every small answer. Measured on
one core, the first of the two was ~25% of a tiny GET's server time. Here each request's
cycle (but a HEAD's) gets a transport wrapper that holds the head back until the next write
(or a close), so the bytes on the wire are the same and arrive in one write.
Everything else is uvicorn's, unchanged.
"""
from __future__ import annotations

from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

_SMALL = 64 * 1024  # below this, one concatenated write; above it, writelines (no copy with uvloop)


class _HeadHoldingTransport:
    """Per response: hold the head written when the response starts; flush it with the next write."""

    __slots__ = ("_transport", "_cycle", "_head", "_armed")

    def __init__(self, transport: Any, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._armed = True

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            if len(data) < _SMALL:
                self._transport.write(head + data)
            else:
                self._transport.writelines((head, data))
        elif self._armed and self._cycle.response_started:
            # The first write after the response started is its head (a "100 Continue" comes
            # before the start, and is written at once).
            self._armed = False
            self._head = bytes(data)
        else:
            self._transport.write(data)

    def flush(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.write(head)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def http_protocol() -> Any:
    """What to pass as ``uvicorn.Config(http=...)``: this protocol, or uvicorn's choice without httptools."""
    return CoalescingHttpToolsProtocol if HttpToolsProtocol is not None else "auto"


class CoalescingHttpToolsProtocol(HttpToolsProtocol or object):  # type: ignore[misc]
    """``uvicorn.Config(http=CoalescingHttpToolsProtocol)``."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # Not for HEAD: its answer has a head and no body write to carry it.
        if cycle is not None and cycle.transport is self.transport and self.scope.get("method") != "HEAD":
            cycle.transport = _HeadHoldingTransport(self.transport, cycle)
