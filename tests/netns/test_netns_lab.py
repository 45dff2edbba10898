"""The lab itself: what it builds, how the switch capture attributes frames to hosts, and
that it removes everything it made whatever way its block is left."""

from __future__ import annotations

import time

import pytest

from carp.lab import Lab, frames
from carp.lab.netns import RUN_NETNS, listing
from carp.wire import (
    Signer,
    build_ipv4,
    build_ipv6,
    ethernet_frame,
    gratuitous_arp,
    hmac_key,
    int_to_counter,
    make_advert,
)

pytestmark = pytest.mark.netns


def test_frames_decode_what_carpd_sends() -> None:
    signer = Signer(hmac_key("mekmitasdigoat"), 1, ["192.168.1.1"], [])
    carp = make_advert(signer, 7, 1, 100, int_to_counter(0), demote=2)
    ip = build_ipv4("192.168.1.2", "224.0.0.18", carp, 0x10, 1)
    rec = frames.decode(ethernet_frame("01:00:5e:00:00:12", "00:00:5e:00:01:07", 0x0800, ip))
    assert rec is not None
    assert (rec["kind"], rec["vhid"], rec["advbase"], rec["advskew"], rec["demote"]) == (
        "carp", 7, 1, 100, 2)
    assert (rec["src_ip"], rec["src_mac"], rec["ttl"]) == ("192.168.1.2", "00:00:5e:00:01:07", 255)
    garp = frames.decode(gratuitous_arp("00:00:5e:00:01:01", "192.168.1.1"))
    assert garp is not None and garp["garp"] and garp["sender_mac"] == "00:00:5e:00:01:01"
    assert frames.decode(b"\x00" * 10) is None
    ip6 = build_ipv6("fe80::2", "ff02::12", carp, tclass=0xE0)
    rec6 = frames.decode(ethernet_frame("33:33:00:00:00:12", "00:00:5e:00:01:07", 0x86DD, ip6))
    assert rec6 is not None
    assert (rec6["kind"], rec6["vhid"], rec6["advskew"], rec6["src_ip"], rec6["dst_ip"]) == (
        "carp", 7, 100, "fe80::2", "ff02::12")
    assert (rec6["ttl"], rec6["tclass"], rec6["dst_mac"]) == (255, 0xE0, "33:33:00:00:00:12")


def test_topology_probes_and_capture() -> None:
    with Lab(hosts=2, lans=2) as lab:
        a, b = lab.hosts
        assert [h.ip(1) for h in lab.hosts] == ["192.168.1.2", "192.168.1.3"]
        assert a.addresses() == ["192.168.1.2/24", "192.168.2.2/24"]
        assert set(a.links()) == {"lo", "em0", "em1"}
        cap = lab.capture()
        since = time.time()
        reply = lab.client(2).arp(b.ip(2))
        assert [r["mac"] for r in reply["replies"]] == [b.mac(2)]
        assert lab.client(1).reaches(a.ip(1))
        answers = cap.arp_replies(b.ip(2), since=since)
        assert [lab.port_owner(r["port"]) for r in answers] == ["B"]
        pongs = cap.select("icmp_reply", src_ip=a.ip(1), since=since)
        assert [lab.port_owner(r["port"]) for r in pongs] == ["A"]
        made = list(lab.made)
    assert not set(made) & set(listing())


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_everything_removed_on_error(exc: type[BaseException]) -> None:
    with pytest.raises(exc):
        with Lab(hosts=1, lans=1) as lab:
            lab.capture()
            lab.hosts[0].rundir.mkdir(parents=True)  # as a store would be
            capture_pid = lab.captures[0].pid
            raise exc("boom")
    assert lab.leftovers() == []
    assert not (RUN_NETNS / lab.hosts[0].ns).exists()
    assert not lab.tmp.exists()
    assert capture_pid is not None and not _alive(capture_pid)


def test_parallel_labs_do_not_collide() -> None:
    with Lab(hosts=1, lans=1) as one, Lab(hosts=1, lans=1) as two:
        assert one.prefix != two.prefix
        assert one.hosts[0].ip() == two.hosts[0].ip()  # same addresses, separate worlds
        assert two.client().reaches(two.hosts[0].ip())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
