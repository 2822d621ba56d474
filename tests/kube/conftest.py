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


@pytest.fixture
def dask_ports_taken():
    """Listen on 0.0.0.0:8786 and 0.0.0.0:8787, as a user's own Dask scheduler and
    dashboard do, for as long as the test runs."""
    import socket

    listeners = []
    try:
        for port in (8786, 8787):
            listeners.append(socket.create_server(("0.0.0.0", port)))
    except OSError as error:
        for listener in listeners:
            listener.close()
        pytest.skip(f"port {port} is already taken on this machine: {error}")
    yield
    for listener in listeners:
        listener.close()
