"""The /scale subresource: an autoscaling/v1 Scale read from and written to the paths a
resource declares (a CRD's `subresources.scale`, a Deployment's spec.replicas).

Read: a missing replicas path reads as 0, as the real server does. Write (PUT, or a patch
applied to the Scale): only spec.replicas reaches the object; a resourceVersion in the
Scale must match; replicas below 0 are Invalid. Difference: a Deployment's Scale selector
is built from matchLabels only (the real one also writes matchExpressions)."""

from . import errors

SCALE_API_VERSION = "autoscaling/v1"


def _path(dotted):
    return [key for key in dotted.split(".") if key]


def _read(obj, dotted):
    for key in _path(dotted):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _write(obj, dotted, value):
    *parents, last = _path(dotted)
    for key in parents:
        obj = obj.setdefault(key, {})
    obj[last] = value


def _selector(obj, paths):
    if "labelSelectorPath" in paths:
        return _read(obj, paths["labelSelectorPath"])
    labels = _read(obj, paths["matchLabelsPath"]) if "matchLabelsPath" in paths else None
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) if labels else None


def scale_of(rt, obj):
    """The Scale that GET .../scale answers for `obj`."""
    paths = rt.scale
    meta = obj["metadata"]
    status = {"replicas": _read(obj, paths["statusReplicasPath"]) or 0}
    selector = _selector(obj, paths)
    if selector:
        status["selector"] = selector
    return {
        "kind": "Scale",
        "apiVersion": SCALE_API_VERSION,
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": _read(obj, paths["specReplicasPath"]) or 0},
        "status": status,
    }


def scaled(rt, change):
    """A change of the object made from `change`, a change of its Scale."""

    def apply(obj):
        scale = change(scale_of(rt, obj))
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        name = obj["metadata"]["name"]
        if not isinstance(replicas, int) or isinstance(replicas, bool):
            raise errors.bad_request(
                f'Scale in version "v1" cannot be handled as a Scale: spec.replicas '
                f"must be an integer, not {replicas!r}"
            )
        if replicas < 0:
            raise errors.ApiError(
                422,
                "Invalid",
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                f"Invalid value: {replicas}: must be greater than or equal to 0",
                {"name": name, "group": "autoscaling", "kind": "Scale"},
            )
        _write(obj, rt.scale["specReplicasPath"], replicas)
        expected = (scale.get("metadata") or {}).get("resourceVersion")
        if expected:
            obj["metadata"]["resourceVersion"] = expected
        return obj

    return apply
