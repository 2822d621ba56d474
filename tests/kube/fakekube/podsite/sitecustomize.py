"""Cluster networking for the processes of fake pods, loaded through PYTHONPATH.

Cluster DNS: Service names (<svc>.<ns>, <svc>.<ns>.svc[.cluster.local], and a bare
<svc> inside the pod's own namespace) resolve to the Service's cluster IP, read from
the JSON file named by FAKEKUBE_HOSTS, which the fake rewrites as Services come and go.

Standard library only: it runs inside every pod before anything else."""

import json
import os
import socket


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


def install(hosts_path, namespace=None):
    """Wrap socket.getaddrinfo; return an undo function."""
    dns = ClusterDNS(hosts_path, namespace)
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        return real_getaddrinfo(dns.lookup(host) or host, port, family, type, proto, flags)

    socket.getaddrinfo = getaddrinfo

    def undo():
        socket.getaddrinfo = real_getaddrinfo

    return undo


if os.environ.get("FAKEKUBE_HOSTS"):
    install(os.environ["FAKEKUBE_HOSTS"], namespace=os.environ.get("FAKEKUBE_POD_NAMESPACE"))
