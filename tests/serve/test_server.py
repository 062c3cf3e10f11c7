"""The server under hostile clients, over real sockets on 127.0.0.1: a real uvicorn server with
the project's protocol, limits and app (in a thread), and the real `sketchrnn serve` CLI.

Deadlines are shortened (0.5-1 s) so that each test takes a couple of seconds; the defaults are
the same code with larger numbers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

pytest.importorskip("uvicorn")

from sketchrnn.errors import InputError  # noqa: E402
from sketchrnn.serve import server as srv  # noqa: E402

HEADER_S, BODY_S = 0.6, 0.6
SQUARE = [[[10, 10], [90, 10], [90, 90], [10, 90], [10, 10]]]


@contextmanager
def running(runs, *, max_connections: int = 64):
    from sketchrnn.serve.app import create_app
    from sketchrnn.serve.models import ServeModels

    sock = srv.bind("127.0.0.1", 0)
    server = srv.make_server(create_app(ServeModels.load(runs), body_timeout=BODY_S),
                             max_connections=max_connections, header_timeout=HEADER_S)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def port(tiny_serve_runs):
    with running(tiny_serve_runs) as p:
        yield p


def connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    return s


def read_until_closed(s: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    data = b""
    while True:
        chunk = s.recv(65536)  # the socket's 5 s timeout fails the test if the server never closes
        if not chunk:
            return data, time.monotonic()
        data += chunk


def post(port: int, body: dict) -> tuple[int, dict | bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/predict", json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    out = response.status, (json.loads(raw) if response.status == 200 else raw)
    conn.close()
    return out


HEAD = b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"


def test_headers_then_a_stalled_body_get_408_and_a_close_within_the_deadline(port):
    s = connect(port)
    start = time.monotonic()
    s.sendall(HEAD + b"Content-Length: 200\r\n\r\n{\"strokes\": ")
    data, closed = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 408") and b"within" in data
    assert BODY_S <= closed - start < BODY_S + 2


@pytest.mark.parametrize("sent", [b"", b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0"])
def test_nothing_or_partial_headers_get_closed_within_the_deadline(port, sent):
    # The server's clock starts when it accepts, which can come before connect() returns here.
    start = time.monotonic()
    s = connect(port)
    s.sendall(sent)
    data, closed = read_until_closed(s)
    assert data.startswith(b"HTTP/1.1 408")
    assert HEADER_S <= closed - start < HEADER_S + 2


def test_a_keep_alive_client_that_stalls_in_its_next_request_is_closed(port):
    s = connect(port)
    body = json.dumps({"strokes": SQUARE}).encode()
    s.sendall(HEAD + b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    first = s.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    start = time.monotonic()
    s.sendall(b"POST /api/predict HTTP/1.1\r\n")  # then nothing
    data, closed = read_until_closed(s)
    assert b"408" in data and closed - start < HEADER_S + 2


def test_stalled_clients_are_all_closed_and_others_are_served_meanwhile(port):
    stalled = [connect(port) for _ in range(40)]
    for i, s in enumerate(stalled):
        s.sendall(HEAD + b"Content-Length: 100\r\n\r\n{" if i % 2 else b"GET / HTTP/1.1\r\n")
    status, out = post(port, {"strokes": SQUARE})
    assert status == 200 and len(out["top"]) == 2  # both categories
    deadline = time.monotonic() + max(HEADER_S, BODY_S) + 3
    for s in stalled:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        _, closed = read_until_closed(s)
        assert closed <= deadline


def test_connections_past_the_limit_get_503(tiny_serve_runs):
    with running(tiny_serve_runs, max_connections=4) as p:
        idle = [connect(p) for _ in range(4)]
        time.sleep(0.2)
        status, out = post(p, {"strokes": SQUARE})
        assert status == 503  # uvicorn's own plain-text reply, before the app runs
        for s in idle:
            s.close()
        time.sleep(0.2)
        assert post(p, {"strokes": SQUARE})[0] == 200


def test_bind_names_a_taken_port_and_suggests_another():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    with pytest.raises(InputError, match=f"port {port} on 127.0.0.1 is already in use.*--port"):
        srv.bind("127.0.0.1", port)
    taken.close()


def test_cli_on_a_taken_port_prints_one_line_and_exits_1(tmp_path):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "sketchrnn", "serve", "--runs", str(tmp_path),
                             "--port", str(port)], capture_output=True, text=True, timeout=120,
                            env=env)
    taken.close()
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "already in use" in result.stderr
    assert "--port" in result.stderr and "serving on" not in result.stderr + result.stdout


def test_bound_sockets_turn_nagle_off():
    """asyncio sets TCP_NODELAY only on sockets created with proto IPPROTO_TCP; with Nagle on,
    each response waited ~40 ms for the client's delayed ACK (docs/benchmarks.md)."""
    sock = srv.bind("127.0.0.1", 0)
    assert sock.proto == socket.IPPROTO_TCP
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    sock.close()
