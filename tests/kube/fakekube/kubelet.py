"""A stand-in kubelet: runs each pod's containers as local processes, with their own
loopback address, and reports phase, readiness, restarts and exit codes.

Differences from a real kubelet, chosen to keep tests fast: readiness probes poll
every 0.2 s until first ready, crash back-off is 0.5 s doubling up to 5 s, the
termination grace period is at most 3 s, and deleted pods go at once."""

import ctypes
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress

from .controllers import Controller
from .images import ImagePullError, Images
from .network import NODE_IP
from .resources import PODS
from .store import now

NODE_NAME = "fake-node"
MAX_GRACE_SECONDS = 3
_VARIABLE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def expand(text, env):
    """Kubernetes $(VAR) expansion: unknown variables stay as written, $$ escapes."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VARIABLE.sub(replace, text)


def _die_with_parent():
    # Runs in the child before exec. The signal comes when the spawning *thread*
    # ends, so pods are only ever started from the long-lived kubelet thread.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def signal_group(pgid, signum):
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def terminate(processes, grace):
    """SIGTERM the process groups, then SIGKILL whatever is left after `grace`."""
    for process in processes:
        signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with suppress(subprocess.TimeoutExpired):
            process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        signal_group(process.pid, signal.SIGKILL)
        process.wait()


class Container:
    def __init__(self, spec, env, log_path, workdir, image):
        self.spec = spec
        self.env = env
        self.log_path = log_path
        self.workdir = workdir
        self.process = None
        self.restarts = 0
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.ready = False
        self.start_at = time.monotonic()  # None once it will never run again
        if isinstance(image, ImagePullError):
            self.argv, self.start_at = [], None
            self.state = {"waiting": {"reason": "ErrImagePull", "message": str(image)}}
        else:
            self.argv = image.argv(*([expand(str(word), env) for word in spec.get(key, [])] for key in ("command", "args")))
        self.probe_at = 0.0

    def sync(self, restart_policy, pod_ip, spawned):
        if self.process is None and self.start_at is not None and time.monotonic() >= self.start_at:
            self._start(spawned)
        elif self.process is not None and self.process.poll() is not None:
            self._exited(self.process.returncode, restart_policy)
        if self.process is not None:
            self._probe(pod_ip)

    def _start(self, spawned):
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    self.argv, env=self.env, cwd=self.workdir, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=_die_with_parent,
                )
        except (OSError, IndexError) as error:  # IndexError: no command at all
            self.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": str(error)}}
            self.start_at = None
            return
        spawned.add(self.process.pid)
        self.state = {"running": {"startedAt": now()}}
        self.start_at = None
        probe = self.spec.get("readinessProbe", {})
        self.probe_at = time.monotonic() + probe.get("initialDelaySeconds", 0)

    def _exited(self, code, restart_policy):
        signal_group(self.process.pid, signal.SIGKILL)  # like a container: nothing outlives it
        code = 128 - code if code < 0 else code  # killed by a signal
        started = self.state.get("running", {}).get("startedAt")
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": started, "finishedAt": now()}
        self.process = None
        self.ready = False
        if restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0):
            self.restarts += 1
            self.last_state = {"terminated": terminated}
            self.state = {"waiting": {"reason": "CrashLoopBackOff"}}
            self.start_at = time.monotonic() + min(0.5 * 2 ** (self.restarts - 1), 5)
        else:
            self.state = {"terminated": terminated}

    def _probe(self, pod_ip):
        probe = self.spec.get("readinessProbe")
        if probe is None:
            self.ready = True
            return
        if time.monotonic() < self.probe_at:
            return
        self.ready = _probe_succeeds(probe, pod_ip, self.spec)
        self.probe_at = time.monotonic() + (probe.get("periodSeconds", 10) if self.ready else 0.2)

    def status(self):
        return {
            "name": self.spec["name"],
            "image": self.spec.get("image", ""),
            "imageID": "",
            "containerID": f"fake://{self.process.pid}" if self.process else "",
            "ready": self.ready,
            "started": self.process is not None,
            "restartCount": self.restarts,
            "state": self.state,
            "lastState": self.last_state,
        }


def _probe_succeeds(probe, pod_ip, container):
    """httpGet and tcpSocket probes; other kinds count as passing."""
    check = probe.get("httpGet") or probe.get("tcpSocket")
    if check is None:
        return True
    port = check["port"]
    if not str(port).isdigit():
        port = next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == port)
    timeout = min(probe.get("timeoutSeconds", 1), 1)
    try:
        if "httpGet" in probe:
            connection = http.client.HTTPConnection(check.get("host", pod_ip), int(port), timeout=timeout)
            try:
                connection.request("GET", check.get("path", "/"))
                return 200 <= connection.getresponse().status < 400
            finally:
                connection.close()
        with socket.create_connection((pod_ip, int(port)), timeout=timeout):
            return True
    except (OSError, http.client.HTTPException):
        return False


class PodRuntime:
    def __init__(self, pod, ip, containers):
        self.uid = pod["metadata"]["uid"]
        self.ip = ip
        self.restart_policy = pod["spec"].get("restartPolicy", "Always")
        self.containers = containers
        self.started_at = now()

    def sync(self, spawned):
        for container in self.containers:
            container.sync(self.restart_policy, self.ip, spawned)

    def processes(self):
        return [c.process for c in self.containers if c.process is not None]

    def status(self):
        states = [c.state for c in self.containers]
        if all("terminated" in state for state in states):
            failed = any(state["terminated"]["exitCode"] != 0 for state in states)
            phase = "Failed" if failed else "Succeeded"
        elif any(c.process is not None or c.restarts for c in self.containers):
            phase = "Running"
        else:
            phase = "Pending"
        ready = str(phase == "Running" and all(c.ready for c in self.containers))
        return {
            "phase": phase,
            "conditions": [
                {"type": "PodScheduled", "status": "True"},
                {"type": "Initialized", "status": "True"},
                {"type": "ContainersReady", "status": ready},
                {"type": "Ready", "status": ready},
            ],
            "hostIP": NODE_IP,
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.started_at,
            "containerStatuses": [c.status() for c in self.containers],
        }


class Kubelet(Controller):
    watches = (PODS.qualified,)
    period = 0.2

    def __init__(self, store, addresses, root, hosts_path, site_dir):
        super().__init__(store)
        self._addresses = addresses
        self._root = root
        self._base_env = {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",  # so that pod logs are up to date
            "PYTHONPATH": str(site_dir),
            "FAKEKUBE_HOSTS": str(hosts_path),
        }
        self._pods = {}  # (namespace, name) -> PodRuntime
        self.images = Images()
        self._terminations = []  # threads ending the processes of deleted pods
        self.spawned = set()  # every process group ever started, to check none is left

    def log_path(self, namespace, pod, container):
        return self._root / "logs" / namespace / pod / f"{container}.log"

    def run(self):
        try:
            super().run()
        finally:
            # From this thread, before it ends and the kernel kills the pods abruptly.
            terminate([p for runtime in self._pods.values() for p in runtime.processes()], MAX_GRACE_SECONDS)
            self._pods.clear()
            for termination in self._terminations:
                termination.join()

    def reconcile(self):
        pods, _ = self.store.list(PODS)
        present = set()
        for pod in pods:
            meta = pod["metadata"]
            key = (meta["namespace"], meta["name"])
            present.add(key)
            runtime = self._pods.get(key)
            if runtime is None or runtime.uid != meta["uid"]:
                if runtime is not None:
                    self._remove_pod(key)
                runtime = self._pods[key] = self._admit(pod)
            runtime.sync(self.spawned)
            status = runtime.status()
            if pod["status"] != status:
                self.store.update(PODS, *key, lambda current, status=status: {**current, "status": status}, "status")
        for key in set(self._pods) - present:
            self._remove_pod(key)

    def _admit(self, pod):
        meta = pod["metadata"]
        if not pod["spec"].get("nodeName"):
            self.store.update(PODS, meta["namespace"], meta["name"], lambda current: {
                **current, "spec": {**current["spec"], "nodeName": NODE_NAME}})
        ip = self._addresses.allocate()
        workdir = self._root / "pods" / meta["namespace"] / meta["name"]
        containers = []
        for spec in pod["spec"]["containers"]:
            image = self._pull(spec)
            containers.append(Container(spec, self._env(pod, spec, ip, workdir, getattr(image, "env", {})),
                                        self.log_path(meta["namespace"], meta["name"], spec["name"]), workdir, image))
        return PodRuntime(pod, ip, containers)

    def _pull(self, container):
        try:
            return self.images.resolve(container.get("image", ""))
        except ImagePullError as error:
            return error

    def _env(self, pod, container, ip, workdir, image_env):
        meta = pod["metadata"]
        env = {**self._base_env, **image_env, "HOME": str(workdir), "HOSTNAME": meta["name"],
               "FAKEKUBE_POD_IP": ip, "FAKEKUBE_POD_NAMESPACE": meta["namespace"]}
        fields = {"metadata.name": meta["name"], "metadata.namespace": meta["namespace"],
                  "status.podIP": ip, "spec.nodeName": NODE_NAME}
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = expand(str(item["value"]), env)
            elif "fieldRef" in item.get("valueFrom", {}):
                env[item["name"]] = fields.get(item["valueFrom"]["fieldRef"]["fieldPath"], "")
        return env

    def _remove_pod(self, key):
        runtime = self._pods.pop(key)
        self._addresses.release(runtime.ip)
        # Not from this thread: the grace period must not stall the other pods.
        processes = runtime.processes()
        if processes:
            termination = threading.Thread(target=terminate, args=(processes, MAX_GRACE_SECONDS), daemon=True)
            termination.start()
            self._terminations = [t for t in self._terminations if t.is_alive()] + [termination]
