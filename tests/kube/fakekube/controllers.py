"""Stand-ins for the controllers of a real cluster: Deployments make pods from their
template, Services get a cluster IP, node ports, a load-balancer ingress, DNS names
and a proxy, Terminating namespaces are emptied. All are level-triggered: on any
change they reconcile everything."""

import hashlib
import json
import logging
import random
import secrets
import threading
import time
from collections import Counter
from contextlib import suppress

from . import errors
from .network import free_node_port, write_etc_hosts, write_hosts
from .resources import DEPLOYMENTS, NAMESPACES, PODS, SERVICES

log = logging.getLogger("fakekube")


def pod_is_ready(pod):
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def owner_uids(obj):
    return {ref.get("uid") for ref in obj["metadata"].get("ownerReferences", [])}


class Controller(threading.Thread):
    """Calls reconcile() at start, whenever a watched resource changes and, if `period`
    is set, at least that often."""

    watches = ()  # ResourceType.qualified names
    period = None

    def __init__(self, store):
        super().__init__(name=type(self).__name__, daemon=True)
        self.store = store
        self._stopping = threading.Event()

    def stop(self):
        self._stopping.set()
        self.join(10)

    def reconcile(self):
        raise NotImplementedError

    def run(self):
        since = self.store.resource_version
        while not self._stopping.is_set():
            try:
                self.reconcile()
            except errors.ApiError as error:
                log.debug("%s: %s, retrying", self.name, error)  # raced with another writer
            except Exception:
                log.exception("%s failed to reconcile", self.name)
            since = self._wait_for_change(since)

    def _wait_for_change(self, since):
        deadline = time.monotonic() + (self.period or 3600)
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                events = self.store.events_after(since, min(0.2, self.period or 0.2))
            except errors.Gone:
                return self.store.resource_version
            if events:
                since = events[-1].resource_version
                if any(event.resource in self.watches for event in events):
                    break
        return since


class DeploymentController(Controller):
    watches = (DEPLOYMENTS.qualified, PODS.qualified)

    def reconcile(self):
        deployments, _ = self.store.list(DEPLOYMENTS)
        pods, _ = self.store.list(PODS)
        for deployment in deployments:
            meta = deployment["metadata"]
            owned = [pod for pod in pods if meta["uid"] in owner_uids(pod)]
            wanted = deployment["spec"].get("replicas", 1)
            for _ in range(wanted - len(owned)):
                owned.append(self.store.create(PODS, meta["namespace"], _pod_from(deployment)))
            # Scale down the least useful pods first: not ready, then the newest.
            owned.sort(key=lambda pod: (not pod_is_ready(pod), pod["metadata"]["creationTimestamp"]))
            for surplus in owned[wanted:]:
                self.store.delete(PODS, meta["namespace"], surplus["metadata"]["name"])
            self._report(deployment, owned[:wanted])

    def _report(self, deployment, pods):
        ready = sum(pod_is_ready(pod) for pod in pods)
        wanted = deployment["spec"].get("replicas", 1)
        counts = {
            "replicas": len(pods),
            "updatedReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
        }
        status = {
            "observedGeneration": deployment["metadata"]["generation"],
            **{key: value for key, value in counts.items() if value},  # the server omits zeros
            "conditions": [{"type": "Available", "status": str(ready >= wanted)}],
        }
        if deployment.get("status") != status:
            meta = deployment["metadata"]
            self.store.update(
                DEPLOYMENTS, meta["namespace"], meta["name"], lambda current: {**current, "status": status}, "status"
            )


def _pod_from(deployment):
    template = deployment["spec"]["template"]
    template_hash = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
    meta = deployment["metadata"]
    return {
        "metadata": {
            "name": f"{meta['name']}-{template_hash}-{secrets.token_hex(3)[:5]}",
            "labels": {**template.get("metadata", {}).get("labels", {}), "pod-template-hash": template_hash},
            "annotations": template.get("metadata", {}).get("annotations", {}),
            "ownerReferences": [
                {
                    "apiVersion": DEPLOYMENTS.api_version,
                    "kind": DEPLOYMENTS.kind,
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template["spec"],
    }


class ServiceController(Controller):
    """Allocates cluster IPs and node ports, publishes DNS names and, like kube-proxy,
    accepts connections only while the Service has a ready pod (otherwise connecting
    is refused, which clients retry).

    Deliberate difference: a Service gets its status (`loadBalancer: {}`, or the
    ingress of a LoadBalancer) only once it first has a ready pod, where the real
    server sets it at creation. The operator sets the DaskCluster Running when that
    status changes, and then Pending when it has created the cluster's parts; with
    an instant status the two race and a cluster can stay Pending for ever."""

    watches = (SERVICES.qualified, PODS.qualified)

    def __init__(self, store, proxy, network, hosts_path):
        super().__init__(store)
        self._proxy = proxy
        self._network = network
        self._hosts_path = hosts_path
        self._allocated = {}  # (namespace, name) -> (uid, cluster IP)
        self._listening = set()  # keys of the Services the proxy serves now
        self._names = {}
        write_hosts(hosts_path, self._names)

    def reconcile(self):
        services, _ = self.store.list(SERVICES)
        present = set()
        for service in services:
            meta = service["metadata"]
            key = (meta["namespace"], meta["name"])
            present.add(key)
            if self._allocated.get(key, (meta["uid"],))[0] != meta["uid"]:
                self._forget(key)  # deleted and created again under the same name
            if not service["spec"].get("clusterIP"):
                service = self._allocate(service)
            if service["spec"]["clusterIP"] == "None":
                continue  # headless: no proxy
            self._allocated[key] = (meta["uid"], service["spec"]["clusterIP"])
            has_endpoint = bool(self._ready_pods(meta["namespace"], service["spec"].get("selector")))
            if has_endpoint and "loadBalancer" not in service.get("status", {}):
                self._report(service)
            if has_endpoint and key not in self._listening:
                self._listen(key, service)
            elif not has_endpoint and key in self._listening:
                self._proxy.close(key)
                self._listening.discard(key)
        for key in set(self._allocated) - present:
            self._forget(key)
        self._publish_names()

    def _allocate(self, service):
        meta, spec = service["metadata"], service["spec"]
        address = self._network.allocate_service_ip()
        spec["clusterIP"], spec["clusterIPs"] = address, [address]
        if spec["type"] in ("NodePort", "LoadBalancer"):
            taken = {
                port.get("nodePort")
                for other in self.store.list(SERVICES, copy_=False)[0]
                for port in other["spec"].get("ports", [])
            }
            for port in spec.get("ports", []):
                port.setdefault("nodePort", free_node_port(taken))
        return self.store.update(SERVICES, meta["namespace"], meta["name"], lambda current: {**current, "spec": spec})

    def _report(self, service):
        meta, spec = service["metadata"], service["spec"]
        ingress = {"ingress": [{"ip": spec["clusterIP"], "ipMode": "VIP"}]} if spec["type"] == "LoadBalancer" else {}
        self.store.update(
            SERVICES,
            meta["namespace"],
            meta["name"],
            lambda current: {**current, "status": {"loadBalancer": ingress}},
            "status",
        )

    def _listen(self, key, service):
        spec = service["spec"]
        listeners = []
        for port in spec.get("ports", []):
            pick = self._picker(key[0], spec.get("selector"), port.get("targetPort", port["port"]))
            listeners.append((spec["clusterIP"], port["port"], pick))
            if "nodePort" in port:
                listeners.append((self._network.node_ip, port["nodePort"], pick))
        self._proxy.open(key, listeners)
        self._listening.add(key)

    def _forget(self, key):
        self._proxy.close(key)
        self._listening.discard(key)
        self._allocated.pop(key)

    def _ready_pods(self, namespace, selector):
        if not selector:
            return []
        pods, _ = self.store.list(
            PODS,
            namespace,
            copy_=False,
            match=lambda pod: all(pod["metadata"].get("labels", {}).get(k) == v for k, v in selector.items()),
        )
        return [pod for pod in pods if pod_is_ready(pod) and pod["status"].get("podIP")]

    def _picker(self, namespace, selector, target_port):
        def pick():
            ready = self._ready_pods(namespace, selector)
            if not ready:
                return None
            pod = random.choice(ready)
            return pod["status"]["podIP"], _container_port(pod, target_port)

        return pick

    def _publish_names(self):
        names = {}
        for (namespace, name), (_, address) in self._allocated.items():
            for suffix in ("", ".svc", ".svc.cluster.local"):
                names[f"{name}.{namespace}{suffix}"] = address
        if names != self._names:
            write_hosts(self._hosts_path, names)
            self._names = names
            namespaces = {namespace for namespace, _ in self._allocated}
            for namespace in namespaces | {p.name[: -len(".hosts")] for p in self._hosts_path.parent.glob("*.hosts")}:
                write_etc_hosts(self._hosts_path.parent, namespace, self._allocated)


def _container_port(pod, target_port):
    if isinstance(target_port, int) or str(target_port).isdigit():
        return int(target_port)
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            if port.get("name") == target_port:
                return port["containerPort"]
    return None


class NamespaceController(Controller):
    """Empties a Terminating namespace as the namespace controller does: deletes every
    namespaced object in it (finalizers are honoured as for any delete), reports what
    remains in the namespace's conditions, and once nothing remains removes the
    "kubernetes" finalizer, upon which the namespace goes.

    Difference: it checks every 0.5 s instead of backing off, and it reports only the
    NamespaceContentRemaining and NamespaceFinalizersRemaining conditions."""

    watches = (NAMESPACES.qualified,)
    period = 0.5

    def reconcile(self):
        namespaces, _ = self.store.list(NAMESPACES)
        for namespace in namespaces:
            if namespace["metadata"].get("deletionTimestamp"):
                self._empty(namespace)

    def _empty(self, namespace):
        name = namespace["metadata"]["name"]
        remaining, finalized = Counter(), Counter()
        for rt in self.store.resource_types():
            if not rt.namespaced:
                continue
            for obj in self.store.list(rt, name)[0]:
                if not obj["metadata"].get("deletionTimestamp"):
                    with suppress(errors.ApiError):  # gone meanwhile, e.g. through its owner
                        obj = self.store.delete(rt, name, obj["metadata"]["name"])
                if obj["metadata"].get("finalizers") and self._still_there(rt, name, obj):
                    remaining[rt.qualified] += 1
                    finalized.update(obj["metadata"]["finalizers"])
        self._report(namespace, remaining, finalized)
        if not remaining and "kubernetes" in namespace["spec"].get("finalizers", []):
            self.store.update(
                NAMESPACES,
                None,
                name,
                lambda current: {
                    **current,
                    "spec": {
                        **current["spec"],
                        "finalizers": [f for f in current["spec"]["finalizers"] if f != "kubernetes"],
                    },
                },
                "finalize",
            )

    def _still_there(self, rt, namespace, obj):
        try:
            self.store.get(rt, namespace, obj["metadata"]["name"], copy_=False)
            return True
        except errors.ApiError:
            return False

    def _report(self, namespace, remaining, finalized):
        content = ", ".join(
            f"{resource} has {count} resource instances" for resource, count in sorted(remaining.items())
        )
        held = ", ".join(f"{finalizer} in {count} resource instances" for finalizer, count in sorted(finalized.items()))
        conditions = [
            {
                "type": "NamespaceContentRemaining",
                "status": "True",
                "reason": "SomeResourcesRemain",
                "message": f"Some resources are remaining: {content}",
            }
            if remaining
            else {
                "type": "NamespaceContentRemaining",
                "status": "False",
                "reason": "ContentRemoved",
                "message": "All content successfully removed",
            },
            {
                "type": "NamespaceFinalizersRemaining",
                "status": "True",
                "reason": "SomeFinalizersRemain",
                "message": f"Some content in the namespace has finalizers remaining: {held}",
            }
            if finalized
            else {
                "type": "NamespaceFinalizersRemaining",
                "status": "False",
                "reason": "ContentHasNoFinalizers",
                "message": "All content-preserving finalizers finished",
            },
        ]
        if namespace["status"].get("conditions") != conditions:
            self.store.update(
                NAMESPACES,
                None,
                namespace["metadata"]["name"],
                lambda current: {**current, "status": {**current["status"], "conditions": conditions}},
                "status",
            )
