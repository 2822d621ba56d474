"""Defaults come from dask's config system under `argodasf`, validated strictly."""

import json
import os
import subprocess
import sys

import dask
import pytest

from argodasf_jupyter.config import settings
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.session import Session


def settings_in_subprocess(env_overrides, yaml_text=None, tmp_path=None):
    """Read settings in a fresh interpreter, as a kernel started with that environment would."""
    env = {**os.environ, **env_overrides}
    if yaml_text is not None:
        config_dir = tmp_path / "dask-config"
        config_dir.mkdir()
        (config_dir / "argodasf.yaml").write_text(yaml_text)
        env["DASK_CONFIG"] = str(config_dir)
    code = "import json; from argodasf_jupyter.config import settings; print(settings().model_dump_json())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_environment_variables_set_defaults():
    values = settings_in_subprocess(
        {"DASK_ARGODASF__CLUSTER__WORKERS": "3", "DASK_ARGODASF__NAMES__CLIENT": "dask_client"}
    )
    assert values["cluster"]["workers"] == 3 and values["names"]["client"] == "dask_client"


def test_yaml_file_sets_defaults(tmp_path):
    text = "argodasf:\n  cluster:\n    memory-limit: 2GiB\n  workflow:\n    active-deadline: 600\n"
    values = settings_in_subprocess({}, text, tmp_path)
    assert values["workflow"]["active_deadline"] == 600
    assert values["cluster"]["memory_limit"] == "2GiB"


def test_unknown_key_names_the_closest():
    with dask.config.set({"argodasf.workflw": {}}):
        with pytest.raises(
            ArgodasfError, match="unknown key 'workflw' in the argodasf config; did you mean 'workflow'"
        ):
            settings()
    with dask.config.set({"argodasf.cluster.thread_per_worker": 2}):
        with pytest.raises(ArgodasfError, match="did you mean 'threads_per_worker'"):
            settings()


def test_bad_value_is_one_line():
    with dask.config.set({"argodasf.local.max-workers": 0}):
        with pytest.raises(ArgodasfError) as error:
            settings()
    assert "'local.max_workers' should be greater than or equal to 1" in str(error.value)
    assert "\n" not in str(error.value)


def test_configured_defaults_reach_the_magic_values(tmp_path):
    with dask.config.set(
        {"argodasf.cluster.workers": 1, "argodasf.cluster.backend": "local", "argodasf.cluster.memory-limit": "1GiB"}
    ):
        session = Session(registry_dir=str(tmp_path))
        managed, action = session.create_from({"name": "configured"})
        try:
            assert action == "created" and managed.spec.workers == 1 and managed.spec.memory_limit == "1GiB"
            assert managed.backend == "local"
        finally:
            session.close_all()
