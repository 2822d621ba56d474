"""The kubernetes backend end to end: the real KubeCluster and the real Dask
operator against the fake Kubernetes API of tests/kube/harness.py."""

from __future__ import annotations

import secrets
import time

import dask.config
import pytest

from argodasf_jupyter import manifests
from argodasf_jupyter.backends import kubernetes as backend
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from kube.harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.timeout(300)]


def spec_of(name: str, **values):
    return parse_spec({"name": name, "backend": "kubernetes", "image": "example.org/dask:1", **values})


def assert_all_gone(fk, name: str) -> None:
    fk.wait_for_cluster_gone(name)


def delete_cluster(fk, name: str) -> None:
    """Delete through the API, as kubectl would (owned objects follow)."""
    from kr8s.objects import new_class

    new_class("DaskCluster", manifests.API_VERSION)(name, namespace=fk.namespace).delete()


def cluster_pod_groups(fk, before: set) -> list:
    return [pgid for pgid in fk.live_process_groups() if pgid not in before]


@pytest.fixture
def kube_home(monkeypatch):
    """Importing dask_kubernetes writes into dask's config PATH: point it at the
    private HOME that tests/conftest.py set up."""
    import os

    monkeypatch.setattr(dask.config, "PATH", os.environ["DASK_CONFIG"])


@pytest.fixture(scope="module")
def shared_fake(tmp_path_factory):
    """One fake cluster with the operator running, for the tests that succeed."""
    with FakeKubernetes(tmp_path_factory.mktemp("kube")) as fk:
        yield fk


@pytest.fixture
def fk(shared_fake, kube_home, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(shared_fake.kubeconfig))
    shared_fake.api.forbidden.clear()
    yield shared_fake


@pytest.fixture
def phases():
    """The phases reported to the progress callback (pass ``phases.append``)."""
    return []


def test_create_compute_scale_and_close_with_load_balancer(fk, phases):
    from distributed import Client

    from argodasf_jupyter.runtime import DaskExecutor

    spec = spec_of("lb", workers=2, scheduler_service_type="LoadBalancer", env={"ANSWER": "42"})
    before = set(fk.live_process_groups())
    cluster = backend.start(spec, phases.append)
    try:
        assert phases[0] == "creating"
        assert phases.index("scheduler pending") < phases.index("scheduler ready") < phases.index("workers 2/2")
        assert phases[-1] == "workers 2/2"
        assert cluster.shutdown_on_close is True
        stored = fk.get("daskclusters", "lb")
        assert stored["spec"]["scheduler"]["service"]["type"] == "LoadBalancer"
        with Client(cluster) as client:
            assert set(client.run(lambda: __import__("os").environ["ANSWER"]).values()) == {"42"}
            executor = DaskExecutor(client)
            import dask.array as da

            assert executor.compute(da.ones((100, 100), chunks=25).sum()) == 10000
            cluster.scale(3)
            client.wait_for_workers(3, timeout=60)
            cluster.scale(1)
            fk.wait_for(lambda: len(client.nthreads()) == 1, timeout=60, message="did not scale down to 1 worker")
            assert client.submit(sum, [1, 2, 3]).result() == 6
    finally:
        cluster.close()
    assert_all_gone(fk, "lb")
    fk.wait_for(lambda: not cluster_pod_groups(fk, before), timeout=30, message="cluster processes left running")


def test_cluster_ip_service_computes(fk, phases):
    from distributed import Client

    cluster = backend.start(spec_of("cip", workers=1, threads_per_worker=2), phases.append)
    try:
        assert fk.get("services", "cip-scheduler")["spec"]["type"] == "ClusterIP"
        with Client(cluster) as client:
            assert client.submit(lambda x: x * 2, 21).result() == 42
            assert list(client.nthreads().values()) == [2]
    finally:
        cluster.close()
    assert_all_gone(fk, "cip")


def test_adapt_creates_an_autoscaler_the_operator_acts_on(fk, phases):
    from distributed import Client

    cluster = backend.start(spec_of("elastic", adapt={"minimum": 1, "maximum": 2}), phases.append)
    try:
        assert phases[-1] == "workers 1/1"
        autoscaler = fk.get("daskautoscalers", "elastic")
        assert autoscaler["spec"] == {"cluster": "elastic", "minimum": 1, "maximum": 2}
        fk.wait_for(
            lambda: fk.get("daskautoscalers", "elastic")["metadata"].get("ownerReferences"),
            message="the operator did not adopt the autoscaler",
        )
        with Client(cluster) as client:
            # a backlog of slow tasks makes the scheduler ask for more workers
            futures = client.map(lambda i: time.sleep(0.5) or i, range(60), pure=False)
            fk.wait_for(
                lambda: fk.get("daskworkergroups", "elastic-default")["spec"]["worker"]["replicas"] == 2,
                timeout=60,
                message="the operator did not scale up to the adapt maximum",
            )
            client.wait_for_workers(2, timeout=60)
            assert sum(client.gather(futures)) == sum(range(60))
    finally:
        cluster.close()
    assert_all_gone(fk, "elastic")


def test_attach_does_not_own_the_cluster(fk, phases):
    from distributed import Client

    shared = spec_of("shared", workers=1)
    fk.create(manifests.dask_cluster(shared, "shared"))
    try:
        attached = backend.attach(shared.with_changes(connect=True), phases.append)
        assert phases[0] == "connecting" and "scheduler ready" in phases
        assert attached.shutdown_on_close is False
        with Client(attached) as client:
            client.wait_for_workers(1, timeout=60)
            assert client.submit(lambda: 7).result() == 7
        attached.close()
        time.sleep(1)
        assert fk.get("daskclusters", "shared") is not None
        again = backend.attach(shared.with_changes(connect=True), phases.append)
        again.close()
    finally:
        delete_cluster(fk, "shared")
    assert_all_gone(fk, "shared")


def test_attach_to_missing_cluster(fk, phases):
    with pytest.raises(ArgodasfError, match="no DaskCluster named 'ghost' in namespace 'default'"):
        backend.attach(spec_of("ghost", connect=True), phases.append)


def test_name_taken_by_another_shape_is_refused_and_kept(fk, phases):
    fk.create(manifests.dask_cluster(spec_of("taken", image="example.org/other:2"), "taken"))
    # let the operator finish making it, or deleting it races the worker group's creation
    fk.wait_for(lambda: fk.get("daskworkergroups", "taken-default"), message="the operator did not act")
    try:
        with pytest.raises(ArgodasfError) as failure:
            backend.start(spec_of("taken"), phases.append)
        message = str(failure.value)
        assert "already exists in namespace 'default' with another shape (scheduler image, worker image)" in message
        assert "\n" not in message
        with pytest.raises(ArgodasfError, match="with this shape; add connect: true"):
            backend.start(spec_of("taken", image="example.org/other:2"), phases.append)
        assert fk.get("daskclusters", "taken") is not None  # someone else's: never deleted
    finally:
        delete_cluster(fk, "taken")
    assert_all_gone(fk, "taken")


def test_forbidden_create_is_one_line_and_leaves_nothing(fk, phases):
    fk.forbid("create", "daskclusters")
    with pytest.raises(ArgodasfError) as failure:
        backend.start(spec_of("denied"), phases.append)
    message = str(failure.value)
    assert message.startswith(
        "permission denied: you may not create daskclusters.kubernetes.dask.org in namespace 'default'"
    )
    assert fk.token not in message and "\n" not in message
    assert fk.cluster_objects("denied") == []


def test_startup_timeout_names_the_phase_and_leaves_nothing(fk, phases, monkeypatch):
    monkeypatch.setattr(backend, "startup_timeout", lambda: 2)
    monkeypatch.setattr(backend, "_resource_timeout", lambda: 30)
    name = f"slow-{secrets.token_hex(3)}"  # a rerun on the shared fake must not meet this attempt's cluster
    with pytest.raises(ArgodasfError) as failure:
        backend.start(spec_of(name), phases.append)
    message = str(failure.value)
    assert message.startswith(f"cluster '{name}' was not ready after 2 s, still '{phases[-1]}'; "), message
    assert "\n" not in message
    assert_all_gone(fk, name)


def test_missing_crds(tmp_path, kube_home, phases):
    with FakeKubernetes(tmp_path / "kube", operator=False, crds=False) as fake:
        with pytest.raises(ArgodasfError, match="the Dask operator's custom resources are not installed") as failure:
            backend.start(spec_of("nocrds"), phases.append)
        assert "helm install" in str(failure.value)
    assert fake.objects("pods") == []


def test_operator_not_running(tmp_path, kube_home, phases):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fake, dask.config.set({"kubernetes.resource-timeout": 2}):
        with pytest.raises(ArgodasfError) as failure:
            backend.start(spec_of("orphan"), phases.append)
        message = str(failure.value)
        assert message.startswith("cluster 'orphan' was not ready after 2 s, still 'waiting for the Dask operator'")
        assert "is the Dask operator running?" in message
        assert fake.objects("daskclusters") == []


def test_keep_survives_close_by_kubecluster_but_not_a_failed_start(fk, phases, monkeypatch):
    cluster = backend.start(spec_of("kept", workers=1, keep=True), phases.append)
    assert cluster.shutdown_on_close is False
    cluster.close()
    assert fk.get("daskclusters", "kept") is not None
    delete_cluster(fk, "kept")
    assert_all_gone(fk, "kept")
    monkeypatch.setattr(backend, "startup_timeout", lambda: 1)
    with pytest.raises(ArgodasfError):
        backend.start(spec_of("kept2", keep=True), phases.append)
    assert_all_gone(fk, "kept2")


def test_no_credentials(kube_home, phases):
    with pytest.raises(ArgodasfError, match="no Kubernetes credentials"):
        backend.check(spec_of("nocreds"))
    with pytest.raises(ArgodasfError, match="no usable Kubernetes credentials"):
        backend.start(spec_of("nocreds"), phases.append)


def test_magic_creates_computes_and_closes(fk, shell):
    from IPython.utils.capture import capture_output

    with capture_output():
        result = shell.run_cell("%%dasf_cluster kmagic --workers 1\nbackend: kubernetes\nimage: example.org/dask:1\n")
    assert result.success, result.error_in_exec or result.error_before_exec
    assert fk.get("daskclusters", "kmagic") is not None
    result = shell.run_cell("import dask.array as da\ntotal = executor.compute(da.ones((50, 50), chunks=25).sum())")
    assert result.success, result.error_in_exec
    assert shell.user_ns["total"] == 2500
    assert shell.run_cell("%dasf_close kmagic").success
    assert_all_gone(fk, "kmagic")


def test_magic_reports_a_forbidden_create_in_one_line(fk, shell):
    from IPython.utils.capture import capture_output

    fk.forbid("create", "daskclusters")
    with capture_output() as captured:
        shell.run_cell("%%dasf_cluster kdenied\nbackend: kubernetes\n")
    shown = captured.stdout + captured.stderr
    assert "permission denied: you may not create daskclusters.kubernetes.dask.org" in shown
    assert "Traceback" not in shown
    assert fk.cluster_objects("kdenied") == []


def test_a_failed_start_deletes_a_cluster_whose_create_lands_late(tmp_path, kube_home, monkeypatch):
    """A timeout can cancel the create request after the server got it; the server may
    then store the DaskCluster after the cleanup's first look. It must still go."""
    import threading

    with FakeKubernetes(tmp_path / "kube", operator=False) as fake:
        monkeypatch.setenv("KUBECONFIG", str(fake.kubeconfig))
        manifest = manifests.dask_cluster(spec_of("late"), "late", fake.namespace)
        late = threading.Timer(0.5, fake.create, args=(manifest,))
        late.start()
        assert backend._delete_cluster("late", fake.namespace)
        late.join()
        assert fake.get("daskclusters", "late") is None
