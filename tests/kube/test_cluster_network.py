"""The fake's pod network keeps the control plane's address stable while pods come and go."""

import json

import pytest

from .fakekube.host_support import HostUnsupported, require_container_support
from .fakekube.network import ClusterNetwork, ip


@pytest.fixture
def network():
    try:
        require_container_support()
    except HostUnsupported as error:
        pytest.skip(str(error))
    network = ClusterNetwork()
    network.start()
    yield network
    network.stop()


def bridge_mac(network):
    return json.loads(ip("-j", "link", "show", network.bridge))[0]["address"]


def test_the_bridge_keeps_its_mac_when_pods_come_and_go(network):
    """Pods cache the control plane's MAC: if it changed when a pod's port went (a
    bridge's default), the other pods' API requests would stall."""
    first = bridge_mac(network)
    pods = dict(network.add_pod() for _ in range(3))  # namespace -> pod IP
    assert bridge_mac(network) == first
    for address in pods.values():
        network.remove_pod(address)
        assert bridge_mac(network) == first
    assert not set(pods) & {line.split()[0] for line in ip("netns", "list").splitlines() if line.strip()}
