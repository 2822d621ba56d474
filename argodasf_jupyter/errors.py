"""The one exception type users see, and how validation errors become one line."""

from __future__ import annotations

import difflib
from typing import Iterable


class ArgodasfError(ValueError):
    """A user-facing error: its message is one line that says what to change."""


def closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_key_message(key: str, where: str, valid: Iterable[str]) -> str:
    valid = sorted(valid)
    suggestion = closest(key, valid)
    hint = f"did you mean '{suggestion}'?" if suggestion else f"valid keys: {', '.join(valid)}"
    return f"unknown key '{key}' in {where}; {hint}"


def validation_message(error, where: str, fields_of) -> str:
    """One line for the first problem in a pydantic ValidationError.

    ``fields_of(loc)`` returns the valid keys at a location, used to suggest the
    closest key when a key is unknown.
    """
    # an unknown key is the likeliest root cause of the other errors: report it first
    first = sorted(error.errors(), key=lambda item: item["type"] != "extra_forbidden")[0]
    loc = tuple(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        place = where if len(loc) == 1 else f"{where} ({'.'.join(loc[:-1])})"
        return unknown_key_message(loc[-1], place, fields_of(loc[:-1]))
    if first["type"].startswith("value_error") or first["type"].startswith("assertion_error"):
        # our own validators already name the key; pydantic prefixes "Value error, "
        return f"{where}: {first['msg'].removeprefix('Value error, ').removeprefix('Assertion failed, ')}"
    text = first["msg"].replace("Input should be", "should be").replace("Field required", "is required")
    got = first.get("input")
    shown = "" if first["type"] == "missing" or isinstance(got, dict) else f" (got {got!r})"
    return f"{where}: '{'.'.join(loc)}' {text}{shown}"
