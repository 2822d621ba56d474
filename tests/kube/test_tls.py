"""The fake API over HTTPS, as a real cluster serves it: a certificate from the fake's
own CA, which the kubeconfigs carry as certificate-authority-data, so the clients
(kr8s, the operator's kopf, the product) verify the server and send their token."""

import ssl
import urllib.error
import urllib.request

import pytest

from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(240)]


def _get(url, token=None, context=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=30, context=context) as answer:
        return answer.status


def test_only_a_client_that_trusts_the_clusters_ca_and_sends_a_token_is_answered(tmp_path, isolated_home):
    with FakeKubernetes(tmp_path / "kube", operator=False, tls=True) as fk:
        url = f"{fk.api.url}/api/v1/namespaces/{fk.namespace}/pods"
        assert url.startswith("https://")
        trusting = ssl.create_default_context(cadata=fk.ca.certificate_pem.decode("ascii"))
        assert _get(url, fk.token, trusting) == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            _get(url, context=trusting)
        assert refused.value.code == 401
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            _get(url, fk.token, ssl.create_default_context())  # the system's CAs do not know it
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _get(url.replace("https://", "http://"), fk.token)  # plain HTTP is not served


def test_the_operator_and_kubecluster_work_over_tls(tmp_path, isolated_home):
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec
    from distributed import Client

    with FakeKubernetes(tmp_path / "kube", tls=True) as fk:
        spec = make_cluster_spec(name="secure", n_workers=1)
        with KubeCluster(custom_cluster_spec=spec, quiet=True) as cluster, Client(cluster) as client:
            assert client.submit(lambda x: x + 1, 41).result() == 42
        fk.wait_for_cluster_gone("secure")
    assert fk.live_process_groups() == []
