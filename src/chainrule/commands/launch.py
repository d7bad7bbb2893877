"""``chainrule launch``: start a script in several MPI processes (like ``torchrun``).

Examples::

    chainrule launch -n 4 -- python train.py --epochs 10
    chainrule launch -n 16 --hostfile hosts.txt -- python train.py
    chainrule launch -n 2 -- chainrule train --distributed --model lenet5

A thin wrapper over ``mpirun``: it finds the launcher, spells the host-file and
oversubscription options for Open MPI or MPICH, allows Open MPI to run as root (containers),
and passes everything after ``--`` through unchanged. Each process then calls
``cr.distributed.init_process_group()``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys

from ..distributed.launcher import launch_environment, mpirun_command


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "launch",
        help="run a program in N processes under MPI (a wrapper over mpirun)",
        description="Start N copies of a program under the MPI launcher (mpirun), e.g. "
        "`chainrule launch -n 4 -- python train.py`. The processes find each "
        "other through MPI; call cr.distributed.init_process_group() in them.",
    )
    p.add_argument("-n", "--nproc", type=int, required=True, help="number of processes")
    p.add_argument(
        "--hostfile",
        default=None,
        help="file listing the machines (and slots) to spread the processes over",
    )
    p.add_argument(
        "--oversubscribe",
        action="store_true",
        help="allow more processes than cores (Open MPI refuses by default)",
    )
    p.add_argument("--mpirun", default=None, help="the launcher to use (default: mpirun on PATH)")
    p.add_argument(
        "--mpi-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra option for mpirun (repeatable), e.g. --mpi-arg=--bind-to --mpi-arg=none",
    )
    p.add_argument("--dry-run", action="store_true", help="print the command, don't run it")
    p.add_argument(
        "program", nargs=argparse.REMAINDER, help="the program and its arguments, after --"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the program under mpirun and return its exit status (2: bad arguments)."""
    program = list(args.program)
    if program and program[0] == "--":
        program = program[1:]
    try:
        cmd = mpirun_command(
            args.nproc,
            program,
            hostfile=args.hostfile,
            oversubscribe=args.oversubscribe,
            mpirun=args.mpirun,
            extra=args.mpi_arg,
        )
    except (ValueError, RuntimeError) as err:
        print(f"chainrule {err}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(shlex.join(cmd))
        return 0
    try:
        return subprocess.call(cmd, env=launch_environment())
    except KeyboardInterrupt:  # mpirun forwards the interrupt to the processes
        return 130
    except OSError as err:
        print(f"chainrule launch: cannot start {cmd[0]!r}: {err.strerror or err}", file=sys.stderr)
        return 2
