"""The fake's pod network keeps the control plane's address stable while pods come and go."""

import json

import pytest

from .fakekube.host_support import HostUnsupported, require_container_support
from .fakekube.network import ClusterNetwork, ip

pytestmark = pytest.mark.one_environment


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


def machine_side_addresses(network):
    """Addresses on the machine's side of the pod network: the bridge and its pods' ports."""
    links = json.loads(ip("-j", "addr", "show", "master", network.bridge)) + json.loads(
        ip("-j", "addr", "show", "dev", network.bridge)
    )
    return {(link["ifname"], entry["local"]) for link in links for entry in link["addr_info"]}


def test_pods_coming_and_going_change_no_address_on_the_machine(network):
    """A browser on the machine takes any address change as a network change and fails
    its requests in flight (Chromium's net::ERR_NETWORK_CHANGED): the JupyterLab page of
    a browser test lost its theme's stylesheet that way while a step's pods started."""
    before = machine_side_addresses(network)
    pods = [network.add_pod()[1] for _ in range(2)]
    assert machine_side_addresses(network) == before == {(network.bridge, network.control_plane_ip)}
    for address in pods:
        network.remove_pod(address)
    assert machine_side_addresses(network) == before
