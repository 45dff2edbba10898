"""A carpdev's frames leave through an AF_PACKET socket bound to its index
(carp/daemon/sockets.py): no interface lookup per frame, and a carpdev deleted and made
again gets new sockets from carpd (CarpdevIO.sync)."""

from __future__ import annotations

import json
import sys
import time

import pytest

from carp.lab import netns
from carp.lab.scenario import configure_carp, wait_states
from carp.states import MASTER
from tests.netns.lab_fixtures import open_lab

pytestmark = pytest.mark.netns

RENAMED_SCRIPT = """
import json, socket, subprocess
from carp import wire
from carp.daemon.sockets import CarpdevSockets

def tx(dev):
    with open(f"/sys/class/net/{dev}/statistics/tx_packets") as fh:
        return int(fh.read())

socks = CarpdevSockets("em0", socket.if_nametoindex("em0"))
for step in (["down"], ["name", "em9"], ["up"]):
    subprocess.run(["ip", "link", "set", "em0" if step != ["up"] else "em9", *step], check=True)
before = tx("em9")
socks.send_frame(wire.gratuitous_arp(wire.virtual_mac(1), "192.168.1.77"))
print(json.dumps(tx("em9") - before))
"""


def test_a_frame_leaves_on_the_bound_carpdev_whatever_its_name() -> None:
    """The frame goes to the index the socket was opened on: a sendto() by name would
    look the name up again (an ioctl per frame) and fail once the link is renamed."""
    with open_lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        out = host.run([sys.executable, "-c", RENAMED_SCRIPT]).stdout
        assert json.loads(out) == 1


def test_carpd_sends_on_a_carpdev_deleted_and_made_again() -> None:
    """The new link has a new index: carpd's sockets follow it, adverts resume there."""
    with open_lab(hosts=1, lans=1) as lab:
        host = lab.hosts[0]
        host.start_carpd()
        configure_carp(host)
        assert wait_states({host: {1: MASTER}}, 10)
        old = json.loads(host.iproute("-j", "link", "show", "em0").stdout)[0]["ifindex"]
        netns.ip("link", "del", host.port(1), ns=lab.switch)  # its peer em0 goes too
        lab._plug(host.ns, host.dev(1), host.port(1), 1, host.octet)
        new = json.loads(host.iproute("-j", "link", "show", "em0").stdout)[0]["ifindex"]
        assert new != old
        cap = lab.capture()
        time.sleep(1.0)  # the capture's own start-up
        since = time.time()
        heard = cap.wait_for(lambda r: r.get("kind") == "carp" and r.get("vhid") == 1
                             and r.get("port") == host.port(1), 8.0, since=since)
        assert heard is not None, "no advertisement on the carpdev made again"
        assert wait_states({host: {1: MASTER}}, 5)
