"""The resource types the fake serves: built-in ones and those defined by stored CRDs."""

import base64
from dataclasses import dataclass, field

from .schema import apply_structural_schema, drop_nulls

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
_SUBRESOURCE_VERBS = {"log": ["get"], "finalize": ["update"], "portforward": ["create", "get"]}
_SUBRESOURCE_KINDS = {"portforward": "PodPortForwardOptions"}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple = ()
    subresources: tuple = ()
    verbs: tuple = STANDARD_VERBS
    schema: dict | None = field(default=None, compare=False, hash=False)
    scale: dict | None = field(default=None, compare=False, hash=False)  # paths of the /scale subresource
    printer_columns: tuple | None = field(default=None, compare=False, hash=False)  # a CRD's; None: built in

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self):
        """How the server names the resource in messages, e.g. daskclusters.kubernetes.dask.org."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self):
        return self.kind.lower()

    def normalize(self, obj):
        """Prune and default like the real server before an object is stored."""
        if self.schema is not None:
            return apply_structural_schema(obj, self.schema)
        if (self.group, self.kind) == ("", "Secret"):
            obj = _fold_string_data(obj)
        return drop_nulls(obj)

    def discovery(self):
        entry = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        subresources = [
            {
                "name": f"{self.plural}/{sub}",
                "singularName": "",
                "namespaced": self.namespaced,
                **(
                    {"group": "autoscaling", "version": "v1", "kind": "Scale"}
                    if sub == "scale"
                    else {"kind": _SUBRESOURCE_KINDS.get(sub, self.kind)}
                ),
                "verbs": _SUBRESOURCE_VERBS.get(sub, ["get", "patch", "update"]),
            }
            for sub in self.subresources
        ]
        return [entry, *subresources]


NAMESPACES = ResourceType("", "v1", "namespaces", "Namespace", False, ("ns",), ("status", "finalize"))
NODES = ResourceType("", "v1", "nodes", "Node", False, ("no",), ("status",))
PODS = ResourceType("", "v1", "pods", "Pod", True, ("po",), ("status", "log", "portforward"))
SERVICES = ResourceType("", "v1", "services", "Service", True, ("svc",), ("status",))
EVENTS = ResourceType("", "v1", "events", "Event", True, ("ev",))
DEPLOYMENTS = ResourceType(
    "apps",
    "v1",
    "deployments",
    "Deployment",
    True,
    ("deploy",),
    ("status", "scale"),
    scale={
        "specReplicasPath": ".spec.replicas",
        "statusReplicasPath": ".status.replicas",
        "matchLabelsPath": ".spec.selector.matchLabels",
    },
)
NEW_EVENTS = ResourceType("events.k8s.io", "v1", "events", "Event", True, ("ev",))
CRDS = ResourceType(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    False,
    ("crd", "crds"),
    ("status",),
)
SECRETS = ResourceType("", "v1", "secrets", "Secret", True)
CONFIGMAPS = ResourceType("", "v1", "configmaps", "ConfigMap", True, ("cm",))
PVCS = ResourceType("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ("pvc",), ("status",))
ACCESS_REVIEWS = ResourceType(
    "authorization.k8s.io",
    "v1",
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    False,
    verbs=("create",),
)
BUILTINS = (
    NAMESPACES,
    NODES,
    PODS,
    SERVICES,
    SECRETS,
    CONFIGMAPS,
    PVCS,
    EVENTS,
    DEPLOYMENTS,
    NEW_EVENTS,
    CRDS,
    ACCESS_REVIEWS,
)


def _fold_string_data(secret):
    """stringData is write-only: the server merges it into data, base64-encoded."""
    string_data = secret.pop("stringData", None) or {}
    data = secret.get("data") or {}
    data.update({key: base64.b64encode(str(value).encode()).decode() for key, value in string_data.items()})
    if data:
        secret["data"] = data
    secret.setdefault("type", "Opaque")
    return secret


def from_crd(crd):
    """The resource types a CustomResourceDefinition serves, one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    return [
        ResourceType(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            kind=names["kind"],
            namespaced=spec["scope"] == "Namespaced",
            short_names=tuple(names.get("shortNames", ())),
            subresources=tuple(version.get("subresources") or ()),
            schema=version.get("schema", {}).get("openAPIV3Schema", {}),
            scale=(version.get("subresources") or {}).get("scale"),
            printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
        )
        for version in spec["versions"]
        if version.get("served", True)
    ]


def prepare_for_create(rt, obj):
    """Defaults the real server (or its admission) fills in for built-in kinds."""
    if rt is PODS:
        obj.setdefault("spec", {}).setdefault("restartPolicy", "Always")
        obj["status"] = {"phase": "Pending"}
    elif rt is SERVICES:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        for port in spec.get("ports", []):
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port["port"])
        # No status yet: the ServiceController writes it (see there why).
    elif rt is DEPLOYMENTS:
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj["status"] = {}
    elif rt is NAMESPACES:
        finalizers = obj.setdefault("spec", {}).setdefault("finalizers", [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        obj["status"] = {"phase": "Active"}
    elif rt is PVCS:
        # Bound at once, as with a default StorageClass that binds immediately; the
        # data lives in a directory of the fake (see volumes.py)
        spec = obj.setdefault("spec", {})
        spec.setdefault("accessModes", ["ReadWriteOnce"])
        spec.setdefault("volumeMode", "Filesystem")
        obj["status"] = {
            "phase": "Bound",
            "accessModes": spec["accessModes"],
            "capacity": spec.get("resources", {}).get("requests", {"storage": "1Gi"}),
        }
