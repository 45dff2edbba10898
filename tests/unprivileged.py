"""Running code as an unprivileged user (nobody), for the tests of what root alone may do.

`as_nobody(fn, *args)` forks, drops to uid/gid 65534 with no supplementary groups, calls
fn and hands its result (or the exception's text) back through a pipe.  `public_dir()`
makes a directory nobody can reach: pytest's tmp_path lies under a 0700 directory.
`NOBODY_ARGV` runs a program as nobody (setpriv, util-linux).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
