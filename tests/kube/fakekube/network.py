"""Pod and Service networking with Linux network namespaces, as on a real node.

One fake cluster owns a /16 of 10.0.0.0/8 and a bridge in the machine's namespace:

- 10.A.0.1 on the bridge: the control plane (API server), reached by the test process
  and by pods alike;
- 10.A.0.2: the node's own namespace, where kube-proxy's stand-in (ServiceProxy)
  listens on cluster IPs (10.A.128.0/17, all local there) and on node ports;
- 10.A.0.3 and up: one network namespace per pod, with its own loopback, so every
  pod may bind 0.0.0.0:8786 whatever else listens on the machine.

The test process (the "outside" of the cluster) reaches pods, cluster IPs and node
ports through the bridge; cluster DNS names resolve only inside pods (see
podsite/sitecustomize.py). Nothing forwards packets: every path ends at a socket."""

import asyncio
import ctypes
import fcntl
import ipaddress
import json
import os
import random
import secrets
import socket
import subprocess
import threading
from contextlib import suppress
from pathlib import Path

CLONE_NEWNET = 0x40000000
NODE_PORTS = range(30000, 32768)
_REGISTRY = Path("/run/fakekube")  # one file per live fake cluster: its owner's pid
_REGISTRY_LOCK = Path("/run/fakekube.lock")  # held while a cluster picks its subnet and registers
_libc = ctypes.CDLL(None, use_errno=True)


class NetworkError(RuntimeError):
    pass


def ip(*args, namespace=None, batch=None):
    command = ["ip", *(["-n", namespace] if namespace else []), *(["-batch", "-"] if batch else []), *args]
    done = subprocess.run(command, input="\n".join(batch or []), capture_output=True, text=True)
    if done.returncode != 0:
        raise NetworkError(f"{' '.join(command)}: {done.stderr.strip()}")
    return done.stdout


def enter_namespace(netns):
    """Move the calling *thread* into a named network namespace."""
    with open(f"/run/netns/{netns}") as handle:
        if _libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise NetworkError(f"setns {netns}: {os.strerror(ctypes.get_errno())}")


def dial_in_namespace(netns, port, timeout=10):
    """A TCP connection to 127.0.0.1:port inside a pod's network namespace, as the
    kubelet makes for a port-forward. A short-lived thread enters the namespace, so the
    caller's thread stays where it is; the socket keeps the namespace it was made in."""
    outcome = {}

    def connect():
        try:
            enter_namespace(netns)
            outcome["socket"] = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            outcome["socket"].settimeout(None)
        except NetworkError as error:  # the pod's namespace is gone: nothing listens there
            outcome["error"] = ConnectionRefusedError(111, str(error))
        except OSError as error:
            outcome["error"] = error

    thread = threading.Thread(target=connect, name=f"dial-{netns}", daemon=True)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["socket"]


def remove_stale_networks():
    """Remove bridges and namespaces left by fake clusters whose process died (a test
    run killed with SIGKILL cannot clean up), so a rerun starts clean."""
    if not _REGISTRY.is_dir():
        return
    for entry in _REGISTRY.iterdir():
        with suppress(ValueError, OSError):
            pid = int(entry.read_text())
            if Path(f"/proc/{pid}").exists():
                continue
        _remove_network(entry.name)
        entry.unlink(missing_ok=True)


def _remove_network(tag):
    for line in ip("netns", "list").splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(f"fk-{tag}-"):
            with suppress(NetworkError):
                ip("netns", "del", name)
    with suppress(NetworkError):
        ip("link", "del", f"fkb{tag}")


def _free_subnet():
    used = ip("-4", "addr").split() + ip("-4", "route").split()
    taken = {int(word.split(".")[1]) for word in used if word.startswith("10.") and word.count(".") >= 3}
    choices = [a for a in range(64, 251) if a not in taken]
    if not choices:
        raise NetworkError("no free 10.A.0.0/16 subnet for a fake cluster")
    return random.choice(choices)


def _local_mac():
    """A random locally administered unicast MAC address."""
    return ":".join(["02", *(f"{byte:02x}" for byte in secrets.token_bytes(5))])


class ClusterNetwork:
    def __init__(self):
        self.tag = secrets.token_hex(2)
        self.bridge = f"fkb{self.tag}"
        self.node_netns = f"fk-{self.tag}-node"
        self._pod_numbers = iter(range(3, 128 * 256 - 1))
        self._service_numbers = iter(range(128 * 256 + 1, 256 * 256 - 1))
        self._lock = threading.Lock()
        self._pods = {}  # address -> netns name

    def start(self):
        # Test processes running side by side (pytest-xdist) each start clusters: one at
        # a time cleans up, picks a subnet nobody holds and claims it on its bridge.
        with open(_REGISTRY_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            remove_stale_networks()
            self.subnet = _free_subnet()
            self.control_plane_ip = self._address(1)
            self.node_ip = self._address(2)
            _REGISTRY.mkdir(parents=True, exist_ok=True)
            (_REGISTRY / self.tag).write_text(str(os.getpid()))
            ip(
                batch=[
                    f"link add {self.bridge} type bridge",
                    # No IPv6 link-local address on the machine's side of the cluster: a
                    # browser on the machine reads each address change as a network change
                    # and fails the requests it has in flight (net::ERR_NETWORK_CHANGED).
                    f"link set {self.bridge} addrgenmode none",
                    # A bridge without an address of its own takes the lowest of its ports' and
                    # changes it when that port goes: every pod's ARP entry for the control
                    # plane would then be stale, and its API requests stall for many seconds
                    # after another pod is deleted. A set address stays.
                    f"link set {self.bridge} address {_local_mac()}",
                    f"addr add {self.control_plane_ip}/17 dev {self.bridge}",
                    f"link set {self.bridge} up",
                ]
            )
        services = f"10.{self.subnet}.128.0/17"
        self._add_namespace(self.node_netns, self.node_ip)
        ip(namespace=self.node_netns, batch=[f"route add local {services} dev lo"])
        ip("route", "add", services, "via", self.node_ip)

    def stop(self):
        _remove_network(self.tag)
        (_REGISTRY / self.tag).unlink(missing_ok=True)

    def _address(self, number):
        return str(ipaddress.IPv4Address(f"10.{self.subnet}.0.0") + number)

    def _add_namespace(self, name, address):
        veth = f"fkv{self.tag}{address.split('.', 2)[2].replace('.', 'x')}"[:15]
        ip("netns", "add", name)
        ip(
            batch=[
                f"link add {veth} type veth peer name eth0 netns {name}",
                f"link set {veth} addrgenmode none",  # see the bridge's
                f"link set {veth} master {self.bridge} up",
            ]
        )
        ip(
            namespace=name,
            batch=[
                "link set lo up",
                f"addr add {address}/17 dev eth0",
                "link set eth0 up",
                f"route add 10.{self.subnet}.128.0/17 via {self.node_ip}",
                # a default route, as pods have (Dask finds its own address with it); the
                # machine forwards nothing, so the world outside stays unreachable
                f"route add default via {self.control_plane_ip}",
            ],
        )

    def add_pod(self):
        """A new pod network namespace; returns (its name, the pod IP)."""
        with self._lock:
            address = self._address(next(self._pod_numbers))
        name = f"fk-{self.tag}-{address.rsplit('.', 2)[1]}-{address.rsplit('.', 1)[1]}"
        self._add_namespace(name, address)
        self._pods[address] = name
        return name, address

    def remove_pod(self, address):
        name = self._pods.pop(address, None)
        if name:
            with suppress(NetworkError):
                ip("netns", "del", name)  # the namespace goes once its last process has

    def allocate_service_ip(self):
        with self._lock:
            return self._address(next(self._service_numbers))


def free_node_port(taken):
    return random.choice([port for port in NODE_PORTS if port not in taken])


def write_hosts(path, names):
    """Publish the cluster DNS names ({name: address}) for the pod sitecustomize."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(names))
    os.replace(partial, path)  # readers never see half a file


def etc_hosts_path(dns_dir, namespace):
    return Path(dns_dir) / f"{namespace}.hosts"


def write_etc_hosts(dns_dir, namespace, services):
    """The /etc/hosts of the pods of one namespace: cluster DNS for every Service
    ({(namespace, name): (uid, cluster IP)}), and bare names for its own namespace,
    as resolv.conf's search domains give on a real cluster."""
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    for (service_namespace, name), (_, address) in sorted(services.items()):
        names = [f"{name}.{service_namespace}{suffix}" for suffix in (".svc.cluster.local", ".svc", "")]
        if service_namespace == namespace:
            names.append(name)
        lines.append(f"{address} {' '.join(names)}")
    path = etc_hosts_path(dns_dir, namespace)
    partial = path.with_suffix(".tmp")
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)  # the file is replaced, so pods link to it, never bind it


class ServiceProxy:
    """kube-proxy's stand-in: listens in the node's namespace on a Service's cluster IP
    and node ports while it has a ready pod, and forwards each connection to a ready
    pod picked when it arrives."""

    def __init__(self, netns):
        self._netns = netns
        self._loop = asyncio.new_event_loop()
        self._servers = {}  # service key -> list of asyncio servers
        self._thread = threading.Thread(target=self._run, name="fake-kube-proxy", daemon=True)
        self._entered = threading.Event()
        self._error = None

    def _run(self):
        try:
            enter_namespace(self._netns)  # only this thread: its sockets live on the node
        except NetworkError as error:
            self._error = error
            return
        finally:
            self._entered.set()
        self._loop.run_forever()

    def start(self):
        self._thread.start()
        self._entered.wait()
        if self._error:
            raise self._error

    def stop(self):
        if not self._thread.is_alive():
            return
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
        servers = []
        try:
            for address, port, pick in listeners:
                servers.append(
                    await asyncio.start_server(lambda r, w, pick=pick: self._forward(r, w, pick), address, port)
                )
        except OSError:
            await self._close(servers)  # nothing half-open is left behind
            raise
        return servers

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
