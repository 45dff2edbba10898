"""The front ends read the live system of a lab host: `ifconfig em0` shows the broadcast
the BSD kernel would use for addresses Linux holds without one, and `netstat -s -p carp`
counts a bad advertisement the moment carpd has dropped it (no wait for status.json,
which carpd rewrites at most once a second)."""

from __future__ import annotations

import re
import sys

import pytest

from carp.lab import Host, Lab, netns
from carp.lab.scenario import configure_carp, vhid_states, wait_until
from tests.netns.lab_fixtures import open_lab
from tests.unprivileged import NOBODY_ARGV, nobody_env

pytestmark = pytest.mark.netns

# An advertisement for vhid 1 from a LAN client, sent with TTL 1: carp drops it as badttl.
SEND_BAD_TTL = r"""
import socket, sys
from carp import wire
src = sys.argv[1]
signer = wire.Signer(wire.hmac_key("wrong"), 1, ["192.168.1.1"], [])
advert = wire.make_advert(signer, 1, 1, 0, wire.int_to_counter(0))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, wire.IPPROTO_CARP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
s.sendto(advert, ("224.0.0.18", 0))
"""
BADTTL = re.compile(r"^\t\t(\d+) packets? discarded for wrong TTL$", re.M)


def _ifconfig(host: Host, personality: str, *args: str) -> str:
    # No store exists, so the environment decides the personality.
    argv = [str(netns.BIN / "ifconfig"), *args]
    return host.run(argv, env={"CARP_PERSONALITY": personality}).stdout


def test_ifconfig_broadcast_of_linux_addresses() -> None:
    with open_lab(hosts=1, lans=1) as lab:
        a = lab.host("A")
        a.iproute("addr", "add", "10.9.0.2/24", "dev", "em0")  # no IFA_BROADCAST
        a.iproute("addr", "add", "10.9.1.2/24", "brd", "+", "dev", "em0")
        a.iproute("addr", "add", "10.9.2.3/24", "brd", "10.9.2.77", "dev", "em0")
        a.iproute("addr", "add", "10.9.3.1/31", "dev", "em0")
        obsd = _ifconfig(a, "openbsd", "em0")
        assert "\tinet 10.9.0.2 netmask 0xffffff00 broadcast 10.9.0.255\n" in obsd
        assert "\tinet 10.9.1.2 netmask 0xffffff00 broadcast 10.9.1.255\n" in obsd
        assert "\tinet 10.9.2.3 netmask 0xffffff00 broadcast 10.9.2.77\n" in obsd
        assert "\tinet 10.9.3.1 netmask 0xfffffffe\n" in obsd  # RFC 3021: none on OpenBSD
        assert "broadcast 10.9.0.2\n" not in obsd and "broadcast 10.9.3.1\n" not in obsd
        fbsd = _ifconfig(a, "freebsd", "em0")
        assert "\tinet 10.9.0.2 netmask 0xffffff00 broadcast 10.9.0.255\n" in fbsd
        assert "\tinet 10.9.3.1 netmask 0xfffffffe broadcast 255.255.255.255\n" in fbsd


def _badttl(host: Host, user: str = "root") -> int:
    if user == "root":
        out = host.netstat("-s", "-p", "carp").stdout
    else:  # carpd's control socket is root's: another user reads what carpd published
        env = nobody_env(netns.child_env({"CARP_PERSONALITY": "openbsd"}))
        argv = [*NOBODY_ARGV, str(netns.BIN / "netstat"), "-s", "-p", "carp"]
        out = netns.run(netns.exec_argv(host.ns, argv), env=env).stdout
    found = BADTTL.findall(out)
    assert len(found) == 1, out
    return int(found[0])


def _send_bad_ttl(lab: Lab) -> None:
    client = lab.client(1)
    argv = netns.exec_argv(client.ns, [sys.executable, "-c", SEND_BAD_TTL, client.ip])
    netns.run(argv, env=netns.child_env())


def test_netstat_counts_a_bad_advert_at_once() -> None:
    with open_lab(hosts=1, lans=1, personality="openbsd") as lab:
        a = lab.host("A")
        configure_carp(a)
        a.start_carpd()
        # MASTER and settled: no state change will publish status.json meanwhile
        assert wait_until(lambda: vhid_states(a).get(1) == "MASTER", 15), a.log()
        before = _badttl(a)
        _send_bad_ttl(lab)
        assert _badttl(a) == before + 1  # read at once: no sleep
        # another user sees it too, once carpd publishes its status (at most a second)
        assert wait_until(lambda: _badttl(a, "nobody") == before + 1, 5)
