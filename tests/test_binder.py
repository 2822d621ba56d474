"""Binder's files: they name every runtime dependency, and postBuild works in a fresh venv."""

import os
import pathlib
import re
import subprocess
import sys
import tomllib

import pytest
from kube.fakekube.images import UV, UV_CACHE

ROOT = pathlib.Path(__file__).resolve().parents[1]


def requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[\[<>=!~ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_requirements_name_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = requirement_names(project["dependencies"])
    listed = requirement_names((ROOT / "binder" / "requirements.txt").read_text().splitlines())
    assert needed - listed == set(), f"binder/requirements.txt misses {sorted(needed - listed)}"


@pytest.mark.one_environment
@pytest.mark.timeout(900)  # a fresh venv and postBuild's pip build of the package
def test_postbuild_installs_the_extensions_in_a_fresh_venv(tmp_path):
    if not (ROOT / "argodasf_jupyter" / "labextension" / "package.json").exists():
        pytest.skip("the labextension is not built in this checkout (pip install -e . builds it)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Binder installs requirements.txt before postBuild runs. uv does that here, pip took
    # over 300 s on a busy machine; postBuild's own pip is what is under test. The test's
    # HOME is empty, so the caches are kept under build/ (the venv is still made from nothing).
    cache = {"PIP_CACHE_DIR": str(ROOT / "build" / "pip-cache"), "UV_CACHE_DIR": str(UV_CACHE), **os.environ}
    requirements = str(ROOT / "binder" / "requirements.txt")
    install = [UV, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), "-r", requirements]
    subprocess.run(install, check=True, timeout=900, env=cache)
    home = tmp_path / "binder-home"
    home.mkdir()
    env = {
        **os.environ,
        **cache,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "VIRTUAL_ENV": str(venv),
    }
    env.pop("JUPYTER_CONFIG_DIR", None)
    result = subprocess.run(
        ["bash", str(ROOT / "binder" / "postBuild")], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "backend: local" in (home / ".config" / "dask" / "argodasf.yaml").read_text()

    def listing(*command):
        return subprocess.run(
            [str(venv / "bin" / "jupyter"), *command, "list"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ).stdout

    listings = {"server extension": listing("server", "extension"), "labextension": listing("labextension")}
    assert re.search(r"argodasf_jupyter\s.*enabled", listings["server extension"]), listings["server extension"]
    assert re.search(r"argodasf-jupyter\s.*enabled", listings["labextension"]), listings["labextension"]
