"""Each fake pod has its own filesystem, as on a real cluster: a file the test makes or
reads reaches a step only through a volume of the step's cluster spec."""


def host_directory(name: str, path, mount_path: str) -> dict:
    """A cluster-spec volume that mounts the test's directory `path` at `mount_path`."""
    return {"name": name, "mount_path": mount_path, "source": {"hostPath": {"path": str(path), "type": "Directory"}}}
