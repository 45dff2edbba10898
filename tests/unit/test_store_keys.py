"""The passphrases are root's: store.json (0644) is the public view any user may read, as
BSD lets any user run ifconfig; the keys are in a 0600 file that store.json names.
Commits stay all-or-nothing with the two files, and readers never see a mixed pair."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
from pathlib import Path

import pytest

from carp import store as store_mod
from carp.config import Address, CarpInterface, Node
from carp.store import KEYS_PREFIX, State, Store
from tests.unprivileged import as_nobody, public_dir

KEY = "mekmitasdigoat"


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARP_RUNDIR", raising=False)
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)


def _carp0(passphrase: str = KEY, advskew: int = 0) -> CarpInterface:
    return CarpInterface(name="carp0", carpdev="em0", nodes=[Node(1, advskew)],
                         addresses=[Address("192.168.1.1", 24)], passphrase=passphrase)


def _configure(st: Store, passphrase: str = KEY) -> None:
    with st.transaction() as state:
        state.interfaces["carp0"] = _carp0(passphrase)


def _keys_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.name.startswith(KEYS_PREFIX))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_store_json_holds_no_key_and_the_keys_file_is_root_only(tmp_path: Path) -> None:
    st = Store(tmp_path)
    _configure(st)
    raw = st.path.read_bytes()
    assert KEY.encode() not in raw and b"passphrase" not in raw
    assert _mode(st.path) == 0o644
    [keys] = _keys_files(tmp_path)
    assert KEY.encode() in keys.read_bytes()
    assert _mode(keys) == 0o600
    assert _mode(tmp_path / store_mod.LOCK_FILE) == 0o600  # nobody may flock it
    assert st.load().interfaces["carp0"] == _carp0()


def _public_view(rundir: str) -> tuple[dict[str, object], str, str]:
    st = Store(rundir)
    state = st.load()
    try:
        [keys] = [n for n in os.listdir(rundir) if n.startswith(KEYS_PREFIX)]
        with open(os.path.join(rundir, keys), "rb"):
            opened = "opened"
    except PermissionError:
        opened = "EACCES"
    try:
        with st.transaction():
            pass
        locked = "locked"
    except PermissionError:
        locked = "EACCES"
    return state.to_dict(), opened, locked


def test_other_users_read_everything_but_the_key() -> None:
    with public_dir() as d:
        st = Store(d / "rundir")
        _configure(st)
        before = {p.name: p.read_bytes() for p in (d / "rundir").iterdir()}
        public, opened, locked = as_nobody(_public_view, str(d / "rundir"))
        assert (opened, locked) == ("EACCES", "EACCES")
        expected = st.load()
        expected.interfaces["carp0"].passphrase = ""
        assert State.from_dict(public) == expected  # all but the key
        assert {p.name: p.read_bytes() for p in (d / "rundir").iterdir()} == before


def test_keys_file_is_kept_while_the_keys_do_not_change(tmp_path: Path) -> None:
    st = Store(tmp_path)
    _configure(st)
    [first] = _keys_files(tmp_path)
    with st.transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 1
    assert _keys_files(tmp_path) == [first]
    _configure(st, "other")
    [second] = _keys_files(tmp_path)
    assert second != first  # a new file, and the old one is gone
    assert st.load().interfaces["carp0"].passphrase == "other"
    with st.transaction() as state:
        state.interfaces["carp0"].passphrase = ""
    assert _keys_files(tmp_path) == []
    assert st.load().interfaces["carp0"].passphrase == ""


def _crash_at_store_rename(rundir: str) -> None:
    st = Store(rundir)
    real = os.replace

    def replace(src: str, dst: str) -> None:
        if dst.endswith(store_mod.STORE_FILE):  # the keys file is in place: die now
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    store_mod.os.replace = replace  # type: ignore[assignment]
    _configure(st, "new-key")


def test_crash_between_keys_and_store_leaves_the_old_pair(tmp_path: Path) -> None:
    st = Store(tmp_path)
    _configure(st)
    before = st.path.read_bytes()
    child = multiprocessing.get_context("fork").Process(
        target=_crash_at_store_rename, args=(str(tmp_path),))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert len(_keys_files(tmp_path)) == 2  # the new keys file, named by nothing
    assert st.path.read_bytes() == before
    assert st.load().interfaces["carp0"].passphrase == KEY
    _configure(st, "third")  # the next commit collects the orphan
    assert len(_keys_files(tmp_path)) == 1
    assert st.load().interfaces["carp0"].passphrase == "third"


def _rekey(rundir: str, times: int) -> None:
    st = Store(rundir)
    for n in range(1, times + 1):
        with st.transaction() as state:
            state.interfaces["carp0"] = _carp0(f"k{n}", advskew=n)


def test_readers_never_see_a_key_of_another_commit(tmp_path: Path) -> None:
    """Every commit changes the key: a reader between the two renames, or one that read
    store.json just before a commit removed the keys file it names, still gets a pair."""
    st = Store(tmp_path)
    _configure(st, "k0")
    writer = multiprocessing.get_context("fork").Process(target=_rekey, args=(str(tmp_path), 150))
    writer.start()
    seen = set()
    while writer.is_alive() or not seen:
        ci = st.load().interfaces["carp0"]
        assert ci.passphrase == f"k{ci.nodes[0].advskew}"
        seen.add(ci.nodes[0].advskew)
    writer.join(60)
    assert writer.exitcode == 0
    assert st.load().interfaces["carp0"].passphrase == "k150"
    assert len(seen) > 1


def test_a_store_of_an_older_version_loses_its_clear_keys_at_the_next_commit(
    tmp_path: Path,
) -> None:
    st = Store(tmp_path)
    doc = {"format": 1, "generation": 4, "personality": "openbsd", "sysctl": {},
           "interfaces": {"carp0": _carp0().to_dict()}, "groups": {}, "ifmap": {}}
    store_mod.atomic_write(st.file, store_mod._encode(doc))
    assert KEY.encode() in st.path.read_bytes()
    assert st.load().interfaces["carp0"].passphrase == KEY  # still read
    with st.transaction():
        pass  # nothing changed, but the keys move out of store.json
    assert KEY.encode() not in st.path.read_bytes()
    assert st.load().interfaces["carp0"].passphrase == KEY
    assert st.load().generation == 5


def test_modes_do_not_depend_on_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        st = Store(tmp_path / "a" / "b")
        _configure(st)
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o755 and _mode(tmp_path / "a" / "b") == 0o755
    assert _mode(st.path) == 0o644
    assert [_mode(p) for p in _keys_files(tmp_path / "a" / "b")] == [0o600]
    assert _mode(tmp_path / "a" / "b" / store_mod.LOCK_FILE) == 0o600


def test_lock_file_of_an_older_version_is_made_root_only(tmp_path: Path) -> None:
    lock = tmp_path / store_mod.LOCK_FILE
    lock.write_bytes(b"")
    lock.chmod(0o644)
    _configure(Store(tmp_path))
    assert _mode(lock) == 0o600

