"""An Argo-semantics workflow controller for tests, on the fake Kubernetes API.

    with FakeKubernetes(root) as fk:
        controller = WorkflowController(fk, engine)   # installs the Workflow CRD
        controller.start()
        ... create Workflow objects (or submit them through argo.fake_server) ...
        controller.stop()

Modules, one job each: crd (the Workflow CRD), names (node ids, pod names), scope
(global values and template substitution with the real expr engine), conditions
(resource success/failure conditions), durations, resource and container (how a
node runs), dag (task order and phases), nodes (status.nodes), operator (one pass
over one workflow), cluster (API access), controller (the loop).
"""

from .controller import WorkflowController

__all__ = ["WorkflowController"]
