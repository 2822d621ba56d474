"""The object store behind the API server: what etcd plus the registry layer of the
real server do. Objects get uid, resourceVersion, generation and timestamps; writes
follow the status subresource rules; deletion honours finalizers and cascades to
dependents through ownerReferences; a deleted Namespace turns Terminating, takes no new
content and stays until the namespace controller (controllers.py) has emptied it;
every change is kept for watches."""

import copy
import secrets
import threading
import uuid
from collections import deque
from datetime import datetime, timezone
from typing import NamedTuple

from . import errors
from .resources import BUILTINS, CRDS, NAMESPACES, from_crd, prepare_for_create


class Event(NamedTuple):
    resource_version: int
    resource: str  # ResourceType.qualified
    namespace: str
    type: str  # ADDED, MODIFIED or DELETED
    object: dict  # never mutated once stored


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _without_version(obj):
    meta = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return {**obj, "metadata": meta}


def _finalizers(rt, obj):
    """What keeps a deleted object stored; a Namespace also waits for its spec.finalizers
    (the namespace controller removes "kubernetes" once the namespace is empty)."""
    held = list(obj["metadata"].get("finalizers") or [])
    if rt is NAMESPACES:
        held += obj.get("spec", {}).get("finalizers") or []
    return held


def _spec_part(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


class Store:
    def __init__(self, history=20000):
        self._lock = threading.Condition(threading.RLock())
        self._objects = {}  # (resource, namespace, name) -> object
        self._types = {rt.qualified: rt for rt in BUILTINS}
        self._custom_types = ()
        self._version = 0
        self._history = deque(maxlen=history)
        self._forgotten_version = 0
        self._closed = False

    # -- resource types ---------------------------------------------------------

    def resource_types(self):
        with self._lock:
            return BUILTINS + self._custom_types

    def find(self, group, version, plural):
        for rt in self.resource_types():
            if (rt.group, rt.version, rt.plural) == (group, version, plural):
                return rt
        return None

    # -- reads --------------------------------------------------------------------

    @property
    def resource_version(self):
        return self._version

    def get(self, rt, namespace, name, copy_=True):
        with self._lock:
            obj = self._objects.get((rt.qualified, namespace or "", name))
        if obj is None:
            raise errors.not_found(rt, name)
        return copy.deepcopy(obj) if copy_ else obj

    def list(self, rt, namespace=None, match=None, copy_=True):
        """Objects of one type (in one namespace, or all), and the list's resourceVersion."""
        with self._lock:
            items = [
                obj
                for (resource, ns, _), obj in self._objects.items()
                if resource == rt.qualified and (namespace is None or ns == namespace) and (match is None or match(obj))
            ]
            version = str(self._version)
        return (copy.deepcopy(items) if copy_ else items), version

    def events_after(self, version, timeout):
        """Changes newer than `version`, waiting up to `timeout` seconds for one."""
        with self._lock:
            if version < self._forgotten_version:
                raise errors.Gone(version)
            self._lock.wait_for(lambda: self._version > version or self._closed, timeout)
            newer = []
            for event in reversed(self._history):
                if event.resource_version <= version:
                    break
                newer.append(event)
            return newer[::-1]

    def close(self):
        """Wake every waiting watcher so that it can end."""
        with self._lock:
            self._closed = True
            self._lock.notify_all()

    @property
    def closed(self):
        return self._closed

    # -- writes -------------------------------------------------------------------

    def create(self, rt, namespace, obj):
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or (meta["generateName"] + secrets.token_hex(3)[:5] if meta.get("generateName") else "")
        if not name:
            raise errors.invalid(rt, "", "metadata.name: Required value: name or generateName is required")
        namespace = (namespace or meta.get("namespace") or "") if rt.namespaced else ""
        with self._lock:
            if rt.namespaced:
                home = self._objects.get((NAMESPACES.qualified, "", namespace))
                if home is None:
                    raise errors.not_found(NAMESPACES, namespace)
                if home["metadata"].get("deletionTimestamp"):
                    raise errors.namespace_terminating(rt, name, namespace)
            key = (rt.qualified, namespace, name)
            if key in self._objects:
                raise errors.already_exists(rt, name)
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            if "status" in rt.subresources:
                obj.pop("status", None)
            prepare_for_create(rt, obj)
            obj = rt.normalize(obj)
            meta = obj["metadata"]
            for field in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
                meta.pop(field, None)
            meta.update(name=name, uid=str(uuid.uuid4()), creationTimestamp=now(), generation=1)
            if rt.namespaced:
                meta["namespace"] = namespace
            created = self._commit("ADDED", rt, key, obj)
            if self._owners_gone(obj):
                # an object created for an owner that was deleted meanwhile (a
                # controller's race) is collected, as the real garbage collector does
                self.delete(rt, namespace, name)
            return created

    def update(self, rt, namespace, name, change, subresource=None):
        """Write change(copy of the object) back, with the rules of the main endpoint or
        of the status subresource."""
        key = (rt.qualified, namespace or "", name)
        with self._lock:
            old = self._objects.get(key)
            if old is None:
                raise errors.not_found(rt, name)
            new = change(copy.deepcopy(old))
            expected = new.get("metadata", {}).get("resourceVersion")
            if expected and expected != old["metadata"]["resourceVersion"]:
                raise errors.conflict(rt, name)
            if subresource == "status":
                new = {**copy.deepcopy(old), "status": new.get("status")}
            elif subresource == "finalize":
                new = {
                    **copy.deepcopy(old),
                    "spec": {**old.get("spec", {}), "finalizers": (new.get("spec") or {}).get("finalizers") or []},
                }
            elif "status" in rt.subresources:
                new["status"] = copy.deepcopy(old.get("status"))
            if rt is NAMESPACES and subresource != "finalize":  # only /finalize changes them
                new.setdefault("spec", {})["finalizers"] = copy.deepcopy(old.get("spec", {}).get("finalizers", []))
            new = self._keep_server_fields(rt, old, new)
            if _spec_part(new) != _spec_part(old):
                new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
            if _without_version(new) == _without_version(old):
                return copy.deepcopy(old)  # a no-op write changes nothing, not even the version
            if old["metadata"].get("deletionTimestamp") and not _finalizers(rt, new):
                return self._remove(rt, key, new)
            return self._commit("MODIFIED", rt, key, new)

    def delete(self, rt, namespace, name):
        key = (rt.qualified, namespace or "", name)
        with self._lock:
            obj = self._objects.get(key)
            if obj is None:
                raise errors.not_found(rt, name)
            if not _finalizers(rt, obj):
                return self._remove(rt, key, obj)
            if obj["metadata"].get("deletionTimestamp"):
                if rt is NAMESPACES:
                    raise errors.namespace_being_emptied(name)
                return copy.deepcopy(obj)
            marked = copy.deepcopy(obj)
            marked["metadata"].update(deletionTimestamp=now(), deletionGracePeriodSeconds=0)
            if rt is NAMESPACES:
                marked["status"] = {**marked.get("status", {}), "phase": "Terminating"}
            return self._commit("MODIFIED", rt, key, marked)

    # -- internals ----------------------------------------------------------------

    def _keep_server_fields(self, rt, old, new):
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new.setdefault("metadata", {})
        for field in (
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
        ):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        return rt.normalize(new)

    def _commit(self, kind, rt, key, obj):
        self._version += 1
        obj = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(self._version)}}
        if kind == "DELETED":
            self._objects.pop(key, None)
        else:
            self._objects[key] = obj
        if len(self._history) == self._history.maxlen:
            self._forgotten_version = self._history[0].resource_version
        self._history.append(Event(self._version, rt.qualified, key[1], kind, obj))
        if rt is CRDS:
            self._refresh_custom_types()
        self._lock.notify_all()
        return copy.deepcopy(obj)

    def _remove(self, rt, key, obj):
        removed = self._commit("DELETED", rt, key, obj)
        self._collect_garbage(obj["metadata"]["uid"])
        return removed

    def _owners_gone(self, obj):
        owners = {ref.get("uid") for ref in obj["metadata"].get("ownerReferences", [])}
        alive = {item["metadata"]["uid"] for item in self._objects.values()}
        return bool(owners) and not owners & alive

    def _collect_garbage(self, owner_uid):
        """Delete dependents whose owners are all gone (background propagation)."""
        alive = {obj["metadata"]["uid"] for obj in self._objects.values()}
        for (resource, namespace, name), obj in list(self._objects.items()):
            owners = [ref.get("uid") for ref in obj["metadata"].get("ownerReferences", [])]
            if owner_uid in owners and not alive.intersection(owners):
                try:
                    self.delete(self._types[resource], namespace, name)
                except errors.ApiError:
                    pass  # already removed by an earlier step of this cascade

    def _refresh_custom_types(self):
        crds = [obj for (resource, _, _), obj in self._objects.items() if resource == CRDS.qualified]
        self._custom_types = tuple(rt for crd in crds for rt in from_crd(crd))
        self._types.update({rt.qualified: rt for rt in self._custom_types})
