import pytest


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """A private HOME and dask config: importing dask_kubernetes writes into ~/.config/dask."""
    import dask.config

    home = tmp_path / "home"
    config = home / ".config" / "dask"
    config.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DASK_CONFIG", str(config))
    monkeypatch.setattr(dask.config, "PATH", str(config))
    return home
