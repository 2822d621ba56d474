"""The workflow controller: a level-triggered loop over the fake API's Workflow
objects. Any change to a workflow, pod or DaskJob runs one Operation per unfinished
workflow and writes back its status (with Argo's phase and completed labels)."""

from __future__ import annotations

import logging

from kube.fakekube import errors
from kube.fakekube.controllers import Controller

from . import crd
from .cluster import ClusterAccess
from .operator import FINAL, Executions, Operation

log = logging.getLogger("fake-argo-controller")
WORKFLOWS = "workflows.argoproj.io"
LABEL_PHASE = "workflows.argoproj.io/phase"
LABEL_COMPLETED = "workflows.argoproj.io/completed"


class WorkflowController(Controller):
    watches = (WORKFLOWS, "pods", "daskjobs.kubernetes.dask.org")
    period = 0.5  # template timeouts and deadlines pass without any change to watch

    def __init__(self, fake_kubernetes, engine):
        super().__init__(fake_kubernetes.store)
        if not any(rt.qualified == WORKFLOWS for rt in self.store.resource_types()):
            crd.install(self.store)
        self.access = ClusterAccess(fake_kubernetes)
        self.engine = engine
        self.executions: dict[str, Executions] = {}  # workflow uid -> what its executors hold

    @property
    def resource(self):
        return next(rt for rt in self.store.resource_types() if rt.qualified == WORKFLOWS)

    def reconcile(self):
        workflows, _ = self.store.list(self.resource)
        alive = set()
        for workflow in workflows:
            alive.add(workflow["metadata"]["uid"])
            if (workflow.get("status") or {}).get("phase") in FINAL:
                continue
            try:
                self._operate(workflow)
            except errors.ApiError as error:  # deleted or changed meanwhile: the next pass sees it
                log.debug("workflow %s: %s", workflow["metadata"]["name"], error)
            except Exception:
                log.exception("operating workflow %s failed", workflow["metadata"]["name"])
        for uid in set(self.executions) - alive:
            del self.executions[uid]

    def _operate(self, workflow):
        meta = workflow["metadata"]
        executions = self.executions.setdefault(meta["uid"], Executions())
        status = Operation(self.access, self.engine, workflow, executions).operate()
        if status == workflow.get("status"):
            return
        phase = status.get("phase", "Pending")

        def write(current):
            if current["metadata"]["uid"] != meta["uid"]:
                raise errors.conflict(self.resource, meta["name"])
            labels = {**(current["metadata"].get("labels") or {}), LABEL_PHASE: phase}
            if phase in FINAL:
                labels[LABEL_COMPLETED] = "true"
            return {**current, "metadata": {**current["metadata"], "labels": labels}, "status": status}

        self.store.update(self.resource, meta["namespace"], meta["name"], write)

    def logs(self, namespace: str, pod: str, uid: str) -> str:
        """A node's log: its pod's main container, or a resource node's executor lines."""
        executions = self.executions.get(uid)
        if executions is not None and pod in executions.logs:
            return "\n".join(executions.logs[pod]) + "\n"
        return self.access.pod_log(namespace, pod)

    def stop(self):
        super().stop()
        self.access.close()
