"""The fake Kubernetes harness, proven with the real KubeCluster, kr8s and operator."""

import http.client
import socket
import time

import pytest

from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(180)]


def worker_deployments(fk, cluster):
    return [
        d
        for d in fk.objects("deployments", fk.namespace)
        if d["metadata"]["labels"].get("dask.org/workergroup-name") == f"{cluster}-default"
    ]


def test_kubecluster_lifecycle_with_the_real_operator(tmp_path, isolated_home):
    import kr8s
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec
    from distributed import Client

    with FakeKubernetes(tmp_path / "kube") as fk:
        [operator] = kr8s.get(
            "deployments", namespace=kr8s.ALL, label_selector={"app.kubernetes.io/name": "dask-kubernetes-operator"}
        )
        assert operator.raw["status"]["readyReplicas"] == 1
        started = time.monotonic()
        spec = make_cluster_spec(name="lifecycle", n_workers=1)
        with KubeCluster(custom_cluster_spec=spec, quiet=True) as cluster, Client(cluster) as client:
            assert client.submit(lambda x: x + 1, 41).result() == 42

            cluster.scale(3)
            client.wait_for_workers(3, timeout=30)
            cluster.scale(1)  # the operator retires two workers through the scheduler
            fk.wait_for(lambda: len(client.nthreads()) == 1 and len(worker_deployments(fk, "lifecycle")) == 1)
            assert client.submit(sum, [1, 2, 3]).result() == 6

            cluster.adapt(minimum=1, maximum=2)
            fk.wait_for(
                lambda: (fk.get("daskautoscalers", "lifecycle") or {}).get("metadata", {}).get("ownerReferences"),
                message="the operator did not adopt the autoscaler",
            )
        fk.wait_for_cluster_gone("lifecycle")
        print(
            f"create/compute/scale/adapt/close: {time.monotonic() - started:.1f}s, "
            f"{sum(fk.request_counts().values())} requests from KubeCluster, "
            f"{sum(fk.request_counts('operator').values())} from the operator"
        )
    assert fk.live_process_groups() == []


def test_forbidden_create_makes_kubecluster_fail(tmp_path, isolated_home):
    import kr8s
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec

    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.forbid("create", "daskclusters")
        with pytest.raises(kr8s.ServerError) as failure:
            KubeCluster(custom_cluster_spec=make_cluster_spec(name="denied"), shutdown_on_close=False, quiet=True)
        assert failure.value.response.status_code == 403
        assert 'cannot create resource "daskclusters" in API group "kubernetes.dask.org"' in str(failure.value)
        assert fk.token not in str(failure.value)
        assert fk.objects("daskclusters") == []


def test_missing_crds_make_kubecluster_fail(tmp_path, isolated_home):
    import kr8s
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec

    with FakeKubernetes(tmp_path / "kube", operator=False, crds=False):
        with pytest.raises(kr8s.ServerError) as failure:
            KubeCluster(custom_cluster_spec=make_cluster_spec(name="nocrds"), shutdown_on_close=False, quiet=True)
        assert failure.value.response.status_code == 404
        assert "could not find the requested resource" in str(failure.value)


def test_two_clusters_side_by_side_through_load_balancer_and_node_port(tmp_path, isolated_home):
    """Both schedulers bind 8786/8787 on their own pod address; the test process
    reaches one through its load-balancer ingress, the other through a node port."""
    from dask_kubernetes.operator import KubeCluster, make_cluster_spec
    from distributed import Client

    with FakeKubernetes(tmp_path / "kube") as fk:
        specs = [
            make_cluster_spec(name=name, n_workers=1, scheduler_service_type=kind)
            for name, kind in (("balanced", "LoadBalancer"), ("noded", "NodePort"))
        ]
        with (
            KubeCluster(custom_cluster_spec=specs[0], quiet=True) as balanced,
            KubeCluster(custom_cluster_spec=specs[1], quiet=True) as noded,
        ):
            ingress = fk.get("services", "balanced-scheduler")["status"]["loadBalancer"]["ingress"][0]["ip"]
            node_port = fk.get("services", "noded-scheduler")["spec"]["ports"][0]["nodePort"]
            assert balanced.scheduler_address == f"tcp://{ingress}:8786"
            assert noded.scheduler_address == f"tcp://{fk.node_ip}:{node_port}"
            for cluster in (balanced, noded):
                with Client(cluster) as client:
                    assert client.submit(len, cluster.name).result() == len(cluster.name)
        fk.wait_for(lambda: not fk.cluster_objects("balanced") and not fk.cluster_objects("noded"))
    assert fk.live_process_groups() == []


def test_what_a_doctor_asks_access_reviews_crds_deployments_and_tokens(tmp_path):
    import httpx

    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        api = httpx.Client(base_url=fk.api.url, headers={"Authorization": f"Bearer {fk.token}"})

        def allowed(verb, resource):
            review = {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "namespace": "default",
                        "verb": verb,
                        "group": "kubernetes.dask.org",
                        "resource": resource,
                    }
                },
            }
            answer = api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
            assert answer.status_code == 201
            return answer.json()["status"]["allowed"]

        assert allowed("create", "daskjobs")
        fk.forbid("create", "daskjobs")
        assert not allowed("create", "daskjobs") and allowed("list", "daskjobs")
        denied = api.post("/apis/kubernetes.dask.org/v1/namespaces/default/daskjobs", json={"metadata": {"name": "x"}})
        assert denied.status_code == 403 and denied.json()["reason"] == "Forbidden"

        crds_url = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        crds = api.get(crds_url).json()["items"]
        assert sorted(crd["metadata"]["name"] for crd in crds) == [
            f"{plural}.kubernetes.dask.org"
            for plural in ("daskautoscalers", "daskclusters", "daskjobs", "daskworkergroups")
        ]
        assert api.get("/apis/apps/v1/deployments").json()["items"] == []  # no operator installed

        fk.remove_dask_crds()
        assert api.get(f"{crds_url}/daskjobs.kubernetes.dask.org").status_code == 404
        assert api.get("/apis/kubernetes.dask.org/v1").status_code == 404
        assert "kubernetes.dask.org" not in api.get("/apis").text

        assert httpx.get(fk.api.url + "/api/v1/pods").status_code == 401
        assert fk.token in fk.kubeconfig.read_text()


JOB_SCRIPT = """
from distributed import Client
with Client(timeout=60) as client:  # DASK_SCHEDULER_ADDRESS is set by the operator
    print("the answer is", client.submit(sum, [20, 22]).result())
"""


def daskjob(name, script):
    from dask_kubernetes.operator import make_cluster_spec

    return {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskJob",
        "metadata": {"name": name},
        "spec": {
            "job": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "job", "image": "ghcr.io/dask/dask:latest", "args": ["python", "-c", script]}
                    ],
                }
            },
            "cluster": {"spec": make_cluster_spec(name=name, n_workers=1)["spec"]},
        },
    }


def test_daskjobs_succeed_and_fail_side_by_side(tmp_path, isolated_home):
    from kr8s.objects import new_class

    DaskJob = new_class("DaskJob", "kubernetes.dask.org/v1", asyncio=False)

    def job_status(name):
        return (fk.get("daskjobs", name) or {}).get("status", {}).get("jobStatus")

    with FakeKubernetes(tmp_path / "kube") as fk:
        DaskJob(daskjob("job-ok", JOB_SCRIPT)).create()
        DaskJob(daskjob("job-bad", "raise SystemExit(3)")).create()
        fk.wait_for(
            lambda: job_status("job-ok") == "Successful" and job_status("job-bad") == "Failed",
            timeout=90,
            message=lambda: (
                f"job statuses: {job_status('job-ok')}, {job_status('job-bad')}; "
                f"runner log: {fk.pod_log('job-ok-runner')[-2000:]}"
            ),
        )
        assert "the answer is 42" in fk.pod_log("job-ok-runner")
        bad_runner = fk.get("pods", "job-bad-runner")
        assert bad_runner["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
        # On a final state the operator deletes the job's cluster.
        fk.wait_for(lambda: fk.objects("daskclusters") == [])
    assert fk.live_process_groups() == []


def test_services_lead_to_their_pod_by_name_cluster_ip_node_port_and_load_balancer(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        labels = {"app": "web"}
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "web", "labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "python",
                            "command": ["python", "-m", "http.server", "8080"],
                            "ports": [{"name": "http", "containerPort": 8080}],
                            "readinessProbe": {"httpGet": {"port": "http", "path": "/"}},
                        }
                    ]
                },
            }
        )
        for kind in ("ClusterIP", "NodePort", "LoadBalancer"):
            fk.create(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": kind.lower()},
                    "spec": {
                        "type": kind,
                        "selector": labels,
                        "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                    },
                }
            )
        # The load balancer gets its ingress once the pod is ready.
        fk.wait_for(lambda: fk.get("services", "loadbalancer").get("status", {}).get("loadBalancer", {}).get("ingress"))
        pod_ip = fk.get("pods", "web")["status"]["podIP"]
        assert pod_ip.startswith("10.") and pod_ip != fk.node_ip

        node_port = fk.get("services", "nodeport")["spec"]["ports"][0]["nodePort"]
        ingress = fk.get("services", "loadbalancer")["status"]["loadBalancer"]["ingress"][0]["ip"]
        targets = [
            ("clusterip.default", 80),
            ("clusterip.default.svc.cluster.local", 80),
            (fk.get("services", "clusterip")["spec"]["clusterIP"], 80),
            (fk.node_ip, node_port),
            (ingress, 80),
        ]
        for host, port in targets:
            connection = http.client.HTTPConnection(host, port, timeout=5)
            connection.request("GET", "/")
            assert connection.getresponse().status == 200, (host, port)
            connection.close()
    # DNS names of the fake resolve only while it runs.
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("clusterip.default", 80)
