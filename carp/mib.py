"""The MIB: every `net.inet.*` node this host's "kernel" has, per personality.

For each node: type, range, default, writability, whether a prefix listing shows it,
and the FreeBSD `-d` description.  Which carp nodes a personality has, and their
defaults and ranges, are its policy's (carp_sysctl_nodes).  Values of carp nodes live
in the store (only what the admin wrote) and in carpd's runtime status;
`effective_value` combines them.

Import cost matters (`sysctl net.inet.carp.preempt` must start fast): this module
imports nothing at start; the policies it is handed import nothing slow.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `from typing import ...`: typing costs ~5 ms at start-up
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from carp.personality import Policy

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

CARP = "net.inet.carp"

# BSD names with a Linux meaning: the single table (bsd name -> Linux sysctl name).
LINUX_MAPPED: dict[str, str] = {
    "net.inet.ip.forwarding": "net.ipv4.ip_forward",
    "net.inet6.ip6.forwarding": "net.ipv6.conf.all.forwarding",
}

# Top-level-and-below prefixes that belong to the BSD tree; everything else is Linux's.
BSD_ROOTS: tuple[str, ...] = ("net.inet", "net.inet6")


class Node:
    """One leaf.  kind: "int" (store-backed), "struct" (netstat only), "linux" (mapped)."""

    __slots__ = ("name", "kind", "default", "lo", "hi", "writable", "adds", "listed", "descr")

    def __init__(
        self,
        name: str,
        kind: str = "int",
        default: int = 0,
        lo: int = INT_MIN,
        hi: int = INT_MAX,
        writable: bool = True,
        adds: bool = False,
        listed: bool = True,
        descr: str = "",
    ) -> None:
        self.name = name
        self.kind = kind
        self.default = default
        self.lo = lo
        self.hi = hi
        self.writable = writable and kind != "struct"
        self.adds = adds  # writing N adds N (FreeBSD net.inet.carp.demotion)
        self.listed = listed  # False: accepted by name for old scripts, hidden in listings
        self.descr = descr

    @property
    def short(self) -> str:
        return self.name.rsplit(".", 1)[1]

    def __repr__(self) -> str:
        return f"Node({self.name!r}, {self.kind!r}, default={self.default})"


_FORWARDING = (
    # Range checks are the Linux kernel's: the value is handed to /proc/sys.
    Node("net.inet.ip.forwarding", kind="linux",
         descr="Enable IP forwarding between interfaces"),
    Node("net.inet6.ip6.forwarding", kind="linux",
         descr="Enable forwarding of IPv6 packets between interfaces"),
)


def mib(pol: Policy) -> tuple[Node, ...]:
    """The personality's whole BSD tree, in `sysctl -a` order (its carp nodes in its
    kernel's listing order)."""
    nodes = pol.carp_sysctl_nodes
    carp = [Node(f"{CARP}.{short}", **kw) for short, kw in nodes.items()]  # type: ignore[arg-type]
    return (_FORWARDING[0], *carp, _FORWARDING[1])


def defaults(pol: Policy) -> dict[str, int]:
    """Full name -> default, for every store-backed int node."""
    return {n.name: n.default for n in mib(pol) if n.kind == "int"}


def is_bsd_name(name: str) -> bool:
    """Whether `name` belongs to the BSD tree (else it is passed to Linux)."""
    return any(name == r or name.startswith(r + ".") for r in BSD_ROOTS)


def lookup(pol: Policy, name: str) -> Node | None:
    """The leaf called `name`, or None."""
    return next((n for n in mib(pol) if n.name == name), None)


def is_interior(pol: Policy, name: str) -> bool:
    """Whether `name` is a node with children (`net`, `net.inet`, `net.inet.carp` ...)."""
    prefix = name + "."
    return any(n.name.startswith(prefix) for n in mib(pol))


def listing(pol: Policy, prefix: str = "", hidden: bool = False) -> list[Node]:
    """Leaves under `prefix` ("" = all) in listing order; hidden compat nodes only on request."""
    want = prefix + "." if prefix else ""
    return [
        n for n in mib(pol)
        if n.name.startswith(want) and (n.listed or hidden)
    ]


def unknown_at(pol: Policy, name: str) -> tuple[int, str, bool]:
    """Where a name that is not in the tree goes wrong: (index, component, past_leaf).

    past_leaf: the name runs on past a leaf (OpenBSD "name X in Y is unknown")."""
    return locate(name.split("."), [n.name.split(".") for n in mib(pol)])


def locate(parts: list[str], known: list[list[str]]) -> tuple[int, str, bool]:
    """The first component of `parts` that no path in `known` continues with."""
    for i, part in enumerate(parts):
        candidates = [k for k in known if len(k) > i and k[:i] == parts[:i]]
        if not candidates:
            return i, part, True
        if all(k[i] != part for k in candidates):
            return i, part, False
    return len(parts) - 1, parts[-1], False


def effective_value(
    node: Node, stored: Mapping[str, int], status: Mapping[str, object] | None
) -> int:
    """What a read shows: the admin's stored value (or the default) plus runtime parts.

    * demotion: admin adjustments (stored sum) + carpd's own (ifdown/senderr) demotion.
    * suppress_preempt: carpd's counter, 0 when carpd is not running."""
    if node.name == f"{CARP}.suppress_preempt":
        return _status_int(status, "suppress_preempt")
    value = stored.get(node.name, node.default)
    if node.name == f"{CARP}.demotion":
        value += _status_int(status, "demotion")
    return value


def _status_int(status: Mapping[str, object] | None, key: str) -> int:
    if not status:
        return 0
    value = status.get(key, 0)
    return value if isinstance(value, int) else 0


def names(nodes: Iterable[Node]) -> list[str]:
    return [n.name for n in nodes]
