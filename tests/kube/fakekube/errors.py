"""API errors, answered with the Status bodies the real server sends."""


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self):
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _details(rt, name):
    return {"name": name, "group": rt.group, "kind": rt.plural}


def not_found(rt, name):
    return ApiError(404, "NotFound", f'{rt.qualified} "{name}" not found', _details(rt, name))


def already_exists(rt, name):
    return ApiError(409, "AlreadyExists", f'{rt.qualified} "{name}" already exists', _details(rt, name))


def conflict(rt, name):
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {rt.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again",
        _details(rt, name),
    )


def forbidden(user, verb, rt, resource, namespace, name=None):
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    target = f'{rt.qualified} "{name}"' if name else rt.qualified
    return ApiError(
        403,
        "Forbidden",
        f'{target} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{rt.group}"{where}',
        _details(rt, name or ""),
    )


def namespace_terminating(rt, name, namespace):
    return ApiError(
        403,
        "Forbidden",
        f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace {namespace} '
        "because it is being terminated",
        {
            **_details(rt, name),
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "field": "metadata.namespace",
                    "message": f"namespace {namespace} is being terminated",
                }
            ],
        },
    )


def namespace_being_emptied(name):
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on namespaces "{name}": The system is ensuring all content is removed '
        "from this namespace.  Upon completion, this namespace will automatically be purged by the system.",
        {"name": name, "kind": "namespaces"},
    )


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def invalid(rt, name, message):
    return ApiError(422, "Invalid", f'{rt.kind} "{name}" is invalid: {message}', _details(rt, name))


def page_not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


class Gone(ApiError):
    """The watch asked to resume from a resourceVersion older than the kept history."""

    def __init__(self, resource_version):
        super().__init__(410, "Expired", f"too old resource version: {resource_version}")
