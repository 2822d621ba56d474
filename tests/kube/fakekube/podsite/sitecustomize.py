"""Cluster networking for the processes of fake pods, loaded through PYTHONPATH.

Cluster DNS: Service names (<svc>.<ns>, <svc>.<ns>.svc[.cluster.local], and a bare
<svc> inside the pod's own namespace) resolve to the Service's cluster IP, read from
the JSON file named by FAKEKUBE_HOSTS, which the fake rewrites as Services come and go.
The pod's own hostname resolves to its IP (FAKEKUBE_POD_IP), as the line a kubelet
writes into every pod's /etc/hosts gives: a dask worker that starts before its
scheduler's Service has a name falls back to its hostname's address, not 127.0.0.1.

Standard library only: it runs inside every pod before anything else."""

import json
import os
import socket


class ClusterDNS:
    def __init__(self, hosts_path, namespace=None, own=None):
        self._path = hosts_path
        self._namespace = namespace
        self._own = own or {}  # the pod's hostname -> its IP
        self._stamp = None
        self._names = {}

    def lookup(self, host):
        if isinstance(host, bytes):
            host = host.decode()
        if not isinstance(host, str):
            return None
        name = host.rstrip(".").lower()
        if name in self._own:
            return self._own[name]
        self._reload()
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


def install(hosts_path, namespace=None, own=None):
    """Wrap socket.getaddrinfo and socket.gethostbyname; return an undo function."""
    dns = ClusterDNS(hosts_path, namespace, own)
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        return real_getaddrinfo(dns.lookup(host) or host, port, family, type, proto, flags)

    def gethostbyname(host):
        return dns.lookup(host) or real_gethostbyname(host)

    socket.getaddrinfo, socket.gethostbyname = getaddrinfo, gethostbyname

    def undo():
        socket.getaddrinfo, socket.gethostbyname = real_getaddrinfo, real_gethostbyname

    return undo


if os.environ.get("FAKEKUBE_HOSTS"):
    own = {socket.gethostname().lower(): os.environ["FAKEKUBE_POD_IP"]} if os.environ.get("FAKEKUBE_POD_IP") else {}
    install(os.environ["FAKEKUBE_HOSTS"], namespace=os.environ.get("FAKEKUBE_POD_NAMESPACE"), own=own)
