"""Resource templates' successCondition and failureCondition, as Argo's executor
evaluates them: the text is parsed as a Kubernetes label selector
(apimachinery's labels.Parse, requirements sorted by key) and every requirement's
key is a gjson path into the live object's JSON. The job fails as soon as one
failure requirement matches; it succeeds when all success requirements match."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[^\s!=(),<>]+)")
_SYMBOLS = {"=": "=", "==": "==", "!=": "!=", ">": "gt", "<": "lt"}


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # =, ==, !=, in, notin, exists, !, gt, lt
    values: tuple = ()

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(sorted(self.values))})"
        symbol = {"gt": ">", "lt": "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0]}"

    def matches(self, document: Any) -> bool:
        found, value = lookup(document, self.key)
        if self.operator in ("=", "==", "in"):
            return found and value in self.values
        if self.operator in ("!=", "notin"):
            return not found or value not in self.values
        if self.operator == "exists":
            return found
        if self.operator == "!":
            return not found
        try:
            number = int(value)
        except ValueError:
            return False
        limit = int(self.values[0])
        return found and (number > limit if self.operator == "gt" else number < limit)


def _check_key(key: str) -> None:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        raise SelectorError(f"invalid label key {key!r}: prefix part must be a DNS-1123 subdomain")
    if len(name) > 63 or not _QUALIFIED_NAME.match(name):
        raise SelectorError(
            f"invalid label key {key!r}: name part must consist of alphanumeric characters, "
            "'-', '_' or '.', and must start and end with an alphanumeric character"
        )


def _check_value(value: str) -> None:
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise SelectorError(
            f"invalid label value: {value!r}: a valid label must be an empty string or consist "
            "of alphanumeric characters, '-', '_' or '.'"
        )


def parse(text: str) -> list[Requirement]:
    tokens = _TOKEN.findall(text)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s", "", text):
        raise SelectorError(f"unable to parse requirement: {text!r}")
    requirements, position = [], 0

    def take() -> Optional[str]:
        nonlocal position
        token = tokens[position] if position < len(tokens) else None
        position += 1
        return token

    while position < len(tokens):
        token = take()
        if token == "!":
            key = take()
            _check_key(key or "")
            requirements.append(Requirement(key, "!"))
        else:
            key = token
            _check_key(key)
            following = tokens[position] if position < len(tokens) else None
            if following in (None, ","):
                requirements.append(Requirement(key, "exists"))
            elif following in _SYMBOLS:
                take()
                value = take() or ""
                if value in (",", ")", "("):
                    raise SelectorError(f"found '{value}', expected: identifier after '{following}'")
                _check_value(value)
                if _SYMBOLS[following] in ("gt", "lt") and not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(f"for 'Gt', 'Lt' operators, the value must be an integer: {value!r}")
                requirements.append(Requirement(key, _SYMBOLS[following], (value,)))
            elif following in ("in", "notin"):
                take()
                if take() != "(":
                    raise SelectorError(f"found {tokens[position - 1]!r}, expected: '('")
                values = []
                while (item := take()) != ")":
                    if item is None:
                        raise SelectorError("found end of string, expected: ')'")
                    if item != ",":
                        _check_value(item)
                        values.append(item)
                requirements.append(Requirement(key, following, tuple(values)))
            else:
                raise SelectorError(f"found {following!r}, expected: in, notin, =, ==, !=, gt, lt")
        if position < len(tokens):
            if take() != ",":
                raise SelectorError(f"found {tokens[position - 1]!r}, expected: ',' or 'end of string'")
    return sorted(requirements, key=lambda requirement: requirement.key)


def _path(key: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in key:
        if escaped:
            current, escaped = current + char, False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append(current)
            current = ""
        else:
            current += char
    return parts + [current]


def lookup(document: Any, key: str) -> tuple[bool, str]:
    """gjson's Get(key): whether the path exists, and its String() form."""
    value = document
    for part in _path(key):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False, ""
    if isinstance(value, str):
        return True, value
    if value is None:
        return True, ""
    if isinstance(value, bool):
        return True, "true" if value else "false"
    if isinstance(value, (int, float)):
        return True, json.dumps(value)
    return True, json.dumps(value, separators=(",", ":"))


def state(document: dict, success: str, failure: str) -> tuple[str, str]:
    """("Failed" | "Succeeded" | "Running", message) for the object's JSON now."""
    for requirement in parse(failure) if failure else []:
        if requirement.matches(document):
            return "Failed", f"failure condition '{requirement}' evaluated true"
    wanted = parse(success) if success else []
    if all(requirement.matches(document) for requirement in wanted):
        return "Succeeded", ""
    return "Running", ""
