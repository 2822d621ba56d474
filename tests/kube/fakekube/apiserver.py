"""The HTTP face of the fake: routing, bearer-token authentication, forbidden verbs,
discovery, CRUD/list/watch on the store, patches, /scale, Table output (tables.py),
pod logs, pod port-forwards (portforward.py) and access reviews."""

import functools
import json
import logging
import socket
import ssl
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import errors
from .patches import json_patch, merge_patch
from .portforward import PortForwardSession, ports_of
from .resources import ACCESS_REVIEWS, PODS
from .scale import scale_of, scaled
from .selectors import matcher
from .tables import table, wanted_table_version

KUBERNETES_VERSION = {"major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64"}
DEFAULT_WATCH_SECONDS = 1800
MERGE_PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


class ApiServer:
    def __init__(self, store, users, pod_log_path, pod_dial=None, host="127.0.0.1", tls=None):
        self.store = store
        self.users = users  # bearer token -> user name
        self.pod_log_path = pod_log_path  # (namespace, pod, container) -> Path
        self.pod_dial = pod_dial  # (namespace, pod, port) -> socket connected inside the pod
        self.forbidden = set()  # {(user, verb, resource)}; verb "*" forbids all verbs
        self.requests = Counter()  # (user, verb, resource) -> count
        self.watching = Counter()  # ResourceType.qualified -> open watch streams
        self.forwarding = Counter()  # (namespace, pod) -> open port-forward streams
        self._httpd = _HTTPServer((host, 0), _Handler)
        self._httpd.api = self
        self.scheme = "https" if tls is not None else "http"
        if tls is not None:  # an ssl.SSLContext: the handshake happens in each handler thread
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(
            target=functools.partial(self._httpd.serve_forever, poll_interval=0.1), name="fake-apiserver", daemon=True
        )

    @property
    def url(self):
        host, port = self._httpd.server_address
        return f"{self.scheme}://{host}:{port}"

    def start(self):
        self._thread.start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.close_connections()
        self._httpd.server_close()

    def is_forbidden(self, user, verb, resource):
        return bool({(user, verb, resource), (user, "*", resource)} & self.forbidden)

    # -- request handling -------------------------------------------------------------

    def handle(self, http, user, method, path, query, body):
        parts = [part for part in path.split("/") if part]
        if parts == ["version"]:
            self._count(user, "get", "version")
            return http.send_json(200, KUBERNETES_VERSION)
        if not parts or parts[0] not in ("api", "apis"):
            raise errors.page_not_found()
        group, rest = ("", parts[1:]) if parts[0] == "api" else (parts[1] if len(parts) > 1 else None, parts[2:])
        if len(rest) < 2:
            self._count(user, "get", "discovery")
            return http.send_json(200, self._discovery(group, rest[0] if rest else None))
        version, rest = rest[0], rest[1:]
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise errors.page_not_found()
        plural, name, subresource = (rest + [None, None])[:3]
        rt = self.store.find(group, version, plural)
        if rt is None or (subresource and subresource not in rt.subresources):
            raise errors.page_not_found()

        verb = _verb(method, name, query)
        resource = f"{plural}/{subresource}" if subresource else plural
        self._count(user, verb, resource)
        if self.is_forbidden(user, verb, resource):
            raise errors.forbidden(user, verb, rt, resource, namespace, name)

        if rt is ACCESS_REVIEWS:
            return http.send_json(201, self._review(user, body))
        if subresource == "log":
            return self._log(http, namespace, name, query)
        if subresource == "portforward":
            return self._portforward(http, namespace, name, query)
        if subresource == "scale":
            return self._scale(http, rt, namespace, name, verb, body)
        as_table = wanted_table_version(http.headers.get("Accept", ""))
        include = query.get("includeObject", "Metadata")
        if verb == "watch":
            return self._watch(http, rt, namespace, query, as_table)
        if verb == "list":
            items, version = self.store.list(rt, namespace, _selection(query), copy_=False)
            if as_table:
                return http.send_json(200, table(rt, items, version, as_table, include))
            return http.send_json(
                200,
                {
                    "kind": f"{rt.kind}List",
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": version},
                    "items": items,
                },
            )
        if verb == "get":
            obj = self.store.get(rt, namespace, name, copy_=False)
            if as_table:
                return http.send_json(200, table(rt, [obj], obj["metadata"]["resourceVersion"], as_table, include))
            return http.send_json(200, obj)
        if verb == "create":
            return http.send_json(201, self.store.create(rt, namespace, _object(body)))
        if verb == "update":
            new = _object(body)
            return http.send_json(200, self.store.update(rt, namespace, name, lambda old: new, subresource))
        if verb == "patch":
            change = _patcher(http.headers.get("Content-Type", ""), body)
            return http.send_json(200, self.store.update(rt, namespace, name, change, subresource))
        if verb == "delete":
            return http.send_json(200, self.store.delete(rt, namespace, name))
        if verb == "deletecollection":
            items, _ = self.store.list(rt, namespace, _selection(query))
            for item in items:
                self.store.delete(rt, item["metadata"].get("namespace"), item["metadata"]["name"])
            return http.send_json(
                200, {"kind": f"{rt.kind}List", "apiVersion": rt.api_version, "metadata": {}, "items": items}
            )
        raise errors.ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {resource}")

    def _scale(self, http, rt, namespace, name, verb, body):
        if verb == "get":
            return http.send_json(200, scale_of(rt, self.store.get(rt, namespace, name, copy_=False)))
        if verb == "update":
            new = _object(body)

            def change(old):
                return new
        elif verb == "patch":
            change = _patcher(http.headers.get("Content-Type", ""), body)
        else:
            raise errors.ApiError(
                405, "MethodNotAllowed", f"the server does not allow this method on {rt.plural}/scale"
            )
        return http.send_json(200, scale_of(rt, self.store.update(rt, namespace, name, scaled(rt, change))))

    def _count(self, user, verb, resource):
        self.requests[(user, verb, resource)] += 1

    def _discovery(self, group, version):
        types = [rt for rt in self.store.resource_types() if rt.group == (group or "")]
        if group == "" and version is None:
            return {"kind": "APIVersions", "versions": ["v1"]}
        if group is None:
            groups = {}
            for rt in self.store.resource_types():
                if rt.group:
                    groups.setdefault(rt.group, {}).setdefault(rt.version, None)
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [_group_doc(name, list(versions)) for name, versions in groups.items()],
            }
        if not types:
            raise errors.page_not_found()
        if version is None:
            return {
                "kind": "APIGroup",
                "apiVersion": "v1",
                **_group_doc(group, list(dict.fromkeys(rt.version for rt in types))),
            }
        resources = [entry for rt in types if rt.version == version for entry in rt.discovery()]
        if not resources:
            raise errors.page_not_found()
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }

    def _review(self, user, body):
        review = _object(body)
        attributes = review.get("spec", {}).get("resourceAttributes")
        allowed = True
        if attributes:
            resource = attributes.get("resource", "")
            if attributes.get("subresource"):
                resource += "/" + attributes["subresource"]
            allowed = not self.is_forbidden(user, attributes.get("verb", ""), resource)
        return {
            **review,
            "apiVersion": ACCESS_REVIEWS.api_version,
            "kind": ACCESS_REVIEWS.kind,
            "status": {"allowed": allowed},
        }

    def _watch(self, http, rt, namespace, query, as_table=None):
        """Newline-delimited events; with as_table each object is a one-row Table, with
        the column definitions in the first only (as kubectl get --watch receives them)."""
        match = _selection(query)
        headers = True

        def line(kind, obj):
            nonlocal headers
            if as_table:
                obj = table(
                    rt,
                    [obj],
                    obj["metadata"]["resourceVersion"],
                    as_table,
                    query.get("includeObject", "Metadata"),
                    headers=headers,
                )
                headers = False
            return _line({"type": kind, "object": obj})

        deadline = time.monotonic() + float(query.get("timeoutSeconds", DEFAULT_WATCH_SECONDS))
        since = query.get("resourceVersion")
        http.start_stream()
        self.watching[rt.qualified] += 1
        try:
            if since in (None, "", "0"):
                items, since = self.store.list(rt, namespace, match, copy_=False)
                for item in items:
                    http.write_chunk(line("ADDED", item))
            since = int(since)
            while not self.store.closed and (remaining := deadline - time.monotonic()) > 0:
                try:
                    events = self.store.events_after(since, min(remaining, 1.0))
                except errors.Gone as gone:
                    http.write_chunk(_line({"type": "ERROR", "object": gone.status()}))
                    break
                for event in events:
                    since = event.resource_version
                    if event.resource == rt.qualified and namespace in (None, event.namespace) and match(event.object):
                        http.write_chunk(line(event.type, event.object))
            http.end_stream()
        except OSError:
            pass  # the client went away
        finally:
            self.watching[rt.qualified] -= 1

    def _portforward(self, http, namespace, name, query):
        pod = self.store.get(PODS, namespace, name, copy_=False)
        if http.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request("Upgrade request required")
        ports = ports_of(query.get("ports"))
        if pod["status"].get("phase") != "Running":
            raise errors.bad_request(f"pod {name} is not running and cannot be port-forwarded")
        http.close_connection = True  # the stream ends with the session
        dial = functools.partial(self.pod_dial, namespace, name)
        self.forwarding[(namespace, name)] += 1
        try:
            PortForwardSession(http, name, pod["metadata"]["uid"], ports, dial).serve(http.raw_request())
        finally:
            self.forwarding[(namespace, name)] -= 1

    def _log(self, http, namespace, name, query):
        pod = self.store.get(PODS, namespace, name, copy_=False)
        containers = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container") or containers[0]
        path = self.pod_log_path(namespace, name, container)
        if container not in containers or not path.exists():
            raise errors.bad_request(f'container "{container}" in pod "{name}" is waiting to start')
        text = path.read_bytes()
        if "tailLines" in query:
            text = b"".join(text.splitlines(keepends=True)[-int(query["tailLines"]) :])
        if query.get("follow") not in ("true", "1"):
            return http.send_bytes(200, text[: int(query.get("limitBytes", len(text)))], "text/plain")
        http.start_stream("text/plain")
        offset = path.stat().st_size
        http.write_chunk(text)
        while not self.store.closed:
            time.sleep(0.2)
            with path.open("rb") as log:
                log.seek(offset)
                more = log.read()
            offset += len(more)
            if more:
                http.write_chunk(more)
            elif not _pod_running(self.store, namespace, name):
                break
        http.end_stream()


def _pod_running(store, namespace, name):
    try:
        return store.get(PODS, namespace, name, copy_=False)["status"]["phase"] in ("Pending", "Running")
    except errors.ApiError:
        return False


def _verb(method, name, query):
    if method == "GET":
        if name:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
    if method in verbs:
        return verbs[method]
    return "delete" if name else "deletecollection"


def _selection(query):
    return matcher(query.get("labelSelector"), query.get("fieldSelector"))


def _object(body):
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be a JSON object")
    return body


def _patcher(content_type, body):
    content_type = content_type.split(";")[0].strip()
    if content_type in MERGE_PATCH_TYPES:  # lists are replaced, not merged by key
        return lambda old: merge_patch(old, _object(body))
    if content_type == "application/json-patch+json":
        return lambda old: json_patch(old, body)
    raise errors.ApiError(
        415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {content_type}"
    )


def _group_doc(name, versions):
    entries = [{"groupVersion": f"{name}/{version}", "version": version} for version in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def _line(event):
    return json.dumps(event).encode() + b"\n"


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # clients open many connections at once (kr8s gathers requests; the operator
    # watches); the stdlib's backlog of 5 drops some of them under load
    request_queue_size = 128

    def __init__(self, *args):
        super().__init__(*args)
        self.connections = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request, client_address):
        """A client that hangs up mid-request (a closed watch, a cancelled call) is
        normal traffic; anything else still prints, as the stdlib server does."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def finish_request(self, request, client_address):
        """A TLS connection shakes hands in its own thread, so a client that never
        does holds up no one else; one that fails is a closed connection."""
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def close_connections(self):
        """Cut keep-alive and watch connections so that no handler thread lingers."""
        with self.connections_lock:
            for connection in self.connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes: with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers, about 40 ms per request
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self):
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format, *args):
        pass  # requests are counted, not logged

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_PATCH(self):
        self._serve("PATCH")

    def do_DELETE(self):
        self._serve("DELETE")

    def _serve(self, method):
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        api = self.server.api
        try:
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            user = api.users.get(token) if scheme == "Bearer" else None
            if user is None:
                raise errors.unauthorized()
            try:
                body = json.loads(raw) if raw else None
            except json.JSONDecodeError as error:
                raise errors.bad_request(f"the request body is not JSON: {error}") from None
            api.handle(self, user, method, url.path, query, body)
        except errors.ApiError as error:
            self.send_json(error.code, error.status())
        except Exception as error:  # a bug of the fake: say so instead of dropping the connection
            logging.getLogger("fakekube").exception("%s %s failed", method, self.path)
            self.send_json(500, errors.ApiError(500, "InternalError", repr(error)).status())

    def raw_request(self):
        """The request line and headers as the client sent them, for a WebSocket handshake."""
        headers = "".join(f"{key}: {value}\r\n" for key, value in self.headers.items())
        return self.raw_requestline + headers.encode("latin-1") + b"\r\n"

    def send_json(self, code, obj):
        self.send_bytes(code, json.dumps(obj).encode(), "application/json")

    def send_bytes(self, code, data, content_type):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self, content_type="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def write_chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self):
        self.wfile.write(b"0\r\n\r\n")
