"""Go durations as Argo reads them ("600s", "1h30m", "90")."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def seconds(text) -> float:
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):  # Argo takes a bare number as seconds
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"time: invalid duration {text!r}")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)
