"""How the controller reaches the fake Kubernetes API: objects a workflow creates go
through HTTP with the token of the workflow's service account (so RBAC and the
request counts see that identity); pods and the Workflow's own status are written
by the controller, as Argo's controller does with its own account."""

from __future__ import annotations

import secrets
import threading
from contextlib import suppress

import requests

from kube.fakekube import errors
from kube.fakekube.resources import PODS


class ClusterAccess:
    def __init__(self, fake_kubernetes):
        self.fake = fake_kubernetes
        self.store = fake_kubernetes.store
        self.url = fake_kubernetes.api.url
        self._sessions: dict[str, requests.Session] = {}
        self._lock = threading.Lock()

    def as_service_account(self, workflow: dict) -> requests.Session:
        namespace = workflow["metadata"]["namespace"]
        account = workflow["spec"].get("serviceAccountName") or "default"
        user = f"system:serviceaccount:{namespace}:{account}"
        with self._lock:
            if user not in self._sessions:
                token = f"fake-sa-token-{secrets.token_hex(16)}"
                self.fake.api.users[token] = user
                session = requests.Session()
                session.headers["Authorization"] = f"Bearer {token}"
                self._sessions[user] = session
            return self._sessions[user]

    @staticmethod
    def collection_path(resource, namespace: str) -> str:
        base = f"/apis/{resource.group}/{resource.version}" if resource.group else f"/api/{resource.version}"
        return (
            f"{base}/namespaces/{namespace}/{resource.plural}" if resource.namespaced else f"{base}/{resource.plural}"
        )

    def create_pod(self, manifest: dict) -> None:
        with suppress(errors.ApiError):  # already there: an earlier pass created it
            self.store.create(PODS, manifest["metadata"]["namespace"], manifest)

    def get_pod(self, namespace: str, name: str):
        try:
            return self.store.get(PODS, namespace, name)
        except errors.ApiError:
            return None

    def delete_pod(self, namespace: str, name: str) -> None:
        with suppress(errors.ApiError):
            self.store.delete(PODS, namespace, name)

    def pod_log(self, namespace: str, name: str) -> str:
        path = self.fake.kubelet.log_path(namespace, name, "main")
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
