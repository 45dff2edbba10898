"""Running code as an unprivileged user (nobody), for the tests of what root alone may do.

`as_nobody(fn, *args)` forks, drops to uid/gid 65534 with no supplementary groups, calls
fn and hands its result (or the exception's text) back through a pipe.  `public_dir()`
makes a directory nobody can reach: pytest's tmp_path lies under a 0700 directory.
`NOBODY_ARGV` runs a program as nobody (setpriv, util-linux); `nobody_env()` is the
environment that lets the bin/ launchers run as nobody, or skips the test if none can.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parent.parent

NOBODY = 65534
NOBODY_ARGV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


class ChildFailed(AssertionError):
    pass


def as_nobody(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a forked child running as nobody; its return value (picklable)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(r)
            os.setgroups([])
            os.setresgid(NOBODY, NOBODY, NOBODY)
            os.setresuid(NOBODY, NOBODY, NOBODY)
            try:
                result: tuple[str, Any] = ("ok", fn(*args))
            except BaseException as exc:  # reported to the parent
                import traceback

                result = ("raised", "".join(traceback.format_exception(exc)))
            with os.fdopen(w, "wb") as out:
                pickle.dump(result, out)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        raise ChildFailed(f"the child as nobody died (wait status {status})")
    kind, value = pickle.loads(data)
    if kind != "ok":
        raise ChildFailed(f"as nobody:\n{value}")
    return value


@contextlib.contextmanager
def public_dir() -> Iterator[Path]:
    """A fresh directory under /tmp, mode 0755 (removed afterwards, whatever happens)."""
    path = Path(tempfile.mkdtemp(prefix="carp-sec-", dir="/tmp"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def nobody_env(env: dict[str, str]) -> dict[str, str]:
    """`env` plus what the bin/ launchers need to run as nobody: when nobody cannot run
    the checkout's .venv python (a pyenv under /root, say), the launcher falls back to
    python3, which finds the .venv's packages through PYTHONPATH.  Skips the test when
    nobody cannot run a front end at all (a checkout nobody may not read)."""
    site = sysconfig.get_paths()["purelib"]
    path = env.get("PYTHONPATH")
    out = {**env, "PYTHONPATH": f"{path}:{site}" if path else site}
    reason = _probe(out)
    if reason:
        pytest.skip(f"nobody cannot run the front ends here: {reason}")
    return out


_probed: dict[str, str] = {}


def _probe(env: dict[str, str]) -> str:
    """'' when nobody runs `ifconfig lo` (every import a front end makes), else why not."""
    key = env["PYTHONPATH"]
    if key not in _probed:
        with public_dir() as d:
            argv = [*NOBODY_ARGV, str(CHECKOUT / "bin" / "ifconfig"), "lo"]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                  env={**env, "CARP_RUNDIR": str(d / "run")})
        _probed[key] = "" if proc.returncode == 0 else (proc.stderr.strip() or "exit status "
                                                        f"{proc.returncode}")
    return _probed[key]


def nobody_python(env: dict[str, str]) -> str:
    """An interpreter nobody can run with `env` (from nobody_env): this one, or the
    system's python3, which the launchers fall back to."""
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        proc = subprocess.run([*NOBODY_ARGV, candidate, "-c", "import carp.store"],
                              capture_output=True, env=env, timeout=60)
        if proc.returncode == 0:
            return candidate
    pytest.skip("no python nobody can run")
