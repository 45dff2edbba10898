"""A write at a thousand vhids touches one interface: the store's interfaces become
objects only when read (carp.interface_table), and what was not read is written back as
it was read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from carp import record
from carp.config import Address, CarpInterface, Node, StateRequest
from carp.ifconfig import cli
from carp.interface_table import InterfaceTable, carry_over, documents
from carp.store import State, Store
from tests.unit.ifconfig_support import Host

N = 200  # enough for an O(n) per write to show in the counts


def _populated(tmp_path: Path) -> Host:
    host = Host(tmp_path, "openbsd")
    with host.store.transaction() as st:
        for i in range(N):
            dev, vhid = divmod(i, 100)
            st.interfaces[f"carp{i}"] = CarpInterface(
                name=f"carp{i}", carpdev=f"em{dev}", nodes=[Node(vhid + 1, 0)],
                passphrase="secret" if i % 2 else "", up=True, index=100 + i,
                addresses=[Address(f"10.{dev}.0.{vhid + 1}", 16)],
            )
    return host


@pytest.fixture
def made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the interfaces made into objects from a document."""
    names: list[str] = []
    plain_from_dict = CarpInterface.from_dict.__func__  # type: ignore[attr-defined]

    def counting(cls: type[CarpInterface], data: dict[str, object]) -> CarpInterface:
        names.append(str(data.get("name")))
        return plain_from_dict(cls, data)  # type: ignore[no-any-return]

    monkeypatch.setattr(CarpInterface, "from_dict", classmethod(counting))
    return names


def test_a_write_reads_only_the_interface_it_changes(tmp_path: Path, made: list[str]) -> None:
    host = _populated(tmp_path)
    made.clear()
    result = host("carp7", "advskew", "50")
    assert result.code == 0, result.err
    assert set(made) == {"carp7"}
    state = host.state
    assert state.interfaces["carp7"].nodes == [Node(8, 50)]
    assert state.interfaces["carp8"].nodes == [Node(9, 0)]


def test_a_new_interface_reads_none_of_the_others(tmp_path: Path, made: list[str]) -> None:
    host = _populated(tmp_path)
    made.clear()
    result = host("carp500", "vhid", "200", "carpdev", "em0", "pass", "x", "10.9.0.1/16")
    assert result.code == 0, result.err
    assert made == []  # the vhid-per-carpdev check and the new index read documents
    assert host.state.interfaces["carp500"].index == 100 + N  # above every other


def test_the_vhid_check_still_sees_every_interface(tmp_path: Path) -> None:
    host = _populated(tmp_path)
    taken = host("carp500", "vhid", "5", "carpdev", "em1", "10.9.0.1/16")
    assert taken.code != 0 and "carp500" not in host.state.interfaces


def test_unread_interfaces_are_written_back_as_they_were(tmp_path: Path) -> None:
    host = _populated(tmp_path)
    before = host.store.load(private=True).to_dict()["interfaces"]
    assert host("carp3", "advbase", "2").code == 0
    after = host.store.load(private=True).to_dict()["interfaces"]
    assert {k for k in after if after[k] != before[k]} == {"carp3"}
    assert after["carp5"]["passphrase"] == "secret"  # the keys file still holds them


def test_reading_without_changing_commits_nothing(tmp_path: Path) -> None:
    host = _populated(tmp_path)
    generation = host.state.generation
    with host.store.transaction() as st:
        assert st.interfaces["carp4"].passphrase == ""  # read: an object made, unchanged
        assert st.interfaces["carp5"].passphrase == "secret"
    assert host.state.generation == generation


def test_an_object_read_and_changed_in_place_is_written(tmp_path: Path) -> None:
    host = _populated(tmp_path)
    with host.store.transaction() as st:
        st.interfaces["carp4"].groups.append("edge")  # not through __setitem__
    assert host.state.interfaces["carp4"].groups == ["carp", "edge"]


def test_the_table_is_a_mapping_in_insertion_order() -> None:
    ci = CarpInterface(name="carp1", carpdev="em0", nodes=[Node(1)])
    table = InterfaceTable({"carp0": CarpInterface(name="carp0").to_dict()})
    table["carp1"] = ci
    assert list(table) == ["carp0", "carp1"] and len(table) == 2 and "carp1" in table
    assert table["carp1"] is ci and table.get("carp9") is None
    del table["carp0"]
    assert list(table.items()) == [("carp1", ci)]
    assert dict(documents(table)) == {"carp1": ci.to_dict()}
    assert dict(documents({"carp1": ci})) == {"carp1": ci.to_dict()}


def test_a_working_copy_shares_no_object() -> None:
    table = InterfaceTable({"carp0": CarpInterface(name="carp0").to_dict()})
    table["carp0"].up = True
    twin = table.copy()
    twin["carp0"].advbase = 5
    assert table["carp0"].advbase == 1 and twin["carp0"].up


def test_carpd_carries_over_the_objects_of_unchanged_interfaces() -> None:
    docs = {f"carp{i}": CarpInterface(name=f"carp{i}", nodes=[Node(i + 1)]).to_dict()
            for i in range(3)}
    applied = InterfaceTable(docs)
    objects = {key: applied[key] for key in applied}
    changed = dict(docs, carp1={**docs["carp1"], "advbase": 4})
    fresh = InterfaceTable({k: dict(v) for k, v in changed.items()})  # read again
    carry_over(fresh, applied)
    assert fresh["carp0"] is objects["carp0"] and fresh["carp2"] is objects["carp2"]
    assert fresh["carp1"] is not objects["carp1"] and fresh["carp1"].advbase == 4


def test_a_fresh_state_without_interfaces_takes_a_plain_dict(tmp_path: Path) -> None:
    out = io.StringIO()
    store = Store(tmp_path)
    assert cli.run(["carp0", "create"], stdout=out, stderr=out, store=store) == 0
    assert isinstance(store.load().interfaces, InterfaceTable)
    assert State().to_dict()["interfaces"] == {}


def test_build_is_the_constructor() -> None:
    """record.build, the store's fast path, makes what __init__ makes and refuses what
    it refuses."""
    ci = CarpInterface(name="carp0", nodes=[Node(3, 100)], addresses=[Address("10.0.0.1", 8)],
                       state_request=StateRequest(4, "MASTER"))
    assert CarpInterface.from_dict(ci.to_dict()) == ci
    assert record.build(Node, {"vhid": 2}) == Node(2)
    assert record.build(CarpInterface, {"name": "carp1"}).groups == ["carp"]
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        record.build(Node, {"vhid": 2, "colour": "red"})
    with pytest.raises(TypeError, match="missing required argument: 'vhid'"):
        record.build(Node, {})
