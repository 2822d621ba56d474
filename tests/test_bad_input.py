"""Bad input through the real magics: one clear line, nothing created, and the
cluster that was already running is left exactly as it was."""

import pytest
from IPython.core.error import UsageError

CASES = [
    # (magic line, cell body or None for a line magic, what the message must say)
    ("%%dasf_cluster", "workers: [1, 2", "is not valid YAML at line"),
    ("%%dasf_cluster", "- a\n- b", "must be YAML 'key: value' lines"),
    ("%%dasf_cluster", "wokers: 2", "unknown key 'wokers' in the cluster spec; did you mean 'workers'?"),
    ("%%dasf_cluster", "adapt: {minimum: 1, maxium: 3}", "did you mean 'maximum'?"),
    ("%%dasf_cluster", "workers: two", "'workers' should be a valid integer"),
    ("%dasf_cluster --workers -1", None, "'workers' should be greater than or equal to 0"),
    ("%%dasf_cluster", "workers: 100000", "'workers' should be less than or equal to 1000"),
    ("%%dasf_cluster", "workers: 500", "more than this machine's limit of 64"),
    ("%%dasf_cluster", "memory_limit: 4Gx", "memory_limit '4Gx' is not a size"),
    ("%%dasf_cluster", "memory_limit: 1MiB", "is below 128MiB"),
    ("%%dasf_cluster", "memory_limit: 100TiB", "is more than this machine has"),
    ("%%dasf_cluster", "workers: 2\nadapt: {minimum: 1, maximum: 3}", "give either 'workers' or 'adapt', not both"),
    ("%%dasf_cluster", "adapt: {minimum: 5, maximum: 2}", "adapt minimum 5 is above maximum 2; swap them"),
    ("%dasf_cluster --adapt 4", None, "--adapt '4' must be MIN:MAX"),
    ("%dasf_cluster Seismic", None, "'Seismic' is not a valid Kubernetes name"),
    ("%dasf_cluster my_cluster", None, "'my_cluster' is not a valid Kubernetes name"),
    ("%dasf_cluster " + "a" * 54, None, "has 54 characters; use at most 53"),
    ("%dasf_cluster seismic-", None, "'seismic-' is not a valid Kubernetes name"),
    ("%%dasf_cluster", "gpu: true", "needs dask-cuda"),
    ("%%dasf_cluster", "gpu: 99", "gpu 99 is not a GPU count"),
    ("%%dasf_cluster", "threads_per_worker: 0", "'threads_per_worker' should be greater than or equal to 1"),
    ("%%dasf_cluster", "backend: k8s", "'backend' should be 'auto', 'local' or 'kubernetes'"),
    ("%dasf_cluster --backend k8s", None, "invalid choice: 'k8s'"),
    ("%dasf_cluster --wokers 3", None, "unrecognized arguments: --wokers; did you mean --workers?"),
    ("%%dasf_cluster --connect", "backend: local", "connect: true attaches to a Kubernetes cluster"),
    ("%%dasf_cluster", "env: [A, B]", "'env' should be a valid dictionary"),
    ("%%dasf_cluster", "volumes: [{name: data, mount_path: /data}]", "needs exactly one of 'claim' or 'source'"),
    ("%%dasf_cluster", "scheduler_service_type: External", "'scheduler_service_type' should be 'ClusterIP'"),
    ("%%dasf_cluster", "namespace: Prod", "the namespace 'Prod' is not a valid Kubernetes name"),
    ("%%dasf_cluster --keep", "backend: local", "keep: true needs a Kubernetes cluster"),
    ("%dasf_close nosuch", None, "no cluster named 'nosuch' in this kernel (clusters: keepme)"),
    ("%dasf_close", None, "name the cluster to close"),
]


@pytest.fixture(scope="module")
def shell_with_cluster(module_shell):
    """One shell whose running cluster every case must leave untouched."""
    assert module_shell.run_cell("%%dasf_cluster keepme --workers 1\nbackend: local\nmemory_limit: 1GiB").success
    return module_shell


@pytest.mark.parametrize("line, body, expected", CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_bad_input_gives_one_line_and_changes_nothing(
    shell_with_cluster, line, body, expected, capsys, process_snapshot
):
    from argodasf_jupyter.session import current_session

    session = current_session()
    clusters_before = {name: (m.status, m.workers, m.spec) for name, m in session.clusters.items()}
    processes_before = process_snapshot()
    names_before = set(shell_with_cluster.user_ns)

    cell = line if body is None else f"{line}\n{body}"
    result = shell_with_cluster.run_cell(cell)

    error = result.error_in_exec
    assert isinstance(error, UsageError), f"expected a UsageError, got {error!r}"
    message = str(error)
    assert expected in message
    assert "\n" not in message and "Traceback" not in message
    assert "Traceback" not in capsys.readouterr().err
    assert {name: (m.status, m.workers, m.spec) for name, m in session.clusters.items()} == clusters_before
    assert process_snapshot() == processes_before
    assert set(shell_with_cluster.user_ns) - names_before <= {"_", "__", "___"}


def test_table_has_at_least_25_cases():
    assert len(CASES) >= 25
