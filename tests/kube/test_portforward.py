"""pods/portforward on the fake API: what a client outside the cluster (a user's
JupyterLab) uses to reach a pod, through the real kr8s client."""

import asyncio
import hashlib
import os
import socket

import pytest

from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(180)]

# listens on the pod's own loopback only: nothing outside its network namespace reaches it
ECHO_SERVER = """
import socketserver
class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", 8080), Echo).serve_forever()
"""
LOOPBACK_PROBE = "import socket; socket.create_connection(('127.0.0.1', 8080), timeout=1).close()"


def start_echo_pod(fk):
    labels = {"app": "echo"}
    container = {
        "name": "echo",
        "image": "python",
        "command": ["python", "-c", ECHO_SERVER],
        "readinessProbe": {"exec": {"command": ["python", "-c", LOOPBACK_PROBE]}, "periodSeconds": 1},
    }
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "echo", "labels": labels},
            "spec": {"containers": [container]},
        }
    )
    fk.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "echo"},
            "spec": {"selector": labels, "ports": [{"port": 8080, "targetPort": 8080}]},
        }
    )
    fk.wait_for(
        lambda: any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in fk.get("pods", "echo").get("status", {}).get("conditions", [])
        ),
        message=lambda: f"the echo pod is not ready: {fk.get('pods', 'echo').get('status')}",
    )


async def forwarded(fk, kind, payload, remote_port=8080):
    """Send payload through a kr8s port-forward to the pod or Service; return the answer."""
    from kr8s.asyncio.objects import Pod, Service

    resource = await (Pod if kind == "pod" else Service).get("echo", namespace=fk.namespace)
    async with resource.portforward(remote_port, local_port="auto") as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def send():
            chunk = 1 << 20
            for start in range(0, len(payload), chunk):
                writer.write(payload[start : start + chunk])
                await writer.drain()

        sending = asyncio.create_task(send())
        answer = b""
        try:
            while len(answer) < len(payload):
                more = await asyncio.wait_for(reader.read(1 << 20), 30)
                if not more:
                    break
                answer += more
        finally:
            await sending
            writer.close()
        return answer


def test_a_pod_listening_on_its_own_loopback_is_reached_by_pod_and_by_service(tmp_path, isolated_home):
    with FakeKubernetes(tmp_path / "kube", operator=False, cluster_dns_in_tests=False) as fk:
        start_echo_pod(fk)
        fk.reset_request_counts()
        assert asyncio.run(forwarded(fk, "pod", b"hello pod")) == b"hello pod"
        assert asyncio.run(forwarded(fk, "service", b"hello service")) == b"hello service"
        assert fk.request_counts()["get pods/portforward"] == 2
        # the test process is outside the cluster: the Service name does not resolve here
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("echo.default.svc.cluster.local", 8080)


def test_ten_megabytes_arrive_whole(tmp_path, isolated_home):
    payload = os.urandom(10 << 20)
    with FakeKubernetes(tmp_path / "kube", operator=False, cluster_dns_in_tests=False) as fk:
        start_echo_pod(fk)
        answer = asyncio.run(forwarded(fk, "pod", payload))
    assert len(answer) == len(payload) and hashlib.sha256(answer).digest() == hashlib.sha256(payload).digest()


UPGRADE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def test_refusals_are_the_api_servers(tmp_path, isolated_home):
    import httpx

    with FakeKubernetes(tmp_path / "kube", operator=False, cluster_dns_in_tests=False) as fk:
        start_echo_pod(fk)
        base = f"{fk.api.url}/api/v1/namespaces/{fk.namespace}/pods"
        auth = {"Authorization": f"Bearer {fk.token}"}

        def ask(path, query, headers=UPGRADE):
            answer = httpx.get(f"{base}/{path}/portforward", params=query, headers={**auth, **headers}, timeout=10)
            return answer.status_code, answer.json().get("message")

        assert ask("echo", {"ports": "8080"}, headers={}) == (400, "Upgrade request required")
        assert ask("echo", {}) == (400, 'query parameter "port" is required')
        assert ask("echo", {"ports": "x"}) == (400, 'unable to parse "x" as a port: must be an integer in 1..65535')
        assert ask("nobody", {"ports": "8080"}) == (404, 'pods "nobody" not found')
        fk.forbid("get", "pods/portforward")
        status, message = ask("echo", {"ports": "8080"})
        assert status == 403 and 'cannot get resource "pods/portforward"' in message
        fk.allow("get", "pods/portforward")
        # a port nothing listens on: the kubelet's error ends the stream, and so the connection
        assert asyncio.run(forwarded(fk, "pod", b"anyone?", remote_port=9)) == b""


def test_kubecluster_outside_the_cluster_takes_the_port_forward(tmp_path, isolated_home):
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec
    from distributed import Client

    with FakeKubernetes(tmp_path / "kube", cluster_dns_in_tests=False) as fk:
        spec = make_cluster_spec(name="outside", n_workers=1)
        with KubeCluster(custom_cluster_spec=spec, quiet=True) as cluster, Client(cluster) as client:
            assert cluster.scheduler_address.startswith("tcp://localhost:")
            assert client.submit(lambda x: x + 1, 41).result() == 42
            assert fk.request_counts()["get pods/portforward"] >= 1
        fk.wait_for_cluster_gone("outside")
        fk.wait_for(
            lambda: sum(fk.api.forwarding.values()) == 0,
            message=lambda: f"port-forward streams still open: {+fk.api.forwarding}",
        )
    assert fk.live_process_groups() == []
