"""A step's runner starts with its DaskCluster, often before the scheduler listens:
it waits for the scheduler far beyond Dask's connect timeout, and says in one line
what to look at when the scheduler never comes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from distributed import LocalCluster

from argodasf_jupyter import promote, runtime, step_script

CODE = "print('sum', client.submit(sum, [1, 2]).result())\n"


def _reserved_port() -> socket.socket:
    """A port bound but not listening: connecting to it is refused, as to a
    scheduler pod that has not started its scheduler yet."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    return holder


def _start_runner(address: str, **environment: str) -> subprocess.Popen:
    container = step_script.runner_container(promote.make_step("late", CODE), python=sys.executable)
    env = {"PATH": os.environ["PATH"], "DASK_SCHEDULER_ADDRESS": address, **environment}
    return subprocess.Popen(container["args"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_the_runner_waits_for_a_scheduler_that_starts_after_dasks_connect_timeout():
    holder = _reserved_port()
    port = holder.getsockname()[1]
    # Dask's own connect timeout at 1 s: a runner that relied on it would give up
    runner = _start_runner(f"tcp://127.0.0.1:{port}", DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="1")
    try:
        time.sleep(4)
        assert runner.poll() is None, runner.communicate()
        holder.close()
        with LocalCluster(n_workers=1, processes=False, scheduler_port=port, host="127.0.0.1", dashboard_address=":0"):
            stdout, stderr = runner.communicate(timeout=120)
    finally:
        runner.kill()
        runner.wait()
    assert runner.returncode == 0, stderr
    assert "sum 3" in stdout


def test_a_scheduler_that_never_answers_ends_the_step_with_one_line_saying_what_to_look_at():
    holder = _reserved_port()
    address = f"tcp://127.0.0.1:{holder.getsockname()[1]}"
    runner = _start_runner(address, **{runtime.SCHEDULER_WAIT_ENV: "2"})
    try:
        stdout, stderr = runner.communicate(timeout=120)
    finally:
        runner.kill()
        holder.close()
    assert runner.returncode == 3
    assert stderr.strip().splitlines() == [
        f"argodasf: the Dask scheduler at {address} did not answer within 2 s (OSError); look at the "
        f"DaskCluster's scheduler pod, or set {runtime.SCHEDULER_WAIT_ENV} to wait longer"
    ]
    assert "succeeded" not in stdout
