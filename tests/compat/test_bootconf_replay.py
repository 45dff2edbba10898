"""Boot files of each BSD, replayed by carp.bootconf through the real front ends.

Each case writes a small /etc under a temporary root, replays it in-process (as carpd
does at start) inside a fresh lab host of that personality, and checks the store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.netns

SCRIPT = """
import io, json, sys
from pathlib import Path
from carp.bootconf import plan, replay
out, err = io.StringIO(), io.StringIO()
failures = replay(plan(Path(sys.argv[1])), stdout=out, stderr=err)
print(json.dumps({"failures": failures, "out": out.getvalue(), "err": err.getvalue()}))
"""

CASES: dict[str, dict[str, str]] = {
    "openbsd": {
        "etc/sysctl.conf": "net.ipv4.ip_forward=0\nnet.inet.carp.preempt=1\n",
        "etc/hostname.em0": "inet 192.168.1.2 255.255.255.0 NONE\nmtu 1400\nup\n",
        "etc/hostname.em1": "dhcp\ninet 192.168.2.9 255.255.255.0 NONE\n",
        "etc/hostname.carp0": ("inet 192.168.1.1 255.255.255.0 NONE vhid 1 carpdev em0 "
                               "pass mekmitasdigoat advskew 100\n"),
        "etc/hostname.carp1": ("# second vhid\nvhid 2 carpdev em1 pass secret\n"
                               "inet 192.168.2.1/24\ninet6 2001:db8::1 64\nup\n"),
        "etc/hostname.carp2": "vhid 300 carpdev em0\n",  # fails, reported by file:line
    },
    "freebsd": {
        "etc/sysctl.conf": "net.inet.carp.preempt=1 # group failover\nnet.inet.carp.log=2\n",
        "etc/rc.conf": (
            'ifconfig_em0="inet 192.168.1.2/24 mtu 1400"\n'
            'ifconfig_em1="inet 192.168.2.9 netmask 0xffffff00"\n'
            'ifconfig_em0_alias0="inet vhid 1 pass testpass alias 192.168.1.50/32"\n'
            "ifconfig_em1_alias0='inet vhid 2 advskew 100 pass testpass alias "
            "192.168.2.50/32'\n"
            'cloned_interfaces="carp0"\n'
            'ifconfig_carp0="vhid 3 advskew 100 pass testpass 192.168.1.60/24"\n'
        ),
    },
    "netbsd": {
        "etc/sysctl.conf": "net.inet.carp.preempt=1\n",
        "etc/ifconfig.carp0": ("create\nvhid 1 carpdev em0 pass mekmitasdigoat\n"
                               "inet 192.168.1.1 netmask 255.255.255.0\n"),
        "etc/ifconfig.carp1": ("vhid 2 advskew 100 pass mekmitasdigoat 192.168.2.1/24 "
                               "netmask 255.255.255.0\nup\n"),
        "etc/ifconfig.em0": "mtu 1400\n",
        "etc/ifconfig.em1": "inet 192.168.2.9 netmask 255.255.255.0\n",
    },
}

# interface key -> (vhid, advskew, carpdev, passphrase, addresses)
EXPECTED: dict[str, dict[str, tuple[int, int | None, str | None, str, list[str]]]] = {
    "openbsd": {
        "carp0": (1, 100, "em0", "mekmitasdigoat", ["192.168.1.1/24"]),
        "carp1": (2, 0, "em1", "secret", ["192.168.2.1/24", "2001:db8::1/64"]),
        "carp2": (0, None, None, "", []),  # netstart created it; its only line failed
    },
    "freebsd": {
        "em0:1": (1, 0, None, "testpass", ["192.168.1.50/32"]),
        "em1:2": (2, 100, None, "testpass", ["192.168.2.50/32"]),
        "carp0": (3, 100, "em0", "testpass", ["192.168.1.60/24"]),
    },
    "netbsd": {
        "carp0": (1, 0, "em0", "mekmitasdigoat", ["192.168.1.1/24"]),
        "carp1": (2, 100, "em1", "mekmitasdigoat", ["192.168.2.1/24"]),
    },
}
SYSCTL = {
    "openbsd": {"net.inet.carp.preempt": 1},
    "freebsd": {"net.inet.carp.preempt": 1, "net.inet.carp.log": 2},
    "netbsd": {"net.inet.carp.preempt": 1},
}


@pytest.mark.parametrize("personality", sorted(CASES))
def test_boot_files_replay(personality: str, tmp_path: Path) -> None:
    from carp.lab import Lab
    from carp.store import Store

    for rel, text in CASES[personality].items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with Lab(hosts=1, lans=2, personality=personality) as lab:
        host = lab.hosts[0]
        proc = host.run([sys.executable, "-c", SCRIPT, str(tmp_path)],
                        env={"CARP_PERSONALITY": personality})
        result = json.loads(proc.stdout)
        state = Store(host.rundir).load()
        em0_mtu = json.loads(host.iproute("-j", "link", "show", "em0").stdout)[0]["mtu"]
        physical = host.addresses("em0") + host.addresses("em1")
    assert not lab.leftovers()

    if personality == "openbsd":
        assert result["failures"] == 1
        assert result["err"] == "/etc/hostname.carp2:1: ifconfig: vhid 300: too large\n"
    else:
        assert (result["failures"], result["err"]) == (0, "")
    # the physical interfaces' own lines are made through netlink, DHCP left to Linux
    skipped = [line for line in result["out"].splitlines() if "(skipped:" in line]
    assert len(skipped) == (1 if personality == "openbsd" else 0)
    assert (em0_mtu, physical) == (1400, ["192.168.1.2/24", "192.168.2.9/24"])
    assert state.personality == personality
    assert state.sysctl == SYSCTL[personality]
    have = {
        key: (ci.vhid, ci.nodes[0].advskew if ci.nodes else None,
              ci.carpdev if ci.style == "clone" else None, ci.passphrase,
              [f"{a.address}/{a.prefixlen}" for a in ci.addresses])
        for key, ci in state.interfaces.items()
    }
    assert have == EXPECTED[personality]
