"""Server-side printing: the meta.k8s.io Table that `kubectl get` asks for with
`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Pods get the real server's
pod columns, custom resources their CRD's additionalPrinterColumns (Name first; Age when
none are declared) and every other kind the default Name / Created At. Rows carry the
object as PartialObjectMetadata unless `includeObject` says None or Object.

Differences: built-in kinds other than pods use the default columns (the real server
has a printer for each); column descriptions are short ones of the fake's own; JSONPath
columns support dotted paths with [index] steps only."""

import json
import re
from datetime import datetime, timezone

NAME = {"name": "Name", "type": "string", "format": "name", "description": "Name of the object.", "priority": 0}
POD_COLUMNS = [NAME] + [
    {"name": name, "type": "string", "format": "", "description": description, "priority": priority}
    for name, description, priority in (
        ("Ready", "Ready containers of all containers.", 0),
        ("Status", "The aggregate status of the containers.", 0),
        ("Restarts", "Container restarts, and how long ago the last one ended.", 0),
        ("Age", "Time since creation.", 0),
        ("IP", "The pod's IP address.", 1),
        ("Node", "The node the pod runs on.", 1),
        ("Nominated Node", "The node the scheduler nominated.", 1),
        ("Readiness Gates", "Readiness gates that are true, of all.", 1),
    )
]
DEFAULT_COLUMNS = [
    NAME,
    {"name": "Created At", "type": "date", "format": "", "description": "When the object was created.", "priority": 0},
]
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def wanted_table_version(accept):
    """'v1' (or 'v1beta1') when the Accept header asks for a Table first, else None."""
    for media_type in accept.split(","):
        kind, *parameters = [part.strip() for part in media_type.split(";")]
        options = dict(part.partition("=")[::2] for part in parameters)
        if (
            kind in ("application/json", "*/*")
            and options.get("as") == "Table"
            and options.get("g") == "meta.k8s.io"
            and options.get("v") in ("v1", "v1beta1")
        ):
            return options["v"]
        if kind in ("application/json", "*/*") and "as" not in options:
            return None
    return None


def table(rt, objects, resource_version, version="v1", include_object="Metadata", headers=True):
    columns, row = _printer(rt)
    result = {
        "kind": "Table",
        "apiVersion": f"meta.k8s.io/{version}",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": columns if headers else None,
        "rows": [],
    }
    for obj in objects:
        entry = {"cells": row(obj)}
        if include_object == "Object":
            entry["object"] = obj
        elif include_object != "None":
            entry["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": f"meta.k8s.io/{version}",
                "metadata": obj["metadata"],
            }
        result["rows"].append(entry)
    return result


def _printer(rt):
    if (rt.group, rt.kind) == ("", "Pod"):
        return POD_COLUMNS, _pod_row
    if rt.printer_columns is None:
        return DEFAULT_COLUMNS, lambda obj: [obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")]
    declared = rt.printer_columns or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    columns = [NAME] + [
        {
            "name": c["name"],
            "type": c["type"],
            "format": c.get("format", ""),
            "description": c.get("description")
            or f"Custom resource definition column (in JSONPath format): {c['jsonPath']}",
            "priority": c.get("priority", 0),
        }
        for c in declared
    ]
    return (
        columns,
        lambda obj: [obj["metadata"]["name"]] + [_cell(c["type"], _find(obj, c["jsonPath"])) for c in declared],
    )


def _find(obj, path):
    for key, index in _STEP.findall(path):
        if index:
            obj = obj[int(index)] if isinstance(obj, list) and int(index) < len(obj) else None
        else:
            obj = obj.get(key) if isinstance(obj, dict) else None
        if obj is None:
            return None
    return obj


def _cell(kind, value):
    if value is None:
        return None
    if kind == "string":
        return value if isinstance(value, str) else json.dumps(value)
    if kind == "integer":
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "number":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if kind == "boolean":
        return value if isinstance(value, bool) else None
    if kind == "date":
        return age(value) if isinstance(value, str) else None
    return None


def _pod_row(pod):
    status, spec = pod.get("status", {}), pod.get("spec", {})
    containers = status.get("containerStatuses", [])
    restarts = sum(c.get("restartCount", 0) for c in containers)
    ended = [
        c["lastState"]["terminated"]["finishedAt"]
        for c in containers
        if c.get("lastState", {}).get("terminated", {}).get("finishedAt")
    ]
    restarts_cell = f"{restarts} ({age(max(ended))} ago)" if restarts and ended else str(restarts)
    ready = sum(1 for c in containers if c.get("ready") and "running" in c.get("state", {}))
    gates = spec.get("readinessGates", [])
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    gates_cell = (
        f"{sum(conditions.get(g['conditionType']) == 'True' for g in gates)}/{len(gates)}" if gates else "<none>"
    )
    return [
        pod["metadata"]["name"],
        f"{ready}/{len(spec.get('containers', []))}",
        pod_reason(pod),
        restarts_cell,
        age(pod["metadata"].get("creationTimestamp")),
        status.get("podIP") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]


def pod_reason(pod):
    """The STATUS column: the last container's waiting or terminated reason, else the phase."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase", "")
    running_and_ready = False
    for container in reversed(status.get("containerStatuses", [])):
        state = container.get("state", {})
        waiting, terminated = state.get("waiting"), state.get("terminated")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated:
            reason = (
                f"Signal:{terminated['signal']}"
                if terminated.get("signal")
                else f"ExitCode:{terminated.get('exitCode', 0)}"
            )
        elif container.get("ready") and "running" in state:
            running_and_ready = True
    if reason == "Completed" and running_and_ready:
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
        reason = "Running" if ready else "NotReady"
    if pod["metadata"].get("deletionTimestamp") and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason


def age(timestamp):
    """How long ago, written as kubectl writes ages (45s, 3m20s, 2h5m, 4d)."""
    if not timestamp:
        return "<unknown>"
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    seconds = int((datetime.now(timezone.utc) - then).total_seconds())
    if seconds < -1:
        return "<invalid>"
    seconds = max(seconds, 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return _two_units(minutes, "m", seconds % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return _two_units(days, "d", hours % 24, "h")
    if days < 730:
        return f"{days}d"
    years = days // 365
    if days < 2920:
        return _two_units(years, "y", days % 365, "d")
    return f"{years}y"


def _two_units(major, major_unit, minor, minor_unit):
    return f"{major}{major_unit}{minor}{minor_unit}" if minor else f"{major}{major_unit}"
