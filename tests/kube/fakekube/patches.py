"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) as the API server applies them."""

import copy

from .errors import ApiError, bad_request


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc, pointer):
    """Return (container, last key) for a JSON pointer."""
    if not pointer.startswith("/"):
        raise bad_request(f"invalid JSON pointer {pointer!r}")
    *parents, last = [_unescape(token) for token in pointer[1:].split("/")]
    container = doc
    for token in parents:
        container = container[int(token)] if isinstance(container, list) else container[token]
    return container, last


def _add(doc, pointer, value):
    container, key = _walk(doc, pointer)
    if isinstance(container, list):
        container.insert(len(container) if key == "-" else int(key), value)
    else:
        container[key] = value


def _remove(doc, pointer):
    container, key = _walk(doc, pointer)
    return container.pop(int(key) if isinstance(container, list) else key)


def _get(doc, pointer):
    container, key = _walk(doc, pointer)
    return container[int(key) if isinstance(container, list) else key]


def json_patch(target, operations):
    doc = copy.deepcopy(target)
    try:
        for op in operations:
            kind, path = op["op"], op["path"]
            if kind == "add":
                _add(doc, path, copy.deepcopy(op["value"]))
            elif kind == "remove":
                _remove(doc, path)
            elif kind == "replace":
                _remove(doc, path)
                _add(doc, path, copy.deepcopy(op["value"]))
            elif kind == "move":
                _add(doc, path, _remove(doc, op["from"]))
            elif kind == "copy":
                _add(doc, path, copy.deepcopy(_get(doc, op["from"])))
            elif kind == "test":
                if _get(doc, path) != op["value"]:
                    raise ApiError(422, "Invalid", f"the test operation failed at {path}")
            else:
                raise bad_request(f"unknown JSON patch operation {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as error:
        raise ApiError(422, "Invalid", f"the JSON patch cannot be applied: {error!r}") from None
    return doc
