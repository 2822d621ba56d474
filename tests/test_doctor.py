"""Preflight checks: rendering, the Argo Server probe, and (marker kube) healthy
and broken Kubernetes setups on the fake API server with the real operator."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from argodasf_jupyter import doctor
from argodasf_jupyter.doctor import Check
from fake_argo_server import FakeArgo

TOKEN = "s3cret-token-value"
# what GET /api/v1/version of an Argo Server answers (every field of its Version message)
ARGO_VERSION = {
    "version": "v4.0.5",
    "buildDate": "2026-10-01T10:00:00Z",
    "gitCommit": "0123abcd",
    "gitTag": "v4.0.5",
    "gitTreeState": "clean",
    "goVersion": "go1.24.4",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class VersionServer:
    """An Argo Server as far as the doctor looks: GET /api/v1/version with a token."""

    def __init__(self, token: str):
        expected = f"Bearer {token}"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                ok = self.path == "/api/v1/version" and self.headers.get("Authorization") == expected
                body = json.dumps(ARGO_VERSION if ok else {"code": 16, "message": "token not valid"}).encode()
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return "%s:%d" % self.server.server_address[:2]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def version_server():
    server = VersionServer(TOKEN)
    yield server
    server.close()


def test_render_text_and_html():
    checks = [
        Check("Kubernetes credentials", True, "context 'kind'"),
        Check("may use daskclusters.kubernetes.dask.org", False, "missing delete", "ask an admin <for> a Role"),
        Check("Dask operator", None, "could not tell", "start a cluster"),
        Check("namespace", True, "exists", "never shown for a passing check"),
    ]
    text = doctor.render_text(checks)
    lines = text.splitlines()
    assert lines[0].startswith("[  ok] Kubernetes credentials")
    assert lines[1].startswith("[FAIL] may use daskclusters")
    assert lines[2].strip() == "fix: ask an admin <for> a Role"
    assert lines[3].startswith("[  ??] Dask operator")
    assert lines[4].strip() == "fix: start a cluster"
    assert lines[5].startswith("[  ok] namespace")
    assert len(lines) == 6
    page = doctor.render_html(checks)
    assert "ask an admin &lt;for&gt; a Role" in page
    assert "never shown" not in page
    assert page.count("<tr>") == 4
    assert not doctor.all_ok(checks)
    assert doctor.all_ok([checks[0], checks[2]])


def test_no_credentials_is_one_failing_check():
    checks = doctor.run_checks()
    assert [(check.name, check.ok) for check in checks] == [("Kubernetes credentials", False)]
    assert "KUBECONFIG" in checks[0].fix


def test_argo_settings_from_environment(monkeypatch):
    import dask.config

    assert doctor.argo_server() is None
    with dask.config.set({"argodasf.argo.server": "argo.example.org:2746", "argodasf.argo.base-href": "/argo/"}):
        server = doctor.argo_server()
        assert server.host == "https://argo.example.org:2746/argo"
        monkeypatch.setenv("ARGO_SERVER", "other:2746")
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_BASE_HREF", "")
        assert doctor.argo_server().host == "http://other:2746"
        # with a scheme, as often pasted from a browser: the scheme decides
        monkeypatch.setenv("ARGO_SERVER", "https://other:2746/")
        assert doctor.argo_server().host == "https://other:2746"
        monkeypatch.setenv("ARGO_SERVER", "http://other:2746")
        monkeypatch.setenv("ARGO_SECURE", "true")
        monkeypatch.setenv("ARGO_BASE_HREF", "/workflows/")
        assert doctor.argo_server().host == "http://other:2746/workflows"


def test_argo_server_answers(monkeypatch, version_server):
    monkeypatch.setenv("ARGO_SERVER", version_server.address)
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_TOKEN", TOKEN)
    check = doctor.check_argo(doctor.argo_server())
    assert check.ok is True
    assert "v4.0.5" in check.detail
    assert TOKEN not in doctor.render_text([check])


def test_argo_server_refuses_token(monkeypatch):
    fake = FakeArgo(token="the-right-one").start()
    try:
        monkeypatch.setenv("ARGO_SERVER", fake.address)
        monkeypatch.setenv("ARGO_SECURE", "false")
        monkeypatch.setenv("ARGO_TOKEN", TOKEN)
        check = doctor.check_argo(doctor.argo_server())
    finally:
        fake.stop()
    assert check.ok is False
    assert "401" in check.detail and "ARGO_TOKEN" in check.fix
    assert fake.requests[0]["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in doctor.render_text([check]) + doctor.render_html([check])


def test_argo_server_unreachable(monkeypatch, version_server):
    address = version_server.address
    version_server.close()
    monkeypatch.setenv("ARGO_SERVER", address)
    monkeypatch.setenv("ARGO_SECURE", "false")
    check = doctor.check_argo(doctor.argo_server())
    assert check.ok is False
    assert "cannot reach" in check.detail


def test_argo_checked_only_when_configured(monkeypatch, version_server):
    names = [check.name for check in doctor.run_checks()]
    assert "Argo Server" not in names
    monkeypatch.setenv("ARGO_SERVER", version_server.address)
    monkeypatch.setenv("ARGO_SECURE", "false")
    monkeypatch.setenv("ARGO_TOKEN", TOKEN)
    checks = doctor.run_checks()
    assert checks[-1].name == "Argo Server" and checks[-1].ok is True


# -- against the fake Kubernetes API with the real operator ---------------------------------
def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


@pytest.mark.kube
@pytest.mark.timeout(180)
def test_healthy_setup(tmp_path):
    from kube.harness import FakeKubernetes

    with FakeKubernetes(tmp_path / "kube") as fk:
        checks = doctor.run_checks()
        text = doctor.render_text(checks)
    assert doctor.all_ok(checks), text
    assert all(check.ok for check in checks), text
    found = by_name(checks)
    assert "context 'fake'" in found["Kubernetes credentials"].detail
    assert "dask-operator/dask-kubernetes-operator is ready" in found["Dask operator"].detail
    assert found["may use daskclusters.kubernetes.dask.org"].ok
    assert fk.token not in text + doctor.render_html(checks)


@pytest.mark.kube
@pytest.mark.timeout(180)
def test_forbidden_verb_is_named(tmp_path):
    from kube.harness import FakeKubernetes

    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.forbid("delete", "daskclusters")
        fk.forbid("get", "pods/portforward")  # what KubeCluster's port-forward needs
        found = by_name(doctor.run_checks())
    clusters = found["may use daskclusters.kubernetes.dask.org"]
    assert clusters.ok is False
    assert clusters.detail.startswith("missing delete in 'default'")
    assert "granting delete on daskclusters.kubernetes.dask.org" in clusters.fix
    assert found["may use pods/portforward"].ok is False
    assert found["may use pods/portforward"].detail.startswith("missing get in 'default'")
    assert found["may use daskjobs.kubernetes.dask.org"].ok is True


@pytest.mark.kube
@pytest.mark.timeout(180)
def test_crds_removed(tmp_path):
    from kube.harness import FakeKubernetes

    with FakeKubernetes(tmp_path / "kube", operator=False) as fk:
        fk.remove_dask_crds()
        found = by_name(doctor.run_checks())
    crds = found["Dask operator CRDs"]
    assert crds.ok is False and "daskclusters" in crds.detail and "helm install" in crds.fix
    assert "Dask operator" not in found  # it cannot answer without its resources


@pytest.mark.kube
@pytest.mark.timeout(180)
def test_no_operator(tmp_path):
    from kube.harness import FakeKubernetes

    with FakeKubernetes(tmp_path / "kube", operator=False):
        found = by_name(doctor.run_checks())
    operator = found["Dask operator"]
    assert operator.ok is False
    assert "no operator Deployment" in operator.detail and "helm install" in operator.fix
    assert found["Dask operator CRDs"].ok is True


def test_command_line_exits_non_zero_without_credentials(capsys):
    from argodasf_jupyter import cli

    assert cli.main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Kubernetes credentials" in out and "fix:" in out
