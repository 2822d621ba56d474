"""Limits shared with the labextension, which reads limits.json as well."""

from __future__ import annotations

import json
import pathlib

_LIMITS = json.loads(pathlib.Path(__file__).with_name("limits.json").read_text())

MAX_NAME_LENGTH: int = _LIMITS["max_name_length"]
MAX_WORKERS: int = _LIMITS["max_workers"]
STEP_NAME_PATTERN: str = _LIMITS["step_name"]["pattern"]
STEP_NAME_HINT: str = _LIMITS["step_name"]["hint"]
