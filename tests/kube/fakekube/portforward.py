"""pods/portforward over WebSocket, as the kubelet serves it behind the API server.

The channel protocol (channel.k8s.io and v4.channel.k8s.io): every message starts with
a channel byte; port i of the request has data channel 2i and error channel 2i+1, and
the first message the server sends on each channel is the port, two bytes little-endian.
Clients write their bytes as messages on the data channel. A port that cannot be dialled
gets its error as text on its error channel, and the stream ends."""

import socket
import threading

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from . import errors

SUBPROTOCOLS = ("v4.channel.k8s.io", "channel.k8s.io")
CHUNK = 64 * 1024


def ports_of(query_ports):
    """The ports a request names, with the kubelet's errors for missing or bad ones."""
    if not query_ports:
        raise errors.bad_request('query parameter "port" is required')
    ports = []
    for text in query_ports.split(","):
        try:
            port = int(text)
        except ValueError:
            port = 0
        if not 0 < port < 65536:
            raise errors.bad_request(f'unable to parse "{text}" as a port: must be an integer in 1..65535')
        ports.append(port)
    return ports


class PortForwardSession:
    """One upgraded connection: dials each port in the pod and relays bytes both ways.

    http: the request handler, whose rfile and connection carry the stream once upgraded;
    dial(port) returns a socket connected to the port in the pod's network namespace."""

    def __init__(self, http, pod_name, uid, ports, dial):
        self.http, self.pod_name, self.uid, self.ports, self.dial = http, pod_name, uid, ports, dial
        self.ws = WSConnection(ConnectionType.SERVER)
        self.lock = threading.Lock()  # around the wsproto state and the writes it produces
        self.targets = {}  # data channel -> socket in the pod
        self.closed = threading.Event()

    def serve(self, raw_request):
        self.ws.receive_data(raw_request)
        request = next(event for event in self.ws.events() if isinstance(event, Request))
        offered = [p for p in SUBPROTOCOLS if p in request.subprotocols]
        self._send(AcceptConnection(subprotocol=offered[0] if offered else None))
        for index, port in enumerate(self.ports):
            header = port.to_bytes(2, "little")
            self._send(BytesMessage(bytes([2 * index]) + header))
            self._send(BytesMessage(bytes([2 * index + 1]) + header))
        for index, port in enumerate(self.ports):
            try:
                self.targets[2 * index] = self.dial(port)
            except OSError as error:
                message = (
                    f"error forwarding port {port} to pod {self.pod_name}, uid {self.uid}: "
                    f"failed to connect to localhost:{port} inside namespace: {error.strerror or error}"
                )
                self._send(BytesMessage(bytes([2 * index + 1]) + message.encode()))
                self._close()
                return
        relays = [
            threading.Thread(target=self._pod_to_client, args=(channel, target), daemon=True)
            for channel, target in self.targets.items()
        ]
        for relay in relays:
            relay.start()
        self._client_to_pods()
        for relay in relays:
            relay.join()

    def _send(self, event):
        with self.lock:
            if self.closed.is_set():
                return
            try:
                data = self.ws.send(event)
            except LocalProtocolError:  # the client closed first
                return
            try:
                self.http.connection.sendall(data)
            except OSError:
                self.closed.set()

    def _close(self):
        self._send(CloseConnection(code=1000))
        self.closed.set()
        for target in self.targets.values():
            _shut(target)

    def _client_to_pods(self):
        partial = b""  # a fragmented message so far (fragments of messages never interleave)
        while not self.closed.is_set():
            try:
                data = self.http.rfile.read1(CHUNK)
            except OSError:
                data = b""
            if not data:
                break
            with self.lock:
                self.ws.receive_data(data)
                events = list(self.ws.events())
            for event in events:
                if isinstance(event, Ping):
                    self._send(event.response())
                elif isinstance(event, CloseConnection):
                    self._close()
                    return
                elif isinstance(event, (BytesMessage, TextMessage)):
                    partial += event.data if isinstance(event, BytesMessage) else event.data.encode()
                    if event.message_finished:
                        self._deliver(partial)
                        partial = b""
        self._close()

    def _deliver(self, message):
        target = self.targets.get(message[0]) if message else None
        if target is not None and len(message) > 1:
            try:
                target.sendall(message[1:])
            except OSError:
                self._close()

    def _pod_to_client(self, channel, target):
        while True:
            try:
                data = target.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                break
            self._send(BytesMessage(bytes([channel]) + data))
        self._close()


def _shut(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
