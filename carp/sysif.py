"""Fast facts about Linux interfaces for the front ends (netifaces + /sys/class/net).

The front ends must start fast, so this module never imports pyroute2 or ipaddress:
sysfs files give the link facts, netifaces (a C extension, imported on first use)
gives the addresses, and address arithmetic is done on plain integers.

BSD scripts name interfaces `em0`, `wm0`, ...; `/etc/carp/ifmap` (lines `em0 = eth0`,
`#` comments; `$CARP_IFMAP` overrides the path) and `State.ifmap` (which wins) map
those names to Linux ones.  Everything here takes and returns Linux names unless the
function says otherwise.
"""

from __future__ import annotations

import os

from carp.cmodules import socket as _socket
from carp.record import field, record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.store import State

SYS_NET = "/sys/class/net"
IFMAP_PATH = "/etc/carp/ifmap"
IFMAP_ENV = "CARP_IFMAP"

# Linux <linux/if.h> bits.  RUNNING/LOWER_UP are not stored in the sysfs `flags`
# file; the kernel adds them in dev_get_flags(), and so do we (see _read_flags).
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_DEBUG = 0x4
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
IFF_MULTICAST = 0x1000
IFF_LOWER_UP = 0x10000


@record
class SysIf:
    """One Linux interface as ifconfig needs it; plain data so tests can build it."""

    name: str
    index: int
    mac: str
    mtu: int
    flags: int
    carrier: bool | None
    operstate: str
    v4: list[tuple[str, int, str | None]] = field(default_factory=list)
    v6: list[tuple[str, int, int]] = field(default_factory=list)
    kind: str = ""


# -- sysfs -------------------------------------------------------------------------


def _valid(name: str) -> bool:
    # Refuse path tricks: a name comes from the command line and becomes a path.
    return bool(name) and "/" not in name and name not in (".", "..") and "\0" not in name


def _read(name: str, leaf: str) -> str | None:
    try:
        with open(f"{SYS_NET}/{name}/{leaf}") as fh:
            return fh.read().strip()
    except OSError:  # e.g. `carrier` of a down link reads as EINVAL
        return None


def _int(text: str | None, default: int = 0, base: int = 10) -> int:
    try:
        return int(text, base) if text is not None else default
    except ValueError:
        return default


def exists(linux_name: str) -> bool:
    return _valid(linux_name) and os.path.isdir(f"{SYS_NET}/{linux_name}")


def names() -> list[str]:
    """Linux interfaces in ifindex order (the order BSD's `ifconfig -a` uses)."""
    try:
        entries = os.listdir(SYS_NET)
    except OSError:
        return []
    indexed = [(_int(_read(n, "ifindex")), n) for n in entries]
    return [n for _, n in sorted(indexed)]


def highest_ifindex() -> int:
    """The largest ifindex in use (0 when none can be read).  One netlink dump through
    libc's if_nameindex(): half the time of reading every /sys/class/net/*/ifindex
    (12 ms against 6 at a thousand macvlans, on every interface an ifconfig creates)."""
    from carp.cmodules import socket as _socket

    try:
        return max((index for index, _name in _socket.if_nameindex()), default=0)
    except OSError:
        pass
    try:
        entries = os.listdir(SYS_NET)
    except OSError:
        return 0
    return max((_int(_read(n, "ifindex")) for n in entries), default=0)


def _kind(name: str, flags: int) -> str:
    uevent = _read(name, "uevent") or ""
    for line in uevent.splitlines():
        if line.startswith("DEVTYPE="):
            return line[8:]
    base = f"{SYS_NET}/{name}"
    if os.path.isdir(f"{base}/brif"):
        return "bridge"
    if flags & IFF_LOOPBACK:
        return "loopback"
    if os.path.exists(f"{base}/device"):
        return ""  # backed by hardware (or virtio): an ordinary NIC
    driver = _driver(name)
    if driver:
        return driver
    try:
        if any(e.startswith("lower_") for e in os.listdir(base)):
            return "macvlan"  # a stacked device without DEVTYPE: macvlan is our own kind
    except OSError:
        pass
    return ""


def _driver(name: str) -> str:
    """The driver name (`veth`, `macvlan`, `dummy`, ...) via ETHTOOL_GDRVINFO; "" on error."""
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:  # no `with`: _socket's sockets are not context managers (and contextlib costs)
        raw = _ethtool(sock, name, 0x3, 196)  # struct ethtool_drvinfo
    finally:
        sock.close()
    return raw[4:36].split(b"\0", 1)[0].decode(errors="replace") if raw else ""


def _read_flags(name: str) -> tuple[int, bool | None, str]:
    flags = _int(_read(name, "flags"), 0, 16)
    operstate = _read(name, "operstate") or "unknown"
    carrier_text = _read(name, "carrier")
    carrier = None if carrier_text is None else carrier_text == "1"
    # dev_get_flags(): RUNNING when up and oper-up (or unknown), LOWER_UP with carrier.
    if flags & IFF_UP:
        if operstate in ("up", "unknown"):
            flags |= IFF_RUNNING
        if carrier:
            flags |= IFF_LOWER_UP
    return flags, carrier, operstate


def _prefix_of_mask(mask: str) -> int:
    if "/" in mask:  # netifaces gives IPv6 masks as "ffff:...::/64"
        return _int(mask.rsplit("/", 1)[1])
    try:
        family = _socket.AF_INET6 if ":" in mask else _socket.AF_INET
        return bin(int.from_bytes(_socket.inet_pton(family, mask), "big")).count("1")
    except OSError:
        return 0


def _link_local(addr: str) -> bool:
    head = addr.lower().split(":", 1)[0]
    return len(head) == 4 and head[:3] in ("fe8", "fe9", "fea", "feb")  # fe80::/10


def _broadcast(entry: dict[str, str]) -> str | None:
    """The kernel's IFA_BROADCAST, None when the address has none.

    Without one, getifaddrs() (glibc, under netifaces) reports the address itself as
    the broadcast, which would then be printed as if the kernel used it."""
    bcast = entry.get("broadcast")
    return bcast if bcast and bcast != entry["addr"] else None


def addresses(
    linux_name: str, index: int
) -> tuple[list[tuple[str, int, str | None]], list[tuple[str, int, int]]]:
    """(IPv4, IPv6) addresses of one interface, in the kernel's order."""
    import netifaces

    try:
        table = netifaces.ifaddresses(linux_name)
    except ValueError:  # vanished between listing and reading
        return [], []
    v4 = [
        (a["addr"], _prefix_of_mask(a.get("netmask", "255.255.255.255")), _broadcast(a))
        for a in table.get(netifaces.AF_INET, [])
        if "addr" in a
    ]
    v6: list[tuple[str, int, int]] = []
    for a in table.get(netifaces.AF_INET6, []):
        addr = a.get("addr", "").split("%", 1)[0]
        if not addr:
            continue
        scope = index if _link_local(addr) else 0
        v6.append((addr, _prefix_of_mask(a.get("netmask", "/128")), scope))
    return v4, v6


def inet_addresses(linux_name: str) -> list[tuple[str, int]]:
    """(address, prefixlen) of every IPv4 then IPv6 address, in the kernel's order."""
    if not exists(linux_name):
        return []
    v4, v6 = addresses(linux_name, 0)
    return [(a, p) for a, p, _ in v4] + [(a, p) for a, p, _ in v6]


def get(linux_name: str, kind: str | None = None) -> SysIf | None:
    """Everything about one Linux interface, or None when it does not exist.

    A caller that knows the kind (carpd's own macvlans) passes it: finding it out can
    take an ethtool query, whose buffer needs `array` (~3 ms to import)."""
    if not exists(linux_name):
        return None
    index = _int(_read(linux_name, "ifindex"))
    flags, carrier, operstate = _read_flags(linux_name)
    v4, v6 = addresses(linux_name, index)
    return SysIf(
        name=linux_name,
        index=index,
        mac=_read(linux_name, "address") or "00:00:00:00:00:00",
        mtu=_int(_read(linux_name, "mtu"), 1500),
        flags=flags,
        carrier=carrier,
        operstate=operstate,
        v4=v4,
        v6=v6,
        kind=_kind(linux_name, flags) if kind is None else kind,
    )


def mtu(linux_name: str) -> int | None:
    """Just the MTU (a carp interface shows its carpdev's), without reading addresses."""
    if not _valid(linux_name):
        return None
    text = _read(linux_name, "mtu")
    return _int(text, 1500) if text is not None else None


# FreeBSD IFCAP_* bits (net/if.h) that a Linux link's ethtool settings can express.
IFCAP_RXCSUM, IFCAP_TXCSUM, IFCAP_VLAN_MTU, IFCAP_VLAN_HWTAGGING = 0x1, 0x2, 0x8, 0x10
IFCAP_TSO4, IFCAP_TSO6, IFCAP_LRO = 0x100, 0x200, 0x400
IFCAP_WOL_UCAST, IFCAP_WOL_MCAST, IFCAP_WOL_MAGIC = 0x800, 0x1000, 0x2000
IFCAP_LINKSTATE, IFCAP_RXCSUM_IPV6, IFCAP_TXCSUM_IPV6 = 0x80000, 0x200000, 0x400000


def _ethtool(sock: _socket.socket, name: str, cmd: int, size: int = 8) -> bytes | None:
    """One legacy SIOCETHTOOL get; the reply buffer, or None when the driver lacks it."""
    import array
    import fcntl
    import struct

    buf = array.array("B", struct.pack("I", cmd) + bytes(size - 4))
    ifreq = struct.pack("16sP", name.encode()[:15], buf.buffer_info()[0])
    try:
        fcntl.ioctl(sock.fileno(), 0x8946, ifreq)
    except OSError:
        return None
    return buf.tobytes()


def capabilities(linux_name: str) -> int | None:
    """FreeBSD IFCAP_* bits for the `options=` line, from the legacy ethtool getters.

    None when the driver answers none of them (the line is then left out).  Linux
    checksum offload covers both families, hence RXCSUM also sets RXCSUM_IPV6."""
    if not exists(linux_name):
        return None
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)

    def value(cmd: int) -> int | None:
        raw = _ethtool(sock, linux_name, cmd)
        return int.from_bytes(raw[4:8], "little") if raw else None

    try:
        rx, tx, tso, eflags = value(0x14), value(0x16), value(0x1E), value(0x25)
        wol = _ethtool(sock, linux_name, 0x5, 20)  # ETHTOOL_GWOL: cmd, supported, wolopts
    finally:
        sock.close()
    if rx is None and tx is None and tso is None and eflags is None:
        return None
    caps = 0
    if rx:
        caps |= IFCAP_RXCSUM | IFCAP_RXCSUM_IPV6
    if tx:
        caps |= IFCAP_TXCSUM | IFCAP_TXCSUM_IPV6
    if tso:
        caps |= IFCAP_TSO4 | IFCAP_TSO6
    if eflags and eflags & (1 << 15):  # ETH_FLAG_LRO
        caps |= IFCAP_LRO
    if eflags and eflags & (0x3 << 7):  # ETH_FLAG_TXVLAN | ETH_FLAG_RXVLAN
        caps |= IFCAP_VLAN_HWTAGGING
    flags = _int(_read(linux_name, "flags"), 0, 16)
    if not flags & IFF_LOOPBACK and _read(linux_name, "type") == "1":  # ARPHRD_ETHER
        caps |= IFCAP_VLAN_MTU  # 802.1Q fits on every Linux Ethernet link
    if wol:
        opts = int.from_bytes(wol[8:12], "little")
        for bit, cap in ((1 << 1, IFCAP_WOL_UCAST), (1 << 2, IFCAP_WOL_MCAST),
                         (1 << 5, IFCAP_WOL_MAGIC)):
            if opts & bit:
                caps |= cap
    if _read(linux_name, "carrier") is not None or not flags & IFF_UP:
        caps |= IFCAP_LINKSTATE  # the driver reports carrier changes
    return caps


def speed(linux_name: str) -> tuple[int | None, str | None]:
    """(Mb/s, "full"/"half") of an Ethernet link when the driver reports it."""
    mbps = _int(_read(linux_name, "speed"), -1)
    duplex = _read(linux_name, "duplex")
    return (mbps if mbps > 0 else None), (duplex if duplex in ("full", "half") else None)


def default_route_devices() -> set[str]:
    """Linux names carrying a default route (OpenBSD puts them in group `egress`)."""
    found: set[str] = set()
    try:
        with open("/proc/net/route") as fh:
            for line in fh.read().splitlines()[1:]:
                cols = line.split()
                if len(cols) > 7 and cols[1] == "00000000" and cols[7] == "00000000":
                    found.add(cols[0])
        with open("/proc/net/ipv6_route") as fh:
            for line in fh:
                cols = line.split()
                if len(cols) == 10 and cols[0] == "0" * 32 and cols[1] == "00":
                    if cols[9] != "lo":
                        found.add(cols[9])
    except OSError:
        pass
    return found


def ipv6_disabled(linux_name: str) -> bool:
    try:
        with open(f"/proc/sys/net/ipv6/conf/{linux_name}/disable_ipv6") as fh:
            return fh.read().strip() == "1"
    except OSError:
        return True


# -- the BSD <-> Linux name map -------------------------------------------------------

_ifmap_cache: dict[str, tuple[tuple[int, int], dict[str, str]]] = {}


def _file_ifmap() -> dict[str, str]:
    path = os.environ.get(IFMAP_ENV) or IFMAP_PATH
    try:
        st = os.stat(path)
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    cached = _ifmap_cache.get(path)
    if cached and cached[0] == stamp:
        return cached[1]
    mapping: dict[str, str] = {}
    try:
        with open(path) as fh:
            text = fh.read()
    except OSError:
        return {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        bsd, sep, linux = line.partition("=")
        bsd, linux = bsd.strip(), linux.strip()
        if sep and bsd and linux and " " not in bsd and " " not in linux:
            mapping[bsd] = linux
    _ifmap_cache[path] = (stamp, mapping)
    return mapping


def ifmap(state: State) -> dict[str, str]:
    """BSD name -> Linux name: the file's entries, overridden by the store's."""
    mapping = dict(_file_ifmap())
    mapping.update(state.ifmap)
    return mapping


def resolve(bsd_name: str, state: State) -> str:
    """The Linux name behind a BSD-style name (the name itself when unmapped)."""
    return ifmap(state).get(bsd_name, bsd_name)


def bsd_name(linux_name: str, state: State) -> str:
    """The name to display for a Linux interface (store entries win over the file)."""
    for bsd, linux in state.ifmap.items():
        if linux == linux_name:
            return bsd
    for bsd, linux in _file_ifmap().items():
        if linux == linux_name and bsd not in state.ifmap:
            return bsd
    return linux_name


# -- carpdev auto-selection -----------------------------------------------------------


def _parse(address: str) -> tuple[int, int] | None:
    """(bits, value) of an IPv4/IPv6 address, None when it is not one."""
    try:
        if ":" in address:
            return 128, int.from_bytes(_socket.inet_pton(_socket.AF_INET6, address), "big")
        return 32, int.from_bytes(_socket.inet_pton(_socket.AF_INET, address), "big")
    except OSError:
        return None


def _same_subnet(a: int, b: int, bits: int, prefixlen: int) -> bool:
    shift = bits - max(0, min(prefixlen, bits))
    return a >> shift == b >> shift


def carpdev_for(address: str, prefixlen: int, state: State) -> str | None:
    """The BSD-visible name of the non-carp interface whose subnet holds `address`.

    Like the BSD kernels (carp_set_addr), the interface's own netmask decides, so a /32
    FreeBSD alias still finds em0's /24; among several candidates one whose prefix
    length equals `prefixlen` wins, then the lowest ifindex.  IPv6 link-local
    addresses are skipped: every interface has fe80::/64."""
    parsed = _parse(address.split("%", 1)[0])
    if parsed is None:
        return None
    bits, value = parsed
    if bits == 128 and value >> 118 == 0x3FA:  # fe80::/10
        return None
    carp_links = {ci.linux_name for ci in state.interfaces.values()}
    best: tuple[int, str] | None = None
    for name in names():
        if name in carp_links:
            continue
        facts = get(name)
        if facts is None or facts.flags & IFF_LOOPBACK:
            continue
        own = [(a, p) for a, p, _ in facts.v4] if bits == 32 else [(a, p) for a, p, _ in facts.v6]
        for addr, plen in own:
            mine = _parse(addr)
            if mine is None or mine[0] != bits or not _same_subnet(mine[1], value, bits, plen):
                continue
            rank = 0 if plen == prefixlen else 1
            if best is None or rank < best[0]:
                best = (rank, name)
            break
        if best is not None and best[0] == 0:
            break
    return bsd_name(best[1], state) if best else None
