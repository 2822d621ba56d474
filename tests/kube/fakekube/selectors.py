"""Label selectors (=, ==, !=, in, notin, exists, !key) and field selectors."""

import re

from .errors import bad_request

_SET_TERM = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")


def _split_terms(text):
    """Split on commas that are not inside the parentheses of a set term."""
    terms, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    # kr8s leaves a trailing comma: empty terms mean nothing.
    return [term.strip() for term in terms if term.strip()]


def parse_labels(text):
    """Return a predicate over a labels dict."""
    checks = []
    for term in _split_terms(text or ""):
        if match := _SET_TERM.match(term):
            key, op, values = match.groups()
            allowed = {value.strip() for value in values.split(",")}
            if op == "in":
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) in a)
            else:
                checks.append(lambda labels, k=key, a=allowed: labels.get(k) not in a)
        elif "!=" in term:
            key, value = (part.strip() for part in term.split("!=", 1))
            checks.append(lambda labels, k=key, v=value: labels.get(k) != v)
        elif "=" in term:
            key, value = (part.strip() for part in term.replace("==", "=").split("=", 1))
            checks.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif term.startswith("!"):
            absent = term[1:].strip()
            checks.append(lambda labels, k=absent: k not in labels)
        elif re.fullmatch(r"[\w./-]+", term):
            checks.append(lambda labels, k=term: k in labels)
        else:
            raise bad_request(f"unable to parse requirement: {term!r}")
    return lambda labels: all(check(labels) for check in checks)


def _field_value(obj, path):
    value = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return "" if value is None else str(value)


def parse_fields(text):
    """Return a predicate over a whole object (metadata.name=x, status.phase!=y, ...)."""
    checks = []
    for term in _split_terms(text or ""):
        negate = "!=" in term
        path, value = (part.strip() for part in re.split(r"!=|==|=", term, maxsplit=1))
        checks.append(lambda obj, p=path, v=value, n=negate: (_field_value(obj, p) == v) != n)
    return lambda obj: all(check(obj) for check in checks)


def matcher(label_selector=None, field_selector=None):
    """One predicate over objects for a list or watch request."""
    labels_match = parse_labels(label_selector)
    fields_match = parse_fields(field_selector)
    return lambda obj: labels_match(obj["metadata"].get("labels") or {}) and fields_match(obj)
