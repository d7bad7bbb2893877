"""Run code snippets each in a fresh process state, paying for one interpreter start.

Warn-once warnings (PyTorch's ``TORCH_WARN_ONCE``, chainrule's ``_user_warnings.warn_once``)
fire only the first time in a process, so a test comparing them needs a process in which
nothing has run yet. Starting a fresh interpreter per case costs an import of torch (2-4 s
of CPU on the CI host) each time; :func:`run_forked` starts one interpreter, runs a
``prelude`` (the imports) once, then forks one child per snippet: every child starts from
the state right after the imports, as a fresh interpreter would (the prelude must not run
anything that spends a warning), and prints what the test compares. The pattern of
``tests/compat/test_gaps_session34_l.py``, shared. Where ``os.fork`` is missing (Windows),
each snippet gets an interpreter of its own instead: slower, the same answers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

__all__ = ["run_forked"]

# The interpreter's program: the prelude, then one forked child per snippet, each child's
# stdout sent back through a pipe; the parent prints one JSON list (stdout text, exit code).
_DRIVER = """
import json as _json, os as _os, sys as _sys, traceback as _traceback
{prelude}
_results = []
for _body in _json.loads(_sys.stdin.read()):
    _r, _w = _os.pipe()
    _pid = _os.fork()
    if _pid == 0:  # a fresh copy of the state right after the prelude
        _os.close(_r)
        _os.dup2(_w, 1)
        _code = 0
        try:
            exec(_body, globals())
        except BaseException:
            _traceback.print_exc()
            _code = 1
        _sys.stdout.flush()
        _sys.stderr.flush()
        _os._exit(_code)
    _os.close(_w)
    with _os.fdopen(_r) as _f:
        _out = _f.read()
    _, _status = _os.waitpid(_pid, 0)
    _results.append([_out, _os.waitstatus_to_exitcode(_status)])
print(_json.dumps(_results))
"""


def run_forked(prelude: str, bodies: list[str], timeout: float = 300) -> list[str]:
    """Each body's stdout, each run in a child forked after ``prelude`` in one fresh
    interpreter (this one's ``sys.executable``).

    Raises:
        AssertionError: the interpreter or a child failed (with its stderr).
    """
    prelude = textwrap.dedent(prelude)
    if not hasattr(os, "fork"):
        return [_run_alone(prelude, body, timeout) for body in bodies]
    script = _DRIVER.format(prelude=prelude)
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(bodies),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) == len(bodies), done.stdout
    for body, (_, code) in zip(bodies, results):
        assert code == 0, f"{body!r} failed in its child:\n{done.stderr}"
    return [out for out, _ in results]


def _run_alone(prelude: str, body: str, timeout: float) -> str:
    """``prelude`` then ``body`` in an interpreter of their own (no ``os.fork``): its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", f"{prelude}\n{body}"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{body!r} failed:\n{done.stderr}"
    return done.stdout
