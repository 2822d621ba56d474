"""Each fake pod is a container: its own filesystem, hostname, /tmp and network
namespace; files pass between pods only through declared volumes."""

import base64
import socket

import pytest

from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(120)]


def pod(name, script, volumes=(), mounts=(), **container):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "volumes": list(volumes),
            "containers": [
                {
                    "name": "main",
                    "image": "python:3.11",
                    "command": ["python", "-c", script],
                    "volumeMounts": list(mounts),
                    **container,
                }
            ],
        },
    }


def finished(fk, *names):
    def done():
        return all(
            (fk.get("pods", name) or {}).get("status", {}).get("phase") in ("Succeeded", "Failed") for name in names
        )

    fk.wait_for(done, timeout=60, message=lambda: {name: fk.pod_log(name) for name in names})
    return {name: fk.pod_log(name).strip() for name in names}


WRITE = "import os; os.makedirs('/data', exist_ok=True); open('/data/x', 'w').write('{}'); print('wrote')"
READ = "import os; print(open('/data/x').read() if os.path.exists('/data/x') else 'missing')"


def test_a_file_written_outside_volumes_is_private_to_its_pod(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(pod("writer", WRITE.format("from writer") + "; import time; time.sleep(1); " + READ))
        assert finished(fk, "writer")["writer"] == "wrote\nfrom writer"
        fk.create(pod("reader", READ))
        assert finished(fk, "reader")["reader"] == "missing"
    import os

    assert not os.path.exists("/data/x")  # nor does the machine see it


def test_a_shared_claim_carries_files_between_pods_and_to_the_test(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "work"},
                "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "1Gi"}}},
            }
        )
        assert fk.get("persistentvolumeclaims", "work")["status"]["phase"] == "Bound"
        (fk.volume_path("work") / "input.txt").write_text("from the test")
        claim = [{"name": "shared", "persistentVolumeClaim": {"claimName": "work"}}]
        at_data = [{"name": "shared", "mountPath": "/data"}]
        script = "print(open('/data/input.txt').read()); open('/data/x', 'w').write('from writer'); print('wrote')"
        fk.create(pod("writer", script, claim, at_data))
        assert finished(fk, "writer")["writer"] == "from the test\nwrote"
        fk.create(pod("reader", READ, claim, at_data))
        assert finished(fk, "reader")["reader"] == "from writer"
        assert (fk.volume_path("work") / "x").read_text() == "from writer"


def test_a_pod_waits_for_its_claim_as_on_a_real_cluster(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(
            pod(
                "waiting",
                READ,
                [{"name": "v", "persistentVolumeClaim": {"claimName": "later"}}],
                [{"name": "v", "mountPath": "/data"}],
            )
        )
        fk.wait_for(lambda: fk.get("pods", "waiting")["status"].get("containerStatuses"))
        state = fk.get("pods", "waiting")["status"]["containerStatuses"][0]["state"]
        assert state == {
            "waiting": {"reason": "ContainerCreating", "message": 'persistentvolumeclaim "later" not found'}
        }
        fk.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "later"}, "spec": {}})
        assert finished(fk, "waiting")["waiting"] == "missing"


def test_containers_of_a_pod_share_an_empty_dir_but_not_their_root(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        manifest = pod(
            "pair",
            "open('/shared/a', 'w').write('a'); open('/root/private', 'w').write('a')",
            [{"name": "scratch", "emptyDir": {}}],
            [{"name": "scratch", "mountPath": "/shared"}],
        )
        check = (
            "import os, time, socket\n"
            "while not os.path.exists('/shared/a'): time.sleep(0.1)\n"
            "print(open('/shared/a').read(), os.path.exists('/root/private'), socket.gethostname())"
        )
        manifest["spec"]["containers"].append(
            {
                "name": "second",
                "image": "python:3.11",
                "command": ["python", "-c", check],
                "volumeMounts": [{"name": "scratch", "mountPath": "/shared"}],
            }
        )
        fk.create(manifest)
        finished(fk, "pair")
        assert fk.pod_log("pair", container="second").strip() == "a False pair"


def test_secrets_reach_a_pod_as_env_from_key_refs_and_files(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s3"},
                "stringData": {"AWS_ACCESS_KEY_ID": "key-id"},
                "data": {"AWS_SECRET_ACCESS_KEY": base64.b64encode(b"very-secret").decode()},
            }
        )
        stored = fk.get("secrets", "s3")
        assert "stringData" not in stored and base64.b64decode(stored["data"]["AWS_ACCESS_KEY_ID"]) == b"key-id"
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "settings"},
                "data": {"ENDPOINT": "http://s3.local"},
            }
        )
        script = (
            "import os; print(os.environ['S3_AWS_ACCESS_KEY_ID'], os.environ['ENDPOINT'], "
            "os.environ['PASSWORD'], open('/creds/AWS_SECRET_ACCESS_KEY').read())"
        )
        fk.create(
            pod(
                "consumer",
                script,
                [{"name": "creds", "secret": {"secretName": "s3"}}],
                [{"name": "creds", "mountPath": "/creds"}],
                envFrom=[{"secretRef": {"name": "s3"}, "prefix": "S3_"}, {"configMapRef": {"name": "settings"}}],
                env=[
                    {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s3", "key": "AWS_SECRET_ACCESS_KEY"}}}
                ],
            )
        )
        assert finished(fk, "consumer")["consumer"] == "key-id http://s3.local very-secret very-secret"

        fk.create(
            pod(
                "no-secret",
                "print(1)",
                env=[{"name": "X", "valueFrom": {"secretKeyRef": {"name": "absent", "key": "k"}}}],
            )
        )
        fk.wait_for(lambda: fk.get("pods", "no-secret")["status"].get("containerStatuses"))
        waiting = fk.get("pods", "no-secret")["status"]["containerStatuses"][0]["state"]["waiting"]
        assert waiting == {"reason": "CreateContainerConfigError", "message": 'secret "absent" not found'}


def test_pods_bind_dask_ports_while_the_machine_holds_them(tmp_path, dask_ports_taken):
    """Pods have their own network namespace: 0.0.0.0:8787 taken on the machine (a
    user's own Dask dashboard) does not keep a pod from listening on it."""
    server = "import socket; s = socket.socket(); s.bind(('0.0.0.0', 8787)); print('bound')"
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(pod("dashboard", server))
        assert finished(fk, "dashboard")["dashboard"] == "bound"
    with pytest.raises(OSError):
        socket.create_server(("0.0.0.0", 8787))  # the fixture still holds it


def test_a_pod_with_a_name_longer_than_a_hostname_runs_under_its_name_cut_to_63(tmp_path):
    # Dask worker pods of a long workflow step are named past 63 characters
    name = "workflow-93847-envelope-default-worker-04e881a461-831126cabf-d2b38"
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(pod(name, "import socket; print(socket.gethostname())"))
        assert finished(fk, name)[name] == name[:63].rstrip("-")
        assert fk.get("pods", name)["status"]["phase"] == "Succeeded"


def test_a_pods_hostname_resolves_to_its_ip_before_any_service_exists(tmp_path):
    """As the kubelet's /etc/hosts line gives: a dask worker that cannot resolve its
    scheduler yet takes its hostname's address as its own, and must not get 127.0.0.1."""
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        script = (
            "import socket; name = socket.gethostname()\n"
            "print(socket.getaddrinfo(name, 0, socket.AF_INET, socket.SOCK_DGRAM)[0][4][0], socket.gethostbyname(name))"
        )
        fk.create(pod("resolver", script))
        addresses = finished(fk, "resolver")["resolver"].split()
        assert addresses == [fk.get("pods", "resolver")["status"]["podIP"]] * 2, addresses
        assert not addresses[0].startswith("127.")


def test_a_new_pod_of_an_old_name_starts_with_an_empty_log(tmp_path):
    # a kubelet keeps logs per pod UID: a retried runner pod must not show the last attempt's lines
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.create(pod("again", "print('first attempt')"))
        assert finished(fk, "again")["again"] == "first attempt"
        fk.store.delete(fk.resource_type("pods"), fk.namespace, "again")
        fk.wait_for(lambda: fk.get("pods", "again") is None, timeout=30, message="the pod was not deleted")
        fk.create(pod("again", "print('second attempt')"))
        assert finished(fk, "again")["again"] == "second attempt"
