"""External programs the interworking tests drive (tcpdump, ucarp): finding them, writing a
classic pcap for tcpdump to read, and reading tcpdump's CARP and VRRP decodes back.

The parsers follow upstream tcpdump 4.99 (print-carp.c, print-vrrp.c, print-ip.c,
print-ip6.c; docs/userland.md §7). They are strict on purpose: a line that does not
have the expected shape yields no record, so a changed decode fails a test instead of
passing unread."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/bin", "/bin")  # root's PATH may lack sbin


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def program(name: str) -> str:
    """Path of `name`. Missing: a skip on a developer's machine, a failure in CI (CI=true),
    where `make test` has installed the Debian package of that name (Makefile SYSDEPS)."""
    path = shutil.which(name)
    if path is None:
        path = next((f"{d}/{name}" for d in SBIN_DIRS if os.access(f"{d}/{name}", os.X_OK)),
                    None)
    if path is not None:
        return path
    why = f"{name} is not installed (Debian package {name}; `make sysdeps` installs it)"
    if in_ci():
        pytest.fail(f"{why}; in CI this test must run", pytrace=False)
    pytest.skip(why)


# ---------------------------------------------------------------------------------------
# Classic libpcap file (not pcapng): what `tcpdump -r` reads on every version

PCAP_MAGIC = 0xA1B2C3D4  # microsecond timestamps, written in our byte order ("<")
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535


def write_pcap(path: Path, frames: Iterable[bytes], t0: int = 1_700_000_000) -> None:
    """Global header (version 2.4) + one record per Ethernet frame, one second apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", PCAP_MAGIC, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", t0 + i, 0, len(frame), len(frame)) + frame)


# ---------------------------------------------------------------------------------------
# tcpdump's text


def tcpdump(pcap: Path, *args: str) -> str:
    """`tcpdump -r pcap -tt -nn args...`; stdout (the "reading from file" banner is on
    stderr). Raises on a non-zero exit, e.g. a pcap tcpdump cannot read."""
    proc = subprocess.run([program("tcpdump"), "-r", str(pcap), "-tt", "-nn", *args],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"tcpdump failed: {proc.stderr}"
    return proc.stdout


def packets(text: str) -> list[str]:
    """One string per packet: with -v, IPv4 continues on indented lines (and -x adds
    indented hex lines). With -e the "IP"/"IP6" word gives way to the ethertype."""
    out: list[str] = []
    for line in text.splitlines():
        if line[:1].isspace() and out:
            out[-1] += "\n" + line
        elif line.strip():
            out.append(line)
    return out


_TIME = r"^(?P<t>\d+\.\d+) "
_ETHER = r"(?:(?P<src_mac>[0-9a-f:]{17}) > (?P<dst_mac>[0-9a-f:]{17}), ethertype \S+ \(0x[0-9a-f]+\), length \d+: )?"  # noqa: E501
_IP4 = (r"(?:IP )?\(tos (?P<tos>0x[0-9a-f]+), ttl (?P<ttl>\d+), id \d+, offset 0, "
        r"flags \[(?P<flags>[^\]]*)\], proto (?P<proto_name>\w+) \((?P<proto>\d+)\), "
        r"length (?P<iplen>\d+)(?P<ipbad>, bad cksum \w+ \(->\w+\)!)?\)\s+")
_IP6 = (r"(?:IP6 )?\((?:[^)]*?, )?hlim (?P<ttl>\d+), next-header (?P<proto_name>\w+) "
        r"\((?P<proto>\d+)\),? payload length: (?P<iplen>\d+)\) ")
_ADDRS = r"(?P<src>[0-9a-f.:]+) > (?P<dst>[0-9a-f.:]+): "
_CARP = (r"CARPv(?P<version>\d+)-(?P<type>advertise|unknown) (?P<len>\d+): "
         r"(?:\[ttl=(?P<ttl_note>\d+)!\] )?vhid=(?P<vhid>\d+) advbase=(?P<advbase>\d+) "
         r"advskew=(?P<advskew>\d+) authlen=(?P<authlen>\d+)"
         # tcpdump 4.99 prints "authlen=7  (bad carp cksum 1234!)counter=..."
         r"(?:\s+\(bad carp cksum (?P<carp_bad>\w+)!\)\s*|\s)"
         r"counter=(?P<counter>\d+)$")
_VRRP = (r"VRRPv(?P<version>\d+), Advertisement, vrid (?P<vrid>\d+), prio (?P<prio>\d+), "
         r"authtype (?P<authtype>\w+), intvl (?P<intvl>\d+)s, length (?P<len>\d+)"
         r"(?P<rest>.*)$")
# VRRPv3 (print-vrrp.c): the interval in centiseconds, the checksum over the pseudo-header
_VRRP3 = (r"VRRPv3, Advertisement, vrid (?P<vrid>\d+), prio (?P<prio>\d+), "
          r"intvl (?P<intvl>\d+)cs, length (?P<len>\d+)"
          r"(?:, \(bad vrrp cksum (?P<vrrp_bad>\w+)\))?, addrs(?:\(\d+\))?: (?P<addrs>.*)$")
_INTS = ("ttl", "proto", "iplen", "version", "len", "vhid", "advbase", "advskew", "authlen",
         "counter", "vrid", "prio", "intvl", "ttl_note")


def _match(body: str, pattern: str, family: int) -> dict[str, Any] | None:
    m = re.match(_TIME + _ETHER + (_IP4 if family == 4 else _IP6) + _ADDRS + pattern, body,
                 re.DOTALL)
    if m is None:
        return None
    rec: dict[str, Any] = {k: v for k, v in m.groupdict().items()}
    for key in _INTS:
        if rec.get(key) is not None:
            rec[key] = int(rec[key])
    rec["t"] = float(rec["t"])
    rec["family"] = family
    rec["text"] = body
    return rec


def _parse(text: str, pattern: str) -> list[dict[str, Any]]:
    out = []
    for body in packets(text):
        flat = " ".join(part.strip() for part in body.split("\n"))
        rec = _match(flat, pattern, 4) or _match(flat, pattern, 6)
        out.append(rec if rec is not None else {"unparsed": flat})
    return out


def carp_records(text: str) -> list[dict[str, Any]]:
    """Output of `tcpdump -tt -nn -v[v] [-e] -T carp`: one record per packet; a packet that
    is not a fully decoded CARP advertisement gives {"unparsed": line}."""
    return _parse(text, _CARP)


def vrrp_records(text: str) -> list[dict[str, Any]]:
    """Output of `tcpdump -tt -nn -v[v] [-e]` (no -T): protocol 112 read as VRRPv2."""
    return _parse(text, _VRRP)


def vrrp3_records(text: str) -> list[dict[str, Any]]:
    """Output of `tcpdump -tt -nn -v[v] [-e]` for VRRPv3 advertisements (`carpver 3`)."""
    return _parse(text, _VRRP3)


def hex_packets(text: str) -> list[bytes]:
    """The IP datagrams of `tcpdump -tt -nn -x` (its hex dump starts at the IP header)."""
    out: list[bytes] = []
    for body in packets(text):
        words = []
        for line in body.split("\n")[1:]:
            m = re.match(r"\s+0x[0-9a-f]{4}:\s+(.*)$", line)
            assert m is not None, f"not a tcpdump hex line: {line!r}"
            words += m.group(1).split()
        out.append(bytes.fromhex("".join(words)))
    return out
