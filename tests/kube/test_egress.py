"""The fake cluster's egress proxy: pip's HTTPS tunnels out of the sandboxed pods."""

import socket
import socketserver
import threading

import pytest

from .fakekube.egress import EgressProxy

pytestmark = pytest.mark.one_environment


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(1024):
            self.request.sendall(data.upper())


def connect(proxy, request: bytes) -> tuple[socket.socket, bytes]:
    host, port = proxy.url.removeprefix("http://").rsplit(":", 1)
    client = socket.create_connection((host, int(port)), timeout=10)
    client.sendall(request)
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = client.recv(1024)
        if not chunk:
            break
        answer += chunk
    return client, answer


def test_connect_tunnels_bytes_both_ways_and_other_methods_are_refused():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo) as upstream:
        threading.Thread(target=upstream.serve_forever, daemon=True).start()
        proxy = EgressProxy("127.0.0.1")
        proxy.start()
        try:
            target = f"127.0.0.1:{upstream.server_address[1]}"
            client, answer = connect(proxy, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 200 ")
            client.sendall(b"hello pypi")
            assert client.recv(1024) == b"HELLO PYPI"
            client.close()

            client, answer = connect(proxy, f"GET http://{target}/ HTTP/1.1\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 405 ")
            client.close()

            closed = socket.socket()
            closed.bind(("127.0.0.1", 0))  # bound, never listening: nothing answers there
            client, answer = connect(proxy, f"CONNECT 127.0.0.1:{closed.getsockname()[1]} HTTP/1.1\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 502 ")
            client.close()
            closed.close()
        finally:
            proxy.stop()
            upstream.shutdown()
