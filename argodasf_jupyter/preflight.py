"""Preflight: does each image of a draft hold what its steps import?

One short pod per distinct image, with the environment the steps' pods get (so
EXTRA_PIP_PACKAGES is installed by the image's entrypoint first), imports the steps'
modules and prints their distributions' versions. Every problem is one line: an
image that cannot be pulled, a module that fails to import there, a pinned
distribution at another version, a dask/distributed release other than the kernel's.
Each request and the whole pod are bounded in time; the pod is always deleted.
"""

from __future__ import annotations

import json
import secrets
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Iterable, Optional

from . import images
from .config import settings
from .errors import ArgodasfError
from .imports import Imported, describe

MARK = "ARGODASF-PREFLIGHT "
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
REQUEST_TIMEOUT = 10
# imports each module given as module=distribution and prints one JSON line of what it found
PROBE = (
    "import importlib,importlib.metadata as m,json,sys\n"
    "found={}\n"
    "for pair in sys.argv[1:]:\n"
    "    module,_,dist=pair.partition('=')\n"
    "    try:\n"
    "        importlib.import_module(module)\n"
    "        found[module]={'version':m.version(dist) if dist else None}\n"
    "    except Exception as error:\n"
    "        found[module]={'error':type(error).__name__+': '+str(error)}\n"
    f"print({MARK!r}+json.dumps(found),flush=True)\n"
)


class NoKubernetes(ArgodasfError):
    """No Kubernetes credentials to run preflight pods with."""


@dataclass
class ImageCheck:
    """What one image's preflight pod found."""

    image: str
    steps: list[str]
    imports: list[Imported]
    pins: str = ""
    versions: dict[str, Optional[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        found = ", ".join(f"{module} {version or '?'}" for module, version in sorted(self.versions.items()))
        head = f"image {self.image} (steps {', '.join(self.steps)}): " + (found or "imports nothing to check")
        return [head, *(f"image {self.image}: {problem}" for problem in self.problems)]


def image_groups(steps) -> list[ImageCheck]:
    """The DASF steps grouped by image, each group with the union of their imports
    and the EXTRA_PIP_PACKAGES their pods get."""
    groups: dict[str, ImageCheck] = {}
    for step in steps:
        if step.kind != "dasf":
            continue
        spec = images.provisioned(step.cluster, step.imports, step.name)
        image = images.image_of(spec)
        # every step runs distributed: its release is checked even when the cell imports neither
        group = groups.setdefault(image, ImageCheck(image, [], [describe("dask"), describe("distributed")]))
        group.steps.append(step.name)
        group.imports += [item for item in step.imports if item not in group.imports]
        pins = spec.env.get(images.PIP_VARIABLE, "")
        group.pins = " ".join(dict.fromkeys((group.pins + " " + pins).split()))
    return list(groups.values())


def probe_pod(check: ImageCheck, namespace: Optional[str], deadline: int) -> dict:
    pairs = [f"{item.module}={item.distribution or ''}" for item in check.imports]
    container = {"name": "preflight", "image": check.image, "args": ["python", "-c", PROBE, *pairs]}
    if check.pins:
        container["env"] = [{"name": images.PIP_VARIABLE, "value": check.pins}]
    metadata = {"name": f"argodasf-preflight-{secrets.token_hex(4)}", "labels": {"argodasf.io/preflight": "true"}}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"restartPolicy": "Never", "activeDeadlineSeconds": deadline, "containers": [container]},
    }


def _waiting(pod) -> dict:
    statuses = pod.raw.get("status", {}).get("containerStatuses") or [{}]
    return statuses[0].get("state", {}).get("waiting") or {}


def _run_pod(api, check: ImageCheck, namespace: Optional[str], timeout: float) -> Optional[str]:
    """The probe's log, or None after recording why there is none."""
    from kr8s.objects import Pod

    pod = Pod(probe_pod(check, namespace, int(timeout)), api=api)
    pod.create()
    try:
        limit = time.monotonic() + timeout
        while True:
            pod.refresh()
            waiting = _waiting(pod)
            if waiting.get("reason") in PULL_FAILURES:
                check.problems.append(f"the image cannot be pulled ({waiting['reason']}: {waiting.get('message', '')})")
                return None
            if pod.raw.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                return "\n".join(pod.logs())
            if time.monotonic() > limit:
                check.problems.append(f"the preflight pod did not finish within {timeout:g} s")
                return None
            time.sleep(0.5)
    finally:
        with suppress(Exception):
            pod.delete()


def _read(check: ImageCheck, log: str) -> None:
    report = next((line[len(MARK) :] for line in log.splitlines() if line.startswith(MARK)), None)
    if report is None:
        tail = (log.strip().splitlines() or ["no output"])[-1]
        check.problems.append(f"the preflight pod stopped before importing anything: {tail}")
        return
    found = json.loads(report)
    pinned = {images.normalize(pin.partition("==")[0]): pin.partition("==")[2] for pin in check.pins.split()}
    for item in check.imports:
        result = found.get(item.module, {})
        if "error" in result:
            check.problems.append(f"import {item.module} fails: {result['error']}")
            continue
        there = check.versions[item.module] = result.get("version")
        name = images.normalize(item.distribution or "")
        expected = pinned.get(name) or (item.version if name in ("dask", "distributed") else None)
        if expected and there and there != expected:
            check.problems.append(f"{item.distribution} is {there} there but {expected} in the kernel")


def check(steps: Iterable, namespace: Optional[str] = None, timeout: float = 300) -> list[ImageCheck]:
    """Run one preflight pod per distinct image of ``steps``, one after the other."""
    return run(image_groups(steps), namespace, timeout)


def run(results: list[ImageCheck], namespace: Optional[str] = None, timeout: float = 300) -> list[ImageCheck]:
    """Run the preflight pod of each image check, filling in what it found."""
    import kr8s

    try:
        api = kr8s.api(namespace=namespace)
    except ValueError as error:  # kr8s: "Unable to find valid credentials"
        raise NoKubernetes(f"cannot run the image preflight: {error} for Kubernetes (KUBECONFIG)") from None
    api.timeout = REQUEST_TIMEOUT
    for result in results:
        started = time.perf_counter()
        try:
            log = _run_pod(api, result, namespace, timeout)
        except Exception as error:  # the API said no: one line, as everywhere
            result.problems.append(f"the preflight pod could not run: {type(error).__name__}: {error}")
            log = None
        if log is not None:
            _read(result, log)
        result.seconds = time.perf_counter() - started
    return results


def cluster_image(spec, steps=(), namespace: Optional[str] = None, timeout: float = 120) -> ImageCheck:
    """The preflight of a cluster's image (what %dasf_doctor shows): dask and
    distributed, and what the draft's steps import, with the pins they would get."""
    image = images.image_of(spec)
    imported = [describe("dask"), describe("distributed")]
    for step in steps:
        imported += [item for item in step.imports if item not in imported]
    added = images.provision(image, imported) if settings().workflow.install_missing else None
    result = ImageCheck(image, [f"cluster {spec.name}"], imported, images.pip_packages(added) if added else "")
    return run([result], namespace, timeout)[0]


def as_check(result: ImageCheck):
    """A preflight result as a %dasf_doctor finding."""
    from .doctor import Check

    name = f"image {result.image}"
    if result.problems:
        return Check(name, False, "; ".join(result.problems), "set `image:` to an image that has them")
    return Check(name, True, result.lines()[0].split(": ", 1)[1])


def report(results: list[ImageCheck]) -> str:
    return "\n".join(line for result in results for line in result.lines())


def before_submit(steps, namespace: Optional[str] = None, out=print) -> None:
    """The preflight that submit runs first: show the report, and refuse in one line
    when it found a problem."""
    try:
        results = check(list(steps), namespace)
    except NoKubernetes as error:  # Argo may still be reachable: submit without it
        out(f"{error}; submitting without it")
        return
    out(report(results))
    problems = sum(len(result.problems) for result in results)
    if problems:
        raise ArgodasfError(
            f"the preflight found {problems} problem(s), listed above; fix them, or skip the preflight with --no-check"
        )
