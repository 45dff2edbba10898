"""What the core records for `carpd status` and the metrics: the master last heard,
the transitions so far and the drops that reached each vhid."""

from __future__ import annotations

import pytest

from carp.wire import Advert, encode
from tests.sim.helpers import PERSONALITIES, US, iface, key
from tests.sim.lan import Lan


def entry(lan: Lan, name: str, pers: str) -> dict[str, object]:
    host = lan.hosts[name].host
    assert host is not None
    vhosts = host.status()["vhosts"]
    assert isinstance(vhosts, dict)
    return dict(vhosts[key(pers)]["1"])


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_backup_names_the_master_it_hears_until_it_takes_over(pers: str) -> None:
    lan = Lan(seed=3)
    lan.add("A", pers, [iface(pers, 1, 0)])
    lan.add("B", pers, [iface(pers, 1, 100)])
    lan.run_until(10 * US)
    a, b = entry(lan, "A", pers), entry(lan, "B", pers)
    assert (a["state"], a["transitions"], a["master"]) == ("MASTER", 2, "")
    assert (b["state"], b["transitions"], b["master"]) == ("BACKUP", 1, lan.hosts["A"].addr)
    assert isinstance(b["heard"], float) and 9.0 <= b["heard"] <= 10.0  # every second
    assert b["reason"] == "initialization complete"

    lan.crash("A")
    lan.run_until(20 * US)
    b = entry(lan, "B", pers)
    assert (b["state"], b["transitions"], b["reason"]) == ("MASTER", 2, "master timed out")
    assert b["since"] == pytest.approx(b["heard"] + 3 + 100 / 256, abs=1.1)


@pytest.mark.parametrize("pers", PERSONALITIES)
def test_drops_after_the_vhid_is_found_are_counted_for_it(pers: str) -> None:
    lan = Lan(seed=4)
    lan.add("A", pers, [iface(pers, 1, 0), iface(pers, 2, 0)])
    lan.run_until(5 * US)
    forged = encode(Advert(1, 0, 1, bytes(8), bytes(20), 0))  # no passphrase: badauth
    unknown = encode(Advert(9, 0, 1, bytes(8), bytes(20), 0))  # no such vhid: host only
    for _ in range(3):
        lan.inject(forged)
    lan.inject(unknown)
    host = lan.hosts["A"].host
    assert host is not None
    assert entry(lan, "A", pers)["drops"] == {"badauth": 3}
    other = host.status()["vhosts"]
    assert isinstance(other, dict)
    assert other[key(pers, 2)]["2"]["drops"] == {}
    assert host.counters["badauth"] == 3 and host.counters["badvhid"] == 1
