"""Which BSD's behaviour to copy where the three kernels and userlands differ."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing costs ~5 ms at the front ends' start-up
if TYPE_CHECKING:
    from typing import Literal

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
