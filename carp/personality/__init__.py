"""Which BSD's behaviour to copy where the three kernels and userlands differ.

One module per BSD (openbsd, freebsd, netbsd) holds a policy object with that BSD's
rules; `policy(name)` returns it.  The front ends only need the names and the
environment default, so this module imports no policy until one is asked for."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing costs ~5 ms at the front ends' start-up
if TYPE_CHECKING:
    from typing import Literal

    from carp.personality.base import Personality as Policy

    Personality = Literal["openbsd", "freebsd", "netbsd"]

PERSONALITIES: tuple[Personality, ...] = ("openbsd", "freebsd", "netbsd")
DEFAULT: Personality = "openbsd"
ENV_VAR = "CARP_PERSONALITY"


def from_environment() -> Personality:
    """The personality a brand-new store gets: $CARP_PERSONALITY, else openbsd."""
    value = os.environ.get(ENV_VAR, DEFAULT).strip().lower() or DEFAULT
    if value not in PERSONALITIES:
        raise ValueError(f"{ENV_VAR}={value!r}: must be one of {', '.join(PERSONALITIES)}")
    return value


def policy(name: str) -> Policy:
    """The policy object of personality `name` (ValueError for an unknown one)."""
    if name not in PERSONALITIES:
        raise ValueError(f"unknown personality {name!r}; expected one of {PERSONALITIES}")
    # __import__, not importlib.import_module: importlib (and warnings) would cost every
    # front end ~0.4 ms at start-up.
    module = f"carp.personality.{name}"
    __import__(module)
    return sys.modules[module].POLICY
