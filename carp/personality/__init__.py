"""Which BSD's behaviour to copy where the three kernels and userlands differ.

One module per BSD (openbsd, freebsd, netbsd) holds a policy object with that BSD's
rules; `policy(name)` returns it.  The front ends only need the names and the
environment default, so this module imports no policy until one is asked for."""

from __future__ import annotations

import os

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
    return value  # type: ignore[return-value]


def policy(name: str) -> Policy:
    """The policy object of personality `name` (ValueError for an unknown one)."""
    if name not in PERSONALITIES:
        raise ValueError(f"unknown personality {name!r}; expected one of {PERSONALITIES}")
    import importlib

    return importlib.import_module(f"carp.personality.{name}").POLICY  # type: ignore[no-any-return]
