"""The Workflow custom resource (argoproj.io/v1alpha1), as Argo's minimal CRD defines it:
spec and status are kept as given, and there is no status subresource, so the
controller writes the whole object."""

from __future__ import annotations

_OPEN = {"type": "object", "x-kubernetes-preserve-unknown-fields": True, "x-kubernetes-map-type": "atomic"}

WORKFLOW_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "workflows.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "names": {
            "kind": "Workflow",
            "listKind": "WorkflowList",
            "plural": "workflows",
            "singular": "workflow",
            "shortNames": ["wf"],
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "apiVersion": {"type": "string"},
                            "kind": {"type": "string"},
                            "metadata": {"type": "object"},
                            "spec": _OPEN,
                            "status": _OPEN,
                        },
                        "required": ["metadata", "spec"],
                    }
                },
            }
        ],
    },
}


def install(store) -> None:
    """Store the CRD and mark it established, so the fake API serves workflows."""
    from kube.fakekube.resources import CRDS

    crd = store.create(CRDS, None, WORKFLOW_CRD)
    status = {
        "acceptedNames": crd["spec"]["names"],
        "conditions": [{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}],
    }
    store.update(CRDS, None, crd["metadata"]["name"], lambda current: {**current, "status": status}, "status")
