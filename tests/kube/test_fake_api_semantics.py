"""Semantics of the fake API server that no product test reaches on its own: the /scale
subresource, namespace deletion, probe timing and server-side tables."""

import json
import re
import signal
from datetime import datetime, timezone

import httpx
import pytest

from .harness import FakeKubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(120)]

DASK = "/apis/kubernetes.dask.org/v1/namespaces/default"


def api_client(fk):
    return httpx.Client(base_url=fk.api.url, headers={"Authorization": f"Bearer {fk.token}"}, timeout=10)


def dask_cluster(name, workers):
    return {
        "apiVersion": "kubernetes.dask.org/v1",
        "kind": "DaskCluster",
        "metadata": {"name": name},
        "spec": {
            "worker": {"replicas": workers, "spec": {"containers": []}},
            "scheduler": {"spec": {"containers": []}, "service": {}},
        },
    }


def test_scale_subresource_reads_and_writes_the_replicas_path_the_crd_declares(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        api = api_client(fk)
        created = fk.create(dask_cluster("scaled", 2))
        url = f"{DASK}/daskclusters/scaled/scale"

        scale = api.get(url).json()
        assert (scale["kind"], scale["apiVersion"]) == ("Scale", "autoscaling/v1")
        assert scale["metadata"]["uid"] == created["metadata"]["uid"]
        assert scale["spec"] == {"replicas": 2} and scale["status"] == {"replicas": 0}

        patched = api.patch(
            url, json={"spec": {"replicas": 5}}, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert patched.status_code == 200 and patched.json()["kind"] == "Scale"
        assert patched.json()["spec"]["replicas"] == 5
        stored = fk.get("daskclusters", "scaled")
        assert stored["spec"]["worker"]["replicas"] == 5
        assert stored["metadata"]["generation"] == 2
        assert patched.json()["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]

        put = api.put(url, json={**patched.json(), "spec": {"replicas": 1}})
        assert put.status_code == 200 and fk.get("daskclusters", "scaled")["spec"]["worker"]["replicas"] == 1
        stale = api.put(url, json={**patched.json(), "spec": {"replicas": 7}})  # resourceVersion of before
        assert stale.status_code == 409 and stale.json()["reason"] == "Conflict"
        negative = api.patch(
            url,
            json=[{"op": "replace", "path": "/spec/replicas", "value": -1}],
            headers={"Content-Type": "application/json-patch+json"},
        )
        assert negative.status_code == 422 and "must be greater than or equal to 0" in negative.json()["message"]
        assert fk.get("daskclusters", "scaled")["spec"]["worker"]["replicas"] == 1

        assert api.get(f"{DASK}/daskjobs/any/scale").status_code == 404  # its CRD declares no scale
        discovery = api.get("/apis/kubernetes.dask.org/v1").json()["resources"]
        [entry] = [r for r in discovery if r["name"] == "daskworkergroups/scale"]
        assert (entry["group"], entry["version"], entry["kind"]) == ("autoscaling", "v1", "Scale")


def test_deployment_scale_has_the_selector_of_its_pods(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        labels = {"app": "web", "tier": "front"}
        fk.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "python"}]},
                    },
                },
            }
        )
        scale = api_client(fk).get("/apis/apps/v1/namespaces/default/deployments/web/scale").json()
        assert scale["spec"] == {"replicas": 0}
        assert scale["status"]["selector"] == "app=web,tier=front"


def test_deleting_a_namespace_deletes_its_content_then_the_namespace(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        api = api_client(fk)
        assert api.post("/api/v1/namespaces", json={"metadata": {"name": "doomed"}}).status_code == 201
        labels = {"app": "sleeper"}
        container = {"name": "c", "image": "python", "command": ["sleep", "600"]}
        fk.create(
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lone"}, "spec": {"containers": [container]}},
            "doomed",
        )
        fk.create(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "sleepers"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
                },
            },
            "doomed",
        )
        fk.create(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "sleepers"},
                "spec": {"selector": labels, "ports": [{"port": 80}]},
            },
            "doomed",
        )
        fk.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}}, "doomed")
        held = dask_cluster("held", 1)
        held["metadata"]["finalizers"] = ["example.org/hold"]
        fk.create(held, "doomed")
        fk.wait_for(
            lambda: (
                all(pod["status"]["phase"] == "Running" for pod in fk.objects("pods", "doomed"))
                and len(fk.objects("pods", "doomed")) == 2
            )
        )
        untouched = fk.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, "default")

        deleted = api.delete("/api/v1/namespaces/doomed")
        assert deleted.status_code == 200 and deleted.json()["status"]["phase"] == "Terminating"
        refused = api.post(
            "/api/v1/namespaces/doomed/pods", json={"metadata": {"name": "late"}, "spec": {"containers": [container]}}
        )
        assert refused.status_code == 403
        assert refused.json()["message"] == (
            'pods "late" is forbidden: unable to create new content in namespace doomed because it is being terminated'
        )
        again = api.delete("/api/v1/namespaces/doomed")
        assert again.status_code == 409 and "ensuring all content is removed" in again.json()["message"]

        def content():
            return [
                f"{plural}/{obj['metadata']['name']}"
                for plural in ("pods", "deployments", "services", "secrets", "daskclusters")
                for obj in fk.objects(plural, "doomed")
            ]

        fk.wait_for(lambda: content() == ["daskclusters/held"], message=lambda: f"left: {content()}")
        fk.wait_for(
            lambda: (
                {c["type"]: c["status"] for c in fk.get("namespaces", "doomed")["status"].get("conditions", [])}.get(
                    "NamespaceFinalizersRemaining"
                )
                == "True"
            )
        )
        conditions = {c["type"]: c for c in fk.get("namespaces", "doomed")["status"]["conditions"]}
        assert "example.org/hold in 1 resource instances" in conditions["NamespaceFinalizersRemaining"]["message"]
        assert fk.get("daskclusters", "held", "doomed")["metadata"]["deletionTimestamp"]

        patch = api.patch(
            "/apis/kubernetes.dask.org/v1/namespaces/doomed/daskclusters/held",
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert patch.status_code == 200
        fk.wait_for(lambda: fk.get("namespaces", "doomed") is None, message="the namespace stayed")
        assert api.get("/api/v1/namespaces/doomed").status_code == 404
        assert fk.get("secrets", "s", "default")["metadata"]["uid"] == untouched["metadata"]["uid"]
        fk.wait_for(lambda: fk.live_process_groups() == [], message="the pods' processes stayed")


def pod(name, command, **probes):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "python", "command": command, **probes}]},
    }


def test_probes_tick_every_period_after_the_initial_delay_with_thresholds(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        # ticks at 0 s (within the initial delay), 2 s (first success) and 4 s (second: ready)
        fk.create(
            pod(
                "slow-ready",
                ["python", "-m", "http.server", "8080"],
                readinessProbe={
                    "httpGet": {"port": 8080},
                    "initialDelaySeconds": 1,
                    "periodSeconds": 2,
                    "successThreshold": 2,
                },
            )
        )
        # two failed ticks in a row: the kubelet kills the container and restarts it
        fk.create(
            pod(
                "not-alive",
                ["sleep", "600"],
                livenessProbe={"tcpSocket": {"port": 9}, "periodSeconds": 1, "failureThreshold": 2},
            )
        )
        # the file appears inside the container after 1 s; an exec probe looks there
        fk.create(
            pod(
                "late-start",
                ["sh", "-c", "sleep 1; touch /tmp/started; exec sleep 600"],
                startupProbe={
                    "exec": {"command": ["test", "-f", "/tmp/started"]},
                    "periodSeconds": 1,
                    "failureThreshold": 30,
                },
            )
        )

        def status(name):
            return fk.get("pods", name)["status"]

        def ready(name):
            return {c["type"]: c["status"] for c in status(name).get("conditions", [])}.get("Ready") == "True"

        fk.wait_for(lambda: status("slow-ready")["phase"] == "Running")
        fk.wait_for(lambda: ready("slow-ready"), timeout=60)
        seen_ready = datetime.now(timezone.utc)
        # only lower bounds: a loaded machine can make ticks late, never early
        started = datetime.strptime(
            status("slow-ready")["containerStatuses"][0]["state"]["running"]["startedAt"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=timezone.utc)  # rounded down to the second
        assert (seen_ready - started).total_seconds() >= 3.9, "ready no sooner than the second success, 4 s after start"
        probes = [line for line in fk.pod_log("slow-ready").splitlines() if '"GET / HTTP/1.1"' in line]
        assert len(probes) >= 2, f"ready after fewer than successThreshold probes: {probes}"

        fk.wait_for(lambda: status("not-alive")["containerStatuses"][0]["restartCount"] >= 1, timeout=60)
        killed = status("not-alive")["containerStatuses"][0]["lastState"]["terminated"]
        assert killed["exitCode"] == 128 + signal.SIGTERM
        fk.wait_for(
            lambda: status("late-start")["containerStatuses"][0]["started"] is True and ready("late-start"), timeout=60
        )
        assert status("late-start")["containerStatuses"][0]["restartCount"] == 0


TABLE = {
    "Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;"
    "g=meta.k8s.io,application/json"
}  # what kubectl get sends


def test_tables_for_kubectl_get_pods_custom_resources_and_other_kinds(tmp_path):
    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        api = api_client(fk)
        fk.create(pod("sleeper", ["sleep", "600"]))
        fk.create(pod("crasher", ["false"]))
        fk.create(dask_cluster("tabled", 2))
        fk.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
        fk.wait_for(
            lambda: (
                fk.get("pods", "crasher")["status"].get("containerStatuses", [{}])[0].get("restartCount", 0) >= 1
                and fk.get("pods", "sleeper")["status"]["phase"] == "Running"
            )
        )

        pods = api.get("/api/v1/namespaces/default/pods", headers=TABLE).json()
        assert (pods["kind"], pods["apiVersion"]) == ("Table", "meta.k8s.io/v1")
        assert [c["name"] for c in pods["columnDefinitions"]] == [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates",
        ]
        rows = {row["cells"][0]: row for row in pods["rows"]}
        sleeper = rows["sleeper"]["cells"]
        assert sleeper[1:4] == ["1/1", "Running", "0"] and sleeper[4].endswith("s")
        assert sleeper[5] == fk.get("pods", "sleeper")["status"]["podIP"] and sleeper[6:] == [
            "fake-node",
            "<none>",
            "<none>",
        ]
        crasher = rows["crasher"]["cells"]
        assert crasher[1] == "0/1" and crasher[2] in ("CrashLoopBackOff", "Error")
        assert re.fullmatch(r"\d+ \(\d+s ago\)", crasher[3]), crasher[3]
        assert rows["sleeper"]["object"]["kind"] == "PartialObjectMetadata"
        assert rows["sleeper"]["object"]["metadata"]["name"] == "sleeper" and "spec" not in rows["sleeper"]["object"]

        one = api.get(
            "/api/v1/namespaces/default/pods/sleeper", headers=TABLE, params={"includeObject": "Object"}
        ).json()
        assert len(one["rows"]) == 1 and one["rows"][0]["object"]["spec"]["containers"][0]["name"] == "c"

        clusters = api.get(f"{DASK}/daskclusters", headers=TABLE).json()
        assert [c["name"] for c in clusters["columnDefinitions"]] == ["Name", "Workers", "Status", "Age"]
        [cells] = [row["cells"] for row in clusters["rows"]]
        assert cells[:3] == ["tabled", 2, None] and re.fullmatch(r"\d+s", cells[3])

        secrets = api.get("/api/v1/namespaces/default/secrets", headers=TABLE).json()
        assert [c["name"] for c in secrets["columnDefinitions"]] == ["Name", "Created At"]
        assert secrets["rows"][0]["cells"] == ["s", fk.get("secrets", "s")["metadata"]["creationTimestamp"]]

        plain = api.get("/api/v1/namespaces/default/pods").json()
        assert plain["kind"] == "PodList"

        with api.stream(
            "GET", "/api/v1/namespaces/default/pods", headers=TABLE, params={"watch": "true", "timeoutSeconds": "1"}
        ) as watch:
            events = [json.loads(line) for line in watch.iter_lines() if line]
        assert [event["type"] for event in events[:2]] == ["ADDED", "ADDED"]  # then the crasher's changes
        assert {event["object"]["kind"] for event in events} == {"Table"}
        assert events[0]["object"]["columnDefinitions"]
        assert all(event["object"]["columnDefinitions"] is None for event in events[1:])
