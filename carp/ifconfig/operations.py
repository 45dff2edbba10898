"""Operations: a parsed ifconfig command as a list of typed, still unvalidated steps.

Values stay the strings the admin typed: validating them needs the personality's
rules and error texts, which is `apply`'s job, and errors must come out in
command-line order as BSD ifconfig (which validates as it walks argv) reports them.
"""

from __future__ import annotations

from carp.record import record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.ifconfig.grammar import Parsed
    from carp.personality import Policy


@record(frozen=True)
class Op:
    """Base: `word` is the keyword as typed (for messages)."""

    word: str


@record(frozen=True)
class Valued(Op):
    value: str


# -- interface life cycle, link ---------------------------------------------------
class Create(Op): ...


class Destroy(Op): ...


class Up(Op): ...


class Down(Op): ...


class SetLladdr(Valued): ...


class SetMtu(Valued): ...


class AddGroup(Valued): ...


class DelGroup(Valued): ...


# -- carp parameters ----------------------------------------------------------------
class SetVhid(Valued): ...


class SetAdvbase(Valued): ...


class SetAdvskew(Valued): ...


class SetPass(Valued): ...


class SetCarpdev(Valued): ...


class ClearCarpdev(Op): ...


class SetState(Valued): ...


@record(frozen=True)
class Carpnode:
    """One entry of a carpnodes word: `text` as typed and, if sscanf("%u:%u") reads it,
    the digits of its vhid and advskew (None, None: `non parsable arg`)."""

    text: str
    vhid: str | None = None
    advskew: str | None = None


@record(frozen=True)
class SetCarpnodes(Valued):
    """`value` is the word as typed, `nodes` its entries as the grammar read them."""

    nodes: tuple[Carpnode, ...]


class SetBalancing(Valued): ...


class SetCarppeer(Valued): ...


class ClearCarppeer(Op): ...


class SetPeer(Valued): ...


class SetPeer6(Valued): ...


class Mcast(Op): ...


class Mcast6(Op): ...


class SetCarpver(Valued): ...


class SetVrrpprio(Valued): ...


class SetVrrpinterval(Valued): ...


# -- addresses (applied after every keyword, as BSD ifconfig does) ---------------
class AddressWord(Valued):
    """A bare word: the address, then the destination address, then an error."""


class Netmask(Valued): ...


class Prefixlen(Valued): ...


class Broadcast(Valued): ...


class Alias(Op): ...


class Unalias(Op):
    """`-alias` or `delete`: remove the address given (or the first one)."""


class RemoveFamily(Op):
    """`-inet` / `-inet6`: remove every address of the family."""


# The operation of each keyword, as the grammar's rules build them.
ARG_OPS: dict[str, type[Valued]] = {
    "vhid": SetVhid,
    "advbase": SetAdvbase,
    "advskew": SetAdvskew,
    "pass": SetPass,
    "carpdev": SetCarpdev,
    "state": SetState,
    "carpnodes": SetCarpnodes,
    "balancing": SetBalancing,
    "carppeer": SetCarppeer,
    "group": AddGroup,
    "-group": DelGroup,
    "lladdr": SetLladdr,
    "peer": SetPeer,
    "peer6": SetPeer6,
    "carpver": SetCarpver,
    "vrrpprio": SetVrrpprio,
    "vrrpinterval": SetVrrpinterval,
    "netmask": Netmask,
    "prefixlen": Prefixlen,
    "broadcast": Broadcast,
    "mtu": SetMtu,
}

FLAG_OPS: dict[str, type[Op]] = {
    "create": Create,
    "destroy": Destroy,
    "-carpdev": ClearCarpdev,
    "-carppeer": ClearCarppeer,
    "mcast": Mcast,
    "mcast6": Mcast6,
    "alias": Alias,
    "-alias": Unalias,
    "delete": Unalias,
    "up": Up,
    "down": Down,
    "-inet": RemoveFamily,
    "-inet6": RemoveFamily,
}


@record(frozen=True)
class Command:
    ifname: str
    family: str | None
    ops: tuple[Op, ...]

    @property
    def inet6(self) -> bool:
        return self.family == "inet6"


def build(ifname: str, parsed: Parsed) -> Command:
    return Command(ifname, parsed.family, parsed.ops())


def parse_command(ifname: str, words: list[str], pol: Policy) -> Command:
    """argv words after the interface name -> Command (IfconfigError on bad syntax)."""
    from carp.ifconfig import grammar

    return build(ifname, grammar.parse(words, pol))
