"""Client-side and switch-side probes, run inside a namespace by the lab:

    ip netns exec NS python -m carp.lab.probe arp --iface eth0 --src-ip A --ip VIP
    ip netns exec NS python -m carp.lab.probe ping --ip VIP
    ip netns exec SW python -m carp.lab.probe capture --out FILE
    ip netns exec HOST python -m carp.lab.probe serve --port 8000 --reply A
    ip netns exec NS python -m carp.lab.probe connect --to VIP --port 8000 --src IP[%DEV],...

Each prints one JSON object (arp, ping, connect) or writes JSON lines (capture); serve
answers every TCP connection with its reply text until it is killed.  Stdlib only, so
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

from carp.lab import frames
from carp.wire import arp_request

ETH_P_ALL = 0x0003
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
                              sources))  # fmt: skip
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
             for dev in args.dev.split(",")]  # fmt: skip
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
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    cmsg_space = socket.CMSG_SPACE(_TIMESPEC.size)
    with open(args.out, "a", buffering=1) as out:
        out.write(json.dumps({"kind": "ready", "t": time.time()}) + "\n")
        try:
            while True:
                data, anc, _flags, addr = sock.recvmsg(65535, cmsg_space)
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
    c.add_argument("--every", action="store_true", help="also a bare record of every other frame")
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
    handler = {"arp": _arp, "ping": _ping, "capture": _capture, "serve": _serve,
               "connect": _connect, "stream": _stream, "quiet": _quiet}[args.cmd]  # fmt: skip
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
