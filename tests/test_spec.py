import pydantic
import pytest

from argodasf_jupyter.cluster_keys import option_help

from argodasf_jupyter.errors import ArgodasfError
from argodasf_jupyter.spec import (
    ClusterSpec,
    load_yaml_mapping,
    parse_adapt_flag,
    parse_spec,
    to_cell,
)


def test_defaults_give_two_workers_on_auto_backend():
    spec = parse_spec({})
    assert (spec.name, spec.backend, spec.initial_workers, spec.threads_per_worker) == ("dasf", "auto", 2, 1)


def test_yaml_body_from_the_issue_parses():
    body = """
backend: local
threads_per_worker: 1
memory_limit: 4GiB
adapt: {minimum: 1, maximum: 4}
image: ghcr.io/dask/dask:2026.8.0
gpu: false
env: {OMP_NUM_THREADS: "1"}
"""
    spec = parse_spec(load_yaml_mapping(body, "cell"), where="cell")
    assert spec.adapt.minimum == 1 and spec.adapt.maximum == 4
    assert spec.initial_workers == 1
    assert spec.env == {"OMP_NUM_THREADS": "1"}


def test_numbers_in_env_become_strings():
    assert parse_spec({"env": {"A": 1, "B": 2.5, "C": True}}).env == {"A": "1", "B": "2.5", "C": "true"}


def test_flags_layered_over_body_replace_adapt_with_workers():
    base = parse_spec({"adapt": {"minimum": 1, "maximum": 3}, "memory_limit": "1GiB"})
    changed = base.with_changes(workers=5)
    assert changed.workers == 5 and changed.adapt is None and changed.memory_limit == "1GiB"


def test_spec_is_frozen():
    with pytest.raises(pydantic.ValidationError):
        parse_spec({}).workers = 3


def test_adapt_flag():
    assert parse_adapt_flag("1:4") == {"minimum": 1, "maximum": 4}
    with pytest.raises(ArgodasfError, match="MIN:MAX"):
        parse_adapt_flag("4")


def test_volume_needs_one_source_and_absolute_path():
    volume = {"name": "shared", "claim": "data", "mount_path": "/shared"}
    assert parse_spec({"volumes": [volume]}).volumes[0].claim == "data"
    with pytest.raises(ArgodasfError, match="exactly one of 'claim' or 'source'"):
        parse_spec({"volumes": [{"name": "shared", "mount_path": "/shared"}]})
    with pytest.raises(ArgodasfError, match="absolute path"):
        parse_spec({"volumes": [{**volume, "mount_path": "shared"}]})


def test_to_cell_round_trips():
    spec = parse_spec(
        {
            "name": "seismic",
            "backend": "local",
            "adapt": {"minimum": 1, "maximum": 4},
            "memory_limit": "2GiB",
            "env": {"X": "1"},
        }
    )
    text = to_cell(spec)
    assert text.startswith("%%dasf_cluster seismic\n")
    body = text.split("\n", 1)[1]
    assert parse_spec({**load_yaml_mapping(body, "cell"), "name": "seismic"}) == spec


def test_option_help_lists_every_key_with_default():
    text = option_help()
    for key in ClusterSpec.model_fields:
        assert f"  {key} " in text
    assert "[default: 'dasf']" in text
