"""The HTTP server around the app: the listening socket, uvicorn's limits, and deadlines.

Why each piece:

* ``bind`` opens the port *before* anything is announced, so a taken port is one clear error
  (exit 1, with ``--port`` as the fix) instead of "serving on ..." followed by uvicorn's own exit.
  The bound socket is handed to uvicorn, so nobody can take the port in between.
* ``max_connections`` is uvicorn's ``limit_concurrency``: past it, a request gets 503 at once
  instead of every open connection (idle or stalled ones included) costing memory and a task.
* Deadlines: uvicorn (h11) has none for a client that connects and never completes its request
  headers, nor for a body that stops arriving, so 300 stalled clients kept 300 connections open.
  ``HeaderDeadline`` closes a connection whose request headers are not complete within
  ``header_timeout`` of connecting or of the previous response (answering 408), and
  ``app.BodyLimit`` answers 408 and closes when a body is not complete within ``body_timeout``.
  Keep-alive connections idle between requests close after ``KEEP_ALIVE_S`` (uvicorn's option).
"""

from __future__ import annotations

import errno
import json
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from sketchrnn.errors import InputError
from sketchrnn.serve.limits import HEADER_TIMEOUT_S, KEEP_ALIVE_S, MAX_CONNECTIONS



def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ``InputError`` naming the port when it is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
    # so. With Nagle on, a response's body waits for the client's delayed ACK of its headers:
    # every request took 40 ms more on loopback. Set on the listener too (accepted ones inherit).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise InputError(f"port {port} on {host} is already in use",
                             f"stop the other server, or choose another port: --port {port + 1} "
                             "(--port 0 picks a free one)") from None
        raise InputError(f"cannot listen on {host}:{port} ({e.strerror or e})",
                         "choose another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def _timeout_reply() -> bytes:
    body = json.dumps({"error": "request headers not complete in time; send the whole request"})
    return (b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body.encode()))


class HeaderDeadline(H11Protocol):
    """uvicorn's h11 protocol plus a deadline for the request headers (see the module docstring).

    A timer starts when the connection opens and after every response; it is cancelled as soon
    as a new request's headers are parsed (uvicorn then starts a new ``cycle``).
    """

    header_timeout = HEADER_TIMEOUT_S

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not self._cycle_when_armed:  # a new request's headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # first: a pipelined request parsed by the call below disarms it again
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._cycle_when_armed = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            self.transport.write(_timeout_reply())
            self.transport.close()


def make_server(app: Any, *, max_connections: int = MAX_CONNECTIONS,
                header_timeout: float = HEADER_TIMEOUT_S) -> Any:
    """A ``uvicorn.Server`` for ``app`` with the limits and deadlines above; ``.run(sockets=[s])``
    serves on a socket from ``bind`` until Ctrl+C (or ``should_exit``)."""
    import uvicorn

    protocol = type("HeaderDeadline", (HeaderDeadline,), {"header_timeout": header_timeout})
    config = uvicorn.Config(app, http=protocol, log_level="warning",
                            limit_concurrency=max_connections, timeout_keep_alive=KEEP_ALIVE_S)
    return uvicorn.Server(config)
