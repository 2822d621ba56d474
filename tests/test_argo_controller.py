"""The test-side Argo controller runs workflows as Argo does, on the fake Kubernetes
API (container templates as pods), behind the fake Argo Server's API."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from argo.stack import argo_on_kubernetes

pytestmark = [pytest.mark.kube, pytest.mark.one_environment, pytest.mark.timeout(120)]
FINAL = ("Succeeded", "Failed", "Error")


@pytest.fixture
def argo(tmp_path, argo_templates):
    with argo_on_kubernetes(tmp_path / "kube", argo_templates, namespace="team", operator=False) as (fk, server):
        yield Client(fk, server)
    fk.wait_for(lambda: fk.live_process_groups() == [], timeout=15)


class Client:
    def __init__(self, fk, server):
        self.fk, self.server = fk, server
        self.url = f"http://{server.address}/api/v1/workflows/team"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {server.token}"

    def submit(self, templates, entrypoint="main", parameters=None, **spec):
        workflow = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "metadata": {"generateName": "t-"},
            "spec": {"entrypoint": entrypoint, "templates": templates, **spec},
        }
        if parameters:
            workflow["spec"]["arguments"] = {"parameters": [{"name": k, "value": v} for k, v in parameters.items()]}
        answer = self.session.post(self.url, json={"workflow": workflow})
        assert answer.status_code == 200, answer.text
        return answer.json()["metadata"]["name"]

    def get(self, name):
        return self.session.get(f"{self.url}/{name}").json()

    def wait(self, name, timeout=60):
        self.fk.wait_for(
            lambda: (self.get(name).get("status") or {}).get("phase") in FINAL,
            timeout=timeout,
            message=lambda: json.dumps(self.get(name).get("status"), indent=1),
        )
        return self.get(name)

    def nodes(self, name):
        return {node["displayName"]: node for node in self.get(name)["status"]["nodes"].values()}

    def log(self, name):
        text = self.session.get(f"{self.url}/{name}/log", params={"logOptions.container": "main"}).text
        return [json.loads(line)["result"] for line in text.splitlines()]


def sh(name, script, **extra):
    return {"name": name, "container": {"image": "alpine:3", "command": ["sh", "-c", script]}, **extra}


def dag(*tasks):
    return {"name": "main", "dag": {"tasks": list(tasks)}}


VALUE = 'it\'s "quoted" {{workflow.name}} and {{other}}\nsecond line é ✓'


def test_tasks_run_in_dependency_order_with_their_arguments_byte_exact(argo):
    echo = {
        "name": "echo",
        "inputs": {"parameters": [{"name": "text"}]},
        "container": {
            "image": "alpine:3",
            "command": ["sh", "-c", 'printf %s "$0" > got; cat got; date +%s%N'],
            "args": ["{{inputs.parameters.text}}"],
        },
    }
    name = argo.submit(
        [
            dag(
                {
                    "name": "first",
                    "template": "echo",
                    "arguments": {"parameters": [{"name": "text", "value": "{{workflow.parameters.text}}"}]},
                },
                {
                    "name": "second",
                    "template": "echo",
                    "dependencies": ["first"],
                    "arguments": {"parameters": [{"name": "text", "value": "after {{tasks.first.status}}"}]},
                },
            ),
            echo,
        ],
        parameters={"text": VALUE},
    )
    workflow = argo.wait(name)
    assert workflow["status"]["phase"] == "Succeeded" and workflow["status"]["progress"] == "2/2"
    nodes = argo.nodes(name)
    assert nodes[name]["type"] == "DAG" and nodes["first"]["type"] == "Pod"
    assert nodes["first"]["finishedAt"] <= nodes["second"]["startedAt"]
    # Argo resolves {{workflow.name}} inside a parameter's value (argoproj/argo-workflows#4805)
    # and keeps a tag it cannot resolve as text
    expected = VALUE.replace("{{workflow.name}}", name)
    assert nodes["first"]["inputs"]["parameters"] == [{"name": "text", "value": expected}]
    lines = argo.log(name)
    first = [line["content"] for line in lines if line["podName"].startswith(f"{name}-echo-")]
    assert "\n".join(first).startswith(expected)
    assert any(line["content"].startswith("after Succeeded") for line in lines)
    pods = argo.fk.objects("pods", "team")
    assert {pod["spec"]["containers"][0]["name"] for pod in pods} == {"main"}
    assert all(pod["metadata"]["ownerReferences"][0]["kind"] == "Workflow" for pod in pods)


def test_retries_count_up_and_stop_at_the_limit(argo):
    flaky = sh("flaky", "echo attempt {{retries}}; test {{retries}} -ge 1", retryStrategy={"limit": 2})
    never = sh("never", "echo try {{retries}}; exit 3", retryStrategy={"limit": "1", "retryPolicy": "Always"})
    name = argo.submit(
        [dag({"name": "flaky", "template": "flaky"}, {"name": "never", "template": "never"}), flaky, never]
    )
    assert argo.wait(name)["status"]["phase"] == "Failed"
    nodes = argo.nodes(name)
    assert nodes["flaky"]["type"] == "Retry" and nodes["flaky"]["phase"] == "Succeeded"
    assert [nodes[f"flaky({i})"]["phase"] for i in (0, 1)] == ["Failed", "Succeeded"]
    assert "flaky(2)" not in nodes
    assert nodes["never"]["phase"] == "Failed" and nodes["never"]["message"] == "No more retries left"
    assert [nodes[f"never({i})"]["message"] for i in (0, 1)] == ["Error (exit code 3)"] * 2
    contents = {line["content"] for line in argo.log(name)}
    assert {"attempt 0", "attempt 1", "try 0", "try 1"} <= contents


def test_a_failed_task_stops_the_dag_and_says_why(argo):
    name = argo.submit(
        [
            dag({"name": "bad", "template": "bad"}, {"name": "later", "template": "ok", "dependencies": ["bad"]}),
            sh("bad", "echo boom >&2; exit 2"),
            sh("ok", "true"),
        ]
    )
    workflow = argo.wait(name)
    nodes = argo.nodes(name)
    assert workflow["status"]["phase"] == "Failed" and "later" not in nodes
    assert nodes["bad"]["message"] == "Error (exit code 2)" and nodes[name]["phase"] == "Failed"
    assert workflow["metadata"]["labels"]["workflows.argoproj.io/completed"] == "true"


def test_when_skips_and_on_exit_sees_the_workflow_status(argo):
    name = argo.submit(
        [
            dag(
                {"name": "maybe", "template": "ok", "when": "'{{workflow.parameters.run}}' == 'yes'"},
                {"name": "bad", "template": "bad"},
            ),
            sh("ok", "true"),
            sh("bad", "exit 1"),
            sh("exit", "echo exit handler saw {{workflow.status}}"),
        ],
        parameters={"run": "no"},
        onExit="exit",
    )
    workflow = argo.wait(name)
    nodes = argo.nodes(name)
    assert nodes["maybe"]["phase"] == "Skipped" and nodes["maybe"]["message"] == "when ''no' == 'yes'' evaluated false"
    assert workflow["status"]["phase"] == "Failed"
    assert any(line["content"] == "exit handler saw Failed" for line in argo.log(name))


def test_unresolvable_tags_are_refused_or_fail_the_node(argo):
    answer = argo.session.post(
        argo.url,
        json={
            "workflow": {
                "metadata": {"generateName": "t-"},
                "spec": {"entrypoint": "main", "templates": [sh("main", "echo {{inputs.parameters.nothing}}")]},
            }
        },
    )
    assert answer.status_code == 400 and "failed to resolve {{inputs.parameters.nothing}}" in answer.json()["message"]
    name = argo.submit(
        [
            sh(
                "main",
                "echo {{=sprig.b64enc(inputs.parameters[''x''])}}",
                inputs={"parameters": [{"name": "x", "value": "v"}]},
            )
        ]
    )
    workflow = argo.wait(name)
    node = argo.nodes(name)[name]
    assert workflow["status"]["phase"] == "Error" and node["phase"] == "Error"
    assert "unexpected token" in node["message"]
    assert argo.fk.objects("pods", "team") == []


def test_active_deadline_stops_the_pod(argo):
    name = argo.submit([sh("main", "sleep 30", activeDeadlineSeconds=1)])
    workflow = argo.wait(name, timeout=20)
    assert workflow["status"]["phase"] == "Failed"
    assert argo.nodes(name)[name]["message"] == "Pod was active on the node longer than the specified deadline"
    argo.fk.wait_for(lambda: argo.fk.objects("pods", "team") == [], timeout=10)


def test_terminate_retry_and_delete(argo):
    name = argo.submit([sh("main", "sleep 60")])
    argo.fk.wait_for(lambda: argo.fk.live_process_groups() != [], timeout=20)
    assert argo.session.put(f"{argo.url}/{name}/terminate").status_code == 200
    workflow = argo.wait(name)
    assert workflow["status"]["phase"] == "Failed"
    assert workflow["status"]["message"] == "Stopped with strategy 'Terminate'"
    argo.fk.wait_for(lambda: argo.fk.live_process_groups() == [], timeout=15)

    retried = argo.submit(
        [
            dag({"name": "once", "template": "once"}),
            sh("once", "test -e /proc/self || exit 1; exit {{workflow.parameters.code}}"),
        ],
        parameters={"code": "1"},
    )
    assert argo.wait(retried)["status"]["phase"] == "Failed"
    assert argo.session.put(f"{argo.url}/{retried}/retry").status_code == 200
    assert argo.wait(retried)["status"]["phase"] == "Failed"  # the same failure again, run anew
    assert len([pod for pod in argo.fk.objects("pods", "team") if pod["metadata"]["name"].startswith(retried)]) == 1

    assert argo.session.delete(f"{argo.url}/{retried}").status_code == 200
    assert argo.session.get(f"{argo.url}/{retried}").status_code == 404
    argo.fk.wait_for(
        lambda: not [pod for pod in argo.fk.objects("pods", "team") if pod["metadata"]["name"].startswith(retried)],
        timeout=10,
    )


def test_watch_streams_the_workflow_until_it_ends(argo):
    name = argo.submit([sh("main", "sleep 0.5")])
    phases = []

    def watch():
        with argo.session.get(
            f"http://{argo.server.address}/api/v1/workflow-events/team",
            params={"listOptions.fieldSelector": f"metadata.name={name}"},
            stream=True,
            timeout=60,
        ) as answer:
            for line in answer.iter_lines():
                phases.append((json.loads(line)["result"]["object"].get("status") or {}).get("phase"))

    thread = threading.Thread(target=watch)
    thread.start()
    thread.join(60)
    assert phases[-1] == "Succeeded" and "Running" in phases
