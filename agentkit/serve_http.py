"""uvicorn's HTTP protocol, with what `agentkit serve` needs below the ASGI app.

- A header timeout: uvicorn waits forever for a request's headers (its keep-alive timeout covers only the
  quiet time between requests, and any byte resets it), so clients trickling a header byte every few
  seconds could hold connections open indefinitely. Here each connection must deliver a request's headers
  within `header_timeout` seconds of opening, or of its last response; otherwise it gets a 408 and is closed
  (a connection that sent nothing at all is closed without one, as an idle keep-alive connection is).
  (The body has its own deadline, enforced by the app: agentkit.serve.)
- JSON protocol errors: uvicorn answers a malformed request with a plain-text 400; this answers with the
  same JSON error shape as every other failure of the server.

The protocol is uvicorn's own class (httptools when installed, else h11), subclassed: both keep `cycle`
(the request in progress), `loop` and `transport`, and call `on_response_complete` after each response.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

__all__ = ["protocol_class"]


def protocol_class(header_timeout: float, base: type[asyncio.Protocol] | None = None) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class (`base`, default: the one uvicorn picks) with a header timeout and JSON
    protocol errors."""
    if base is None:
        from uvicorn.protocols.http.auto import AutoHTTPProtocol

        base = AutoHTTPProtocol
    parent: Any = base

    class Protocol(parent):
        _header_timer: asyncio.TimerHandle | None = None
        _waited_on = False  # bytes of the awaited request's head arrived

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm_header_timer()

        def data_received(self, data: bytes) -> None:
            self._waited_on = True
            before = self.cycle
            super().data_received(data)
            if self.cycle is not before:  # a request's headers are complete
                self._disarm_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            self._fail(400, f"invalid HTTP request ({msg.rstrip('.')}); send a well-formed HTTP/1.1 request")

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            self._waited_on = False
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is not None and not self.cycle.response_complete:
                return  # a request is being handled: its headers did arrive
            if not self._waited_on:
                self.transport.close()  # an idle connection: nothing to answer
                return
            self._fail(408, f"the request headers did not arrive within {header_timeout:g} s")

        def _fail(self, status: int, message: str) -> None:
            body = json.dumps({"error": message}).encode()
            reason = {400: b"Bad Request", 408: b"Request Timeout"}[status]
            head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
            head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
            head += [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
            ]
            self.transport.write(b"".join(head) + body)
            self.transport.close()

    Protocol.__name__ = Protocol.__qualname__ = f"Agentkit{parent.__name__}"
    return Protocol
