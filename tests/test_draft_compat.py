"""Drafts saved by the previous version (tests/data/previous_draft, with the workflow
each rendered then) still load, render the same manifests, and are saved in the
same format, so the previous version reads what this one writes."""

from __future__ import annotations

import json
import pathlib
import re
import shutil

import pytest

from argodasf_jupyter import promote, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.spec import parse_spec

PREVIOUS = pathlib.Path(__file__).parent / "data" / "previous_draft"
IMAGE = "example.org/dasf:1"
VOLUME = {"name": "shared", "mount_path": "/shared", "claim": "data", "working_dir": True}


def masked(text: str) -> str:
    """The rendering without the step scripts (step_script.py's own tests cover them)."""
    text = re.sub(r"(- )[A-Za-z0-9+/=]{60,}$", r"\1<step script>", text, flags=re.M)
    text = re.sub(r"^(\s*- ).*import base64,sys,zlib.*$", r"\1<step bootstrap>", text, flags=re.M)
    return re.sub(r"^(\s*args=)\[.*import base64,sys,zlib.*\],$", r"\1<step script>,", text, flags=re.M)


def previous_draft(tmp_path, mode: str) -> Draft:
    path = tmp_path / f"{mode}.dasf-workflow.json"
    shutil.copy(PREVIOUS / path.name, path)
    return Draft.load(str(path))


def promoted_now(tmp_path, mode: str) -> Draft:
    """The draft the previous version saved, promoted again by this one."""
    stage = parse_spec(
        {
            "name": "interactive",
            "backend": "local",
            "namespace": "mine",
            "workers": 3,
            "memory_limit": "2GiB",
            "image": IMAGE,
            "env": {"OMP_NUM_THREADS": 1},
            "cpu": "500m",
            "volumes": [VOLUME],
            "env_from_secrets": ["s3-credentials"],
            "node_selector": {"pool": "cpu"},
        }
    )
    adaptive = parse_spec(
        {"image": IMAGE, "adapt": {"minimum": 1, "maximum": 4}, "threads_per_worker": 2, "volumes": [VOLUME]}
    )
    draft = Draft.load(str(tmp_path / "now" / f"{mode}.dasf-workflow.json"), "previous")
    draft.add(
        promote.make_step(
            "stage",
            "import numpy\nprint(numpy.ones(3) * factor)\nopen('in.txt', 'w').write(out_path)\n",
            values={"factor": 3, "out_path": "x"},
            cluster=stage,
            outputs=["/shared/in.txt"],
            retries=1,
            timeout=600,
        )
    )
    draft.add(
        promote.make_step(
            "envelope",
            "print(open('/shared/in.txt').read())\n",
            cluster=adaptive if mode == "per-step" else stage,
            inputs=["/shared/in.txt"],
            outputs=["/shared/out.txt"],
        )
    )
    draft.add(
        promote.make_step(
            "report", "cat /shared/out.txt\n", container="alpine:3", cluster=stage, inputs=["/shared/out.txt"]
        )
    )
    if mode == "shared":
        draft.set_cluster("shared")
    return draft


def without_versions(record: dict) -> dict:
    """A saved draft without the kernel's package versions (another machine has others)."""
    for step in record["steps"]:
        step["imports"] = [item["module"] for item in step["imports"]]
    return record


@pytest.mark.parametrize("mode", ["per-step", "shared"])
def test_a_previous_draft_renders_the_manifests_it_rendered_then(tmp_path, mode):
    draft = previous_draft(tmp_path, mode)
    options = {"namespace": "ns", "service_account": "runner"}
    assert masked(workflow.to_yaml(draft, **options)) == (PREVIOUS / f"{mode}.yaml").read_text()
    assert masked(workflow.to_python(draft, **options)) == (PREVIOUS / f"{mode}.py.txt").read_text()


@pytest.mark.parametrize("mode", ["per-step", "shared"])
def test_a_previous_draft_is_saved_again_in_its_own_format(tmp_path, mode):
    draft = previous_draft(tmp_path, mode)
    draft.set_cluster(mode)  # a locked read-modify-write of the whole file
    assert json.loads(pathlib.Path(draft.path).read_text()) == json.loads(
        (PREVIOUS / f"{mode}.dasf-workflow.json").read_text()
    )


@pytest.mark.parametrize("mode", ["per-step", "shared"])
def test_promoting_the_same_cells_again_saves_the_same_draft(tmp_path, mode):
    draft = promoted_now(tmp_path, mode)
    saved = without_versions(json.loads(pathlib.Path(draft.path).read_text()))
    assert saved == without_versions(json.loads((PREVIOUS / f"{mode}.dasf-workflow.json").read_text()))
    options = {"namespace": "ns", "service_account": "runner"}
    assert masked(workflow.to_yaml(draft, **options)) == (PREVIOUS / f"{mode}.yaml").read_text()
