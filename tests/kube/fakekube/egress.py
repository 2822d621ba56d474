"""The cluster's way out to the internet, for the package installer only.

Pods on a real cluster usually reach a package index: the dask image's prepare.sh
pip-installs EXTRA_PIP_PACKAGES from PyPI. The fake's pod namespaces route nothing
outside the bridge, so the control plane's address also offers an HTTP CONNECT proxy
that the dask images name in PIP_PROXY (their installer alone uses it, see prepare.py;
the pods' own code still sees no world outside). CONNECT is how an HTTPS client tunnels
through a proxy (RFC 9110 section 9.3.6): the proxy opens a TCP connection and then
relays bytes both ways."""

import asyncio
import threading
from contextlib import suppress

from .network import _pipe


class EgressProxy:
    def __init__(self, host):
        self._host = host
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-kube-egress", daemon=True)
        self.url = None

    def start(self):
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, self._host, 0), self._loop
        ).result()
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://{self._host}:{port}"

    def stop(self):
        async def close():
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, OSError):
            writer.close()
            return
        method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
        target = rest.split(" ", 1)[0]
        host, _, port = target.rpartition(":")
        if method != "CONNECT" or not host or not port.isdigit():
            await self._answer(writer, "405 Method Not Allowed")
            return
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(
                asyncio.open_connection(host.strip("[]"), int(port)), 30
            )
        except (OSError, asyncio.TimeoutError):
            await self._answer(writer, "502 Bad Gateway")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    @staticmethod
    async def _answer(writer, status):
        with suppress(OSError):
            writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        writer.close()
