"""Run a worker script under ``mpirun`` from a test, with a hard time limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chainrule.distributed.launcher import find_mpirun, launch_environment, mpirun_command

WORKERS = Path(__file__).parent / "workers"
MPIRUN = find_mpirun()

needs_mpirun = pytest.mark.skipif(
    MPIRUN is None or not __import__("importlib").util.find_spec("mpi4py"),
    reason="no MPI launcher (mpirun) or mpi4py installed; pip install 'chainrule[distributed]'",
)


def start_workers(n: int, worker: str, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Start ``n`` ranks of ``workers/<worker>``; the launcher runs in its own session so
    that on a timeout the whole job can be killed."""
    cmd = mpirun_command(n, [sys.executable, str(WORKERS / worker), *args], oversubscribe=True)
    full_env = launch_environment()
    full_env.update(
        {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "CHAINRULE_NUM_THREADS": "1"}
    )
    full_env.update(env or {})
    return subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 90.0) -> subprocess.CompletedProcess:
    """Wait for a started job (killing it after ``timeout`` s) and return its result."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{proc.args} did not finish in {timeout} s\n{out}\n{err}") from None
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def run_workers(
    n: int, worker: str, *args: str, timeout: float = 90.0, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Start ``n`` ranks of ``workers/<worker>`` and return the finished job."""
    return finish(start_workers(n, worker, *args, env=env), timeout)


def check_ok(result: subprocess.CompletedProcess, n: int) -> None:
    """The job succeeded and every rank printed its final 'OK rank r' line."""
    detail = f"rc={result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, detail
    for r in range(n):
        assert f"OK rank {r}" in result.stdout, detail
