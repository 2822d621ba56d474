"""Container probes as the kubelet's prober runs them: one worker per probe, ticking
every periodSeconds from the container's start; a tick within initialDelaySeconds of the
start does nothing; a result counts once failureThreshold (successThreshold) ticks in a
row agree. Readiness starts failed, liveness passed, startup unknown; until a startup
probe passes the other probes wait. A liveness or startup failure kills the container
(its restart policy then decides) and holds the probe until the next run.

Differences: the real kubelet also probes readiness at once whenever it syncs a pod
that is not ready (here only ticks count); a probe waits at most 1 s for an answer;
exec probes run with nsenter in the container's namespaces and root, grpc probes pass."""

import http.client
import socket
import subprocess

DEFAULTS = {
    "initialDelaySeconds": 0,
    "periodSeconds": 10,
    "timeoutSeconds": 1,
    "successThreshold": 1,
    "failureThreshold": 3,
}
INITIAL = {"startupProbe": None, "readinessProbe": False, "livenessProbe": True}
MAX_TIMEOUT = 1


class ProbeWorker:
    def __init__(self, kind, spec, started_at):
        self.kind = kind
        self.spec = {**DEFAULTS, **spec}
        self.result = INITIAL[kind]
        self.started_at = started_at
        self.next_tick = started_at
        self._last, self._run = None, 0
        self.on_hold = False

    def due(self, now):
        if now < self.next_tick:
            return False
        while self.next_tick <= now:
            self.next_tick += self.spec["periodSeconds"]
        return not self.on_hold and int(now - self.started_at) >= self.spec["initialDelaySeconds"]

    def record(self, success):
        """Count one probe outcome; True when the worker's result changed to it."""
        self._run = self._run + 1 if success == self._last else 1
        self._last = success
        threshold = self.spec["successThreshold" if success else "failureThreshold"]
        if self._run < threshold or self.result == success:
            return False
        self.result = success
        if not success and self.kind != "readinessProbe":
            self.on_hold, self._run = True, 0  # the container is killed; probe its successor
        return True


class Probes:
    """The probe workers of one run of a container."""

    def __init__(self, container_spec, started_at):
        self.container = container_spec
        self.workers = {
            kind: ProbeWorker(kind, container_spec[kind], started_at) for kind in INITIAL if container_spec.get(kind)
        }

    @property
    def started(self):
        startup = self.workers.get("startupProbe")
        return startup is None or startup.result is True

    @property
    def ready(self):
        readiness = self.workers.get("readinessProbe")
        return self.started and (readiness is None or readiness.result is True)

    def run(self, now, pod_ip, pid, env):
        """Probe what is due; True when a liveness or startup probe says: kill the container."""
        for kind, worker in self.workers.items():
            if (kind == "startupProbe") == self.started or not worker.due(now):
                continue  # startup probes run until the container started, the others after
            success = probe_succeeds(worker.spec, pod_ip, pid, self.container, env)
            if worker.record(success) and not success and kind != "readinessProbe":
                return True
        return False


def probe_succeeds(probe, pod_ip, pid, container, env):
    timeout = min(probe["timeoutSeconds"], MAX_TIMEOUT)
    if "exec" in probe:
        command = ["nsenter", "-t", str(pid), "-m", "-u", "-n", "-r", "-w", "--", *probe["exec"]["command"]]
        try:
            return (
                subprocess.run(
                    command,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=timeout,
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    check = probe.get("httpGet") or probe.get("tcpSocket")
    if check is None:
        return True
    port = check["port"]
    if not str(port).isdigit():
        port = next(p["containerPort"] for p in container.get("ports", []) if p.get("name") == port)
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
