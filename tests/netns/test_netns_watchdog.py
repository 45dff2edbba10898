"""The watchdog's clean-up after carpd died, seen from the wire: the virtual addresses go,
the macvlans go, and not one frame leaves with the virtual MAC as its source meanwhile.
carpd's egress program (which rewrites such frames) died with carpd, so whatever the
kernel sends from the macvlan now -- an MLD report when an IPv6 address is removed from
a link that is up -- would teach a learning switch the virtual MAC at a dead host's port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from carp.daemon.watchdog import TAG
from carp.lab import netns

pytestmark = pytest.mark.netns

LINKS = 4  # the links go one by one, ~15 ms each: the last one's addresses wait longest


@pytest.fixture
def pair() -> Iterator[tuple[str, str]]:
    """Namespace `host` with the macvlans a dead carpd left (tagged, up, an IPv4 and, but
    for carp1, an IPv6 virtual address besides the link-local one), wired to `peer`."""
    host, peer = f"carpwd{os.getpid()}-h", f"carpwd{os.getpid()}-p"
    try:
        netns.add(host)
        netns.add(peer)
        netns.ip("link", "add", "em0", "netns", host, "type", "veth", "peer", "name", "em0",
                 "netns", peer)
        for ns in (host, peer):
            netns.ip("link", "set", "em0", "up", ns=ns)
        for i in range(LINKS):
            mv = f"carp{i}"
            netns.ip("link", "add", mv, "link", "em0", "type", "macvlan", "mode", "bridge",
                     ns=host)
            netns.ip("link", "set", mv, "address", f"00:00:5e:00:01:{i + 1:02x}", "alias", TAG,
                     ns=host)
            for conf in ("accept_dad=0", "accept_ra=0"):
                netns.run(netns.exec_argv(host, ["sysctl", "-qw", f"net.ipv6.conf.{mv}.{conf}"]))
            netns.ip("link", "set", mv, "up", ns=host)
            netns.ip("addr", "add", f"192.168.1.{i + 1}/24", "dev", mv, ns=host)
            if i != 1:  # carp1: IPv4 only
                netns.ip("addr", "add", f"2001:db8:1::{i + 1}/64", "dev", mv, "nodad", ns=host)
        yield host, peer
    finally:
        netns.delete(host)
        netns.delete(peer)


def test_cleanup_sends_nothing_from_the_virtual_mac(pair: tuple[str, str]) -> None:
    host, peer = pair
    time.sleep(2.5)  # the joins' unsolicited MLD reports (robustness 2, 1 s apart) are over
    cap = subprocess.Popen(
        netns.exec_argv(peer, ["tcpdump", "-i", "em0", "-nn", "-e", "-l", "--immediate-mode",
                               "ether[6:4] == 0x00005e00"]),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert cap.stderr is not None
        assert "listening on" in cap.stderr.readline() + cap.stderr.readline()
        code = "from carp.daemon.watchdog import delete_tagged; print(delete_tagged())"
        out = netns.run(netns.exec_argv(host, [sys.executable, "-c", code]),
                        env=netns.child_env())
        # the links with IPv6 virtual addresses first: those last until the link goes
        assert eval(out.stdout) == ["carp0", "carp2", "carp3", "carp1"]
        time.sleep(1.5)  # an MLD report leaves within a jiffy; its retransmission in 1 s
    finally:
        netns.stop(cap)
    assert cap.stdout is not None
    frames = cap.stdout.read().strip()
    assert frames == "", frames
    assert netns.ip("-o", "link", "show", "type", "macvlan", ns=host).stdout == ""
