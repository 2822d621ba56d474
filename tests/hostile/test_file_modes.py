"""What the kernel writes for the Jupyter server is private: 0700 directories, 0600 files."""

from __future__ import annotations

import os
import stat

from argodasf_jupyter import registry


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_registry_makes_a_missing_runtime_dir_0700_and_its_files_0600(tmp_path, monkeypatch):
    runtime = tmp_path / "not-yet" / "runtime"
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    previous = os.umask(0o022)
    try:
        path = registry.publish([{"name": "dasf"}])
    finally:
        os.umask(previous)
    assert mode(runtime) == 0o700
    assert mode(registry.registry_dir()) == 0o700
    assert mode(path) == 0o600
    assert [entry for entry in os.listdir(registry.registry_dir()) if entry.endswith(".tmp")] == []
    registry.withdraw()
