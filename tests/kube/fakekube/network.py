"""Pod and Service networking on loopback. Every pod and every Service gets its own
127.x.y.z address, so fixed ports (8786, 8787) never collide between pods, clusters
or other Dask processes on the machine. A small TCP proxy plays kube-proxy: it
listens on a Service's cluster IP (and on 127.0.0.1:nodePort) while the Service has
a ready pod, and forwards each connection to a ready pod picked when it arrives."""

import asyncio
import json
import os
import random
import socket
import threading
from contextlib import suppress

NODE_IP = "127.0.0.1"
NODE_PORTS = range(30000, 32768)


class AddressPool:
    """Random loopback addresses, outside 127.0.x.x which other software uses."""

    def __init__(self):
        self._used = set()
        self._lock = threading.Lock()

    def allocate(self):
        with self._lock:
            while True:
                address = f"127.{random.randint(16, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
                if address not in self._used:
                    self._used.add(address)
                    return address

    def release(self, address):
        with self._lock:
            self._used.discard(address)


def free_node_port():
    while True:
        port = random.choice(NODE_PORTS)
        with socket.socket() as probe:
            with suppress(OSError):
                probe.bind((NODE_IP, port))
                return port


def write_hosts(path, names):
    """Publish the cluster DNS names ({name: address}) for the pod sitecustomize."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(names))
    os.replace(partial, path)  # readers never see half a file


class ServiceProxy:
    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._servers = {}  # service key -> list of asyncio servers
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-kube-proxy", daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        for key in list(self._servers):
            self.close(key)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def open(self, key, listeners):
        """listeners: (address, port, pick) where pick() returns the (ip, port) of a ready
        pod, or None when the Service has no endpoint."""
        self._servers[key] = self._call(self._listen(listeners))

    def close(self, key):
        """Stop listening at once (so the address can be bound again); open
        connections stay, as with kube-proxy."""
        self._call(self._close(self._servers.pop(key, [])))

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _listen(self, listeners):
        return [
            await asyncio.start_server(lambda r, w, pick=pick: self._forward(r, w, pick), address, port)
            for address, port, pick in listeners
        ]

    async def _close(self, servers):
        for server in servers:
            server.close()

    async def _forward(self, reader, writer, pick):
        target = pick()
        try:
            if target is None:
                raise ConnectionRefusedError("the Service lost its last ready pod")
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()  # the client sees its connection closed
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def _pipe(reader, writer):
    with suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
