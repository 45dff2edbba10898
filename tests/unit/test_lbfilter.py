"""carpd's kernel programs (carp/daemon/lbfilter.py) run by the kernel itself on crafted
frames (BPF_PROG_TEST_RUN) and checked against the pure rules of carp.balance and the
carp_lsdrop model of tests/lsdrop.py: the
verdict of every frame, the MAC rewrites, the egress fixes.  Needs root (bpf(2))."""

from __future__ import annotations

import ctypes
import os
import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carp.balance import HASH, state_word
from carp.daemon import ebpf, lbfilter
from carp.daemon.ebpf import _addr, _attr, _bpf  # the bpf(2) call, for the test-only command
from carp.wire import checksum, mac_bytes
from tests.lsdrop import ip_packet_accepted

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="bpf(2) needs root")

LO = 1  # the test runs hand skb->dev = lo
MCAST = "01:00:5e:00:01:01"
VMAC = "00:00:5e:00:01:01"
PARENT = "02:00:00:00:01:02"
CLIENT = "02:00:00:00:01:64"
VIP = "192.168.1.10"
VIP6 = "2001:db8::10"


PROG_TEST_RUN = 10  # enum bpf_cmd


def run_program(prog: ebpf.Program, data: bytes, ifindex: int) -> tuple[int, bytes]:
    """BPF_PROG_TEST_RUN on one frame: (the program's return value, the frame after
    it ran).  `ifindex` sets skb->dev (it must exist; lo is 1)."""
    din = ctypes.create_string_buffer(data, len(data))
    dout = ctypes.create_string_buffer(len(data) + 256)
    ctx = bytearray(192)  # struct __sk_buff, zero but for ifindex (offset 40)
    struct.pack_into("=I", ctx, 40, ifindex)
    cin = ctypes.create_string_buffer(bytes(ctx), len(ctx))
    head = struct.pack("=IIIIQQIIIIQQ", prog.fd, 0, len(data), len(dout), _addr(din),
                       _addr(dout), 1, 0, len(ctx), 0, _addr(cin), 0)
    attr = _attr(head)
    _bpf(PROG_TEST_RUN, attr, "test run")
    retval, size_out = struct.unpack_from("=4xIxxxxI", attr.raw, 0)
    return ctypes.c_int32(retval).value, dout.raw[:size_out]


class Kernel:
    """The two programs with their maps; slot 0 is one balanced interface on lo."""

    def __init__(self) -> None:
        self.state = ebpf.MappedArray(8, lbfilter.MAX_SLOTS, "t_state")
        self.macs = ebpf.Map(ebpf.MAP_HASH, lbfilter.MAC_KEY.size, lbfilter.MAC_VALUE.size,
                             64, "t_macs")
        self.egress = ebpf.Map(ebpf.MAP_HASH, 4, lbfilter.EGRESS_VALUE.size, 64, "t_egress")
        self.clients = ebpf.Map(ebpf.MAP_LRU_HASH, lbfilter.CLIENT_KEY.size,
                                lbfilter.CLIENT_VALUE.size, 64, "t_clients")
        self.ingress = ebpf.Program(lbfilter.ingress_program(self.macs.fd, self.state.fd), "t_in")
        self.egress_prog = ebpf.Program(
            lbfilter.egress_program(self.egress.fd, self.state.fd, self.clients.fd), "t_out")

    def own(self, mac: str, node: int = HASH, deliver: str = VMAC) -> None:
        flags = lbfilter.F_REWRITE if mac != deliver else 0
        self.macs.update(lbfilter.MAC_KEY.pack(LO, mac_bytes(mac)),
                         lbfilter.MAC_VALUE.pack(0, node, flags, mac_bytes(deliver)))

    def leave(self, flags: int, announce: str = VMAC) -> None:
        self.egress.update(struct.pack("=I", LO), lbfilter.EGRESS_VALUE.pack(
            0, 0, flags, mac_bytes(VMAC), mac_bytes(PARENT), mac_bytes(announce)))

    def run_in(self, frame: bytes) -> tuple[int, bytes]:
        return run_program(self.ingress, frame, LO)

    def run_out(self, frame: bytes) -> tuple[int, bytes]:
        return run_program(self.egress_prog, frame, LO)


@pytest.fixture(scope="module")
def kernel() -> Kernel:
    return Kernel()


def eth(dst: str, src: str, ethertype: int, payload: bytes) -> bytes:
    return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload


def ipv4(src: str, dst: str, proto: int, payload: bytes, frag: int = 0) -> bytes:
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, frag, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst))
    return head + payload


def ipv6(src: str, dst: str, nxt: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nxt, 64,
                       socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def tcp() -> bytes:
    return struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 0x50, 0x02, 1024, 0, 0)


def icmp(kind: int, code: int = 0, body: bytes = b"\0" * 4) -> bytes:
    return struct.pack("!BBH", kind, code, 0) + body


def quoting(kind: int, code: int, quoted_src: str, quoted_dst: str) -> bytes:
    return icmp(kind, code, b"\0" * 4 + ipv4(quoted_src, quoted_dst, 6, tcp()[:8]))


V4 = st.ip_addresses(v=4).map(str)
V6 = st.ip_addresses(v=6).map(str)
MASKS = st.tuples(st.integers(1, 32), st.integers(0, 2**32 - 1)).map(
    lambda t: (t[0], t[1] & ((1 << t[0]) - 1)))


def set_state(k: Kernel, count: int, mask: int) -> None:
    masters = [bool(mask >> i & 1) for i in range(count)]
    k.state[0] = state_word(masters, list(range(1, count + 1)))


def verdict(k: Kernel, frame: bytes) -> bool:
    ret, out = k.run_in(frame)
    assert ret in (ebpf.TC_NEXT, ebpf.TC_DROP), ret
    if ret == ebpf.TC_NEXT:
        assert out[:6] == mac_bytes(VMAC), "an accepted frame goes to the macvlan"
        assert out[6:] == frame[6:]
    return ret == ebpf.TC_NEXT


@settings(max_examples=300, deadline=None)
@given(src=V4, dst=V4, cm=MASKS, proto=st.sampled_from([6, 17, 1, 47]),
       kind=st.sampled_from([0, 3, 4, 5, 8, 11, 12, 13, 14, 17, 42]), code=st.integers(0, 20),
       qdst=V4, frag=st.sampled_from([0, 0x2000, 0x0001, 0x4000]))
def test_ipv4_verdicts_match_carp_lsdrop(kernel: Kernel, src: str, dst: str,
                                         cm: tuple[int, int], proto: int, kind: int,
                                         code: int, qdst: str, frag: int) -> None:
    kernel.own(MCAST)
    set_state(kernel, *cm)
    payload = quoting(kind, code, dst, qdst) if proto == 1 else tcp()
    packet = ipv4(src, dst, proto, payload, frag)
    assert verdict(kernel, eth(MCAST, CLIENT, 0x0800, packet)) == ip_packet_accepted(
        packet, cm[1], cm[0]), (src, dst, cm, proto, kind, code)


@settings(max_examples=200, deadline=None)
@given(src=V6, dst=V6, cm=MASKS, nxt=st.sampled_from([6, 17, 58, 0]),
       kind=st.sampled_from([1, 128, 129, 135, 136]))
def test_ipv6_verdicts_match_carp_lsdrop(kernel: Kernel, src: str, dst: str,
                                         cm: tuple[int, int], nxt: int, kind: int) -> None:
    kernel.own(MCAST)
    set_state(kernel, *cm)
    packet = ipv6(src, dst, nxt, icmp(kind) if nxt == 58 else tcp())
    assert verdict(kernel, eth(MCAST, CLIENT, 0x86DD, packet)) == ip_packet_accepted(
        packet, cm[1], cm[0])


def test_the_two_hosts_of_the_man_page_split_every_flow(kernel: Kernel) -> None:
    kernel.own(MCAST)
    taken = []
    for i in range(64):
        frame = eth(MCAST, CLIENT, 0x0800, ipv4(f"192.168.1.{100 + i}", VIP, 6, tcp()))
        set_state(kernel, 2, 0b01)
        a = verdict(kernel, frame)
        set_state(kernel, 2, 0b10)
        b = verdict(kernel, frame)
        assert a != b
        taken.append(a)
    assert 16 < sum(taken) < 48
    set_state(kernel, 2, 0b11)  # the survivor of a failure takes everything
    assert verdict(kernel, eth(MCAST, CLIENT, 0x0800, ipv4("192.168.1.100", VIP, 6, tcp())))


def test_broadcast_multicast_and_other_traffic(kernel: Kernel) -> None:
    kernel.own(MCAST)
    set_state(kernel, 2, 0)  # nothing ours: only what is never dropped passes
    for dst in ("224.0.0.18", "255.255.255.255"):
        assert verdict(kernel, eth(MCAST, CLIENT, 0x0800, ipv4("192.168.1.100", dst, 17, tcp())))
    assert verdict(kernel, eth(MCAST, CLIENT, 0x86DD, ipv6("fe80::1", "ff02::1", 17, tcp())))
    arp = eth(MCAST, CLIENT, 0x0806, bytes(28))
    assert verdict(kernel, arp)
    ret, out = kernel.run_in(eth(PARENT, CLIENT, 0x0800, ipv4("192.168.1.100", VIP, 6, tcp())))
    assert ret == ebpf.TC_NEXT and out[:6] == mac_bytes(PARENT), "not ours: untouched"
    cut = ipv4("10.0.0.1", VIP, 1, icmp(3, 4, bytes(4) + b"\x45" + bytes(9)))  # cut short
    assert ip_packet_accepted(cut, 0, 2) and verdict(kernel, eth(MCAST, CLIENT, 0x0800, cut))


def test_icmp_errors_follow_the_flow_they_quote(kernel: Kernel) -> None:
    kernel.own(MCAST)
    router = "10.0.0.1"
    for i in range(32):
        client = f"192.168.7.{i}"
        for mask in (0b01, 0b10):
            set_state(kernel, 2, mask)
            flow = verdict(kernel, eth(MCAST, CLIENT, 0x0800, ipv4(client, VIP, 6, tcp())))
            error = verdict(kernel, eth(MCAST, CLIENT, 0x0800, ipv4(
                router, VIP, 1, quoting(3, 4, VIP, client))))  # frag needed, for our packet
            assert flow == error


def test_arp_mode_node_macs(kernel: Kernel) -> None:
    node2 = "00:00:5e:00:01:02"
    kernel.own(VMAC, node=0)
    kernel.own(node2, node=1)
    frame = eth(node2, CLIENT, 0x0800, ipv4("192.168.1.100", VIP, 6, tcp()))
    set_state(kernel, 2, 0b01)
    assert kernel.run_in(frame)[0] == ebpf.TC_DROP
    set_state(kernel, 2, 0b10)
    ret, out = kernel.run_in(frame)
    assert ret == ebpf.TC_NEXT and out[:6] == mac_bytes(VMAC)  # to the macvlan
    ret, out = kernel.run_in(eth(VMAC, CLIENT, 0x0800, ipv4("192.168.1.100", VIP, 6, tcp())))
    assert ret == ebpf.TC_DROP
    set_state(kernel, 2, 0b11)
    ret, out = kernel.run_in(eth(VMAC, CLIENT, 0x0800, ipv4("192.168.1.100", VIP, 6, tcp())))
    assert ret == ebpf.TC_NEXT and out[:6] == mac_bytes(VMAC)
    kernel.macs.delete(lbfilter.MAC_KEY.pack(LO, mac_bytes(node2)))
    kernel.own(VMAC)


def arp_request(sha: str, spa: str, tpa: str) -> bytes:
    body = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac_bytes(sha), socket.inet_aton(spa),
                       bytes(6), socket.inet_aton(tpa))
    return eth("ff:ff:ff:ff:ff:ff", VMAC, 0x0806, body)


def neighbour_solicitation(target: str, slla: str) -> bytes:
    src, dst = socket.inet_pton(socket.AF_INET6, VIP6), socket.inet_pton(socket.AF_INET6,
                                                                         "ff02::1:ff00:64")
    body = bytearray(struct.pack("!BBHI16sBB6s", 135, 0, 0, 0,
                                 socket.inet_pton(socket.AF_INET6, target), 1, 1,
                                 mac_bytes(slla)))
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    struct.pack_into("!H", body, 2, checksum(pseudo + bytes(body)))
    packet = struct.pack("!IHBB16s16s", 6 << 28, len(body), 58, 255, src, dst) + bytes(body)
    return eth("33:33:ff:00:00:64", VMAC, 0x86DD, packet)


def icmp6_ok(frame: bytes) -> bool:
    packet = frame[14:]
    pseudo = packet[8:40] + struct.pack("!I3xB", len(packet) - 40, 58)
    return checksum(pseudo + packet[40:]) == 0


def test_egress_ip_mode(kernel: Kernel) -> None:
    kernel.leave(lbfilter.E_SOURCE | lbfilter.E_DROP_NA | lbfilter.E_SHA_STATIC, MCAST)
    set_state(kernel, 2, 0b01)
    data = eth(CLIENT, VMAC, 0x0800, ipv4(VIP, "192.168.1.100", 6, tcp()))
    ret, out = kernel.run_out(data)
    assert ret == ebpf.TC_NEXT and out[6:12] == mac_bytes(PARENT) and out[12:] == data[12:]
    ret, out = kernel.run_out(arp_request(VMAC, VIP, "192.168.1.100"))
    assert out[6:12] == mac_bytes(PARENT) and out[22:28] == mac_bytes(MCAST)
    ns = neighbour_solicitation("2001:db8::64", VMAC)
    assert icmp6_ok(ns)
    ret, out = kernel.run_out(ns)
    assert ret == ebpf.TC_NEXT and out[80:86] == mac_bytes(MCAST) and icmp6_ok(out)
    na = bytearray(ns)
    na[54] = 136
    assert kernel.run_out(bytes(na))[0] == ebpf.TC_DROP
    other = eth(CLIENT, "02:00:00:00:01:99", 0x0800, ipv4(VIP, "192.168.1.100", 6, tcp()))
    assert kernel.run_out(other) == (ebpf.TC_NEXT, other)


def test_egress_unicast_mode_only_drops_advertisements(kernel: Kernel) -> None:
    kernel.leave(lbfilter.E_DROP_NA)
    data = eth(CLIENT, VMAC, 0x0800, ipv4(VIP, "192.168.1.100", 6, tcp()))
    assert kernel.run_out(data) == (ebpf.TC_NEXT, data)
    req = arp_request(VMAC, VIP, "192.168.1.100")
    assert kernel.run_out(req) == (ebpf.TC_NEXT, req)


def test_egress_arp_mode_announces_the_node_the_peer_was_given(kernel: Kernel) -> None:
    kernel.leave(lbfilter.E_SOURCE | lbfilter.E_DROP_NA | lbfilter.E_SHA_PEER)
    masters = [False, True, True]
    kernel.state[0] = state_word(masters, [1, 2, 3])  # MASTER of vhids 2 and 3
    peer, other = "192.168.1.100", "192.168.1.101"
    kernel.clients.update(lbfilter.CLIENT_KEY.pack(0, lbfilter._mapped16(peer)),
                          lbfilter.CLIENT_VALUE.pack(2, 3))
    out = kernel.run_out(arp_request(VMAC, VIP, peer))[1]
    assert out[22:28] == mac_bytes("00:00:5e:00:01:03")
    out = kernel.run_out(arp_request(VMAC, VIP, other))[1]  # unknown: the first of ours
    assert out[22:28] == mac_bytes("00:00:5e:00:01:02")
    kernel.state[0] = state_word([True, True, False], [1, 2, 3])  # node 3 is gone
    out = kernel.run_out(arp_request(VMAC, VIP, peer))[1]
    assert out[22:28] == mac_bytes("00:00:5e:00:01:01")
    peer6 = "2001:db8::64"
    kernel.clients.update(lbfilter.CLIENT_KEY.pack(0, lbfilter._mapped16(peer6)),
                          lbfilter.CLIENT_VALUE.pack(1, 2))
    ret, out = kernel.run_out(neighbour_solicitation(peer6, VMAC))
    assert out[80:86] == mac_bytes("00:00:5e:00:01:02") and icmp6_ok(out)
    kernel.state[0] = state_word([False, False, False], [1, 2, 3])
    req = arp_request(VMAC, VIP, other)
    assert kernel.run_out(req)[1][22:28] == mac_bytes(VMAC), "no node ours: left alone"


def test_a_rejected_program_explains_itself() -> None:
    from carp.daemon.bpfasm import R0, R1, Asm

    with pytest.raises(ebpf.BPFError) as exc:
        ebpf.Program(Asm().ldx("w", R0, R1, 9999).exit().assemble(), "t_bad")
    assert "invalid bpf_context access" in exc.value.log
    assert "invalid bpf_context access" in str(exc.value)


def test_mapped_array_word_is_what_the_kernel_sees() -> None:
    arr = ebpf.MappedArray(8, 4, "t_words")
    arr[2] = 0x0123_4567_89AB_CDEF
    assert arr.lookup(struct.pack("=I", 2)) == struct.pack("=Q", 0x0123_4567_89AB_CDEF)
    arr.update(struct.pack("=I", 3), struct.pack("=Q", 7))
    assert arr[3] == 7
    arr.close()
