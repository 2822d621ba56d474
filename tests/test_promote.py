"""Cell -> Step: free names, parameters, clear errors, and a step script that
carries the cell byte for byte through every quoting layer."""

from __future__ import annotations

import base64
import subprocess
import sys
import zlib

import dask
import pytest
import yaml

from argodasf_jupyter import cell_names, promote, runtime, step_script, workflow
from argodasf_jupyter.draft import Draft
from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import parse_spec
from workflow_fixtures import scheduler_address  # noqa: F401  (a fixture)


@pytest.mark.parametrize(
    "code, expected",
    [
        ("x = 1\nprint(x)", []),
        ("print(input_path)", ["input_path"]),
        ("df = df.dropna()", ["df"]),
        ("total += 1", ["total"]),
        ("import numpy as np\nnp.ones(3)", []),
        ("import os.path\nos.getcwd()", []),
        ("from math import *\nsqrt(2)", ["sqrt"]),
        ("def f(a):\n    return np.abs(a) + scale\nf(1)", ["np", "scale"]),
        ("def f():\n    return f\n", []),
        ("class C(Base):\n    y = z\n", ["Base", "z"]),
        ("[a for a in items if a > threshold]", ["items", "threshold"]),
        ("with open(path) as fh:\n    fh.read()", ["path"]),
        ("for i in range(n):\n    j = i\nprint(j)", ["n"]),
        ("try:\n    pass\nexcept Exception as e:\n    print(e)", []),
        ("(y := 3)\nprint(y)", []),
        ("lambda a=default: a + other", ["default", "other"]),
        ("print(f'{name!r}')", ["name"]),
        ("print(len([]), __name__)", []),
        ("match cmd:\n    case {'k': v, **rest}:\n        print(v, rest)", ["cmd"]),
        # nested scopes are read from their own statements' lines: decorators, shared lines, blocks
        ("@decorate(arg)\ndef f():\n    return g + h\nh = 1\n", ["arg", "decorate", "g"]),
        ("x = 1; f = lambda: y + x\n", ["y"]),
        ("y = 2; g = [q for _ in range(y)]; z = 3\n", ["q"]),
        ("if flag:\n    def f():\n        return helper(z)\n", ["flag", "helper", "z"]),
        ("total = sum(\n    v * w for v in values\n)\n", ["values", "w"]),
        ("def outer():\n    def inner():\n        return k\n    return inner\nresult = outer()\n", ["k"]),
        ("a = 1\nclass K:\n    b = a + c\n\n\nprint(K.b)  # the end\n", ["c"]),
    ],
)
def test_free_names(code, expected):
    assert sorted(cell_names.free_names(code)) == sorted(expected)


def test_free_names_report_the_first_line_of_use():
    assert cell_names.free_names("a = 1\n\nb = c + a\nc = 2\n") == {"c": 3}


def test_ipython_syntax_is_a_clear_error():
    with pytest.raises(ArgodasfError, match=r"line 2.*IPython syntax"):
        cell_names.free_names("x = 1\n%time x\n")


def test_literal_free_names_become_parameters():
    values = {
        "input_path": "/shared/in.zarr",
        "chunks": [10, 10, -1],
        "opts": {"axis": -1, "scale": 1.5},
        "flag": True,
        "nothing": None,
    }
    step = promote.make_step(
        "envelope", "print(input_path, chunks, opts, flag, nothing, client, executor)", values=values
    )
    assert step.parameters == values
    assert step.kind == "dasf"


def test_non_literal_names_are_listed_with_where_they_were_defined():
    import numpy

    def envelope(cube):
        return cube

    values = {"envelope": envelope, "np": numpy, "cube": numpy.ones(3)}
    where = {"envelope": "cell 3", "np": "cell 1"}.get
    with pytest.raises(ArgodasfError) as caught:
        promote.make_step(
            "step", "import dask\nout = envelope(np.asarray(cube))\nmissing_name", values=values, where=where
        )
    message = str(caught.value)
    assert "\n" not in message
    assert "'envelope' (line 2) is a function, defined in cell 3" in message
    assert "'np' (line 2) is a module, defined in cell 1" in message
    assert "'cube' (line 2) is a ndarray" in message
    assert "'missing_name' (line 3) is not defined" in message


def test_cluster_is_not_available_in_a_job():
    with pytest.raises(
        ArgodasfError, match=r"'cluster' \(line 1\) is not available inside a job; size the job with flags"
    ):
        promote.make_step("step", "cluster.scale(4)", values={"cluster": object()})


def test_ipython_only_names_are_refused():
    with pytest.raises(ArgodasfError, match="'display' .* exists only in IPython"):
        promote.make_step("step", "display(1)", values={"display": print})


def test_large_literals_are_not_parameters():
    with pytest.raises(ArgodasfError, match="'big' .* is a list"):
        promote.make_step("step", "print(big)", values={"big": list(range(10000))})


def test_oversize_cell_is_a_clear_error():
    with dask.config.set({"argodasf.workflow.max-cell-bytes": 2048}):
        with pytest.raises(ArgodasfError, match=r"the cell has 3000 bytes; the largest that can be promoted is 2048"):
            promote.make_step("step", "#" * 2999 + "\n")


@pytest.mark.parametrize("name", ["Envelope", "-a", "1step", "a" * 54, "with_underscore"])
def test_invalid_step_names(name):
    with pytest.raises(ArgodasfError, match="step name"):
        promote.make_step(name, "pass")


def test_cluster_shape_comes_from_the_spec_with_flag_overrides():
    spec = parse_spec(
        {
            "name": "interactive",
            "workers": 3,
            "memory_limit": "2GiB",
            "namespace": "team",
            "volumes": [{"name": "shared", "mount_path": "/shared", "claim": "data"}],
        }
    )
    step = promote.make_step("s", "pass", cluster=spec, overrides={"workers": 5, "image": "example.org/dasf:1"})
    shape = step.cluster
    assert (shape.workers, shape.memory_limit, shape.image) == (5, "2GiB", "example.org/dasf:1")
    assert shape.volumes[0].mount_path == "/shared"
    assert {"namespace", "name"}.isdisjoint(step.cluster.model_fields_set)
    assert {"namespace", "name"}.isdisjoint(step.model_dump()["cluster"])  # nor in the draft file


def test_container_steps_skip_name_analysis():
    step = promote.make_step("stage", "cp $SRC /shared/in\n", container="alpine:3", local_command="true")
    assert (step.kind, step.image, step.local_command, step.parameters) == ("container", "alpine:3", "true", {})


ADVERSARIAL = (
    "# quotes ' \" ''' \"\"\" ` and backslashes \\ \\\\ \\n \\x00\n"
    "# argo: {{workflow.name}} {{inputs.parameters.x}} {{=sprig.b64enc('x')}}\n"
    "# kubelet and shell: $(HOME) ${HOME} $HOME; rm -rf / #\n"
    'yaml_text = """\n---\n...\n- item\nkey: value # not a comment\n? &anchor *alias !tag | > %\n\tafter a tab\n"""\n'
    "\t# a tab-indented comment and trailing spaces   \n"
    "# unicode: ünïcödé 地震 🌊 \u2028 \u00a0\r\n"
    "text = 'ok'\n"
)


def script_from_manifest(step) -> str:
    """Unpack the step script the way the runner pod does, from the workflow YAML."""
    draft = Draft("adversarial", "/nonexistent/draft.json", [step])
    document = yaml.safe_load(workflow.to_yaml(draft))
    template = next(item for item in document["spec"]["templates"] if item["name"] == step.name)
    job = yaml.safe_load(template["resource"]["manifest"])
    container = job["spec"]["job"]["spec"]["containers"][0]
    assert "command" not in container  # the image's entrypoint runs
    assert container["args"][:3] == ["python", "-c", step_script.PYTHON_BOOTSTRAP]
    for part in container["args"]:
        assert "{{" not in part and "$(" not in part  # nothing Argo or the kubelet would rewrite
    return zlib.decompress(base64.b64decode("".join(container["args"][3:]))).decode("utf-8")


def embedded_code(script: str) -> str:
    namespace = {"__name__": "not-main"}
    exec(compile(script, "step.py", "exec"), namespace)
    return runtime.decode_text(namespace["STEP"]["code"])


@pytest.mark.parametrize("code", [ADVERSARIAL, ADVERSARIAL * 2000], ids=["adversarial", "200KB"])
def test_code_survives_byte_for_byte_into_the_runner(code):
    assert len(code.encode()) < 1048576
    step = promote.make_step("tricky", code)
    script = script_from_manifest(step)
    assert script == step_script.render_script(step)
    assert embedded_code(script).encode("utf-8") == code.encode("utf-8")


def test_runner_command_executes_the_exact_code(tmp_path, scheduler_address):
    """The bootstrap from the manifest, run as the runner pod runs it, sees the
    cell's string literal unchanged."""
    payload = ADVERSARIAL.replace("text = 'ok'\n", "") + (
        "data = " + repr(ADVERSARIAL) + "\n"
        f"open({str(tmp_path / 'out.txt')!r}, 'w', encoding='utf-8', newline='').write(data)\n"
        "print('sum', client.submit(sum, [1, 2]).result())\n"
    )
    step = promote.make_step("tricky", payload)
    container = step_script.runner_container(step, python=sys.executable)
    result = subprocess.run(
        container["args"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"DASK_SCHEDULER_ADDRESS": scheduler_address, "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "sum 3" in result.stdout
    assert (tmp_path / "out.txt").read_bytes() == ADVERSARIAL.encode("utf-8")


def test_run_script_passes_parameters_and_fails_on_errors(tmp_path, scheduler_address):
    step = promote.make_step(
        "p", "assert isinstance(n, int)\nprint('value', repr(path), n * 2)\n", values={"path": "it's {{x}}", "n": 4}
    )
    result = step_script.run_script(step, scheduler_address, parameters={"n": 21})
    assert result.returncode == 0, result.stdout
    assert 'value "it\'s {{x}}" 42' in result.stdout

    failing = promote.make_step("f", "x = 1\nraise ValueError('boom ' + str(x))\n")
    result = step_script.run_script(failing, scheduler_address)
    assert result.returncode == 1
    assert "ValueError: boom 1" in result.stdout and 'File "<step f>", line 2' in result.stdout


def test_replay_refuses_a_step_that_fails_in_a_fresh_process(scheduler_address):
    # works in the kernel (the name exists there) but not where the job runs
    step = promote.make_step("r", "import sys\nsys.exit(3)\n")
    with pytest.raises(ArgodasfError, match="--replay of step 'r' exited with 3; not promoted"):
        step_script.replay(step, scheduler_address)
    ok = promote.make_step("ok", "print('fine')\n")
    assert "fine" in step_script.replay(ok, scheduler_address)
