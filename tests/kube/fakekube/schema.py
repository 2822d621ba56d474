"""What the real server does to objects before storing them: custom resources are
pruned and defaulted by their structural schema, and null fields are dropped."""

import copy

# Kept as given: the server handles these itself, they are not in CRD schemas.
_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def drop_nulls(value):
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def _apply(value, schema):
    if isinstance(value, list):
        items = schema.get("items", {})
        return [_apply(item, items) for item in value]
    if not isinstance(value, dict):
        return value
    properties = schema.get("properties", {})
    additional = schema.get("additionalProperties")
    keep_unknown = schema.get("x-kubernetes-preserve-unknown-fields") or additional is True
    result = {}
    for key, item in value.items():
        sub = properties.get(key, additional if isinstance(additional, dict) else None)
        if sub is None:
            if keep_unknown:
                result[key] = item
            continue  # unknown fields are pruned, silently
        if item is None and not sub.get("nullable"):
            continue
        result[key] = _apply(item, sub)
    for key, sub in properties.items():
        if key not in result and "default" in sub:
            result[key] = _apply(copy.deepcopy(sub["default"]), sub)
    return result


def apply_structural_schema(obj, schema):
    body = _apply({k: v for k, v in obj.items() if k not in _ROOT_FIELDS}, schema)
    return {**{k: obj[k] for k in _ROOT_FIELDS if k in obj}, **body}
