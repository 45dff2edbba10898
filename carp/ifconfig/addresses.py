"""Address words of an ifconfig command: parsed in argv order, applied at the end.

BSD ifconfig validates an address, netmask or prefixlen the moment it meets it (so
errors come out in command-line order) but adds the address only after every other
keyword (SIOCAIFADDR last).  `gather_address` folds those words into `Addresses`;
`change_addresses` then adds or removes the result.
"""

from __future__ import annotations

from carp.config import Address, CarpInterface
from carp.ifconfig import errors, values
from carp.ifconfig import operations as o
from carp.ifconfig.errors import fail
from carp.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality import Policy


@record
class Addresses:
    """Address words and modifiers gathered while walking argv, applied at the end."""

    family: int = 4
    address: str | None = None
    prefixlen: int | None = None  # from /len, netmask or prefixlen: the last one wins
    broadcast: str | None = None
    words: int = 0
    alias: bool = False
    unalias: bool = False
    remove_family: list[int] = field(default_factory=list)


def _parse_address(word: str, family: int, pol: Policy) -> tuple[str, int | None]:
    """An address word (optionally `/len`) -> (canonical address, prefixlen or None)."""
    bits = 128 if family == 6 else 32
    addr_text, slash, plen_text = word.partition("/")
    plen: int | None = None
    if slash:
        if pol.parses_width_apart:
            err = None
            if not plen_text[:1].isdigit():
                err = "invalid"
            else:
                n, err = values.strtonum(plen_text, 0, bits)
                plen = n
            if err is not None:
                raise fail(f"{word}: bad value (width {err})")
        else:
            if not plen_text.isdigit() or int(plen_text) > bits:
                raise errors.bad_value(pol, word)
            plen = int(plen_text)
    canon = values.inet6(addr_text) if family == 6 else values.inet_aton(addr_text)
    if canon is None:
        raise errors.bad_value(pol, addr_text if pol.parses_width_apart and slash else word)
    return canon, plen


def _parse_mask(word: str, family: int, pol: Policy) -> int:
    result = values.parse_netmask(word, 128 if family == 6 else 32)
    if result == "bad":
        raise errors.bad_value(pol, word)
    if result is None:
        raise errors.syntax(pol, f"{word}: non-contiguous mask")
    assert isinstance(result, int)
    return result


def _parse_prefixlen(word: str, family: int, pol: Policy) -> int:
    bits = 128 if family == 6 else 32
    numbers = pol.ifconfig_numbers
    if numbers == "strtonum":
        n, err = values.strtonum(word, 0, bits)
        if err is not None:
            raise fail(f"prefix {word}: {err}")
        return n
    if numbers == "atoi":
        n = values.atoi(word)
        if not 0 <= n <= bits:
            raise fail(f"{word}: bad value")
        return n
    m = values.decimal(word, 0, bits)
    if m is None:
        raise errors.usage(pol)
    return m


def gather_address(op: o.Op, acc: Addresses, pol: Policy) -> bool:
    """Fold an address-related op into acc; False if op is not one."""
    if isinstance(op, o.AddressWord):
        if acc.words == 0:
            acc.address, plen = _parse_address(op.value, acc.family, pol)
            if plen is not None:
                acc.prefixlen = plen
        elif acc.words == 1:
            # The destination address: parsed (errors count) but meaningless on a
            # broadcast interface, where BSD's ifra_dstaddr aliases the broadcast.
            acc.broadcast = _parse_address(op.value, acc.family, pol)[0]
        else:
            raise errors.bad_value(pol, op.value)
        acc.words += 1
    elif isinstance(op, o.Netmask):
        acc.prefixlen = _parse_mask(op.value, acc.family, pol)
    elif isinstance(op, o.Prefixlen):
        acc.prefixlen = _parse_prefixlen(op.value, acc.family, pol)
    elif isinstance(op, o.Broadcast):
        acc.broadcast = _parse_address(op.value, 4, pol)[0]
    elif isinstance(op, o.Alias):
        acc.alias = True
    elif isinstance(op, o.Unalias):
        acc.unalias = True
    elif isinstance(op, o.RemoveFamily):
        acc.remove_family.append(6 if op.word == "-inet6" else 4)
    else:
        return False
    return True


def change_addresses(
    ci: CarpInterface, acc: Addresses, pol: Policy, warnings: list[str]
) -> Address | None:
    """Make the command's address change on ci; the address added, if any.

    -inet/-inet6 first, then SIOCDIFADDR (-alias, delete) or SIOCAIFADDR.  On a carpN,
    -alias without an address removes the family's first one, and an address without
    `alias` replaces the family's first (SIOCAIFADDR's rule).  A FreeBSD vhid's address
    is bound to its vhid and added beside the others; its -alias needs the address."""
    clone = ci.style == "clone"
    for fam in acc.remove_family:
        ci.addresses = [a for a in ci.addresses if a.family != fam]
    if acc.unalias:
        if clone and acc.address is None:
            victim = next((a for a in ci.addresses if a.family == acc.family), None)
        else:
            victim = next((a for a in ci.addresses if a.address == acc.address), None)
        if victim is None:
            raise errors.line(pol.no_such_address)
        ci.addresses.remove(victim)
        return None
    if acc.address is None:
        return None
    plen = final_prefixlen(acc, pol, warnings)
    new = Address(acc.address, plen, acc.broadcast, vhid=None if clone else ci.vhid)
    at = next((i for i, a in enumerate(ci.addresses) if a.address == new.address), None)
    if at is None and clone and not acc.alias:  # SIOCAIFADDR replaces the family's first
        at = next((i for i, a in enumerate(ci.addresses) if a.family == new.family), None)
    if at is None:
        ci.addresses.append(new)
    else:
        ci.addresses[at] = new
    ci.up = True  # SIOCAIFADDR marks the interface UP
    return new


def final_prefixlen(acc: Addresses, pol: Policy, warnings: list[str]) -> int:
    if acc.prefixlen is not None:
        return acc.prefixlen
    if acc.family == 6:
        return 64
    if pol.nomask_warning:
        warnings.append(pol.nomask_warning)
    assert acc.address is not None
    return values.classful_prefixlen(acc.address)
