"""The sidebar's push channel: GET /argodasf/api/changes answers when a kernel publishes."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from argodasf_jupyter import registry
from argodasf_jupyter.server import handlers

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config():
    return {"ServerApp": {"jpserver_extensions": {"argodasf_jupyter": True}}}


async def changes(jp_fetch, since: str | None) -> dict:
    response = await jp_fetch("argodasf", "api", "changes", params={} if since is None else {"since": since})
    return json.loads(response.body.decode())


def test_fingerprint_moves_on_publish_and_withdraw(tmp_path):
    empty = registry.fingerprint(str(tmp_path))
    registry.publish([], directory=str(tmp_path))
    published = registry.fingerprint(str(tmp_path))
    registry.publish([{"name": "x"}], directory=str(tmp_path))
    again = registry.fingerprint(str(tmp_path))
    registry.withdraw(str(tmp_path))
    assert len({empty, published, again}) == 3 and registry.fingerprint(str(tmp_path)) == empty


async def test_a_publish_answers_a_waiting_request_at_once(jp_fetch, monkeypatch):
    monkeypatch.setattr(handlers, "CHANGES_WAIT", 10.0)
    first = await changes(jp_fetch, None)  # no stamp yet: answered at once, even with no registry
    assert not first["changed"]

    async def publish_soon():
        await asyncio.sleep(0.5)
        registry.publish([{"name": "pushed"}])

    started = time.monotonic()
    waiting = asyncio.ensure_future(changes(jp_fetch, first["stamp"]))
    await publish_soon()
    answer = await waiting
    assert answer["changed"] and answer["stamp"] != first["stamp"]
    assert 0.4 < time.monotonic() - started < 2.0
    registry.withdraw()


async def test_without_a_change_the_request_is_held_then_answers_unchanged(jp_fetch, monkeypatch):
    monkeypatch.setattr(handlers, "CHANGES_WAIT", 1.0)
    stamp = (await changes(jp_fetch, "x"))["stamp"]
    started = time.monotonic()
    answer = await changes(jp_fetch, stamp)
    assert not answer["changed"] and answer["stamp"] == stamp and time.monotonic() - started >= 0.9


async def test_changes_refuses_a_request_without_a_token(jp_fetch):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("argodasf", "api", "changes", headers={"Authorization": ""})
    assert raised.value.code == 403
