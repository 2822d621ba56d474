"""A Draft becomes an Argo Workflow (through Hera), or a YAML or Hera .py export
(local_run.py runs the same draft on this machine).

Each DASF step is a Resource template that creates a DaskJob built by
manifests.dask_job from the step's ClusterSpec; the step succeeds or fails with
the job's status.jobStatus, is bounded by the template's timeout, retried by its
retryStrategy and owned by the workflow (garbage-collected with it). Container
steps are Container templates. Steps form a DAG.

The workflow is first described as a small plan of Hera calls; building the
objects and writing the .py export both read that plan, so the export rebuilds
exactly the same workflow.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import yaml

from . import images, manifests, promote, runtime, shared_cluster, step_report, step_script, storage
from .config import settings
from .draft import Draft
from .errors import ArgodasfError
from .promote import Step
from .limits import MAX_NAME_LENGTH
from .step_jobs import LABEL_STEP, LABEL_WORKFLOW

# generated names hold promote.GENERATED_NAME_MARK, which no step name holds
ENTRYPOINT = "argodasf--dag"
AUTOSCALER_SUFFIX = "--autoscaler"
LABEL_DRAFT = "argodasf.io/draft"
SUCCESS = "status.jobStatus == Successful"
FAILURE = "status.jobStatus == Failed"
MAX_JOB_NAME = MAX_NAME_LENGTH  # the job's cluster takes its name
# a generated workflow name is the draft name (<= 20) + '-' + 5 random characters
MAX_WORKFLOW_NAME = 26
RETRY_SUFFIX = "-{{retries}}"
RETRY_SUFFIX_SPACE = 3  # '-' and up to two digits (retries <= 20)


# -- names and parameters ---------------------------------------------------------------


def job_name(workflow_name: str, step_name: str, retries: int = 0) -> str:
    """The DaskJob name of a step: ``<workflow>-<step>[-<retry>]``, at most MAX_JOB_NAME characters.

    In a submitted workflow ``workflow_name`` is Argo's ``{{workflow.name}}`` (at most
    26 characters once substituted); a long step name is shortened with a hash so
    the names of different steps stay distinct.
    """
    concrete = len(workflow_name) if "{{" not in workflow_name else MAX_WORKFLOW_NAME
    room = MAX_JOB_NAME - concrete - 1 - (RETRY_SUFFIX_SPACE if retries else 0)
    part = step_name
    if len(part) > room:
        digest = hashlib.sha1(step_name.encode()).hexdigest()[:6]
        part = f"{step_name[: room - 7].rstrip('-')}-{digest}"
    return f"{workflow_name}-{part}" + (RETRY_SUFFIX if retries else "")


def parameter_names(draft: Draft) -> dict[str, dict[str, str]]:
    """For each step, the workflow parameter behind each of its variables: the
    variable's own name when every step that uses it has the same default, else
    ``<step>-<variable>`` (notebooks often reuse names such as ``out_path``)."""
    defaults: dict[str, list] = {}
    for step in draft.steps.values():
        for name, value in step.parameters.items():
            defaults.setdefault(name, []).append(value)
    shared = {name for name, values in defaults.items() if all(value == values[0] for value in values)}
    return {
        step.name: {name: name if name in shared else f"{step.name}-{name}" for name in step.parameters}
        for step in draft.steps.values()
    }


def workflow_parameters(draft: Draft) -> dict[str, Any]:
    """Every workflow parameter with its default."""
    names = parameter_names(draft)
    return {names[step.name][name]: value for step in draft.steps.values() for name, value in step.parameters.items()}


def step_values(step: Step, names: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
    """A step's variables from the workflow's parameter values."""
    return {name: values[names[name]] for name in step.parameters}


def resolve_parameters(draft: Draft, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults overridden by ``name=text`` values, typed like the defaults."""
    values = workflow_parameters(draft)
    for name, text in (overrides or {}).items():
        if name not in values:
            known = ", ".join(values) or "none"
            raise ArgodasfError(f"unknown parameter '{name}'; the workflow's parameters are: {known}")
        value = runtime.parameter_value(text, values[name])
        if type(value) is not type(values[name]) and not (type(values[name]) is float and type(value) is int):
            raise ArgodasfError(
                f"--param {name}={text}: the default of '{name}' is {values[name]!r}; "
                f"give a value of type {type(values[name]).__name__}"
            )
        values[name] = value
    return values


def parse_assignments(items) -> dict[str, str]:
    """['k=v', ...] from --param flags."""
    result = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ArgodasfError(f"--param '{item}' must be NAME=VALUE")
        result[name.strip()] = value
    return result


# -- manifests ---------------------------------------------------------------------------


def dask_job_manifest(
    step: Step,
    name: str,
    parameter_env: Mapping[str, str],
    service_account: Optional[str] = None,
    labels: Optional[dict] = None,
    python: str = "python",
) -> dict:
    """The DaskJob that runs a DASF step; ``parameter_env`` holds the runner's
    parameter variables (Argo expressions in a workflow, values elsewhere)."""
    container = dict(step_script.runner_container(step, python=python))
    container["env"] = [{"name": key, "value": value} for key, value in parameter_env.items()]
    spec = images.provisioned(step.cluster, step.imports, step.name)
    return manifests.dask_job(spec, name, container, service_account=service_account, labels=labels)


def parameter_expression(name: str) -> str:
    """The runner's value of input ``name``: base64 inside Argo, so that no value can
    break the manifest's YAML. The manifest is YAML text inside the template's JSON, and
    YAML may single-quote it (doubling any ' in it) while JSON escapes any "; Argo
    undoes only the JSON escapes, so the expression holds no ' at all."""
    return f'{{{{=sprig.b64enc(inputs.parameters["{name}"])}}}}'


def _argo_parameter_env(step: Step) -> dict[str, str]:
    return {runtime.parameter_env(name): parameter_expression(name) for name in step.parameters}


def _labels(step: Step) -> dict[str, str]:
    return {LABEL_WORKFLOW: "{{workflow.name}}", LABEL_STEP: step.name}


def step_manifest(step: Step, service_account: Optional[str] = None) -> dict:
    """The DaskJob of a step as it appears in the workflow (Argo fills the {{...}})."""
    name = job_name("{{workflow.name}}", step.name, step.retries)
    job = dask_job_manifest(step, name, _argo_parameter_env(step), service_account, _labels(step))
    annotations = step_report.annotation(step)  # where the server finds the step's performance report
    if annotations:
        job["metadata"]["annotations"] = annotations
    return job


def autoscaler_manifest(step: Step) -> Optional[dict]:
    """The DaskAutoscaler that makes the operator adapt the cluster of a step's DaskJob
    (a DaskJob has no adapt field), or None for a fixed number of workers."""
    adapt = step.cluster.adapt
    if step.kind != "dasf" or adapt is None:
        return None
    promote.check_adapt_retries(step.name, adapt, step.retries)
    autoscaler = manifests.dask_autoscaler(job_name("{{workflow.name}}", step.name), adapt.minimum, adapt.maximum)
    autoscaler["metadata"]["labels"].update(_labels(step))
    return autoscaler


# -- the plan: Hera calls, built into objects or written as Python ------------------------


@dataclass
class Call:
    """A call of a hera.workflows class with keyword arguments."""

    kind: str
    kwargs: dict


@dataclass
class Ref:
    """A reference to a value defined earlier in the plan (a constant or template)."""

    name: str


@dataclass
class Plan:
    constants: dict[str, str] = field(default_factory=dict)
    templates: dict[str, Call] = field(default_factory=dict)  # DAG last
    workflow: Optional[Call] = None


def _variable(template_name: str) -> str:
    # '-' -> '_' is one-to-one on Argo names (they hold no '_'); the suffix keeps
    # keywords and the script's own names (workflow, DAG, ...) out of reach
    return template_name.replace("-", "_") + "_template"


def _constant(template_name: str) -> str:
    return template_name.replace("-", "_").upper() + "_MANIFEST"


def _retry(step: Step) -> dict:
    return {"retry_strategy": Call("RetryStrategy", {"limit": step.retries})} if step.retries else {}


def _autoscaler_template(name: str, manifest_ref: Ref) -> Call:
    # created, not waited for: the operator adopts it into the job's cluster, which
    # deletes it when the job ends
    return Call("Resource", {"name": name, "action": "create", "manifest": manifest_ref, "set_owner_reference": True})


def _dasf_template(step: Step, manifest_ref: Ref) -> Call:
    return Call(
        "Resource",
        {
            "name": step.name,
            "action": "create",
            "manifest": manifest_ref,
            "success_condition": SUCCESS,
            "failure_condition": FAILURE,
            "set_owner_reference": True,
            "timeout": f"{step.deadline}s",
            **_retry(step),
            **({"inputs": [Call("Parameter", {"name": name}) for name in step.parameters]} if step.parameters else {}),
        },
    )


def _storage(spec) -> dict:
    fields = manifests.storage_fields(spec)
    return {
        key: value
        for key, value in {
            "volumes": manifests.pod_volumes(spec),
            "volume_mounts": fields.get("volumeMounts"),
            "working_dir": fields.get("workingDir"),
            "env_from": [Call("SecretEnvFrom", {"name": name}) for name in spec.env_from_secrets],
        }.items()
        if value
    }


def _container_template(step: Step) -> Call:
    delivery = step_script.runner_container(step)
    return Call(
        "Container",
        {
            "name": step.name,
            "image": step.image,
            "command": delivery["command"],
            "args": delivery["args"],
            **_storage(step.cluster),
            "active_deadline_seconds": step.deadline,
            **_retry(step),
        },
    )


def plan(
    draft: Draft,
    namespace: Optional[str] = None,
    parameters: Mapping[str, Any] | None = None,
    service_account: Optional[str] = None,
) -> Plan:
    """Describe the workflow of ``draft`` (parameter values default to the draft's)."""
    steps = draft.order()
    storage.check_edges(draft.steps)
    values = dict(workflow_parameters(draft))
    values.update(parameters or {})
    service_account = service_account or settings().workflow.service_account
    result = Plan()
    dependencies = draft.dependencies()
    names = parameter_names(draft)
    tasks = []
    for step in steps:
        promote.check_step_name(step.name)  # drafts saved before the rule
        variable = _variable(step.name)
        upstream = list(dependencies[step.name])
        if step.kind == "dasf":
            constant = _constant(step.name)
            result.constants[constant] = manifest_text(step_manifest(step, service_account))
            result.templates[variable] = _dasf_template(step, Ref(constant))
            autoscaler = autoscaler_manifest(step)
            if autoscaler is not None:
                name = step.name + AUTOSCALER_SUFFIX
                result.constants[_constant(name)] = manifest_text(autoscaler)
                result.templates[_variable(name)] = _autoscaler_template(name, Ref(_constant(name)))
                # beside the job, not before it: the operator looks up the cluster and its scheduler
                # pod on creation, and retries a failed look-up only after a minute
                tasks.append(
                    Call(
                        "Task",
                        {
                            "name": name,
                            "template": Ref(_variable(name)),
                            **({"dependencies": upstream} if upstream else {}),
                        },
                    )
                )
        else:
            result.templates[variable] = _container_template(step)
        task = {"name": step.name, "template": Ref(variable)}
        if upstream:
            task["dependencies"] = upstream
        if step.parameters:
            task["arguments"] = [
                Call("Parameter", {"name": name, "value": f"{{{{workflow.parameters.{global_name}}}}}"})
                for name, global_name in names[step.name].items()
            ]
        tasks.append(Call("Task", task))
    result.templates[_variable(ENTRYPOINT)] = Call("DAG", {"name": ENTRYPOINT, "tasks": tasks})
    result.workflow = Call(
        "Workflow",
        {
            "generate_name": f"{draft.name}-",
            **({"namespace": namespace} if namespace else {}),
            "entrypoint": ENTRYPOINT,
            "labels": {LABEL_DRAFT: draft.name},
            **({"service_account_name": service_account} if service_account else {}),
            **(
                {
                    "arguments": [
                        Call("Parameter", {"name": name, "value": runtime.argo_parameter_text(value)})
                        for name, value in values.items()
                    ]
                }
                if values
                else {}
            ),
            "templates": [Ref(name) for name in result.templates],
        },
    )
    return shared_cluster.share(draft, result) if draft.cluster == "shared" else result


def manifest_text(manifest: dict) -> str:
    # with escapes for non-ASCII text PyYAML would double-quote an expression and
    # escape its quotes, which Argo's expression compiler then sees (see parameter_expression)
    return yaml.dump(
        manifest, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False, width=10**6, allow_unicode=True
    )


def _instantiate(value, defined: dict):
    import hera.workflows

    if isinstance(value, Call):
        return getattr(hera.workflows, value.kind)(
            **{key: _instantiate(item, defined) for key, item in value.kwargs.items()}
        )
    if isinstance(value, Ref):
        return defined[value.name]
    if isinstance(value, list):
        return [_instantiate(item, defined) for item in value]
    return value


def build(
    draft: Draft,
    namespace: Optional[str] = None,
    parameters: Mapping[str, Any] | None = None,
    service_account: Optional[str] = None,
):
    """The hera Workflow of ``draft``."""
    described = plan(draft, namespace, parameters, service_account)
    defined: dict[str, Any] = dict(described.constants)
    for variable, call in described.templates.items():
        defined[variable] = _instantiate(call, defined)
    return _instantiate(described.workflow, defined)


def to_dict(draft: Draft, **options) -> dict:
    return build(draft, **options).to_dict()


def to_yaml(draft: Draft, **options) -> str:
    return yaml.safe_dump(to_dict(draft, **options), sort_keys=False, width=10**6)


def _source(value, indent: int = 0) -> str:
    pad = "    " * (indent + 1)
    if isinstance(value, Call):
        if not value.kwargs:
            return f"{value.kind}()"
        items = [f"{pad}{key}={_source(item, indent + 1)}," for key, item in value.kwargs.items()]
        return f"{value.kind}(\n" + "\n".join(items) + "\n" + "    " * indent + ")"
    if isinstance(value, Ref):
        return value.name
    if isinstance(value, list) and any(isinstance(item, (Call, Ref)) for item in value):
        return "[\n" + "\n".join(f"{pad}{_source(item, indent + 1)}," for item in value) + "\n" + "    " * indent + "]"
    return repr(value)


def _string_constant(name: str, text: str) -> str:
    # a triple-quoted string reads like the YAML it holds, when nothing in it needs escaping
    if '"""' not in text and "\\" not in text and not text.endswith('"'):
        return f'{name} = """\\\n{text}"""'
    return f"{name} = {text!r}"


def to_python(draft: Draft, **options) -> str:
    """A readable Hera script that rebuilds the same workflow."""
    described = plan(draft, **options)
    kinds = sorted({"DAG", "Workflow", "Task"} | {call.kind for call in _calls(described)})
    lines = [
        f'"""Argo workflow \'{draft.name}\', exported by argodasf-jupyter.',
        "",
        "Run it to print the workflow's YAML; submit it with `workflow.create()` after",
        "setting hera's global_config (host, token, namespace).",
        '"""',
        "",
        f"from hera.workflows import {', '.join(kinds)}",
        "",
    ]
    for name, text in described.constants.items():
        lines += [_string_constant(name, text), ""]
    for variable, call in described.templates.items():
        lines += [f"{variable} = {_source(call)}", ""]
    lines += [
        f"workflow = {_source(described.workflow)}",
        "",
        'if __name__ == "__main__":',
        "    print(workflow.to_yaml())",
        "",
    ]
    return "\n".join(lines)


def _calls(described: Plan):
    def walk(value):
        if isinstance(value, Call):
            yield value
            for item in value.kwargs.values():
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for call in [*described.templates.values(), described.workflow]:
        yield from walk(call)


def export(draft: Draft, path: str, **options) -> str:
    """Write the workflow as YAML (.yaml/.yml) or as a Hera script (.py)."""
    extension = os.path.splitext(path)[1].lower()
    if extension in (".yaml", ".yml"):
        text = to_yaml(draft, **options)
    elif extension == ".py":
        text = to_python(draft, **options)
    else:
        raise ArgodasfError(f"cannot export to '{path}'; use a .yaml or a .py file name")
    try:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise ArgodasfError(
            f"cannot write '{path}' ({error.strerror}); give a file path in an existing, writable directory"
        ) from None
    return path
