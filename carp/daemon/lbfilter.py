"""carpnodes load balancing in the Linux kernel: carpd's eBPF programs and maps.

DESIGN.  OpenBSD decides per packet in the kernel (carp_input clears the multicast bit of
the destination MAC, carp_ourether picks the carp interface, carp_lsdrop hashes the
addresses).  Here the same decision runs in an eBPF program carpd assembles itself
(carp/daemon/bpfasm.py) and loads with bpf(2) (carp/daemon/ebpf.py); no packet of the
balanced traffic ever reaches Python.

* Where: the tcx ingress hook of the carpdev.  It runs before the macvlan's
  rx_handler, which matters twice.  A frame to the multicast MAC 01:00:5e:00:01:N of
  `balancing ip` would be fanned out by macvlan_broadcast to every macvlan as
  PACKET_MULTICAST (TCP refuses it: tcp_v4_rcv wants PACKET_HOST) and also passed up
  the carpdev itself, where the weak host model delivers UDP and ICMP to the virtual
  address a second time, even on a host that must drop the packet.  Rewriting the
  destination to the macvlan's own unicast MAC here -- exactly carp_input's
  `*(eh->ether_dhost) &= ~0x01` -- makes the macvlan take the frame as unicast and
  PACKET_HOST and consume it; a rejected frame is dropped before anything sees it.
  Attaching to the macvlan's ingress instead (with bpf_skb_change_type) would leave
  both the duplicate delivery and the per-macvlan fan-out.
* How: a tcx link (BPF_LINK_CREATE, Linux 6.6) rather than a cls_bpf filter on a
  clsact qdisc.  The link lives exactly as long as carpd's file descriptor: exit, kill
  -9 or an OOM kill detaches the program in the kernel itself, so a crash can never
  leave a filter behind, even if the watchdog dies too, and start-up finds nothing to
  clean.  There is no qdisc to create or delete, so carpd can never take away a filter
  of someone else's; a packet that is not ours continues down the chain (TCX_NEXT).
* Why eBPF and not nftables: the netdev ingress hook can set pkttype and mask
  `ip saddr`, which splits exactly only for a power-of-two node count.  The fold
  modulo any count, the ICMP rules (errors hashed on the flow they quote), and the
  MAC rewrites on the way out need a program.
* State: one 64-bit word per balanced interface (balance.state_word: lsmask, lscount,
  first MASTER vhid) in an array map that carpd also maps into its memory.  A state
  change is one aligned 8-byte store in the event-loop turn that changed the state:
  atomic for the program, no reload, no syscall.  The static part (which MACs each
  interface owns, where accepted frames go) sits in hash maps updated on
  reconfiguration only.
* Leaving (tcx egress of each balanced macvlan): the kernel's own frames must not
  undo the split.  In ip, ip-stealth and arp modes their source MAC becomes the
  carpdev's (carp_start: never leak a virtual MAC; a learning switch must not learn a
  node's MAC at the wrong port); ARP requests and neighbour solicitations the kernel
  sends to resolve a peer announce ip mode's multicast MAC, or in arp mode the MAC of
  the node that peer was given (a map carpd fills as it answers; else the first node
  this host is MASTER of), with the ICMPv6 checksum adjusted; the kernel's own
  neighbour advertisements are dropped, since carpd answers solicitations itself
  (carp/daemon/arp.py), as it answers ARP (the macvlan has arp_ignore=8).
* Link-layer filters: a NIC must pass the multicast MAC (ip mode) and the other nodes'
  MACs (arp mode).  carpd adds them as memberships of one AF_PACKET socket, which the
  kernel drops with the socket: on exit and on a crash alike.

What a program does is specified by carp.balance (Share) and, per packet, by the model
of carp_lsdrop in tests/lsdrop.py; tests/unit/test_lbfilter.py runs the loaded programs
(BPF_PROG_TEST_RUN) against both.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import struct
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from carp.balance import HASH, Share
from carp.daemon import caps, ebpf
from carp.daemon.bpfasm import FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, Asm
from carp.wire import mac_bytes

# struct __sk_buff offsets
SKB_IFINDEX, SKB_DATA, SKB_DATA_END = 40, 76, 80
ETH_IP_LE, ETH_IPV6_LE, ETH_ARP_LE = 0x0008, 0xDD86, 0x0608  # ethertypes as loaded (LE)

MAX_SLOTS = 256  # balanced carp interfaces per carpd
MAX_MACS = 4096
MAX_CLIENTS = 8192

# ingress: (ifindex, destination MAC) -> what to do with the frame
MAC_KEY = struct.Struct("=I6s2x")
MAC_VALUE = struct.Struct("=IBBxx6s2x")  # slot, node (HASH: hash the addresses), flags, MAC
F_REWRITE = 1  # accepted: the destination becomes the macvlan's MAC

# egress: macvlan ifindex -> how its frames leave
EGRESS_KEY = struct.Struct("=I")
EGRESS_VALUE = struct.Struct("=IBBxx6s2x6s2x6s2x")  # slot, kind, flags, macvlan, parent, announce
E_SOURCE = 1  # source MAC macvlan -> parent
E_DROP_NA = 2  # the kernel's neighbour advertisements
E_SHA_STATIC = 4  # ARP sha / NS source option: macvlan -> the announce MAC
E_SHA_PEER = 8  # ... -> the MAC of the node the peer was given (arp mode)

# arp mode: (slot, peer address as 16 bytes, IPv4 mapped) -> (node, vhid)
CLIENT_KEY = struct.Struct("=I16s")
CLIENT_VALUE = struct.Struct("=BBxx")

SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_DROP_MEMBERSHIP = 263, 1, 2
PACKET_MR_MULTICAST, PACKET_MR_UNICAST = 0, 3
MREQ = struct.Struct("=iHH8s")


def ingress_program(macs_fd: int, state_fd: int) -> bytes:
    """The carpdev's ingress: carp_ourether + carp_lsdrop (tests/lsdrop.py)."""
    a = Asm()
    a.mov(R6, R1)
    a.ldx("w", R2, R6, SKB_DATA).ldx("w", R3, R6, SKB_DATA_END)
    a.mov(R4, R2).alu("add", R4, imm=14).jmp("gt", R4, R3, to="next")
    # key (ifindex, destination MAC) at fp-16
    a.ldx("w", R5, R6, SKB_IFINDEX).stx("w", FP, -16, R5)
    a.ldx("w", R5, R2, 0).stx("w", FP, -12, R5)
    a.ldx("h", R5, R2, 4).stx("h", FP, -8, R5).st("h", FP, -6, 0)
    a.ld_map_fd(R1, macs_fd).mov(R2, FP).alu("add", R2, imm=-16)
    a.call(ebpf.FN_MAP_LOOKUP_ELEM).jmp("eq", R0, imm=0, to="next")
    a.mov(R7, R0)  # r7: the MAC's entry
    a.ldx("w", R5, R7, 0).stx("w", FP, -20, R5)
    a.ld_map_fd(R1, state_fd).mov(R2, FP).alu("add", R2, imm=-20)
    a.call(ebpf.FN_MAP_LOOKUP_ELEM).jmp("eq", R0, imm=0, to="next")
    a.ldx("dw", R8, R0, 0)  # r8: the interface's state word
    # a helper call invalidates packet pointers: load them again
    a.ldx("w", R2, R6, SKB_DATA).ldx("w", R3, R6, SKB_DATA_END)
    a.mov(R4, R2).alu("add", R4, imm=14).jmp("gt", R4, R3, to="next")
    a.ldx("b", R9, R7, 4).jmp("ne", R9, imm=HASH, to="node")  # arp mode: a node's MAC
    a.ldx("h", R5, R2, 12)
    a.jmp("eq", R5, imm=ETH_IP_LE, to="ipv4").jmp("eq", R5, imm=ETH_IPV6_LE, to="ipv6")
    a.ja("accept")  # not IP (ARP to the shared MAC...): every node

    a.label("ipv4")  # r4 = src ^ dst, unless ICMP says otherwise
    a.mov(R4, R2).alu("add", R4, imm=34).jmp("gt", R4, R3, to="accept")
    a.ldx("b", R5, R2, 30).alu("and", R5, imm=0xF0).jmp("eq", R5, imm=0xE0, to="accept")
    a.ldx("w", R5, R2, 30).jmp("eq", R5, imm=0xFFFF_FFFF, to="accept", wide=False)
    a.ldx("w", R4, R2, 26).alu("xor", R4, R5)
    a.ldx("b", R5, R2, 23).jmp("ne", R5, imm=1, to="hash")  # not ICMP
    a.ldx("h", R5, R2, 20).alu("and", R5, imm=0xFF1F).jmp("ne", R5, imm=0, to="hash")
    a.ldx("b", R5, R2, 14).alu("and", R5, imm=0x0F).alu("lsh", R5, imm=2)
    a.jmp("lt", R5, imm=20, to="accept")
    a.mov(R0, R2).alu("add", R0, R5)  # r0 + 14: the ICMP header
    a.mov(R9, R0).alu("add", R9, imm=16).jmp("gt", R9, R3, to="accept")
    a.ldx("b", R9, R0, 14).ldx("b", R5, R0, 15)  # type, code
    for reflected in (8, 13, 17):
        a.jmp("eq", R9, imm=reflected, to="hash")
    a.jmp("eq", R9, imm=3, to="code15").jmp("eq", R9, imm=4, to="code0")
    a.jmp("eq", R9, imm=5, to="redirect")
    a.jmp("eq", R9, imm=11, to="code1").jmp("eq", R9, imm=12, to="code1")
    a.ja("accept")
    a.label("code15").jmp("gt", R5, imm=15, to="accept").ja("quoted")
    a.label("code0").jmp("gt", R5, imm=0, to="accept").ja("quoted")
    a.label("code1").jmp("gt", R5, imm=1, to="accept").ja("quoted")
    a.label("redirect").jmp("gt", R5, imm=3, to="accept")
    a.mov(R9, R0).alu("add", R9, imm=42).jmp("gt", R9, R3, to="accept")
    a.ldx("w", R4, R0, 38).ja("quoted_fold")
    a.label("quoted")  # hashed on the quoted packet's destination, unless multicast
    a.mov(R9, R0).alu("add", R9, imm=42).jmp("gt", R9, R3, to="accept")
    a.ldx("b", R5, R0, 38).alu("and", R5, imm=0xF0).jmp("eq", R5, imm=0xE0, to="accept")
    a.ldx("w", R4, R0, 38)
    a.label("quoted_fold").ldx("w", R5, R2, 30).alu("xor", R4, R5).ja("hash")

    a.label("ipv6")
    a.mov(R4, R2).alu("add", R4, imm=54).jmp("gt", R4, R3, to="accept")
    a.ldx("b", R5, R2, 38).jmp("eq", R5, imm=0xFF, to="accept")
    a.ldx("w", R4, R2, 22)
    for off in range(26, 54, 4):
        a.ldx("w", R5, R2, off).alu("xor", R4, R5)
    a.ldx("b", R5, R2, 20).jmp("ne", R5, imm=58, to="hash")
    a.mov(R5, R2).alu("add", R5, imm=55).jmp("gt", R5, R3, to="accept")
    a.ldx("b", R5, R2, 54).jmp("ne", R5, imm=128, to="accept")  # only echo requests

    a.label("hash")  # index = ntohl(fold) % lscount
    a.be(R4, 32)
    a.mov(R5, R8).alu("rsh", R5, imm=32).alu("and", R5, imm=0xFF)
    a.jmp("eq", R5, imm=0, to="drop")
    a.alu("mod", R4, R5, wide=False).mov(R9, R4)
    a.label("node")  # accepted iff bit r9 of lsmask is set
    a.jmp("gt", R9, imm=31, to="drop")
    a.mov(R5, R8).alu("rsh", R5, R9).alu("and", R5, imm=1).jmp("eq", R5, imm=0, to="drop")
    a.label("accept")
    a.ldx("b", R5, R7, 5).alu("and", R5, imm=F_REWRITE).jmp("eq", R5, imm=0, to="next")
    # carp_input: to the macvlan, as unicast (with the helper, not a direct write: that
    # would make the verifier unclone every cloned frame the program sees)
    _store(a, 0, R7, 8)
    a.label("next").mov(R0, imm=ebpf.TC_NEXT).exit()
    a.label("drop").mov(R0, imm=ebpf.TC_DROP).exit()
    return a.assemble()


def _store(a: Asm, offset: int, src: int, src_off: int) -> None:
    """bpf_skb_store_bytes(skb, offset, src + src_off, 6, 0): one MAC into the frame.
    Only this frame pays for making its header writable, and only when it is written;
    packet pointers are invalid afterwards."""
    a.mov(R1, R6).mov(R2, imm=offset).mov(R3, src).alu("add", R3, imm=src_off)
    a.mov(R4, imm=6).mov(R5, imm=0).call(ebpf.FN_SKB_STORE_BYTES)


def _choose_mac(a: Asm, p: str, clients_fd: int) -> None:
    """Into fp-16 (6 bytes): the MAC a kernel ARP request / solicitation from the
    macvlan announces; the peer's address is already in the key at fp-40.  Jumps to
    "next" when there is nothing to announce (no node MASTER here)."""
    a.ldx("b", R5, R7, 5).alu("and", R5, imm=E_SHA_STATIC).jmp("eq", R5, imm=0, to=f"{p}peer")
    a.ldx("w", R5, R7, 24).stx("w", FP, -16, R5).ldx("h", R5, R7, 28).stx("h", FP, -12, R5)
    a.ja(f"{p}chosen")
    a.label(f"{p}peer")
    a.ldx("w", R5, R7, 0).stx("w", FP, -40, R5)
    a.ld_map_fd(R1, clients_fd).mov(R2, FP).alu("add", R2, imm=-40)
    a.call(ebpf.FN_MAP_LOOKUP_ELEM).jmp("eq", R0, imm=0, to=f"{p}first")
    a.ldx("b", R4, R0, 0).ldx("b", R5, R0, 1)  # node, vhid
    a.jmp("gt", R4, imm=31, to=f"{p}first")
    a.mov(R9, R8).alu("rsh", R9, R4).alu("and", R9, imm=1).jmp("ne", R9, imm=0, to=f"{p}vmac")
    a.label(f"{p}first")  # the peer's node is not ours (or unknown): our first node
    a.mov(R5, R8).alu("rsh", R5, imm=40).alu("and", R5, imm=0xFF)
    a.jmp("eq", R5, imm=0, to="next")
    a.label(f"{p}vmac")  # 00:00:5e:00:01:<vhid r5>
    a.st("w", FP, -16, 0x005E_0000).alu("lsh", R5, imm=8).alu("or", R5, imm=0x01)
    a.stx("h", FP, -12, R5)
    a.label(f"{p}chosen")


def egress_program(egress_fd: int, state_fd: int, clients_fd: int) -> bytes:
    """A balanced macvlan's egress: what the kernel sends must not undo the split."""
    a = Asm()
    a.mov(R6, R1)
    a.ldx("w", R5, R6, SKB_IFINDEX).stx("w", FP, -4, R5)
    a.ld_map_fd(R1, egress_fd).mov(R2, FP).alu("add", R2, imm=-4)
    a.call(ebpf.FN_MAP_LOOKUP_ELEM).jmp("eq", R0, imm=0, to="next")
    a.mov(R7, R0)  # r7: how this macvlan's frames leave
    a.ldx("w", R5, R7, 0).stx("w", FP, -8, R5)
    a.ld_map_fd(R1, state_fd).mov(R2, FP).alu("add", R2, imm=-8)
    a.call(ebpf.FN_MAP_LOOKUP_ELEM).jmp("eq", R0, imm=0, to="next")
    a.ldx("dw", R8, R0, 0)  # r8: the state word
    a.ldx("w", R2, R6, SKB_DATA).ldx("w", R3, R6, SKB_DATA_END)
    a.mov(R4, R2).alu("add", R4, imm=14).jmp("gt", R4, R3, to="next")
    # the source MAC: the parent's instead of the macvlan's
    a.ldx("b", R5, R7, 5).alu("and", R5, imm=E_SOURCE).jmp("eq", R5, imm=0, to="source_done")
    a.ldx("w", R5, R2, 6).ldx("w", R4, R7, 8).jmp("ne", R5, R4, to="source_done")
    a.ldx("h", R5, R2, 10).ldx("h", R4, R7, 12).jmp("ne", R5, R4, to="source_done")
    _store(a, 6, R7, 16)
    a.ldx("w", R2, R6, SKB_DATA).ldx("w", R3, R6, SKB_DATA_END)
    a.mov(R4, R2).alu("add", R4, imm=14).jmp("gt", R4, R3, to="next")
    a.label("source_done")
    a.ldx("b", R9, R7, 5).alu("and", R9, imm=E_SHA_STATIC | E_SHA_PEER)  # r9: rewrite sha?
    a.ldx("h", R5, R2, 12)
    a.jmp("eq", R5, imm=ETH_ARP_LE, to="arp").jmp("eq", R5, imm=ETH_IPV6_LE, to="ipv6")
    a.ja("next")

    a.label("arp")  # a request from the kernel: sha (22..27) is the macvlan's MAC
    a.jmp("eq", R9, imm=0, to="next")
    a.mov(R4, R2).alu("add", R4, imm=42).jmp("gt", R4, R3, to="next")
    a.ldx("w", R5, R2, 22).ldx("w", R4, R7, 8).jmp("ne", R5, R4, to="next")
    a.ldx("h", R5, R2, 26).ldx("h", R4, R7, 12).jmp("ne", R5, R4, to="next")
    a.st("w", FP, -36, 0).st("w", FP, -32, 0).st("h", FP, -28, 0).st("h", FP, -26, 0xFFFF)
    a.ldx("w", R5, R2, 38).stx("w", FP, -24, R5)  # the peer: target IP, IPv4-mapped
    _choose_mac(a, "arp_", clients_fd)
    _store(a, 22, FP, -16)
    a.ja("next")

    a.label("ipv6")
    a.mov(R4, R2).alu("add", R4, imm=55).jmp("gt", R4, R3, to="next")
    a.ldx("b", R5, R2, 20).jmp("ne", R5, imm=58, to="next")
    a.ldx("b", R5, R2, 54)
    a.jmp("eq", R5, imm=135, to="ns").jmp("ne", R5, imm=136, to="next")
    a.ldx("b", R5, R7, 5).alu("and", R5, imm=E_DROP_NA).jmp("ne", R5, imm=0, to="drop")
    a.ja("next")
    a.label("ns")  # the source link-layer option right after the 24-byte NS (78..85)
    a.jmp("eq", R9, imm=0, to="next")
    a.mov(R4, R2).alu("add", R4, imm=86).jmp("gt", R4, R3, to="next")
    a.ldx("h", R5, R2, 78).jmp("ne", R5, imm=0x0101, to="next")  # type 1, length 1
    a.ldx("w", R5, R2, 80).ldx("w", R4, R7, 8).jmp("ne", R5, R4, to="next")
    a.stx("w", FP, -48, R5)  # the old MAC, for the checksum
    a.ldx("h", R5, R2, 84).ldx("h", R4, R7, 12).jmp("ne", R5, R4, to="next")
    a.stx("h", FP, -44, R5)
    for i, off in enumerate(range(62, 78, 4)):  # the peer: the target address
        a.ldx("w", R5, R2, off).stx("w", FP, -36 + 4 * i, R5)
    _choose_mac(a, "ns_", clients_fd)
    for old, new, size in ((-48, -16, "w"), (-44, -12, "h")):  # ICMPv6 checksum at 56
        a.mov(R1, R6).mov(R2, imm=56).ldx(size, R3, FP, old).ldx(size, R4, FP, new)
        a.mov(R5, imm=4 if size == "w" else 2).call(ebpf.FN_L4_CSUM_REPLACE)
    _store(a, 80, FP, -16)
    a.label("next").mov(R0, imm=ebpf.TC_NEXT).exit()
    a.label("drop").mov(R0, imm=ebpf.TC_DROP).exit()
    return a.assemble()


def _mapped16(addr: str) -> bytes:
    if ":" in addr:
        return socket.inet_pton(socket.AF_INET6, addr.split("%", 1)[0])
    return b"\0" * 10 + b"\xff\xff" + socket.inet_aton(addr)


@dataclass(frozen=True)
class Placement:
    """Where one Share lives on this host: its carpdev's and its macvlan's ifindex
    (0: not there yet) and the carpdev's own MAC."""

    carpdev_index: int
    macvlan_index: int
    parent_mac: str


class Balancer:
    """The programs, maps and attachments of every balanced interface of this carpd.
    Nothing is created before the first Share: a carpd without balancing never calls
    bpf(2)."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.slots: dict[str, int] = {}  # interface key -> slot
        self.shares: dict[str, Share] = {}
        self.placed: dict[str, Placement] = {}
        self._macs: dict[bytes, bytes] = {}  # MAC_KEY -> MAC_VALUE as installed
        self._egress: dict[int, bytes] = {}  # macvlan ifindex -> EGRESS_VALUE
        self._ingress_links: dict[int, ebpf.TcxLink] = {}
        self._egress_links: dict[int, ebpf.TcxLink] = {}
        self._members: set[tuple[int, int, bytes]] = set()  # (ifindex, type, MAC)
        self._refused: set[tuple[int, int]] = set()  # attachments the kernel refused
        self._ready = False
        self.failed: str | None = None  # why the kernel part is unavailable

    def _setup(self, keys: Collection[str]) -> bool:
        """Maps, programs and the membership socket, made once, on the first Share
        (`keys`: the balanced interfaces, named if it fails)."""
        if self._ready:
            return True
        if self.failed is not None:
            return False
        try:
            self.state = ebpf.MappedArray(8, MAX_SLOTS, "carpd_state")
            self.macs = ebpf.Map(ebpf.MAP_HASH, MAC_KEY.size, MAC_VALUE.size, MAX_MACS,
                                 "carpd_macs")
            self.egress = ebpf.Map(ebpf.MAP_HASH, EGRESS_KEY.size, EGRESS_VALUE.size, 1024,
                                   "carpd_egress")
            self.clients = ebpf.Map(ebpf.MAP_LRU_HASH, CLIENT_KEY.size, CLIENT_VALUE.size,
                                    MAX_CLIENTS, "carpd_peers")
            self.ingress_prog = ebpf.Program(
                ingress_program(self.macs.fd, self.state.fd), "carpd_ingress")
            self.egress_prog = ebpf.Program(
                egress_program(self.egress.fd, self.state.fd, self.clients.fd), "carpd_egress")
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        except OSError as exc:
            self.failed = str(exc)
            why = str(exc)
            if exc.errno in (errno.EPERM, errno.EACCES) and not caps.bpf_capable(caps.own_caps()):
                why = f"missing capability CAP_BPF (or CAP_SYS_ADMIN) to load eBPF ({exc})"
            self.log(f"load balancing unavailable, the traffic of {', '.join(sorted(keys))} "
                     f"is not split: {why}")
            return False
        self._ready = True
        return True

    # -- configuration (on every store reload and link change) -------------------------

    def sync(self, shares: Mapping[str, Share], words: Mapping[str, int],
             placed: Mapping[str, Placement]) -> None:
        """Install exactly `shares` where `placed` says they live."""
        if not shares and not self._ready:
            return
        if shares and not self._setup(shares):
            return
        for key in [k for k in self.slots if k not in shares]:
            del self.slots[key]
        free = sorted(set(range(MAX_SLOTS)) - set(self.slots.values()))
        for key in shares:
            if key not in self.slots:
                if not free:
                    self.log(f"{key}: more than {MAX_SLOTS} balanced interfaces")
                    continue
                self.slots[key] = free.pop(0)
                self.state[self.slots[key]] = words.get(key, 0)
        self.shares = {k: s for k, s in shares.items() if k in self.slots}
        self.placed = {k: p for k, p in placed.items() if k in self.shares}
        for key, word in words.items():
            if key in self.slots:
                self.state[self.slots[key]] = word
        self._sync_macs()
        self._sync_egress()
        self._sync_links()
        self._sync_members()

    def _sync_macs(self) -> None:
        want: dict[bytes, bytes] = {}
        for key, sh in self.shares.items():
            where = self.placed.get(key)
            if where is None or not where.carpdev_index:
                continue
            for mac, node in sh.accepted_macs():
                rewrite = mac != sh.macvlan_mac
                want[MAC_KEY.pack(where.carpdev_index, mac_bytes(mac))] = MAC_VALUE.pack(
                    self.slots[key], node, F_REWRITE if rewrite else 0, mac_bytes(sh.macvlan_mac))
        self._apply(self.macs, self._macs, want)

    def _sync_egress(self) -> None:
        want: dict[bytes, bytes] = {}
        for key, sh in self.shares.items():
            where = self.placed.get(key)
            if where is None or not where.macvlan_index:
                continue
            flags = E_DROP_NA
            if sh.mode != "ip-unicast":
                flags |= E_SOURCE
            announce = sh.announced_mac()
            if announce is not None:
                flags |= E_SHA_STATIC
            elif sh.mode == "arp":
                flags |= E_SHA_PEER
            want[EGRESS_KEY.pack(where.macvlan_index)] = EGRESS_VALUE.pack(
                self.slots[key], 0, flags, mac_bytes(sh.macvlan_mac),
                mac_bytes(where.parent_mac or "00:00:00:00:00:00"),
                mac_bytes(announce or sh.macvlan_mac))
        self._apply(self.egress, self._egress_raw(), want)
        self._egress = {EGRESS_KEY.unpack(k)[0]: v for k, v in want.items()}

    def _egress_raw(self) -> dict[bytes, bytes]:
        return {EGRESS_KEY.pack(i): v for i, v in self._egress.items()}

    def _apply(self, m: ebpf.Map, have: dict[bytes, bytes], want: dict[bytes, bytes]) -> None:
        for k, v in want.items():
            if have.get(k) != v:
                try:
                    m.update(k, v)
                except OSError as exc:
                    self.log(f"load balancing: map update: {exc}")
                    continue
                have[k] = v
        for k in [k for k in have if k not in want]:
            with contextlib.suppress(OSError):
                m.delete(k)
            del have[k]

    def _sync_links(self) -> None:
        devs = {p.carpdev_index for k, p in self.placed.items() if p.carpdev_index}
        mvs = set(self._egress)
        for links, wanted, prog, kind in (
            (self._ingress_links, devs, self.ingress_prog, ebpf.TCX_INGRESS),
            (self._egress_links, mvs, self.egress_prog, ebpf.TCX_EGRESS),
        ):
            for index in [i for i in links if i not in wanted]:
                links.pop(index).close()
            for index in wanted - set(links):
                try:
                    links[index] = ebpf.TcxLink(prog, index, kind)
                except OSError as exc:
                    # ENODEV: gone meanwhile, the next sync knows; else say it once
                    if exc.errno != errno.ENODEV and (index, kind) not in self._refused:
                        self._refused.add((index, kind))
                        hint = " (tcx needs Linux 6.6)" if exc.errno == errno.EINVAL else ""
                        self.log(f"load balancing: attach to ifindex {index}: {exc}{hint}")

    def _sync_members(self) -> None:
        want: set[tuple[int, int, bytes]] = set()
        for key, sh in self.shares.items():
            where = self.placed.get(key)
            if where is None or not where.carpdev_index:
                continue
            for mac, _node in sh.accepted_macs():
                raw = mac_bytes(mac)
                if raw[0] & 1:
                    want.add((where.carpdev_index, PACKET_MR_MULTICAST, raw))
                elif mac != sh.macvlan_mac:  # the macvlan registers its own
                    want.add((where.carpdev_index, PACKET_MR_UNICAST, raw))
        for member in self._members - want:
            self._membership(PACKET_DROP_MEMBERSHIP, member)
            self._members.discard(member)
        for member in want - self._members:
            if self._membership(PACKET_ADD_MEMBERSHIP, member):
                self._members.add(member)

    def _membership(self, op: int, member: tuple[int, int, bytes]) -> bool:
        index, kind, raw = member
        try:
            self.sock.setsockopt(SOL_PACKET, op, MREQ.pack(index, kind, 6, raw.ljust(8, b"\0")))
        except OSError as exc:
            if op == PACKET_ADD_MEMBERSHIP:
                self.log(f"load balancing: link-layer address on ifindex {index}: {exc}")
            return False
        return True

    # -- the hot part ------------------------------------------------------------------

    def set_word(self, key: str, word: int) -> None:
        """A state change of a balanced interface: one aligned 8-byte store."""
        slot = self.slots.get(key)
        if slot is not None and self._ready:
            self.state[slot] = word

    def note_peer(self, key: str, address: str, node: int, vhid: int) -> None:
        """arp mode: carpd told `address` the MAC of node `node`; the kernel's own
        requests to it must announce the same MAC."""
        slot = self.slots.get(key)
        if slot is None or not self._ready:
            return
        with contextlib.suppress(OSError, ValueError):
            self.clients.update(CLIENT_KEY.pack(slot, _mapped16(address)),
                                CLIENT_VALUE.pack(node, vhid))

    def close(self) -> None:
        """Detach everything (also what carpd's death does, by closing the fds)."""
        for links in (self._ingress_links, self._egress_links):
            for link in links.values():
                link.close()
            links.clear()
        if self._ready:
            self.sock.close()
            for obj in (self.ingress_prog, self.egress_prog, self.clients, self.egress,
                        self.macs, self.state):
                obj.close()
            self._ready = False
