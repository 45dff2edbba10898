"""A store belongs to one host incarnation: the boot, and for a named network namespace's
own store that namespace (its cookie).  A store of an earlier incarnation reads as absent
and is set aside, never deleted, by the first writer."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from carp import store as store_mod
from carp.config import CarpInterface, Node
from carp.ifconfig import cli
from carp.store import Store, StoreError
from tests.unit.ifconfig_support import FakeSysIf


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARP_RUNDIR", raising=False)
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)


class Incarnation:
    """What the kernel says this host is; tests change it between Store objects."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.boot = "boot-1"
        self.netns = "cookie:1"
        monkeypatch.setattr(store_mod, "boot_id", lambda: self.boot)
        monkeypatch.setattr(store_mod, "netns_id", lambda: self.netns)


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Incarnation:
    return Incarnation(monkeypatch)


def _own(monkeypatch: pytest.MonkeyPatch, rundir: Path) -> Store:
    """The store as a process inside its named namespace finds it (no CARP_RUNDIR)."""
    monkeypatch.setattr(store_mod, "_resolve", lambda: (str(rundir), True))
    return Store()


def _configure(st: Store) -> None:
    with st.transaction() as state:
        state.interfaces["carp0"] = CarpInterface(
            name="carp0", carpdev="em0", nodes=[Node(1)], passphrase="old-key")


def _ifconfig(st: Store, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.run(list(argv), stdout=out, stderr=err, store=st, sysif=FakeSysIf())
    return code, out.getvalue(), err.getvalue()


def test_namespace_made_again_is_a_new_host(
    host: Incarnation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _configure(_own(monkeypatch, tmp_path))
    old = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    host.netns = "cookie:2"  # deleted and made again under the same name
    st = _own(monkeypatch, tmp_path)
    assert st.load_doc() is None and st.load().interfaces == {}
    assert _ifconfig(st, "carp0") == (1, "", "carp0: no such interface\n")
    assert _ifconfig(st, "carp0", "create") == (0, "", "")  # not "File exists"
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith(store_mod.STALE_PREFIX)]
    # everything the old host had, byte for byte, and its key still root's alone
    kept = {p.name: p.read_bytes() for p in aside.iterdir()}
    assert kept == {k: v for k, v in old.items() if k != store_mod.LOCK_FILE}
    assert all(os.stat(p).st_mode & 0o077 == 0 for p in aside.iterdir()
               if p.name.startswith(store_mod.KEYS_PREFIX))
    assert f"set aside in {aside}" in capsys.readouterr().err  # no syslog here: stderr
    assert list(st.load().interfaces) == ["carp0"]
    assert st.load().interfaces["carp0"].passphrase == ""


def test_another_boot_is_a_new_host_wherever_the_store_is(
    host: Incarnation, tmp_path: Path
) -> None:
    _configure(Store(tmp_path))
    host.boot = "boot-2"
    st = Store(tmp_path)
    assert st.load_doc() is None
    where, why = st.set_aside_stale() or ("", "")
    assert "another boot (boot-1; this is boot-2)" in why
    assert (Path(where) / "store.json").exists() and not st.path.exists()
    assert st.set_aside_stale() is None  # nothing left to move


def test_a_store_named_by_its_directory_is_not_tied_to_the_reader_namespace(
    host: Incarnation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The lab, the tests and CARP_RUNDIR read a namespace's store from outside it."""
    _configure(_own(monkeypatch, tmp_path))
    host.netns = "cookie:99"  # the reader's namespace, not the store's
    outside = Store(tmp_path)
    assert outside.load().interfaces["carp0"].passphrase == "old-key"
    with outside.transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 1
    host.netns = "cookie:1"  # the owner still finds its own store, still stamped as its
    assert _own(monkeypatch, tmp_path).load().sysctl == {"net.inet.carp.preempt": 1}


def test_status_of_an_earlier_incarnation_is_absent(
    host: Incarnation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    st = _own(monkeypatch, tmp_path)
    st.write_status({"pid": os.getpid(), "counters": {"ipackets": 1}})
    assert st.read_status() == {"pid": os.getpid(), "counters": {"ipackets": 1}}
    host.netns = "cookie:2"
    assert _own(monkeypatch, tmp_path).read_status() is None


def test_carpd_refuses_to_apply_a_stale_store(
    host: Incarnation, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _configure(_own(monkeypatch, tmp_path))
    host.netns = "cookie:2"
    with pytest.raises(StoreError, match="another network namespace"):
        _own(monkeypatch, tmp_path).load(private=True)


def test_a_store_without_a_stamp_is_current(host: Incarnation, tmp_path: Path) -> None:
    doc = {"format": 1, "generation": 2, "personality": "netbsd", "sysctl": {},
           "interfaces": {}, "groups": {}, "ifmap": {}}
    store_mod.atomic_write(str(tmp_path / "store.json"), store_mod._encode(doc))
    assert Store(tmp_path).load().personality == "netbsd"


def test_the_kernel_gives_this_namespace_an_identity() -> None:
    assert store_mod.boot_id()
    ident = store_mod.netns_id()
    assert ident is not None and ident.startswith(("cookie:", "inode:"))
    assert ident == store_mod.netns_id()
