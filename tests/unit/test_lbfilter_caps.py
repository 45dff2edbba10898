"""carpd without CAP_BPF: a balanced interface is named with the missing capability, and
carpd without balanced interfaces never asks for it (no bpf(2) at all)."""

from __future__ import annotations

import errno

import pytest

from carp.balance import Share
from carp.daemon import caps, ebpf, lbfilter

NET_ONLY = 1 << caps.CAP_NET_ADMIN | 1 << caps.CAP_NET_RAW
SHARE = Share("carp0", "em0", "ip", (1, 2), "01:00:5e:00:01:01", "00:00:5e:00:01:01",
              b"\0" * 20)


def _refused(*_args: object) -> None:
    raise ebpf.BPFError(errno.EPERM, "map create carpd_state")


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(ebpf, "MappedArray", _refused)
    return []


def test_a_balanced_interface_names_the_missing_cap_bpf(
    monkeypatch: pytest.MonkeyPatch, logged: list[str]
) -> None:
    monkeypatch.setattr(caps, "own_caps", lambda: NET_ONLY)
    bal = lbfilter.Balancer(logged.append)
    bal.sync({"carp0": SHARE}, {"carp0": 1}, {})
    bal.sync({"carp0": SHARE}, {"carp0": 1}, {})  # said once
    assert len(logged) == 1
    assert "CAP_BPF" in logged[0] and "carp0" in logged[0] and "not split" in logged[0]
    bal.set_word("carp0", 3)  # the elections go on: state changes are no error
    bal.close()


def test_a_refusal_with_cap_bpf_held_is_not_blamed_on_it(
    monkeypatch: pytest.MonkeyPatch, logged: list[str]
) -> None:
    """An LSM may refuse bpf(2) to a process that holds CAP_BPF: say what the kernel said."""
    monkeypatch.setattr(caps, "own_caps", lambda: NET_ONLY | 1 << caps.CAP_BPF)
    lbfilter.Balancer(logged.append).sync({"carp0": SHARE}, {}, {})
    assert len(logged) == 1 and "CAP_BPF" not in logged[0]
    assert "Operation not permitted" in logged[0]


def test_without_balancing_nothing_is_asked(
    monkeypatch: pytest.MonkeyPatch, logged: list[str]
) -> None:
    monkeypatch.setattr(caps, "own_caps", lambda: NET_ONLY)
    lbfilter.Balancer(logged.append).sync({}, {}, {})
    assert logged == []
