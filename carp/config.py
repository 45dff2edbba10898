"""The carp interface model: what `ifconfig` writes into the store and carpd reads (pure).

One `CarpInterface` is one "virtual host group" the kernel would hold:

* style "clone": an OpenBSD/NetBSD/FreeBSD<=9 `carpN` pseudo-interface.  It has one
  address set, advbase and key shared by its carpnodes (one node unless `carpnodes`).
* style "vhid": a FreeBSD 10+ vhid living on a physical interface.  `name` is the
  physical interface, `nodes` has exactly one entry and `addresses` are the ones
  attached to that vhid.

Ranges here are the union of what the kernels accept; each front end applies its
personality's narrower ranges and error texts before writing.
"""

from __future__ import annotations

from carp.mac import virtual_mac
from carp.record import asdict, build, field, record
from carp.states import BACKUP, INIT, MASTER

# ifconfig imports this on every start: ipaddress and typing only where needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import ipaddress
    from typing import Any, Literal

    Style = Literal["clone", "vhid"]
    Balancing = Literal["none", "ip", "ip-stealth", "ip-unicast", "arp"]

BALANCING_MODES: tuple[str, ...] = ("none", "ip", "ip-stealth", "ip-unicast", "arp")
STATES: tuple[str, ...] = (INIT, BACKUP, MASTER)

CARP_GROUP_V4 = "224.0.0.18"
CARP_GROUP_V6 = "ff02::12"
MAX_CARPNODES = 32
# CARP_KEY_LEN, the kernel's key buffer: `pass` is strlcpy'd into it, so the key is at
# most KEY_LEN - 1 bytes of the passphrase then NULs (docs/protocol.md 2.1).  Here, not
# in carp.wire, so that ifconfig can truncate `pass` without loading the codec.
KEY_LEN = 20


@record
class Node:
    """One vhid of a carp interface with its own election (a carpnodes entry)."""

    vhid: int
    advskew: int = 0


@record
class Address:
    """A virtual address.  `vhid` is set for FreeBSD-style addresses bound to a vhid."""

    address: str
    prefixlen: int
    broadcast: str | None = None
    vhid: int | None = None

    @property
    def family(self) -> int:
        return 6 if ":" in self.address else 4

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        import ipaddress

        return ipaddress.ip_interface(f"{self.address}/{self.prefixlen}")


@record
class StateRequest:
    """A one-shot `state master|backup` from the admin; carpd acts once per new seq."""

    seq: int
    state: str
    vhid: int | None = None


@record
class CarpInterface:
    name: str
    style: Style = "clone"
    carpdev: str | None = None
    nodes: list[Node] = field(default_factory=list)
    advbase: int = 1
    passphrase: str = ""
    addresses: list[Address] = field(default_factory=list)
    up: bool = False
    balancing: Balancing = "none"
    peer: str = CARP_GROUP_V4
    peer6: str = CARP_GROUP_V6
    lladdr: str | None = None
    groups: list[str] = field(default_factory=lambda: ["carp"])
    index: int = 0
    state_request: StateRequest | None = None
    # FreeBSD 15 VRRPv3 mode (`carpver 3 vrrpprio P vrrpinterval I`).
    version: int = 2
    vrrp_prio: int = 100
    vrrp_interval: int = 100

    @property
    def parent(self) -> str | None:
        """The physical interface a vhid lives on: the carpdev, or for a FreeBSD-style vhid
        the interface itself."""
        return self.name if self.style == "vhid" else self.carpdev

    @property
    def key(self) -> str:
        """The store's table key: the interface name, or `<ifname>:<vhid>` for vhid style."""
        return vhid_key(self.name, self.nodes[0].vhid) if self.style == "vhid" else self.name

    @property
    def linux_name(self) -> str:
        """The macvlan carpd creates for it (Linux names are at most 15 bytes, no ':')."""
        if self.style == "clone":
            return self.name[:15]
        return f"vh{self.nodes[0].vhid}-{self.name}"[:15]

    @property
    def vhid(self) -> int:
        """The leader vhid (lowest), or 0 when unconfigured."""
        return self.nodes[0].vhid if self.nodes else 0

    @property
    def effective_balancing(self) -> str:
        """OpenBSD forces `ip` when several carpnodes are given with balancing none."""
        if len(self.nodes) > 1 and self.balancing == "none":
            return "ip"
        return self.balancing

    def addresses_for(self, vhid: int) -> list[Address]:
        """The addresses hashed into vhid's advertisements."""
        if self.style == "vhid":
            return [a for a in self.addresses if a.vhid in (None, vhid)]
        return list(self.addresses)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CarpInterface:
        """The interface a store document describes; it shares nothing mutable with it
        (the store compares the documents it read with what is committed)."""
        data = dict(data)
        data["nodes"] = [build(Node, n) for n in data.get("nodes", [])]
        data["addresses"] = [build(Address, a) for a in data.get("addresses", [])]
        req = data.get("state_request")
        data["state_request"] = build(StateRequest, req) if req else None
        if "groups" in data:
            data["groups"] = list(data["groups"])
        return build(cls, data)


def vhid_key(ifname: str, vhid: int) -> str:
    return f"{ifname}:{vhid}"


def macvlan_mac(ci: CarpInterface) -> str:
    """A macvlan cannot carry a multicast MAC (OpenBSD `balancing ip`): use the unicast one."""
    mac = interface_mac(ci)
    return virtual_mac(ci.vhid) if int(mac[:2], 16) & 1 else mac


def interface_mac(ci: CarpInterface) -> str:
    """The MAC the carp interface carries: lladdr if set, else the leader's virtual MAC."""
    if ci.lladdr:
        return ci.lladdr
    if not ci.nodes:
        return "00:00:00:00:00:00"
    return virtual_mac(ci.vhid, multicast=ci.effective_balancing == "ip")
