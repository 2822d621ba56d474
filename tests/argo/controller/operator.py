"""One pass of the controller over one Workflow (Argo's operate()): everything it
knows is in the workflow's status.nodes plus what its executors hold, so a pass can
run at any time and only moves the workflow forward."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field

from argo.template_engine import TemplateError

from . import container, dag, resource, scope
from .names import pod_name
from .nodes import FULFILLED, Nodes, now

FINAL = ("Succeeded", "Failed", "Error")
RETRY_POLICIES = {
    "Always": ("Failed", "Error"),
    "OnFailure": ("Failed",),
    "OnError": ("Error",),
    "OnTransientError": (),
}


@dataclass
class Executions:
    """What the controller remembers of a workflow's running nodes, by node id."""

    resources: dict = field(default_factory=dict)  # node id -> resource.ResourceRun
    pods: dict = field(default_factory=dict)  # node id -> (pod name, monotonic start)
    templates: dict = field(default_factory=dict)  # node id -> processed template
    logs: dict = field(default_factory=dict)  # pod name -> lines of a resource node's executor
    arguments: dict = field(default_factory=dict)  # task node id -> its substituted arguments
    globals: tuple = ()  # (generation, resolved spec, global values): the spec changes rarely


class Operation:
    def __init__(self, api, engine, workflow: dict, executions: Executions):
        self.api, self.engine, self.executions = api, engine, executions
        self.workflow = workflow
        self.name = workflow["metadata"]["name"]
        self.status = copy.deepcopy(workflow.get("status") or {})
        self.nodes = Nodes(self.name, self.status.setdefault("nodes", {}))
        self.templates = {template["name"]: template for template in workflow["spec"].get("templates", [])}
        self.shutdown = workflow["spec"].get("shutdown")

    # -- the workflow ---------------------------------------------------------------

    def operate(self) -> dict:
        """The workflow's new status."""
        if self.status.get("phase") in FINAL:
            return self.status
        try:
            self._globals()
        except TemplateError as error:
            self.status.update(phase="Failed", message=f"failed to set global parameters: {error}")
            return self._finish()
        if not self.status.get("phase") and not self._start():
            return self._finish()
        root = self.execute(
            self.name,
            self.workflow["spec"]["entrypoint"],
            self.name,
            (self.spec.get("arguments") or {}).get("parameters") or [],
            None,
            None,
            {},
        )
        phase = root["phase"] if root else "Error"
        if phase in FULFILLED and self.spec.get("onExit") and self.shutdown != "Terminate":
            handler = self.execute(
                f"{self.name}.onExit",
                self.spec["onExit"],
                f"{self.name}.onExit",
                [],
                None,
                None,
                {"workflow.status": phase, "workflow.failures": self._failures()},
            )
            if handler["phase"] not in FULFILLED:
                phase = "Running"
            elif handler["phase"] != "Succeeded" and phase == "Succeeded":
                phase = "Failed"
        if phase in FULFILLED:
            self.status["phase"] = "Succeeded" if phase == "Skipped" else phase
            if self.shutdown:
                self.status["message"] = f"Stopped with strategy '{self.shutdown}'"
            elif phase != "Succeeded" and not self.status.get("message"):
                self.status["message"] = root.get("message") or self._first_failure()
            return self._finish()
        self.status["progress"] = self.nodes.progress()
        return self.status

    def _globals(self) -> None:
        generation = self.workflow["metadata"].get("generation")
        if not self.executions.globals or self.executions.globals[0] != generation:
            raw = scope.global_values(self.workflow)
            spec = scope.resolve_spec(self.engine, self.workflow, raw)
            self.executions.globals = (generation, spec, scope.global_values({**self.workflow, "spec": spec}))
        _, self.spec, self.values = self.executions.globals

    def _start(self) -> bool:
        self.status.update(phase="Running", startedAt=now())
        problems = scope.unresolved_tags(self.workflow, self.values)
        if self.workflow["spec"]["entrypoint"] not in self.templates:
            problems.insert(0, f"spec.entrypoint template '{self.workflow['spec']['entrypoint']}' not found")
        if problems:
            self.status.update(phase="Failed", message=f"invalid spec: {problems[0]}")
            return False
        return True

    def _finish(self) -> dict:
        self.status["finishedAt"] = self.status.get("finishedAt") or now()
        self.status["progress"] = self.nodes.progress()
        return self.status

    def _failures(self) -> str:
        failed = [
            {
                "displayName": node["displayName"],
                "message": node.get("message", ""),
                "templateName": node.get("templateName", ""),
                "phase": node["phase"],
                "podName": pod_name(self.name, node["name"], node.get("templateName", "")),
                "finishedAt": node.get("finishedAt", ""),
            }
            for node in self.nodes.nodes.values()
            if node["type"] == "Pod" and node["phase"] in ("Failed", "Error")
        ]
        return json.dumps(failed, separators=(",", ":"))

    def _first_failure(self) -> str:
        for node in self.nodes.nodes.values():
            if node["type"] == "Pod" and node["phase"] in ("Failed", "Error") and node.get("message"):
                return f"{node['displayName']}: {node['message']}"
        return ""

    # -- templates ----------------------------------------------------------------------

    def execute(self, name, template_name, display, arguments, boundary, parent, local) -> dict:
        node = self.nodes.get(name)
        if node is not None and node["phase"] in FULFILLED:
            return node
        template = self.templates.get(template_name)
        if template is None:
            node = node or self.nodes.add(name, display, "Pod", template_name, boundary, parent)
            self.nodes.mark(node, "Error", f"template '{template_name}' not found")
            return node
        if "dag" in template:
            return self._dag(name, template, display, arguments, boundary, parent)
        if template.get("retryStrategy"):
            return self._retry(name, template, display, arguments, boundary, parent, local)
        return self._leaf(name, template, display, arguments, boundary, parent, local)

    def _dag(self, name, template, display, arguments, boundary, parent) -> dict:
        node = self.nodes.get(name) or self.nodes.add(name, display, "DAG", template["name"], boundary, parent)
        if node["phase"] == "Pending":
            self.nodes.mark(node, "Running")
        tasks = dag.ordered(template["dag"]["tasks"])
        fail_fast = template["dag"].get("failFast", True)
        phases = {}
        for task in tasks:
            task_name = f"{name}.{task['name']}"
            current = self.nodes.get(task_name)
            if current is None:
                upstream = dag.upstream(task)
                if any(phases.get(parent_task) not in FULFILLED for parent_task in upstream):
                    continue
                failed = any(phase in ("Failed", "Error") for phase in phases.values())
                if self.shutdown or (fail_fast and failed):
                    continue
                current = self._start_task(task, task_name, node, upstream, phases)
            else:
                current = self.execute(
                    task_name,
                    task["template"],
                    task["name"],
                    self.executions.arguments.get(current["id"], []),
                    node["id"],
                    name,
                    {},
                )
            phases[task["name"]] = current["phase"]
        started = [phase for phase in phases.values()]
        if dag.all_fulfilled(started) and not self._startable(tasks, phases, fail_fast):
            self.nodes.mark(node, dag.phase(started))
        return node

    def _startable(self, tasks, phases, fail_fast) -> bool:
        if self.shutdown or (fail_fast and any(phase in ("Failed", "Error") for phase in phases.values())):
            return False
        return any(
            task["name"] not in phases and all(phases.get(up) in FULFILLED for up in dag.upstream(task))
            for task in tasks
        )

    def _start_task(self, task, task_name, dag_node, upstream, phases) -> dict:
        satisfied = self.engine.evaluate(dag.depends_expression(task), dag.depends_values(upstream, phases))
        if not satisfied:
            node = self.nodes.add(
                task_name, task["name"], "Skipped", task["template"], dag_node["id"], dag_node["name"]
            )
            self.nodes.mark(node, "Omitted", "omitted: depends condition not met")
            return node
        values = {**self.values, **{f"tasks.{done}.status": phase for done, phase in phases.items()}}
        if task.get("when"):
            try:
                condition = self.engine.substitute(task["when"], values)
                run = self.engine.evaluate(condition, {})
            except TemplateError as error:
                node = self.nodes.add(
                    task_name, task["name"], "Skipped", task["template"], dag_node["id"], dag_node["name"]
                )
                self.nodes.mark(node, "Error", f"failed to evaluate when '{task['when']}': {error}")
                return node
            if run is not True:
                node = self.nodes.add(
                    task_name, task["name"], "Skipped", task["template"], dag_node["id"], dag_node["name"]
                )
                self.nodes.mark(node, "Skipped", f"when '{condition}' evaluated false")
                return node
        arguments = scope.task_arguments(self.engine, task, values)
        node = self.execute(task_name, task["template"], task["name"], arguments, dag_node["id"], dag_node["name"], {})
        self.executions.arguments[node["id"]] = arguments
        return node

    def _retry(self, name, template, display, arguments, boundary, parent, local) -> dict:
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes.add(name, display, "Retry", template["name"], boundary, parent)
            self.nodes.mark(node, "Running")
        strategy = template["retryStrategy"]
        attempts = [self.nodes.nodes[child] for child in node.get("children", [])]
        last = attempts[-1] if attempts else None
        if last is not None and last["phase"] not in FULFILLED:
            last = self._leaf(
                last["name"],
                template,
                last["displayName"],
                arguments,
                boundary,
                name,
                {**local, "retries": str(len(attempts) - 1)},
            )
            if last["phase"] not in FULFILLED:
                return node
        if last is not None:
            if last["phase"] == "Succeeded":
                self.nodes.mark(node, "Succeeded")
                return node
            policy = strategy.get("retryPolicy") or ("Always" if strategy.get("expression") else "OnFailure")
            if self.shutdown:
                self.nodes.mark(node, last["phase"], f"Stopped with strategy '{self.shutdown}'")
                return node
            if last["phase"] not in RETRY_POLICIES.get(policy, ()):
                self.nodes.mark(node, last["phase"], last.get("message", ""))
                return node
            limit = strategy.get("limit")
            if limit is not None and len(attempts) > int(limit):
                self.nodes.mark(node, last["phase"], "No more retries left")
                return node
        attempt = f"{name}({len(attempts)})"
        self._leaf(
            attempt,
            template,
            attempt.rpartition(".")[2],
            arguments,
            boundary,
            name,
            {**local, "retries": str(len(attempts))},
        )
        return node

    def _leaf(self, name, template, display, arguments, boundary, parent, local) -> dict:
        node = self.nodes.get(name)
        if node is None:
            node = self.nodes.add(name, display, "Pod", template["name"], boundary, parent)
            self._launch(node, template, arguments, local)
        elif node["phase"] not in FULFILLED:
            self._follow(node)
        return node

    def _launch(self, node, template, arguments, local) -> None:
        pod = pod_name(self.name, node["name"], template["name"])
        try:
            processed = scope.process(
                self.engine, template, arguments, self.values, {"pod.name": pod, "node.name": node["name"], **local}
            )
        except TemplateError as error:
            self.nodes.mark(node, "Error", str(error))
            return
        if (processed.get("inputs") or {}).get("parameters"):
            node["inputs"] = {
                "parameters": [{"name": p["name"], "value": p["value"]} for p in processed["inputs"]["parameters"]]
            }
        self.executions.templates[node["id"]] = processed
        if self._stopping(node):
            self.nodes.mark(node, "Failed", f"Stopped with strategy '{self.shutdown}'")
        elif "resource" in processed:
            run, error = resource.start(self.api, self.workflow, processed)
            self.executions.logs[pod] = run.log
            if error:
                run.log.append(error)
                self.nodes.mark(node, "Failed", error)
            elif run.done:
                self.nodes.mark(node, "Succeeded")
            else:
                self.executions.resources[node["id"]] = run
                self.nodes.mark(node, "Running")
        elif "container" in processed:
            self.api.create_pod(container.pod_manifest(self.workflow, processed, node, pod))
            self.executions.pods[node["id"]] = (pod, time.monotonic())
        else:
            kinds = ", ".join(key for key in ("script", "steps", "suspend", "data", "http") if key in processed)
            self.nodes.mark(node, "Error", f"the fake controller does not run {kinds or 'this kind of'} templates")

    def _follow(self, node) -> None:
        template = self.executions.templates.get(node["id"])
        if template is None:  # the controller restarted: Argo would find the pod again; the fake cannot
            self.nodes.mark(node, "Error", "the controller lost track of this node")
            return
        if self._stopping(node):
            self._stop(node)
            return
        if node["id"] in self.executions.resources:
            phase, message = resource.check(self.api, self.executions.resources[node["id"]], template)
        else:
            pod, started = self.executions.pods[node["id"]]
            phase, message = container.pod_state(
                self.api.get_pod(self.workflow["metadata"]["namespace"], pod), template, started
            )
            if message == resource.DEADLINE_MESSAGE:
                self.api.delete_pod(self.workflow["metadata"]["namespace"], pod)
        if phase != node["phase"]:
            self.nodes.mark(node, phase, message)

    def _stopping(self, node) -> bool:
        # Stop still runs the exit handler (Terminate never starts it)
        return bool(self.shutdown) and not node["name"].startswith(f"{self.name}.onExit")

    def _stop(self, node) -> None:
        if node["id"] in self.executions.pods:
            self.api.delete_pod(self.workflow["metadata"]["namespace"], self.executions.pods[node["id"]][0])
        self.nodes.mark(node, "Failed", f"Stopped with strategy '{self.shutdown}'")
