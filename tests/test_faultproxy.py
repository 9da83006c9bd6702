"""The fault-injecting proxy itself: each fault is visible to a real client talking to a real server."""
from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
import requests

from tests.helpers.faultproxy import FaultProxy

BODY = b"hello through the proxy\n"
REQUEST = b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"


class Handler(BaseHTTPRequestHandler):
    received: list[int]  # body sizes the server actually read, one per POST (set per server below)

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_POST(self) -> None:
        expected, got = int(self.headers["Content-Length"]), 0
        try:
            while got < expected and (piece := self.rfile.read(min(4096, expected - got))):
                got += len(piece)
        except OSError:
            pass
        finally:
            self.received.append(got)
        if got == expected:
            answer = str(got).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    handler = type("RecordingHandler", (Handler,), {"received": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(2)


@pytest.fixture
def proxy(server: ThreadingHTTPServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream=("127.0.0.1", server.server_address[1])) as proxy:
        yield proxy
    # Whatever a test did, stopping must leave no proxy thread behind.
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]


def test_pass_through_forwards_body_and_counts(proxy: FaultProxy) -> None:
    assert proxy.url("http") == f"http://127.0.0.1:{proxy.port}"
    response = requests.get(proxy.url("http") + "/", timeout=5)
    assert response.status_code == 200
    assert response.content == BODY
    stats = proxy.stats
    assert stats["connections"] == 1
    assert stats["bytes_up"] > len("GET / HTTP/1.1\r\n")
    assert stats["bytes_down"] >= len(BODY)


def test_latency_slows_a_request(proxy: FaultProxy) -> None:
    proxy.set(latency=0.3)
    started = time.monotonic()
    assert requests.get(proxy.url() + "/", timeout=5).content == BODY
    assert time.monotonic() - started >= 0.3


def test_drop_closes_new_connections(proxy: FaultProxy) -> None:
    proxy.set(drop=True)
    with pytest.raises(requests.ConnectionError) as failure:
        requests.get(proxy.url() + "/", timeout=5)
    assert _caused_by(failure.value, http.client.RemoteDisconnected)
    assert proxy.stats["connections"] == 1
    assert proxy.stats["bytes_up"] == proxy.stats["bytes_down"] == 0


def test_reset_after_bytes_breaks_a_post_mid_body(proxy: FaultProxy, server: ThreadingHTTPServer) -> None:
    proxy.set(reset_after_bytes=500)
    body = b"x" * 200_000
    with pytest.raises(requests.ConnectionError) as failure:
        requests.post(proxy.url() + "/upload", data=body, timeout=5)
    assert _caused_by(failure.value, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)
    assert proxy.stats["bytes_up"] <= 500
    deadline = time.monotonic() + 2  # the server thread notices the reset on its own schedule
    while not server.RequestHandlerClass.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(body) not in server.RequestHandlerClass.received


def test_half_open_never_answers(proxy: FaultProxy) -> None:
    proxy.set(half_open=True)
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5) as client:
        client.sendall(REQUEST)
        with pytest.raises(TimeoutError):
            client.recv(1024)


def test_refuse_then_listen_again_on_the_same_port(proxy: FaultProxy) -> None:
    port = proxy.port
    proxy.set(refuse=True)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    proxy.set(refuse=False)
    assert proxy.port == port
    assert requests.get(proxy.url() + "/", timeout=5).content == BODY


def test_bandwidth_limits_an_upload(proxy: FaultProxy, server: ThreadingHTTPServer) -> None:
    proxy.set(bandwidth=10_000)
    started = time.monotonic()
    response = requests.post(proxy.url() + "/upload", data=b"y" * 20_000, timeout=15)
    assert time.monotonic() - started >= 1.5
    assert response.content == b"20000"
    assert server.RequestHandlerClass.received == [20_000]


def test_reset_restores_pass_through(proxy: FaultProxy) -> None:
    proxy.set(drop=True, latency=1.0, bandwidth=10)
    proxy.reset()
    assert requests.get(proxy.url() + "/", timeout=5).content == BODY


def test_cut_all_resets_open_connections(proxy: FaultProxy) -> None:
    proxy.set(half_open=True)  # an easy way to hold a connection open
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as client:
        client.sendall(REQUEST)
        _wait_for(lambda: proxy.stats["connections"] == 1)
        time.sleep(0.05)  # let the proxy read what the client sent
        proxy.cut_all()
        with pytest.raises(ConnectionResetError):
            client.recv(1024)


def test_latency_change_reaches_an_open_connection(server: ThreadingHTTPServer) -> None:
    with FaultProxy(upstream=("127.0.0.1", server.server_address[1])) as proxy:
        connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
        connection.connect()  # opened while the proxy is still clean
        _wait_for(lambda: proxy.stats["connections"] == 1)
        proxy.set(latency=0.3)
        started = time.monotonic()
        connection.request("GET", "/")
        assert connection.getresponse().read() == BODY
        assert time.monotonic() - started >= 0.3
        connection.close()


def test_stop_is_quick_and_leaves_nothing_behind(server: ThreadingHTTPServer) -> None:
    me = psutil.Process()
    proxy = FaultProxy(upstream=("127.0.0.1", server.server_address[1])).start()
    port = proxy.port
    requests.get(proxy.url() + "/", timeout=5)
    proxy.set(half_open=True)
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    client.sendall(REQUEST)
    _wait_for(lambda: proxy.stats["connections"] == 2)

    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2
    assert not [t for t in threading.enumerate() if t.name.startswith("faultproxy")]
    try:  # the half-open connection was closed by the proxy, not left hanging
        assert client.recv(1024) == b""
    except ConnectionResetError:
        pass
    client.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    leftovers = [c for c in me.net_connections("tcp")
                 if c.laddr.port == port or (c.raddr and c.raddr.port == port)]
    assert leftovers == []
    proxy.stop()  # a second stop is harmless


def test_forgotten_proxy_runs_on_a_daemon_thread(server: ThreadingHTTPServer) -> None:
    proxy = FaultProxy(upstream=("127.0.0.1", server.server_address[1])).start()
    try:
        threads = [t for t in threading.enumerate() if t.name == f"faultproxy-{proxy.port}"]
        assert len(threads) == 1 and threads[0].daemon
    finally:
        proxy.stop()


@pytest.mark.parametrize("host", ["10.0.0.1", "192.168.1.10", "0.0.0.0", "example.org", "8.8.8.8"])
def test_upstream_must_be_loopback(host: str) -> None:
    with pytest.raises(ValueError):
        FaultProxy(upstream=(host, 80))


def test_loopback_upstreams_are_accepted() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        FaultProxy(upstream=(host, 80))  # constructing does not start anything


def test_unknown_setting_is_rejected(proxy: FaultProxy) -> None:
    with pytest.raises(TypeError):
        proxy.set(jitter=0.1)


def _wait_for(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def _caused_by(error: BaseException, *kinds: type[BaseException]) -> bool:
    """Whether a wrapped exception (requests -> urllib3 -> socket) was caused by one of kinds."""
    while error is not None:
        if isinstance(error, kinds):
            return True
        error = error.__cause__ or error.__context__
    return False
