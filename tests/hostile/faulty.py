"""A fault-injecting HTTP server that stands in for a broken Kubernetes API or Argo Server.

Every request gets the same fault, so whatever a client asks first meets it:
  hang        accept the connection, never answer
  close       accept, read the request, close without a word
  401 / 403   a Status whose message echoes the Authorization header (as some proxies do)
  409 / 500   a Status error
  nonjson     200 with an HTML page
  list        200 with the JSON [1, 2]
  wrongshape  200 with {"metadata": "oops", "items": 5, "gitVersion": 7}
  ndjson-bad  200 with lines that are not JSON (a log stream gone wrong)
  slow        answer a valid-looking JSON object after ``delay`` seconds
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("hang", "close", "401", "403", "409", "500", "nonjson", "list", "wrongshape", "ndjson-bad", "slow")

# The faults that a client meets as its own timeout: the cases give those a 1 s timeout, and
# every other fault a timeout no loaded machine reaches, so a prompt answer (a 401) that takes
# over a second on a busy machine is still read as the answer it is.
TIMED_OUT_FAULTS = ("hang", "slow")
ANSWER_TIMEOUT = 30
# what a loaded machine adds to a timed-out case's bound (a CI run saw a 4 s case take 9 s);
# a client that waited for a slow answer instead is still caught by its message
LOAD_SLACK = 10


def client_timeouts(fault: str) -> dict:
    """The Argo and Kubernetes client timeouts (dask config) a case against ``fault`` runs with."""
    seconds = 1 if fault in TIMED_OUT_FAULTS else ANSWER_TIMEOUT
    return {"argodasf.argo.timeout": seconds, "argodasf.kubernetes.request-timeout": seconds}


def client_timeouts_env(fault: str) -> dict:
    """The same timeouts as environment variables, for a CLI run in a subprocess."""
    return {
        "DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
        for key, value in client_timeouts(fault).items()
    }


def hang_bound(fault: str, bound: float) -> float:
    """The time within which a case against ``fault`` must end: ``bound`` and the load
    slack where the client times out, and past the client's own timeout where the server
    answers."""
    return bound + LOAD_SLACK if fault in TIMED_OUT_FAULTS else bound + ANSWER_TIMEOUT


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, code: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _fault(self):
        server = self.server
        if not server.requests:
            server.first_request_at = time.monotonic()
        server.requests.append((self.command, self.path, self.headers.get("Authorization")))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        fault = server.fault
        if fault == "hang":
            server.release.wait()
            return
        if fault == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        echo = self.headers.get("Authorization") or ""
        if fault in ("401", "403", "409", "500"):
            code = int(fault)
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "code": code,
                "message": f"denied for {echo}",
                "reason": "Unauthorized",
                "error": f"bad {echo}",
            }
            self._answer(code, json.dumps(status).encode())
        elif fault == "nonjson":
            self._answer(200, f"<html>proxy login {echo}</html>".encode(), "text/html")
        elif fault == "list":
            self._answer(200, b"[1, 2]")
        elif fault == "wrongshape":
            self._answer(
                200,
                json.dumps(
                    {"metadata": "oops", "items": 5, "gitVersion": 7, "status": "x", "resources": 3, "version": [echo]}
                ).encode(),
            )
        elif fault == "ndjson-bad":
            self._answer(200, f'not json {echo}\n{{"result": 5}}\n[1]\n'.encode())
        elif fault == "slow":
            time.sleep(server.delay)
            self._answer(200, b"{}")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _fault


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # a client that gave up (its timeout) is expected
        pass


class FaultyServer:
    """``with FaultyServer("hang") as server: server.address`` (host:port on loopback)."""

    def __init__(self, fault: str, delay: float = 30.0):
        assert fault in FAULTS, fault
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.fault, self.httpd.delay = fault, delay
        self.httpd.requests = []
        self.httpd.release = threading.Event()
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requests(self) -> list:
        return self.httpd.requests

    def seconds_since_first_request(self) -> float:
        """How long the client has been at it since it first reached this server: a
        client's own start (a fresh interpreter on a busy machine) is not a hang."""
        return time.monotonic() - self.httpd.first_request_at if self.requests else 0.0

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


TOKEN = "s3cr3t-t0ken-ZXhhbXBsZQ"


def kubeconfig(path, address: str, token: str = TOKEN, namespace: str = "default") -> str:
    """A kubeconfig for a plain-HTTP API server at ``address`` with a bearer token."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "faulty",
        "clusters": [{"name": "faulty", "cluster": {"server": f"http://{address}"}}],
        "users": [{"name": "faulty", "user": {"token": token}}],
        "contexts": [{"name": "faulty", "context": {"cluster": "faulty", "user": "faulty", "namespace": namespace}}],
    }
    path.write_text(json.dumps(config))
    return str(path)


# the reason the doctor gives, in its check's line, for each fault of the API server
DOCTOR_REASONS = {
    "hang": "no answer within 1 s",
    "slow": "no answer within 1 s",
    "close": "RemoteProtocolError",
    "401": "HTTP 401",
    "403": "HTTP 403",
    "409": "HTTP 409",
    "500": "HTTP 500",
    "nonjson": "JSONDecodeError",
    "ndjson-bad": "JSONDecodeError",
    "list": "TypeError",
    "wrongshape": "AttributeError",
}
