"""What the kubelet reads from the API to start a container: the pod's volumes (as
host directories to bind-mount) and the environment from Secrets and ConfigMaps.

Volume kinds: emptyDir (per pod), persistentVolumeClaim (one directory per claim
under the fake's root, shared by every pod that mounts the claim; the claim must
exist, as on a real cluster), hostPath, secret and configMap (files written from the
stored object). A missing object keeps the container waiting, with the message a
real kubelet gives, until it appears."""

import base64
import os
from pathlib import Path

from . import errors
from .resources import CONFIGMAPS, PVCS, SECRETS


class NotReady(Exception):
    """The container cannot start yet: (reason, message) for its waiting state."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason, self.message = reason, message


def _lookup(store, rt, namespace, name):
    try:
        return store.get(rt, namespace, name, copy_=False)
    except errors.ApiError:
        return None


def _contents(obj):
    """A Secret's or ConfigMap's keys as bytes."""
    if obj["kind"] == "Secret":
        return {key: base64.b64decode(value) for key, value in (obj.get("data") or {}).items()}
    contents = {key: value.encode() for key, value in (obj.get("data") or {}).items()}
    contents.update({key: base64.b64decode(value) for key, value in (obj.get("binaryData") or {}).items()})
    return contents


def claim_path(root, namespace, claim):
    return Path(root) / "volumes" / namespace / claim


def volume_sources(store, pod, pod_dir, root):
    """{volume name: host path} for the pod's volumes; raises NotReady."""
    namespace = pod["metadata"]["namespace"]
    sources = {}
    for volume in pod["spec"].get("volumes", []):
        name = volume["name"]
        if "emptyDir" in volume:
            path = pod_dir / "volumes" / name
            path.mkdir(parents=True, exist_ok=True)
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            if _lookup(store, PVCS, namespace, claim) is None:
                raise NotReady("ContainerCreating", f'persistentvolumeclaim "{claim}" not found')
            path = claim_path(root, namespace, claim)
            path.mkdir(parents=True, exist_ok=True)
        elif "hostPath" in volume:
            path = Path(volume["hostPath"]["path"])
            kind = volume["hostPath"].get("type", "")
            if kind == "DirectoryOrCreate":
                path.mkdir(parents=True, exist_ok=True)
            elif kind == "FileOrCreate" and not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
            elif not path.exists():
                raise NotReady("ContainerCreating", f"hostPath type check failed: {path} does not exist")
        elif "secret" in volume or "configMap" in volume:
            path = _write_files(store, namespace, volume, pod_dir / "volumes" / name)
        else:
            kind = next((key for key in volume if key != "name"), "?")
            raise NotReady("ContainerCreating", f"the fake kubelet does not support {kind} volumes")
        sources[name] = path
    return sources


def _write_files(store, namespace, volume, path):
    is_secret = "secret" in volume
    source = volume["secret"] if is_secret else volume["configMap"]
    name = source.get("secretName") if is_secret else source.get("name")
    rt = SECRETS if is_secret else CONFIGMAPS
    obj = _lookup(store, rt, namespace, name)
    path.mkdir(parents=True, exist_ok=True)
    if obj is None:
        if source.get("optional"):
            return path
        raise NotReady("ContainerCreating", f'{rt.singular} "{name}" not found')
    contents = _contents(obj)
    items = source.get("items") or [{"key": key, "path": key} for key in contents]
    for item in items:
        if item["key"] not in contents:
            raise NotReady("ContainerCreating", f"couldn't find key {item['key']} in {rt.kind} {namespace}/{name}")
        target = path / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(contents[item["key"]])
        os.chmod(target, item.get("mode", source.get("defaultMode", 0o644)))
    return path


def container_mounts(container, sources):
    """[{source, target, readOnly}] for the container's volumeMounts."""
    mounts = []
    for mount in container.get("volumeMounts", []):
        if mount["name"] not in sources:
            raise NotReady("CreateContainerConfigError", f'volume "{mount["name"]}" not found in the pod spec')
        source = Path(sources[mount["name"]])
        if mount.get("subPath"):
            source = source / mount["subPath"]
            source.mkdir(parents=True, exist_ok=True)
        mounts.append({"source": str(source), "target": mount["mountPath"], "readOnly": mount.get("readOnly", False)})
    return mounts


def env_from_sources(store, namespace, container):
    """The variables of envFrom (secretRef, configMapRef), in order, prefixed."""
    env = {}
    for source in container.get("envFrom", []):
        ref, rt = (source["secretRef"], SECRETS) if "secretRef" in source else (source.get("configMapRef"), CONFIGMAPS)
        obj = _lookup(store, rt, namespace, ref["name"])
        if obj is None:
            if ref.get("optional"):
                continue
            raise NotReady("CreateContainerConfigError", f'{rt.singular} "{ref["name"]}" not found')
        prefix = source.get("prefix", "")
        env.update({prefix + key: value.decode() for key, value in _contents(obj).items()})
    return env


def key_ref_value(store, namespace, value_from):
    """The value of a secretKeyRef / configMapKeyRef, or None when optional and missing."""
    ref, rt = (
        (value_from["secretKeyRef"], SECRETS)
        if "secretKeyRef" in value_from
        else (value_from["configMapKeyRef"], CONFIGMAPS)
    )
    obj = _lookup(store, rt, namespace, ref["name"])
    contents = _contents(obj) if obj else {}
    if ref["key"] in contents:
        return contents[ref["key"]].decode()
    if ref.get("optional"):
        return None
    if obj is None:
        raise NotReady("CreateContainerConfigError", f'{rt.singular} "{ref["name"]}" not found')
    raise NotReady(
        "CreateContainerConfigError", f"couldn't find key {ref['key']} in {rt.kind} {namespace}/{ref['name']}"
    )
