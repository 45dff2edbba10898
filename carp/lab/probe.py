"""Client-side and switch-side probes, run inside a namespace by the lab:

    ip netns exec NS python -m carp.lab.probe arp --iface eth0 --src-ip A --ip VIP
    ip netns exec NS python -m carp.lab.probe ping --ip VIP
    ip netns exec SW python -m carp.lab.probe capture --out FILE
    ip netns exec NS python -m carp.lab.probe addrgone --ip VIP --timeout 10
    ip netns exec NS python -m carp.lab.probe flood --rate 20000 --seconds 30 --vhid 1
    ip netns exec HOST python -m carp.lab.probe serve --port 8000 --reply A
    ip netns exec NS python -m carp.lab.probe connect --to VIP --port 8000 --src IP[%DEV],...

Each prints one JSON object (arp, ping, connect), JSON lines (addrgone: "ready", then
"gone") or writes JSON lines (capture); serve answers every TCP connection with its reply
text until it is killed.  Stdlib only, so
they start fast and never need the daemon's dependencies."""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

from carp.config import CARP_GROUP_V4
from carp.lab import frames
from carp.wire import (
    ETH_P_IP,
    Signer,
    arp_request,
    build_ipv4,
    checksum,
    ethernet_frame,
    hmac_key,
    ipv4_multicast_mac,
    make_advert,
    random_counter,
)

ETH_P_ALL = 0x0003
SOL_PACKET, PACKET_IGNORE_OUTGOING = 263, 23
RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR = 0x10, 0x100
RTM_DELADDR = 21
IFA_ADDRESS, IFA_LOCAL = 1, 2
PACKET_OUTGOING = 4
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")


def _arp(args: argparse.Namespace) -> int:
    """Send who-has requests; report every reply for the address within the window."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(frames.ETH_P_ARP))
    sock.bind((args.iface, frames.ETH_P_ARP))
    my_mac = args.src_mac or frames.mac_str(sock.getsockname()[4])
    request = arp_request(my_mac, args.src_ip, args.ip)
    sent: list[float] = []
    replies: list[dict[str, Any]] = []
    next_send = time.time()
    deadline = None
    while True:
        now = time.time()
        if len(sent) < args.count and now >= next_send:
            sock.send(request)
            sent.append(time.time())
            next_send = sent[-1] + args.interval
            if len(sent) == args.count:
                deadline = sent[-1] + args.window
        if deadline is not None and now >= deadline:
            break
        wake = deadline if deadline is not None else next_send
        ready, _, _ = select.select([sock], [], [], max(0.0, wake - now))
        if not ready:
            continue
        data = sock.recv(2048)
        rec = frames.decode(data)
        if (rec and rec["kind"] == "arp" and rec["op"] == 2 and rec["sender_ip"] == args.ip
                and rec["target_mac"] == my_mac and rec["target_ip"] == args.src_ip):
            replies.append({"t": time.time(), "mac": rec["sender_mac"], "eth_src": rec["src_mac"]})
            if args.first:
                break
    json.dump({"sent": sent, "replies": replies}, sys.stdout)
    print()
    return 0 if replies else 1


def _ping(args: argparse.Namespace) -> int:
    """ICMP echo through the namespace's own stack (its ARP cache, its routes)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ident = os.getpid() & 0xFFFF
    replies: list[dict[str, Any]] = []
    for seq in range(1, args.count + 1):
        sent = time.time()
        sock.sendto(frames.icmp_echo(ident, seq), (args.ip, 0))
        deadline = sent + args.timeout
        while (left := deadline - time.time()) > 0:
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            data, (src, _port) = sock.recvfrom(2048)
            ihl = (data[0] & 0x0F) * 4
            icmp = data[ihl:]
            if len(icmp) < 8 or icmp[0] != 0:
                continue
            rid, rseq = struct.unpack("!HH", icmp[4:8])
            if rid == ident and rseq == seq and src == args.ip:
                now = time.time()
                replies.append({"seq": seq, "t": now, "rtt": now - sent, "ttl": data[8]})
                break
        if seq < args.count:
            time.sleep(max(0.0, sent + args.interval - time.time()))
    json.dump({"sent": args.count, "replies": replies}, sys.stdout)
    print()
    return 0 if replies else 1


def _serve(args: argparse.Namespace) -> int:
    """Answer every TCP connection (IPv4 and IPv6) with the reply text, then close it:
    the text says which host accepted the connection."""
    sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", args.port))
    sock.listen(256)
    print("ready", flush=True)
    reply = args.reply.encode()
    while True:
        conn, _peer = sock.accept()
        with conn:
            try:
                conn.sendall(reply)
            except OSError:
                pass


def _connect_one(target: str, port: int, source: str, timeout: float) -> str:
    addr, _, dev = source.partition("%")
    family = socket.AF_INET6 if ":" in target else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        if dev:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
        sock.bind((addr, 0))
        sock.connect((target, port))
        data = b""
        while chunk := sock.recv(256):
            data += chunk
        return data.decode(errors="replace")
    except OSError as exc:
        return f"error: {exc.strerror or exc}"
    finally:
        sock.close()


def _connect(args: argparse.Namespace) -> int:
    """One TCP connection from each source (address, or address%device), concurrently;
    prints {source address: the reply, or "error: ..."}."""
    import concurrent.futures

    sources = [s for s in args.src.split(",") if s]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(64, len(sources) or 1)) as ex:
        replies = list(ex.map(lambda s: _connect_one(args.to, args.port, s, args.timeout),
                              sources))
    json.dump({s.partition("%")[0]: r for s, r in zip(sources, replies, strict=True)}, sys.stdout)
    print()
    return 0


def _stream(args: argparse.Namespace) -> int:
    """ICMP echo requests at a fixed rate from one source, not waiting for replies: the
    switch capture sees which host answers each one (a failover's timeline)."""
    addr, _, dev = args.src.partition("%")
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    if dev:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev.encode())
    sock.bind((addr, 0))
    ident = os.getpid() & 0xFFFF
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < args.duration:
        n += 1
        try:
            sock.sendto(frames.icmp_echo(ident, n & 0xFFFF), (args.to, 0))
        except OSError:
            pass
        time.sleep(max(0.0, start + n * args.interval - time.monotonic()))
    json.dump({"sent": n, "ident": ident}, sys.stdout)
    print()
    return 0


def _quiet(args: argparse.Namespace) -> int:
    """Drop every frame the switch's bridges pass up to their own stack, until killed: a
    hardware switch spends no CPU on what it floods, a Linux bridge receives a copy of
    every multicast frame (balancing ip's data) itself.  A tcx program on the bridge
    devices' ingress (carpd's own bpf(2) helpers, stdlib only); forwarding is untouched."""
    from carp.daemon import ebpf
    from carp.daemon.bpfasm import R0, Asm

    prog = ebpf.Program(Asm().mov(R0, imm=ebpf.TC_DROP).exit().assemble(), "lab_quiet")
    links = [ebpf.TcxLink(prog, socket.if_nametoindex(dev), ebpf.TCX_INGRESS)
             for dev in args.dev.split(",")]
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for link in links:
        link.close()
    return 0


class _Stop(Exception):
    pass


def _raise_stop(_sig: int, _frame: object) -> None:
    raise _Stop


def _capture(args: argparse.Namespace) -> int:
    """Every interesting frame entering the switch, with the port it came in on: that port
    names the host that sent it, which is how the tests tell A's replies from B's."""
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    skip = set(args.skip.split(",")) if args.skip else set()
    socks = []
    for port in args.ports.split(",") if args.ports else [""]:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        if port:  # only what enters through these ports (a flood elsewhere costs nothing)
            sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            sock.bind((port, ETH_P_ALL))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        socks.append(sock)
    cmsg_space = socket.CMSG_SPACE(_TIMESPEC.size)
    with open(args.out, "a", buffering=1) as out:
        out.write(json.dumps({"kind": "ready", "t": time.time()}) + "\n")
        try:
            while True:
                ready = socks if len(socks) == 1 else select.select(socks, [], [])[0]
                data, anc, _flags, addr = ready[0].recvmsg(65535, cmsg_space)
                port, pkttype = addr[0], addr[2]
                if pkttype == PACKET_OUTGOING or port in skip:
                    continue  # each frame once: where it entered the switch
                rec = frames.decode(data, args.every)
                if rec is None:
                    continue
                t = time.time()
                for level, kind, value in anc:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                        sec, nsec = _TIMESPEC.unpack(value[: _TIMESPEC.size])
                        t = sec + nsec / 1e9
                rec["t"] = t
                rec["port"] = port
                out.write(json.dumps(rec) + "\n")
        except (_Stop, KeyboardInterrupt):
            pass
    return 0


def _deleted(data: bytes, packed: bytes) -> bool:
    """Whether the netlink messages in `data` include an RTM_DELADDR of that address."""
    offset = 0
    while offset + 16 <= len(data):
        length, kind = struct.unpack_from("=IH", data, offset)
        if length < 16:
            return False
        if kind == RTM_DELADDR:
            at, end = offset + 16 + 8, offset + length  # after nlmsghdr and ifaddrmsg
            while at + 4 <= end:
                alen, atype = struct.unpack_from("=HH", data, at)
                if alen < 4:
                    break
                if atype in (IFA_ADDRESS, IFA_LOCAL) and data[at + 4 : at + alen] == packed:
                    return True
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3
    return False


def _addrgone(args: argparse.Namespace) -> int:
    """The moment the kernel deletes an address of this namespace (netlink RTM_DELADDR),
    however it goes: carpd, the watchdog, or its lifetime running out."""
    family = socket.AF_INET6 if ":" in args.ip else socket.AF_INET
    packed = socket.inet_pton(family, args.ip)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    sock.bind((0, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR))
    print(json.dumps({"ready": time.time()}), flush=True)
    deadline = time.monotonic() + args.timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if ready and _deleted(sock.recv(1 << 16), packed):
            print(json.dumps({"gone": time.time()}), flush=True)
            return 0
    print(json.dumps({"gone": None}), flush=True)
    return 1


FLOOD_KINDS = ("badttl", "badsum", "badauth", "badvhid", "badver")
FLOOD_VARIANTS = 1024  # distinct frames per kind: no cache along the way sees one twice


def flood_frames(kind: str, vhid: int, src_ip: str, src_mac: str, n: int) -> list[bytes]:
    """Advertisements for `vhid` that a carp host must drop, each counted as `kind`:
    TTL 64, a wrong checksum, a digest made with another key, an unknown vhid, version 4
    (no BSD speaks it; a version 3 frame is VRRPv3 to FreeBSD, which checks its
    pseudo-header checksum first).  Every frame carries a counter of its own."""
    signer = Signer(hmac_key("not the passphrase"), vhid, (), ())
    out: list[bytes] = []
    for _ in range(n):
        target = 255 - vhid if kind == "badvhid" else vhid
        payload = bytearray(make_advert(signer, target, 1, 0, random_counter()))
        if kind == "badsum":
            payload[6] ^= 0xFF
        elif kind == "badver":
            payload[0] = 0x41
            payload[6:8] = b"\0\0"
            payload[6:8] = checksum(payload).to_bytes(2, "big")
        ttl = 64 if kind == "badttl" else 255
        dgram = build_ipv4(src_ip, CARP_GROUP_V4, bytes(payload), 0x10, len(out), ttl=ttl)
        out.append(ethernet_frame(ipv4_multicast_mac(CARP_GROUP_V4), src_mac, ETH_P_IP, dgram))
    return out


def _flood(args: argparse.Namespace) -> int:
    """Bad advertisements at `rate` per second for `seconds`, the kinds in turn, paced
    per millisecond; prints how many of each were sent."""
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    sock.bind((args.iface, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    src_mac = frames.mac_str(sock.getsockname()[4])
    kinds = args.kinds.split(",")
    built = {k: flood_frames(k, args.vhid, args.src_ip, src_mac, FLOOD_VARIANTS) for k in kinds}
    order = [built[k][i] for i in range(FLOOD_VARIANTS) for k in kinds]
    sent = dict.fromkeys(kinds, 0)
    total = round(args.rate * args.seconds)
    start = time.monotonic()
    done = 0
    while done < total:
        due = min(total, int((time.monotonic() - start) * args.rate) + 1)
        while done < due:
            try:
                sock.send(order[done % len(order)])
            except OSError:  # ENOBUFS: the qdisc is full; count only what left
                break
            sent[kinds[done % len(kinds)]] += 1
            done += 1
        time.sleep(0.001)
    json.dump({"sent": sent, "seconds": time.monotonic() - start}, sys.stdout)
    print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carp.lab.probe")
    sub = parser.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("arp", help="ARP who-has; print the replies")
    a.add_argument("--iface", default="eth0")
    a.add_argument("--src-ip", required=True)
    a.add_argument("--src-mac", help="pose as this station (default: the interface's MAC)")
    a.add_argument("--ip", required=True)
    a.add_argument("--count", type=int, default=1)
    a.add_argument("--interval", type=float, default=0.1)
    a.add_argument("--window", type=float, default=0.5, help="listen after the last request")
    a.add_argument("--first", action="store_true", help="stop at the first reply")
    p = sub.add_parser("ping", help="ICMP echo; print the replies")
    p.add_argument("--ip", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.2)
    p.add_argument("--timeout", type=float, default=1.0)
    c = sub.add_parser("capture", help="record CARP, ARP and ICMP replies as JSON lines")
    c.add_argument("--out", required=True)
    c.add_argument("--skip", default="", help="comma-separated interfaces to ignore")
    c.add_argument("--ports", default="", help="comma-separated interfaces: only these")
    g = sub.add_parser("addrgone", help="print when the kernel deletes an address")
    g.add_argument("--ip", required=True)
    g.add_argument("--timeout", type=float, default=10.0)
    f = sub.add_parser("flood", help="send bad advertisements at a steady rate")
    f.add_argument("--iface", default="eth0")
    f.add_argument("--src-ip", default="192.168.1.100")
    f.add_argument("--vhid", type=int, default=1)
    f.add_argument("--rate", type=float, default=20000)
    f.add_argument("--seconds", type=float, default=2.0)
    f.add_argument("--kinds", default=",".join(FLOOD_KINDS))
    c.add_argument("--every", action="store_true",
                   help="also a bare record of every other frame")
    s = sub.add_parser("serve", help="answer TCP connections with a text")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--reply", required=True)
    n = sub.add_parser("connect", help="one TCP connection per source; print the replies")
    n.add_argument("--to", required=True)
    n.add_argument("--port", type=int, required=True)
    n.add_argument("--src", required=True, help="comma-separated address[%%device]")
    n.add_argument("--timeout", type=float, default=2.0)
    e = sub.add_parser("stream", help="ICMP echo requests at a fixed rate")
    e.add_argument("--to", required=True)
    e.add_argument("--src", required=True, help="address[%%device]")
    e.add_argument("--interval", type=float, default=0.002)
    e.add_argument("--duration", type=float, default=5.0)
    q = sub.add_parser("quiet", help="drop what bridges pass up to their own stack")
    q.add_argument("--dev", required=True, help="comma-separated bridge devices")
    args = parser.parse_args(argv)
    handler = {"arp": _arp, "ping": _ping, "capture": _capture, "addrgone": _addrgone,
               "flood": _flood, "serve": _serve, "connect": _connect,
               "stream": _stream, "quiet": _quiet}[args.cmd]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
