"""The cluster form follows its own choices; a retiring worker's late heartbeat stays quiet."""

from __future__ import annotations

import logging

from argodasf_jupyter.session import Session
from argodasf_jupyter.spec import parse_spec
from argodasf_jupyter.widgets import ClusterForm, _quiet_retirement_race


def test_form_shows_and_enables_only_what_the_choices_use(tmp_path):
    form = ClusterForm(Session(registry_dir=str(tmp_path)), parse_spec({"name": "formed", "backend": "local"}))
    assert form.adapt_range.disabled and form.adapt_range.layout.display == "none"
    assert not form.workers.disabled and form.image.layout.display == "none"
    form.use_adapt.value = True
    assert form.workers.disabled and form.workers.layout.display == "none"
    assert not form.adapt_range.disabled and form.adapt_range.layout.display is None
    assert "workers" not in form.values() and form.values()["adapt"] == {"minimum": 1, "maximum": 4}
    form.backend.value = "kubernetes"
    assert form.image.layout.display is None and form.gpu.layout.display is None
    form.image.value = "me/img:1"
    assert form.values()["image"] == "me/img:1"
    form.backend.value = "local"
    assert "image" not in form.values()  # a hidden field never reaches the spec
    assert "/ worker" in form.memory.description and "/ worker" in form.threads.description


def test_the_retirement_race_warning_is_dropped_and_others_kept(caplog):
    _quiet_retirement_race()
    _quiet_retirement_race()  # installed once
    log = logging.getLogger("distributed.scheduler")
    assert len([f for f in log.filters if type(f).__name__ == "_RetirementRace"]) == 1
    with caplog.at_level(logging.WARNING, logger="distributed.scheduler"):
        log.warning("Received heartbeat from unregistered worker %r.", "tcp://127.0.0.1:1")
        log.warning("something else")
    assert [record.getMessage() for record in caplog.records] == ["something else"]
