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
    """0.0.0.0:8786 and 0.0.0.0:8787 taken, as a user's own Dask scheduler and dashboard
    take them, for as long as the test runs: listened on here, unless another program
    holds them already (the same condition)."""
    import errno
    import socket

    listeners = []
    for port in (8786, 8787):
        try:
            listeners.append(socket.create_server(("0.0.0.0", port)))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
    yield
    for listener in listeners:
        listener.close()
