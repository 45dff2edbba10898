"""An attacker on a lab LAN, run inside a client namespace by the tests:

    ip netns exec NS python -m carp.lab.attacker forge --iface eth0 --seconds 60
    ip netns exec NS python -m carp.lab.attacker record --iface eth0 --src-ip A --count 5 --out F
    ip netns exec NS python -m carp.lab.attacker replay --iface eth0 --file F --seconds 60

forge: advertisements it cannot sign (it has no passphrase), with the best timing there
is (advskew 0, demote 0), for every vhid, as Ethernet frames with TTL 255 from the
address it poses as.  record: the CARP frames a host sends, verbatim (hex, one a line).
replay: those frames again, round robin.  Each prints one JSON object when it ends
(SIGTERM ends forge and replay cleanly).  Stdlib and the codec only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import signal
import socket
import sys
import time

from carp import wire
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6

ETH_P_ALL = 0x0003


class _Stop(Exception):
    pass


def _raise_stop(_sig: int, _frame: object) -> None:
    raise _Stop


def _sock(iface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind((iface, 0))
    return sock


def forged_frames(
    rng: random.Random, vhid: int, src4: str, src6: str, mac: str
) -> list[bytes]:
    """Frames for `vhid` that the passphrase did not sign: a random digest, and digests
    under guessed passphrases, over IPv4 and IPv6, with the best timing there is."""
    counter = rng.getrandbits(64).to_bytes(8, "big")
    digests = [rng.randbytes(20)]
    for guess in ("", "password"):
        digests.append(wire.Signer(wire.hmac_key(guess), vhid, [f"192.168.{vhid}.1"],
                                   []).sign(counter))
    out = []
    for dig in digests:
        payload = wire.encode(wire.Advert(vhid, 0, 1, counter, dig, 0))
        dgram4 = wire.build_ipv4(src4, CARP_GROUP_V4, payload, 0x10, rng.getrandbits(16))
        out.append(wire.ethernet_frame(wire.ipv4_multicast_mac(CARP_GROUP_V4), mac,
                                       wire.ETH_P_IP, dgram4))
        dgram6 = wire.build_ipv6(src6, CARP_GROUP_V6, payload)
        out.append(wire.ethernet_frame(wire.ipv6_multicast_mac(CARP_GROUP_V6), mac,
                                       wire.ETH_P_IPV6, dgram6))
    return out


def _forge(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    sock = _sock(args.iface)
    mac = args.src_mac or wire.mac_str(sock.getsockname()[4])
    rng = random.Random(args.seed)
    sent, first, last = 0, time.time(), time.time()
    deadline = time.monotonic() + args.seconds
    rounds = 0
    try:
        while time.monotonic() < deadline:
            vhids = range(256) if rounds % args.sweep_every == 0 else (1,)  # every vhid
            for vhid in vhids:
                for frame in forged_frames(rng, vhid, args.src_ip, args.src_ip6, mac):
                    sock.send(frame)
                    sent += 1
            last = time.time()
            rounds += 1
            time.sleep(args.interval)
    except _Stop:
        pass
    json.dump({"sent": sent, "rounds": rounds, "first": first, "last": last}, sys.stdout)
    print()
    return 0


def _record(args: argparse.Namespace) -> int:
    """The next `count` CARP frames from `src-ip` (IPv4), written as hex lines."""
    sock = _sock(args.iface)
    frames: list[bytes] = []
    deadline = time.monotonic() + args.timeout
    while len(frames) < args.count and (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([sock], [], [], left)
        if not ready:
            continue
        frame, addr = sock.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(frame) < 34 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        if ip[9] == wire.IPPROTO_CARP and socket.inet_ntoa(ip[12:16]) == args.src_ip:
            frames.append(frame)
    with open(args.out, "w") as out:
        out.writelines(f.hex() + "\n" for f in frames)
    json.dump({"recorded": len(frames)}, sys.stdout)
    print()
    return 0 if len(frames) == args.count else 1


def _replay(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _raise_stop)
    with open(args.file) as f:
        frames = [bytes.fromhex(line) for line in f if line.strip()]
    sock = _sock(args.iface)
    sent, first, last = 0, time.time(), time.time()
    deadline = time.monotonic() + args.seconds
    try:
        while frames and time.monotonic() < deadline:
            sock.send(frames[sent % len(frames)])
            sent += 1
            last = time.time()
            time.sleep(args.interval)
    except _Stop:
        pass
    json.dump({"sent": sent, "first": first, "last": last}, sys.stdout)
    print()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carp.lab.attacker")
    sub = parser.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("forge", help="unsigned advertisements for every vhid")
    f.add_argument("--iface", default="eth0")
    f.add_argument("--src-ip", required=True, help="the IPv4 source to pose as")
    f.add_argument("--src-ip6", default="fe80::bad")
    f.add_argument("--src-mac", help="Ethernet source (default: the interface's MAC)")
    f.add_argument("--seconds", type=float, default=60.0)
    f.add_argument("--interval", type=float, default=0.05, help="between rounds")
    f.add_argument("--sweep-every", type=int, default=10, help="rounds between 0..255 sweeps")
    f.add_argument("--seed", type=int, default=os.getpid())
    r = sub.add_parser("record", help="capture a host's CARP frames")
    r.add_argument("--iface", default="eth0")
    r.add_argument("--src-ip", required=True)
    r.add_argument("--count", type=int, default=5)
    r.add_argument("--timeout", type=float, default=30.0)
    r.add_argument("--out", required=True)
    p = sub.add_parser("replay", help="send recorded frames again, round robin")
    p.add_argument("--iface", default="eth0")
    p.add_argument("--file", required=True)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--interval", type=float, default=0.2)
    args = parser.parse_args(argv)
    return {"forge": _forge, "record": _record, "replay": _replay}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
