"""A stand-in kubelet: runs each pod's containers as local processes, each in the pod's
network namespace and in its own mount namespace over a copy-on-write root (see
container_init.py), and reports phase, readiness, restarts and exit codes.

Differences from a real kubelet, chosen to keep tests fast: crash back-off is 0.5 s
doubling up to 5 s (a kubelet: 10 s up to 5 min), the termination grace period is at
most 3 s, and deleted pods go at once. Probes: see probes.py. No resource limits, no
PID namespace."""

import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from pathlib import Path

from .controllers import Controller
from .images import UV_CACHE, ImagePullError, Images
from .network import dial_in_namespace, etc_hosts_path, write_etc_hosts
from .probes import Probes
from .resources import PODS
from .store import now
from .volumes import NotReady, container_mounts, env_from_sources, key_ref_value, volume_sources

NODE_NAME = "fake-node"
MAX_GRACE_SECONDS = 3
CONTAINER_INIT = os.path.join(os.path.dirname(__file__), "container_init.py")
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


def pod_hostname(name):
    """The hostname a kubelet gives a pod: its name cut to 63 characters (the limit of a
    DNS label and of sethostname), without a trailing '-' or '.'."""
    return name[:63].rstrip("-.")


class Container:
    """One container of a pod: started through container_init.py whenever its restart
    policy asks, with a fresh writable layer each time (as a new container would)."""

    def __init__(self, spec, pod):
        self.spec = spec
        self.pod = pod  # the PodRuntime
        self.log_path = pod.kubelet.log_path(pod.namespace, pod.name, spec["name"])
        # a kubelet keeps logs per pod UID: a new pod of an old name starts with none
        self.log_path.unlink(missing_ok=True)
        self.process = None
        self.restarts = 0
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.ready = False
        self.start_at = time.monotonic()  # None once it will never run again
        self.probes = None  # of the current run
        self.kill_at = None  # when a container its probes killed gets SIGKILL
        self.env = {}
        self.image = pod.kubelet.pull(spec)
        if isinstance(self.image, ImagePullError):
            self.start_at = None
            self.state = {"waiting": {"reason": "ErrImagePull", "message": str(self.image)}}

    def sync(self, restart_policy, spawned):
        if self.process is None and self.start_at is not None and time.monotonic() >= self.start_at:
            self._start(spawned, restart_policy)
        elif self.process is not None and self.process.poll() is not None:
            self._exited(self.process.returncode, restart_policy)
        if self.process is not None:
            self._probe()

    def _launch_spec(self):
        env = self.pod.kubelet.container_env(self.pod, self.spec, self.image.env)
        argv = self.image.argv(
            *([expand(str(word), env) for word in self.spec.get(key) or []] for key in ("command", "args"))
        )
        if not argv:
            raise NotReady("CreateContainerError", "no command specified")
        layer = self.pod.dir / "containers" / self.spec["name"] / str(self.restarts)
        for part in ("upper", "work", "merged"):
            (layer / part).mkdir(parents=True, exist_ok=True)
        mounts = self.pod.kubelet.infrastructure_mounts + container_mounts(self.spec, self.pod.volumes())
        hosts = etc_hosts_path(self.pod.kubelet.dns_dir, self.pod.namespace)
        if not hosts.exists():
            write_etc_hosts(self.pod.kubelet.dns_dir, self.pod.namespace, {})
        launch = {
            "netns": self.pod.netns,
            "hostname": pod_hostname(self.pod.name),
            "upper": str(layer / "upper"),
            "hosts": str(hosts),
            "work": str(layer / "work"),
            "merged": str(layer / "merged"),
            "hide": [str(self.pod.kubelet.root)],
            "mounts": mounts,
            "workingDir": self.spec.get("workingDir", "/"),
            "argv": argv,
        }
        return [sys.executable, "-S", CONTAINER_INIT, json.dumps(launch)], env

    def _start(self, spawned, restart_policy):
        try:
            argv, env = self._launch_spec()
        except NotReady as waiting:
            self.state = {"waiting": {"reason": waiting.reason, "message": waiting.message}}
            self.start_at = time.monotonic() + 0.5
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
        except OSError as error:
            self.state = {"terminated": {"exitCode": 128, "reason": "StartError", "message": str(error)}}
            self._exited(128, restart_policy, "StartError")
            return
        spawned.add(self.process.pid)
        self.state = {"running": {"startedAt": now()}}
        self.start_at = None
        self.env = env
        self.probes = Probes(self.spec, time.monotonic())

    def _exited(self, code, restart_policy, reason=None):
        if self.process is not None:
            signal_group(self.process.pid, signal.SIGKILL)  # like a container: nothing outlives it
        code = 128 - code if code < 0 else code  # killed by a signal
        if reason is None and code == 128 and not self._ran_command():
            reason = "StartError"  # container_init could not set up or exec
        started = self.state.get("running", {}).get("startedAt")
        terminated = {
            "exitCode": code,
            "reason": reason or ("Completed" if code == 0 else "Error"),
            "startedAt": started,
            "finishedAt": now(),
        }
        if reason == "StartError":
            terminated["message"] = self._last_log_line()
        self.process = None
        self.ready = False
        self.kill_at = None
        if restart_policy == "Always" or (restart_policy == "OnFailure" and code != 0):
            self.restarts += 1
            self.last_state = {"terminated": terminated}
            delay = min(0.5 * 2 ** (self.restarts - 1), 5)
            self.state = {
                "waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": (
                        f"back-off {delay:g}s restarting failed container={self.spec['name']} "
                        f"pod={self.pod.name}_{self.pod.namespace}({self.pod.uid})"
                    ),
                }
            }
            self.start_at = time.monotonic() + delay
        else:
            self.state = {"terminated": terminated}
            self.start_at = None

    def _ran_command(self):
        return not self._last_log_line().startswith(("fake container runtime:", "exec "))

    def _last_log_line(self):
        with suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            return lines[-1] if lines else ""
        return ""

    def _probe(self):
        moment = time.monotonic()
        if self.kill_at is not None:
            if moment >= self.kill_at:
                signal_group(self.process.pid, signal.SIGKILL)
        elif self.probes.run(moment, self.pod.ip, self.process.pid, self.env):
            signal_group(self.process.pid, signal.SIGTERM)
            self.kill_at = moment + MAX_GRACE_SECONDS
        self.ready = self.kill_at is None and self.probes.ready

    def status(self):
        return {
            "name": self.spec["name"],
            "image": self.spec.get("image", ""),
            "imageID": "",
            "containerID": f"fake://{self.process.pid}" if self.process else "",
            "ready": self.ready,
            "started": self.process is not None and self.probes.started,
            "restartCount": self.restarts,
            "state": self.state,
            "lastState": self.last_state,
        }


class PodRuntime:
    def __init__(self, kubelet, pod, netns, ip):
        meta = pod["metadata"]
        self.kubelet = kubelet
        self.pod = pod
        self.uid, self.name, self.namespace = meta["uid"], meta["name"], meta["namespace"]
        self.netns, self.ip = netns, ip
        self.dir = kubelet.root / "pods" / self.namespace / f"{self.name}-{self.uid[:8]}"
        self.restart_policy = pod["spec"].get("restartPolicy", "Always")
        self.containers = [Container(spec, self) for spec in pod["spec"]["containers"]]
        self.started_at = now()
        self._volumes = None

    def volumes(self):
        if self._volumes is None:
            self._volumes = volume_sources(self.kubelet.store, self.pod, self.dir, self.kubelet.root)
        return self._volumes

    def sync(self, spawned):
        for container in self.containers:
            container.sync(self.restart_policy, spawned)

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
            "hostIP": self.kubelet.network.node_ip,
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": self.started_at,
            "containerStatuses": [c.status() for c in self.containers],
        }


class Kubelet(Controller):
    watches = (PODS.qualified,)
    period = 0.2

    def __init__(self, store, network, root, dns_dir, site_dir, pip_proxy=None):
        super().__init__(store)
        self.network = network
        self.root = Path(root)
        self.dns_dir = Path(dns_dir)
        self._base_env = {
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]),
            "LANG": "C.UTF-8",
            "HOME": "/root",
            "PYTHONUNBUFFERED": "1",  # so that pod logs are up to date
            "PYTHONPATH": str(site_dir),
            "FAKEKUBE_HOSTS": str(Path(dns_dir) / "hosts.json"),
        }
        # what every container sees of the fake itself: the cluster DNS table, and the
        # package cache that the dask images' installs share (images.py)
        UV_CACHE.mkdir(parents=True, exist_ok=True)
        self.infrastructure_mounts = [
            {"source": str(dns_dir), "target": str(dns_dir), "readOnly": True},
            {"source": str(UV_CACHE), "target": str(UV_CACHE), "readOnly": False},
        ]
        self._pods = {}  # (namespace, name) -> PodRuntime
        self.images = Images(pip_proxy=pip_proxy)
        self._terminations = []  # threads ending the processes of deleted pods
        self.spawned = set()  # every process group ever started, to check none is left

    def dial(self, namespace, pod, port):
        """Connect to a port of a running pod from inside its network namespace."""
        runtime = self._pods.get((namespace, pod))
        if runtime is None:
            raise ConnectionRefusedError(111, f"pod {namespace}/{pod} has no sandbox on this node")
        return dial_in_namespace(runtime.netns, port)

    def log_path(self, namespace, pod, container):
        return self.root / "logs" / namespace / pod / f"{container}.log"

    def run(self):
        try:
            super().run()
        finally:
            # From this thread, before it ends and the kernel kills the pods abruptly.
            runtimes = list(self._pods.values())
            terminate([p for runtime in runtimes for p in runtime.processes()], MAX_GRACE_SECONDS)
            self._pods.clear()
            for termination in self._terminations:
                termination.join()
            for runtime in runtimes:
                self._clean_up(runtime)

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
            pod = self.store.update(
                PODS,
                meta["namespace"],
                meta["name"],
                lambda current: {**current, "spec": {**current["spec"], "nodeName": NODE_NAME}},
            )
        netns, ip = self.network.add_pod()
        return PodRuntime(self, pod, netns, ip)

    def pull(self, container):
        """The container's Image, or the ImagePullError that keeps it waiting."""
        try:
            return self.images.resolve(container.get("image", ""))
        except ImagePullError as error:
            return error

    def container_env(self, pod, container, image_env):
        env = {
            **self._base_env,
            **image_env,
            "HOSTNAME": pod_hostname(pod.name),
            "FAKEKUBE_POD_NAMESPACE": pod.namespace,
            "FAKEKUBE_POD_IP": pod.ip,  # the kubelet's /etc/hosts line for the pod (podsite)
        }
        env.update(env_from_sources(self.store, pod.namespace, container))
        fields = {
            "metadata.name": pod.name,
            "metadata.namespace": pod.namespace,
            "metadata.uid": pod.uid,
            "status.podIP": pod.ip,
            "status.hostIP": self.network.node_ip,
            "spec.nodeName": NODE_NAME,
        }
        for item in container.get("env", []):
            value_from = item.get("valueFrom", {})
            if "value" in item:
                env[item["name"]] = expand(str(item["value"]), env)
            elif "fieldRef" in value_from:
                env[item["name"]] = fields.get(value_from["fieldRef"]["fieldPath"], "")
            elif "secretKeyRef" in value_from or "configMapKeyRef" in value_from:
                value = key_ref_value(self.store, pod.namespace, value_from)
                if value is not None:
                    env[item["name"]] = value
            else:
                env[item["name"]] = ""
        return env

    def _remove_pod(self, key):
        runtime = self._pods.pop(key)
        # Not from this thread: the grace period must not stall the other pods.
        termination = threading.Thread(target=self._end, args=(runtime,), daemon=True)
        termination.start()
        self._terminations = [t for t in self._terminations if t.is_alive()] + [termination]

    def _end(self, runtime):
        terminate(runtime.processes(), MAX_GRACE_SECONDS)
        self._clean_up(runtime)

    def _clean_up(self, runtime):
        self.network.remove_pod(runtime.ip)
        shutil.rmtree(runtime.dir, ignore_errors=True)
