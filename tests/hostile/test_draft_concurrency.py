"""The draft as a locked read-modify-write: concurrent kernels merge, a killed writer leaves no trace."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

from argodasf_jupyter import promote
from argodasf_jupyter.draft import Draft
from hostile.figures import FIGURES

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def step(name: str):
    return promote.make_step(name, f"print({name!r})\n")


def python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


PROMOTER = """
    import sys
    from argodasf_jupyter import promote
    from argodasf_jupyter.draft import Draft

    path, prefix = sys.argv[1], sys.argv[2]
    draft = Draft.load(path)  # loaded once, as a kernel does, then changed 25 times
    for number in range(25):
        draft.add(promote.make_step(f"{prefix}-{number}", "print(1)\\n"))
"""


def test_four_processes_promoting_25_steps_each_keep_all_100(tmp_path):
    path = str(tmp_path / "nb.dasf-workflow.json")
    workers = [python(PROMOTER, path, f"k{number}") for number in range(4)]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    names = {item["name"] for item in json.loads(open(path).read())["steps"]}
    wanted = {f"k{kernel}-{number}" for kernel in range(4) for number in range(25)}
    FIGURES["cases tried"] += 1
    FIGURES["lost steps"] += len(wanted - names)
    assert names == wanted
    assert [entry for entry in os.listdir(tmp_path) if entry.endswith(".tmp")] == []


def test_kernels_taking_turns_keep_each_others_steps(tmp_path):
    path = str(tmp_path / "nb.dasf-workflow.json")
    kernel_a, kernel_b = Draft.load(path), Draft.load(path)
    kernel_a.add(step("a1"))
    kernel_b.add(step("b1"))
    kernel_a.add(step("a2"))
    kernel_b.remove("a1")
    kernel_a.add(step("a3"))
    assert list(Draft.load(path).steps) == ["b1", "a2", "a3"]
    assert list(kernel_a.steps) == ["b1", "a2", "a3"]


HANGING_WRITER = """
    import os, sys, time
    from argodasf_jupyter import promote
    from argodasf_jupyter.draft import Draft

    def hang(*args):
        print("writing", flush=True)
        time.sleep(600)

    draft = Draft.load(sys.argv[1])
    os.replace = hang  # killed between writing the temporary file and renaming it
    draft.add(promote.make_step("killed", "print(2)\\n"))
"""


def test_a_writer_killed_mid_write_leaves_the_draft_intact_and_its_temporary_file_is_cleaned(tmp_path):
    path = str(tmp_path / "nb.dasf-workflow.json")
    Draft.load(path).add(step("kept"))
    before = open(path).read()
    writer = python(HANGING_WRITER, path)
    assert writer.stdout.readline() == "writing\n"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    assert [entry for entry in os.listdir(tmp_path) if entry.endswith(".tmp")] != []  # the kill left one
    assert open(path).read() == before
    started = time.monotonic()
    Draft.load(path).add(step("next"))  # the lock died with the writer: no wait
    assert time.monotonic() - started < 5
    assert [entry for entry in os.listdir(tmp_path) if entry.endswith(".tmp")] == []
    assert list(Draft.load(path).steps) == ["kept", "next"]


FULL_DISK_WRITER = """
    import resource, signal, sys
    from argodasf_jupyter import promote
    from argodasf_jupyter.draft import Draft
    from argodasf_jupyter.errors import ArgodasfError

    draft = Draft.load(sys.argv[1])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))  # as a full disk: every write fails, root or not
    try:
        draft.add(promote.make_step("b", "print(3)\\n"))
    except ArgodasfError as error:
        print(error)
    print(",".join(draft.steps))
"""


def test_a_draft_that_cannot_be_written_leaves_memory_and_disk_agreeing(tmp_path):
    path = str(tmp_path / "nb.dasf-workflow.json")
    Draft.load(path).add(step("a"))
    writer = python(FULL_DISK_WRITER, path)
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert out.splitlines() == [f"cannot write the workflow draft {path} (File too large); the draft is unchanged", "a"]
    assert list(Draft.load(path).steps) == ["a"]
    assert [entry for entry in os.listdir(tmp_path) if entry.endswith(".tmp")] == []
