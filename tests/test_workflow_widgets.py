"""The notebook's workflow views: theme tones instead of fixed colours, steps while
Pending, durations and messages."""

from __future__ import annotations

import re

from argodasf_jupyter.workflow_widgets import StatusView


def test_a_pending_workflow_lists_the_expected_steps_instead_of_an_empty_table():
    view = StatusView(name="seismic-ab12c", expected=["stage", "envelope"])
    text, page = view.fallback_text(), view.fallback_html()
    assert re.search(r"stage\s+Pending", text) and re.search(r"envelope\s+Pending", text)
    assert page.count("data-phase='Pending'") == 3  # the workflow and both steps


def test_durations_and_messages_are_shown_and_colours_come_from_the_theme():
    view = StatusView(
        {
            "name": "seismic-ab12c",
            "phase": "Failed",
            "message": "child 'envelope' failed",
            "started_at": "2026-01-01T00:00:00Z",
            "finished_at": "2026-01-01T00:01:05Z",
            "progress": "1/2",
            "steps": [
                {
                    "name": "stage",
                    "phase": "Succeeded",
                    "started_at": "2026-01-01T00:00:00Z",
                    "finished_at": "2026-01-01T00:00:12Z",
                    "message": None,
                },
                {
                    "name": "envelope",
                    "phase": "Failed",
                    "started_at": "2026-01-01T00:00:12Z",
                    "finished_at": "2026-01-01T00:01:05Z",
                    "message": "DaskJob failed",
                },
            ],
        }
    )
    page = view.fallback_html()
    assert "1m 05s" in page and "12s" in page and "53s" in page
    assert "DaskJob failed" in page and "child &#x27;envelope&#x27; failed" in page
    assert "argodasf-tone-failed" in page and "argodasf-tone-succeeded" in page
    assert not re.search(r"#[0-9a-fA-F]{3,6}\b", page)  # no fixed colour anywhere
    assert "DaskJob failed" in view.fallback_text() and "1m 05s" in view.fallback_text()


def test_the_message_column_appears_only_when_a_step_has_a_message():
    steps = [{"name": "stage", "phase": "Running", "started_at": None, "finished_at": None, "message": None}]
    page = StatusView({"name": "w", "phase": "Running", "steps": steps}).fallback_html()
    assert "<th>duration</th>" in page and "<th>message</th>" not in page


def test_a_running_dasf_step_offers_its_live_dashboard_and_a_finished_one_does_not():
    def step(name, kind, phase):
        return {"name": name, "kind": kind, "phase": phase, "started_at": None, "finished_at": None, "message": None}

    steps = [
        step("envelope", "dasf", "Running"),
        step("stage", "container", "Running"),
        step("qc", "dasf", "Succeeded"),
    ]
    view = StatusView({"name": "w-1", "phase": "Running", "steps": steps})
    hints = [line.strip() for line in view.fallback_text().splitlines() if "live dashboard" in line]
    assert hints == ["live dashboard: %dasf_workflow dashboard w-1 envelope"]
    assert view.fallback_html().count("live dashboard: %dasf_workflow dashboard") == 1
