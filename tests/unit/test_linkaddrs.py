"""carpd reads one macvlan's addresses with a dump the kernel filters by link
(carp.daemon.linkaddrs); the parser keeps only that link's, in case the kernel did not."""

from __future__ import annotations

import socket
import struct

import pytest

from carp.daemon.linkaddrs import NLMSG_DONE, NLMSG_ERROR, _parse

_HDR, _IFA, _RTA = struct.Struct("=IHHII"), struct.Struct("=BBBBI"), struct.Struct("=HH")


def _rta(kind: int, data: bytes) -> bytes:
    raw = _RTA.pack(_RTA.size + len(data), kind) + data
    return raw + bytes(-len(raw) % 4)


def _newaddr(index: int, family: int, addr: str, plen: int) -> bytes:
    packed = socket.inet_pton(family, addr)
    body = _IFA.pack(family, plen, 0, 0, index) + _rta(2, packed) + _rta(1, packed)
    return _HDR.pack(_HDR.size + len(body), 20, 2, 1, 0) + body


def _control(kind: int, payload: bytes = b"") -> bytes:
    return _HDR.pack(_HDR.size + len(payload), kind, 2, 1, 0) + payload


def test_only_the_asked_link_s_addresses_are_kept() -> None:
    found: set[tuple[str, int]] = set()
    first = (_newaddr(7, socket.AF_INET, "10.1.0.1", 16)
             + _newaddr(8, socket.AF_INET, "10.1.0.2", 16)  # another link: a kernel
             + _newaddr(7, socket.AF_INET6, "fe80::1", 64))  # that ignored the filter
    assert not _parse(first, 7, found)  # the dump goes on
    assert _parse(_control(NLMSG_DONE, bytes(4)), 7, found)
    assert found == {("10.1.0.1", 16), ("fe80::1", 64)}


def test_a_refused_dump_raises() -> None:
    with pytest.raises(OSError):
        _parse(_control(NLMSG_ERROR, struct.pack("=i", -22) + bytes(16)), 7, set())
