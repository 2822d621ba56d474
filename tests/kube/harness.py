"""FakeKubernetes: a fake cluster for end-to-end tests of code that uses the
dask-kubernetes operator. The real KubeCluster (kr8s) and the real operator (kopf)
talk HTTP to a fake API server; a stand-in kubelet runs pods as local processes.

    with FakeKubernetes(tmp_path) as fk:          # API server, kubelet, operator
        cluster = KubeCluster(...)                # KUBECONFIG points at the fake
        fk.objects("daskclusters")                # stored objects, for assertions
        fk.forbid("create", "daskclusters")       # 403 from now on
        fk.request_counts()                       # Counter of "verb resource"
    # every process it started is gone here
"""

import base64
import importlib.util
import os
import secrets
import ssl
import time
from collections import Counter
from contextlib import ExitStack, suppress
from pathlib import Path
from unittest import mock

import yaml

from .fakekube import errors
from .fakekube.apiserver import ApiServer
from .fakekube.controllers import DeploymentController, NamespaceController, ServiceController
from .fakekube.egress import EgressProxy
from .fakekube.host_support import require_container_support
from .fakekube.kubelet import NODE_NAME, Kubelet
from .fakekube.network import ClusterNetwork, ServiceProxy
from .fakekube.podsite import sitecustomize as podsite
from .fakekube.resources import CRDS, DEPLOYMENTS, NAMESPACES, NODES, SECRETS
from .fakekube.store import Store
from .fakekube.volumes import claim_path

POD_SITE_DIR = Path(podsite.__file__).parent
DASK_GROUP = "kubernetes.dask.org"
OPERATOR_NAME = "dask-kubernetes-operator"
OPERATOR_LABELS = {"app.kubernetes.io/name": OPERATOR_NAME, "app.kubernetes.io/instance": OPERATOR_NAME}
# The resources the operator's handlers watch; it is ready once it watches them all.
OPERATOR_WATCHES = (
    "pods",
    "services",
    *(f"{plural}.{DASK_GROUP}" for plural in ("daskclusters", "daskworkergroups", "daskjobs", "daskautoscalers")),
)


def dask_crd_paths():
    """The CRD manifests shipped in the dask-kubernetes wheel (found without importing
    dask_kubernetes, whose import writes into ~/.config/dask)."""
    package = Path(importlib.util.find_spec("dask_kubernetes").submodule_search_locations[0])
    return sorted((package / "operator/deployment/helm/dask-kubernetes-operator/crds").glob("*.yaml"))


# what a Dask cluster is made of, as the operator and KubeCluster create it
CLUSTER_PLURALS = ("daskclusters", "daskworkergroups", "daskautoscalers", "deployments", "services", "pods")


class FakeKubernetes:
    """A fake Kubernetes cluster for one test; use it as a context manager.

    root: a private directory (pod logs, pod home directories, kubeconfig).
    namespace: created, and the kubeconfig's default namespace.
    operator: run the real dask operator (as a Deployment in `operator_namespace`)
        and wait until it watches its resources.
    operator_scope: "all" (--all-namespaces) or "namespace" (--namespace=namespace).
    crds: install the four dask CRDs (False: as on a cluster without them).
    operator_verbose: run kopf with --verbose (see operator_log()).
    cluster_dns_in_tests: let the test process resolve Service names too (False: only
        pods resolve them, as on a real cluster, so clients outside reach a ClusterIP
        Service only through pods/portforward).
    tls: serve the API over HTTPS with a certificate from a CA of this fake, whose
        certificate the kubeconfigs carry (certificate-authority-data), as a real
        cluster's do.
    """

    def __init__(
        self,
        root,
        namespace="default",
        operator=True,
        operator_scope="all",
        crds=True,
        operator_namespace="dask-operator",
        operator_verbose=False,
        cluster_dns_in_tests=True,
        tls=False,
    ):
        self.root = Path(root)
        self.namespace = namespace
        self.operator_namespace = operator_namespace
        self.token = f"fake-token-{secrets.token_hex(16)}"
        self.user = "tester"
        self.kubeconfig = self.root / "kubeconfig"
        # The operator has its own identity, as with its service account on a real
        # cluster: forbidding things to the test user leaves it alone.
        self.operator_user = f"system:serviceaccount:{operator_namespace}:{OPERATOR_NAME}"
        self._operator_token = f"fake-operator-token-{secrets.token_hex(16)}"
        self._options = {
            "operator": operator,
            "scope": operator_scope,
            "crds": crds,
            "verbose": operator_verbose,
            "cluster_dns_in_tests": cluster_dns_in_tests,
        }
        self.ca = _ClusterCA() if tls else None
        self._stack = ExitStack()

    def _kubeconfig(self, user, token, namespace):
        ca_pem = self.ca.certificate_pem if self.ca else None
        return _kubeconfig_text(self.api.url, user, token, namespace, ca_pem)

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self._stack.close()

    def _start(self):
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = Store()
        self._stack.callback(self.store.close)  # runs last: wakes any remaining watcher
        for name in dict.fromkeys(["default", self.namespace, self.operator_namespace]):
            self.store.create(NAMESPACES, None, {"metadata": {"name": name}})
        require_container_support()
        self.network = ClusterNetwork()
        self._stack.callback(self.network.stop)
        self.network.start()
        self._add_node()
        if self._options["crds"]:
            self._install_dask_crds()

        dns = self.root / "dns"
        dns.mkdir(exist_ok=True)
        hosts = dns / "hosts.json"
        egress = EgressProxy(self.network.control_plane_ip)
        egress.start()
        self._stack.callback(egress.stop)
        self.kubelet = Kubelet(self.store, self.network, self.root, dns, POD_SITE_DIR, pip_proxy=egress.url)
        users = {self.token: self.user, self._operator_token: self.operator_user}
        host = self.network.control_plane_ip
        tls = self.ca.server_context(host) if self.ca else None
        self.api = ApiServer(self.store, users, self.kubelet.log_path, self.kubelet.dial, host=host, tls=tls)
        self.api.start()
        self._stack.callback(self.api.stop)
        proxy = ServiceProxy(self.network.node_netns)
        proxy.start()
        self._stack.callback(proxy.stop)
        for controller in (
            self.kubelet,
            DeploymentController(self.store),
            NamespaceController(self.store),
            ServiceController(self.store, proxy, self.network, hosts),
        ):
            controller.start()
            self._stack.callback(controller.stop)

        self.kubeconfig.write_text(self._kubeconfig(self.user, self.token, self.namespace))
        self._stack.enter_context(mock.patch.dict(os.environ, KUBECONFIG=str(self.kubeconfig)))
        _forget_kr8s_clients()
        self._stack.callback(_forget_kr8s_clients)
        if self._options["cluster_dns_in_tests"]:
            self._stack.callback(podsite.install(hosts, namespace=self.namespace))
        if self._options["operator"]:
            self._start_operator()

    def _add_node(self):
        self.store.create(NODES, None, {"metadata": {"name": NODE_NAME}})
        self.store.update(
            NODES,
            None,
            NODE_NAME,
            lambda node: {
                **node,
                "status": {
                    "addresses": [
                        {"type": "InternalIP", "address": self.network.node_ip},
                        {"type": "Hostname", "address": NODE_NAME},
                    ],
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            },
            "status",
        )

    def _install_dask_crds(self):
        for path in dask_crd_paths():
            crd = self.store.create(CRDS, None, yaml.safe_load(path.read_text()))
            status = {
                "acceptedNames": crd["spec"]["names"],
                "conditions": [{"type": "NamesAccepted", "status": "True"}, {"type": "Established", "status": "True"}],
            }
            self.store.update(
                CRDS, None, crd["metadata"]["name"], lambda c, status=status: {**c, "status": status}, "status"
            )

    def _start_operator(self):
        scope = ["--all-namespaces"] if self._options["scope"] == "all" else [f"--namespace={self.namespace}"]
        verbose = ["--verbose"] if self._options["verbose"] else []
        # its credentials come from a Secret volume, as a service account token would
        self.store.create(
            SECRETS,
            self.operator_namespace,
            {
                "metadata": {"name": f"{OPERATOR_NAME}-kubeconfig"},
                "stringData": {
                    "kubeconfig": self._kubeconfig(self.operator_user, self._operator_token, self.operator_namespace)
                },
            },
        )
        container = {
            "name": OPERATOR_NAME,
            "image": "ghcr.io/dask/dask-kubernetes-operator",
            "command": [
                "python",
                "-m",
                "kopf",
                "run",
                "--standalone",
                *verbose,
                *scope,
                "-m",
                "dask_kubernetes.operator.controller",
                "-m",
                "kopf_settings",
            ],
            "env": [{"name": "KUBECONFIG", "value": "/etc/fakekube/kubeconfig"}],
            "volumeMounts": [{"name": "kubeconfig", "mountPath": "/etc/fakekube", "readOnly": True}],
        }
        volume = {"name": "kubeconfig", "secret": {"secretName": f"{OPERATOR_NAME}-kubeconfig"}}
        self.store.create(
            DEPLOYMENTS,
            self.operator_namespace,
            {
                "metadata": {"name": OPERATOR_NAME, "labels": OPERATOR_LABELS},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": OPERATOR_LABELS},
                    "template": {
                        "metadata": {"labels": OPERATOR_LABELS},
                        "spec": {"containers": [container], "volumes": [volume]},
                    },
                },
            },
        )
        present = {rt.qualified for rt in self.store.resource_types()}
        needed = [resource for resource in OPERATOR_WATCHES if resource in present]
        self.wait_for(
            lambda: all(self.api.watching[resource] for resource in needed),
            timeout=60,
            message=lambda: "the operator did not start watching:\n" + self.operator_log()[-3000:],
        )

    # -- reading the cluster ----------------------------------------------------------------

    def resource_type(self, plural):
        """A served resource type by plural ("pods") or qualified name ("daskjobs.kubernetes.dask.org")."""
        for rt in self.store.resource_types():
            if plural in (rt.plural, rt.qualified):
                return rt
        raise KeyError(plural)

    def objects(self, plural, namespace=None):
        """Copies of the stored objects of one resource, in all namespaces unless given."""
        items, _ = self.store.list(self.resource_type(plural), namespace)
        return items

    def cluster_objects(self, name, namespace=None):
        """'plural/name' of every stored object that belongs to Dask cluster ``name``."""
        found = []
        for plural in CLUSTER_PLURALS:
            for obj in self.objects(plural, namespace or self.namespace):
                meta = obj["metadata"]
                if meta["name"] == name or meta.get("labels", {}).get("dask.org/cluster-name") == name:
                    found.append(f"{plural}/{meta['name']}")
        return found

    def get(self, plural, name, namespace=None):
        """A copy of one stored object, or None."""
        rt = self.resource_type(plural)
        try:
            return self.store.get(rt, namespace or (self.namespace if rt.namespaced else None), name)
        except errors.ApiError:
            return None

    def create(self, manifest, namespace=None):
        """Store an object as if created through the API (no RBAC check)."""
        group, _, version = manifest["apiVersion"].rpartition("/")
        for rt in self.store.resource_types():
            if (rt.group, rt.version, rt.kind) == (group, version, manifest["kind"]):
                return self.store.create(
                    rt, namespace or manifest["metadata"].get("namespace") or self.namespace, manifest
                )
        raise KeyError(manifest["kind"])

    @property
    def node_ip(self):
        """The Node's InternalIP: node ports listen there."""
        return self.network.node_ip

    def volume_path(self, claim, namespace=None):
        """The directory behind PersistentVolumeClaim `claim` (created if needed): put a
        pod's inputs there, read its outputs. The claim object itself must exist for a
        pod to mount it (fk.create a PersistentVolumeClaim)."""
        path = claim_path(self.root, namespace or self.namespace, claim)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pod_log(self, name, namespace=None, container=None):
        pod = self.store.get(self.resource_type("pods"), namespace or self.namespace, name)
        path = self.kubelet.log_path(
            pod["metadata"]["namespace"], name, container or pod["spec"]["containers"][0]["name"]
        )
        return path.read_text() if path.exists() else ""

    def operator_log(self):
        pods = [
            pod
            for pod in self.objects("pods", self.operator_namespace)
            if pod["metadata"]["name"].startswith(OPERATOR_NAME)
        ]
        return self.pod_log(pods[0]["metadata"]["name"], self.operator_namespace) if pods else ""

    def wait_for(self, condition, timeout=30, message="condition not met"):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(message() if callable(message) else message)
            time.sleep(0.1)

    def wait_for_cluster_gone(self, name, timeout=90):
        """Until no object of Dask cluster ``name`` is left. The bound is a hang guard: a
        DaskAutoscaler keeps its finalizer while its timer is in a call to the deleted
        scheduler, which distributed's 30 s connect timeout ends."""
        self.wait_for(
            lambda: not self.cluster_objects(name),
            timeout=timeout,
            message=lambda: f"left behind: {self.cluster_objects(name)}\n{self.operator_log()[-4000:]}",
        )

    def live_process_groups(self):
        """Process groups started for pods that still have a live process. Zombies do
        not count: killed grandchildren wait there until init reaps them."""
        alive = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with suppress(OSError):
                state, _, pgid = stat.read_text().rsplit(")", 1)[1].split()[:3]
                if state != "Z" and int(pgid) in self.kubelet.spawned:
                    alive.add(int(pgid))
        return sorted(alive)

    # -- requests and faults --------------------------------------------------------------

    def request_counts(self, user="tester"):
        """Requests served, as a Counter of "verb resource" (e.g. "list pods",
        "patch daskjobs/status", "get discovery"). By default those of the test's
        user (fk.user); "operator" for the operator's, None for all."""
        user = self.operator_user if user == "operator" else user
        counts = Counter()
        for (who, verb, resource), count in self.api.requests.items():
            if user is None or who == user:
                counts[f"{verb} {resource}"] += count
        return counts

    def reset_request_counts(self):
        self.api.requests.clear()

    def forbid(self, verb, resource):
        """Answer the test's user 403 to `verb` ("create", "list", ... or "*") on
        `resource` ("daskclusters", "pods/log"), as RBAC would; access reviews agree."""
        self.api.forbidden.add((self.user, verb, resource))

    def allow(self, verb, resource):
        self.api.forbidden.discard((self.user, verb, resource))

    def remove_dask_crds(self):
        """Delete the dask CRDs: their API group then answers 404, as when not installed."""
        for crd in self.objects("customresourcedefinitions"):
            if crd["spec"]["group"] == DASK_GROUP:
                self.store.delete(CRDS, None, crd["metadata"]["name"])


class _ClusterCA:
    """The fake cluster's certificate authority (trustme), as kubeadm makes one."""

    def __init__(self):
        import trustme

        self._ca = trustme.CA(organization_name="fake kubernetes")
        self.certificate_pem = self._ca.cert_pem.bytes()

    def server_context(self, host):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ca.issue_cert(host, "127.0.0.1", "localhost", "kubernetes.default.svc").configure_cert(context)
        return context


def _kubeconfig_text(server, user, token, namespace, ca_pem=None):
    cluster = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode("ascii")
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": user, "namespace": namespace}}],
            "current-context": "fake",
        }
    )


def _forget_kr8s_clients():
    # kr8s caches API clients per thread and event loop; a client cached for an earlier
    # fake (another port and token) could be handed out again when ids are reused.
    from kr8s._api import Api

    Api._instances.clear()
