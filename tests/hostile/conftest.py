"""The hostile-input suite: every case records what it saw, and the run ends with
the goal figures (cases tried, tracebacks, hangs, HTTP 500s, lost steps, secrets shown;
hostile/figures.py counts and prints them)."""

from __future__ import annotations

import os

import pytest

from hostile.faulty import TOKEN
from hostile.figures import FIGURES


class Outcome:
    """What one case produced; ``check`` counts and asserts the suite's promises."""

    def __init__(
        self,
        message: str,
        output: str = "",
        seconds: float = 0.0,
        status: int | None = None,
        steps_before=(),
        steps_after=(),
        bound: float = 20.0,
    ):
        self.message, self.output, self.seconds, self.status = message, output, seconds, status
        self.steps_before, self.steps_after, self.bound = list(steps_before), list(steps_after), bound

    def check(self, expected: str) -> None:
        FIGURES["cases tried"] += 1
        everything = f"{self.message}\n{self.output}"
        problems = {
            "tracebacks": "Traceback (most recent call last)" in everything,
            "hangs": self.seconds > self.bound,
            "HTTP 500": self.status is not None and self.status >= 500 and self.status not in (502, 503, 504),
            "lost steps": self.steps_after != self.steps_before,
            "secrets shown": TOKEN in everything,
        }
        for figure, happened in problems.items():
            FIGURES[figure] += bool(happened)
        assert not any(problems.values()), (problems, everything[-3000:])
        assert "\n" not in self.message.strip(), f"not one line: {self.message!r}"
        assert self.message.strip() == expected, f"got: {self.message.strip()!r}"


def temporary_files(*directories) -> list[str]:
    found = []
    for directory in directories:
        for root, _, files in os.walk(directory):
            found += [os.path.join(root, name) for name in files if name.endswith(".tmp")]
    return found


def files_holding(secret: str, *directories) -> list[str]:
    """Every file under ``directories`` whose bytes contain ``secret``."""
    hits = []
    for directory in directories:
        for root, _, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                try:
                    with open(path, "rb") as stream:
                        if secret.encode() in stream.read():
                            hits.append(path)
                except OSError:
                    continue
    return hits


@pytest.fixture
def token():
    return TOKEN
