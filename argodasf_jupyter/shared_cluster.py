"""`cluster: shared`: one DaskCluster for a whole workflow instead of one DaskJob per step.

The per-step plan (workflow.plan) is rewritten: a resource template creates one
DaskCluster, owned by the Workflow, from the ClusterSpec of the first DASF step,
and waits until the operator reports it Running; every DASF step of that shape
becomes a runner pod (the DaskJob runner's container, same script delivery) whose
DASK_SCHEDULER_ADDRESS names the cluster's scheduler Service; an adapt range
becomes a DaskAutoscaler on the shared cluster; the workflow's onExit handler
deletes the cluster whatever the outcome. A DASF step of another shape keeps its
own DaskJob (as in per-step mode), and ``differing_steps`` names such steps.
"""

from __future__ import annotations

from typing import Optional

from . import images, manifests, runtime, step_script
from .draft import Draft
from .promote import GENERATED_NAME_MARK, Step

CLUSTER_TEMPLATE = f"argodasf{GENERATED_NAME_MARK}cluster"
AUTOSCALER_TEMPLATE = f"argodasf{GENERATED_NAME_MARK}cluster-autoscaler"
DELETE_TEMPLATE = f"argodasf{GENERATED_NAME_MARK}cluster-delete"
CLUSTER_NAME = "{{workflow.name}}" + GENERATED_NAME_MARK + "cluster"
SCHEDULER_ADDRESS = f"tcp://{CLUSTER_NAME}-scheduler.{{{{workflow.namespace}}}}:{manifests.SCHEDULER_PORT}"
RUNNING = "status.phase == Running"
# how long the cluster may take to reach Running (pulling images on a fresh node)
CLUSTER_TIMEOUT = "900s"


def _dasf_steps(draft: Draft) -> list[Step]:
    return [step for step in draft.order() if step.kind == "dasf"]


def shared_spec(draft: Draft):
    """The shared cluster's ClusterSpec: the first DASF step's (in DAG order), or None."""
    steps = _dasf_steps(draft)
    return steps[0].cluster if steps else None


def differing_steps(draft: Draft) -> list[str]:
    """DASF steps whose cluster shape differs from the shared one: they run as DaskJobs."""
    spec = shared_spec(draft)
    return [step.name for step in _dasf_steps(draft) if step.cluster != spec]


def describe(draft: Draft) -> Optional[str]:
    """The one line shown at promotion and export about steps off the shared cluster."""
    if draft.cluster != "shared" or not draft.steps:
        return None
    names = differing_steps(draft)
    if not names:
        return None
    return (
        f"step{'s' if len(names) > 1 else ''} {', '.join(names)}: cluster shape differs from the shared "
        f"cluster's (that of step '{_dasf_steps(draft)[0].name}'), so {'they run' if len(names) > 1 else 'it runs'} "
        "as a DaskJob of its own; give it the same cluster to share"
    )


def cluster_manifest(spec) -> dict:
    cluster = manifests.dask_cluster(spec, CLUSTER_NAME)
    cluster["metadata"]["labels"] = {"argodasf.io/workflow": "{{workflow.name}}"}
    return cluster


def _runner_template(step: Step, spec, storage: dict, retry: dict):
    from .workflow import Call, parameter_expression

    delivery = step_script.runner_container(step)
    env = dict(spec.env)
    env.update({runtime.parameter_env(name): parameter_expression(name) for name in step.parameters})
    env["DASK_SCHEDULER_ADDRESS"] = SCHEDULER_ADDRESS
    return Call(
        "Container",
        {
            "name": step.name,
            "image": step.image or spec.image or manifests.default_image(gpu=bool(spec.gpus_per_worker)),
            **delivery,  # args only for a DASF runner, so that the image's entrypoint runs
            "env": [Call("Env", {"name": name, "value": value}) for name, value in env.items()],
            **storage,
            "active_deadline_seconds": step.deadline,
            **retry,
            **({"inputs": [Call("Parameter", {"name": name}) for name in step.parameters]} if step.parameters else {}),
        },
    )


def share(draft: Draft, plan):
    """Rewrite a per-step ``plan`` (workflow.Plan) of ``draft`` for one shared cluster."""
    from . import workflow
    from .workflow import Call, Ref

    spec = shared_spec(draft)
    if spec is None:
        return plan
    sharing = [step for step in _dasf_steps(draft) if step.cluster == spec]
    # the one cluster serves every sharing step: its image gets what any of them lacks
    spec = images.provisioned(spec, [item for step in sharing for item in step.imports], draft.name)
    storage, dag = workflow._storage(spec), plan.templates.pop(workflow._variable(workflow.ENTRYPOINT))
    dropped = {step.name for step in sharing} | {step.name + workflow.AUTOSCALER_SUFFIX for step in sharing}
    for name in dropped:
        plan.constants.pop(workflow._constant(name), None)
        plan.templates.pop(workflow._variable(name), None)
    for step in sharing:
        plan.templates[workflow._variable(step.name)] = _runner_template(step, spec, storage, workflow._retry(step))

    def add_resource(template_name: str, manifest: dict, **options) -> Ref:
        constant = workflow._constant(template_name)
        plan.constants[constant] = workflow.manifest_text(manifest)
        variable = workflow._variable(template_name)
        plan.templates[variable] = Call("Resource", {"name": template_name, "manifest": Ref(constant), **options})
        return Ref(variable)

    tasks = [
        Call(
            "Task",
            {
                "name": CLUSTER_TEMPLATE,
                "template": add_resource(
                    CLUSTER_TEMPLATE,
                    cluster_manifest(spec),
                    action="create",
                    success_condition=RUNNING,
                    set_owner_reference=True,
                    timeout=CLUSTER_TIMEOUT,
                ),
            },
        )
    ]
    if spec.adapt is not None:
        autoscaler = manifests.dask_autoscaler(CLUSTER_NAME, spec.adapt.minimum, spec.adapt.maximum)
        tasks.append(
            Call(
                "Task",
                {
                    "name": AUTOSCALER_TEMPLATE,
                    "dependencies": [CLUSTER_TEMPLATE],
                    "template": add_resource(
                        AUTOSCALER_TEMPLATE, autoscaler, action="create", set_owner_reference=True
                    ),
                },
            )
        )
    # deleting a DaskCluster that is already gone (it failed to start) is not an error
    on_exit = add_resource(
        DELETE_TEMPLATE, _reference(cluster_manifest(spec)), action="delete", flags=["--ignore-not-found"]
    )
    shared_names = {step.name for step in sharing}
    for task in dag.kwargs["tasks"]:
        if task.kwargs["name"] in dropped - shared_names:
            continue
        if task.kwargs["name"] in shared_names:
            task.kwargs["dependencies"] = [CLUSTER_TEMPLATE, *task.kwargs.get("dependencies", [])]
        tasks.append(task)
    dag.kwargs["tasks"] = tasks
    plan.templates[workflow._variable(workflow.ENTRYPOINT)] = dag  # the DAG stays last
    plan.workflow.kwargs["templates"] = [Ref(name) for name in plan.templates]
    plan.workflow.kwargs["on_exit"] = on_exit
    return plan


def _reference(manifest: dict) -> dict:
    return {key: manifest[key] for key in ("apiVersion", "kind")} | {"metadata": {"name": manifest["metadata"]["name"]}}
