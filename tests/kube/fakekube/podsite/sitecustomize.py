"""Cluster networking for the processes of fake pods, loaded through PYTHONPATH.

Cluster DNS: Service names (<svc>.<ns>, <svc>.<ns>.svc[.cluster.local], and a bare
<svc> inside the pod's own namespace) resolve to the Service's cluster IP, read from
the JSON file named by FAKEKUBE_HOSTS, which the fake rewrites as Services come and go.

Pod network: a server that binds the wildcard address binds the pod's own loopback
address (FAKEKUBE_POD_IP) instead, as if the pod had its own network namespace.

Standard library only: it runs inside every pod before anything else. The test
process installs the DNS part alone through install()."""

import json
import os
import socket

_WILDCARDS = (None, "", "0.0.0.0", "::", b"", b"0.0.0.0", b"::")


class ClusterDNS:
    def __init__(self, hosts_path, namespace=None):
        self._path = hosts_path
        self._namespace = namespace
        self._stamp = None
        self._names = {}

    def lookup(self, host):
        if isinstance(host, bytes):
            host = host.decode()
        if not isinstance(host, str):
            return None
        self._reload()
        name = host.rstrip(".").lower()
        if "." not in name and self._namespace:
            name = f"{name}.{self._namespace}"
        return self._names.get(name)

    def _reload(self):
        try:
            stat = os.stat(self._path)
        except OSError:
            return
        stamp = (stat.st_ino, stat.st_mtime_ns)
        if stamp != self._stamp:
            with open(self._path) as hosts:
                self._names = json.load(hosts)
            self._stamp = stamp


def install(hosts_path, namespace=None, pod_ip=None):
    """Wrap socket.getaddrinfo (and, for a pod, socket binds); return an undo function."""
    dns = ClusterDNS(hosts_path, namespace)
    real_getaddrinfo = socket.getaddrinfo
    real_bind = socket.socket.bind

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if pod_ip and flags & socket.AI_PASSIVE and host in _WILDCARDS:
            host, family = pod_ip, socket.AF_INET
        else:
            host = dns.lookup(host) or host
        return real_getaddrinfo(host, port, family, type, proto, flags)

    def bind(sock, address):
        if sock.family == socket.AF_INET and isinstance(address, tuple) and address[0] in _WILDCARDS:
            address = (pod_ip, *address[1:])
        return real_bind(sock, address)

    socket.getaddrinfo = getaddrinfo
    if pod_ip:
        socket.socket.bind = bind

    def undo():
        socket.getaddrinfo = real_getaddrinfo
        socket.socket.bind = real_bind

    return undo


if os.environ.get("FAKEKUBE_HOSTS"):
    install(
        os.environ["FAKEKUBE_HOSTS"],
        namespace=os.environ.get("FAKEKUBE_POD_NAMESPACE"),
        pod_ip=os.environ.get("FAKEKUBE_POD_IP"),
    )
