"""`carpd --personality NAME`: switch whose behaviour every tool copies.

carpd's command line calls `set_personality`; the switch is one store transaction so
every front end sees the old or the new personality, never a mixture.
"""

from __future__ import annotations

from carp import mib
from carp.personality import PERSONALITIES
from carp.store import Store


class UnknownPersonality(ValueError):
    pass


def validate(name: str) -> str:
    """The canonical personality name, or UnknownPersonality with an admin-facing text."""
    value = name.strip().lower()
    if value not in PERSONALITIES:
        raise UnknownPersonality(
            f"unknown personality '{name}': must be one of {', '.join(PERSONALITIES)}"
        )
    return value


def set_personality(store: Store, name: str) -> None:
    """Store the new personality (raises UnknownPersonality for a bad name).

    Admin-written sysctl values the new personality has no node for (e.g. FreeBSD's
    dscp when switching to openbsd) are dropped: they would be invisible yet kept."""
    value = validate(name)
    with store.transaction() as state:
        if state.personality == value:
            return
        state.personality = value
        state.sysctl = {
            k: v for k, v in state.sysctl.items() if mib.lookup(state.policy, k) is not None
        }
        generation = state.generation + 1
    store.wait_applied(generation)
