"""The store: locking, atomicity, corruption, generations, where it lives."""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import threading
from pathlib import Path

import pytest

from carp import store as store_mod
from carp.config import Address, CarpInterface, Node
from carp.store import State, Store, StoreCorrupt


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CARP_RUNDIR", raising=False)
    monkeypatch.delenv("CARP_PERSONALITY", raising=False)


def _bump(rundir: str, times: int) -> None:
    st = Store(rundir)
    for _ in range(times):
        with st.transaction() as state:
            state.sysctl["counter"] = state.sysctl.get("counter", 0) + 1


def test_concurrent_writers_from_processes_lose_no_update(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_bump, args=(str(tmp_path), 25)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    state = Store(tmp_path).load()
    assert state.sysctl["counter"] == 150
    assert state.generation == 150  # every commit was its own generation


def _crash_before_rename(rundir: str) -> None:
    st = Store(rundir)

    def die(*_args: object) -> None:  # the temp file is written and fsynced; then we die
        os.kill(os.getpid(), signal.SIGKILL)

    store_mod.os.replace = die  # type: ignore[assignment]
    with st.transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 1


def test_crash_between_write_and_rename_leaves_old_state(tmp_path: Path) -> None:
    st = Store(tmp_path)
    with st.transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 0
    before = st.path.read_bytes()
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=_crash_before_rename, args=(str(tmp_path),))
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    assert list(tmp_path.glob(".store.json.*.tmp")), "the crash left its temp file"
    assert st.path.read_bytes() == before
    assert st.load().sysctl == {"net.inet.carp.preempt": 0}
    # The dead process's lock is gone: the next commit goes through.
    with st.transaction() as state:
        state.sysctl["net.inet.carp.preempt"] = 1
    assert st.load().sysctl["net.inet.carp.preempt"] == 1


@pytest.mark.parametrize("damage", ["truncate", "edit", "garbage"])
def test_corrupt_store_raises_and_is_not_replaced(tmp_path: Path, damage: str) -> None:
    st = Store(tmp_path)
    with st.transaction() as state:
        state.sysctl["net.inet.carp.log"] = 7
    raw = st.path.read_bytes()
    if damage == "truncate":
        bad = raw[: len(raw) // 2]
    elif damage == "edit":
        bad = raw.replace(b'\\"net.inet.carp.log\\":7', b'\\"net.inet.carp.log\\":6')
        assert bad != raw
    else:
        bad = b"\x00\xff not json"
    st.path.write_bytes(bad)
    with pytest.raises(StoreCorrupt):
        st.load()
    with pytest.raises(StoreCorrupt), st.transaction() as state:
        state.sysctl["net.inet.carp.log"] = 1
    assert st.path.read_bytes() == bad


def test_generation_increments_only_on_change(tmp_path: Path) -> None:
    st = Store(tmp_path)
    assert st.load().generation == 0
    with st.transaction() as state:
        state.sysctl["a"] = 1
    assert st.load().generation == 1
    with st.transaction() as state:
        state.sysctl["a"] = 1  # same value: nothing to commit
    assert st.load().generation == 1
    with st.transaction() as state:
        state.sysctl["a"] = 2
    assert st.load().generation == 2


def test_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    st = Store(tmp_path)
    with st.transaction() as state:
        state.sysctl["a"] = 1
    before = st.path.read_bytes()
    with pytest.raises(RuntimeError), st.transaction() as state:
        state.sysctl["a"] = 99
        state.personality = "netbsd"
        raise RuntimeError("rejected command")
    assert st.path.read_bytes() == before
    assert st.load().sysctl == {"a": 1}


def test_failed_first_transaction_creates_no_file(tmp_path: Path) -> None:
    st = Store(tmp_path)
    with pytest.raises(ValueError), st.transaction() as state:
        state.sysctl["a"] = 1
        raise ValueError
    assert not st.path.exists()
    assert st.load_doc() is None


def test_state_round_trip_with_interfaces(tmp_path: Path) -> None:
    st = Store(tmp_path)
    ci = CarpInterface(name="carp0", carpdev="eth0", nodes=[Node(1, 100)],
                       addresses=[Address("192.168.1.1", 24)], passphrase="mekmitasdigoat")
    with st.transaction() as state:
        state.interfaces[ci.key] = ci
        state.groups["carp"] = {"carpdemote": 0}
        state.ifmap["em0"] = "eth0"
    loaded = st.load()
    assert loaded.interfaces == {"carp0": ci}
    assert loaded.groups == {"carp": {"carpdemote": 0}}
    assert loaded.ifmap == {"em0": "eth0"}
    assert loaded == State.from_dict(loaded.to_dict())
    assert loaded != State()


def test_personality_from_environment_at_creation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARP_PERSONALITY", "FreeBSD")
    st = Store(tmp_path)
    assert st.load().personality == "freebsd"
    with st.transaction() as state:
        state.sysctl["x"] = 1
    monkeypatch.setenv("CARP_PERSONALITY", "netbsd")  # too late: the store exists
    assert st.load().personality == "freebsd"


def test_default_personality_and_bad_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert Store(tmp_path).load().personality == "openbsd"
    monkeypatch.setenv("CARP_PERSONALITY", "solaris")
    with pytest.raises(ValueError, match="CARP_PERSONALITY"):
        Store(tmp_path).load()


def test_carp_rundir_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path / "x"))
    assert Store().rundir == tmp_path / "x"
    assert Store().dir == str(tmp_path / "x")


@pytest.mark.parametrize(
    "spelling", ["/run/carp/", "//run//carp/./x", "///run/carp", "rel/./d/", ".", "./", ""]
)
def test_store_paths_read_as_pathlib_spells_them(spelling: str) -> None:
    # Paths appear in messages; they kept pathlib's spelling when pathlib was dropped.
    st = Store(spelling)
    assert st.dir == str(Path(spelling)) and st.rundir == Path(spelling)
    assert st.file == str(Path(spelling) / "store.json") and st.path == Path(st.file)
    assert st.status_path == Path(st.status_file) and st.socket_path == Path(st.socket_file)


def _fake_netns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mine: str | None) -> None:
    netns = tmp_path / "netns"
    netns.mkdir()
    for name in ("hostA", "hostB"):
        (netns / name).write_text("")
    monkeypatch.setattr(store_mod, "NETNS_DIR", netns)
    real_stat = os.stat

    def fake_stat(path: object, *args: object, **kw: object) -> os.stat_result:
        if str(path) == "/proc/self/ns/net" and mine is not None:
            return real_stat(netns / mine)
        return real_stat(path, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", fake_stat)


def test_netns_name_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_netns(monkeypatch, tmp_path, "hostB")
    assert store_mod.netns_name() == "hostB"
    assert Store().dir == "/run/carp/netns/hostB"
    monkeypatch.setenv("CARP_RUNDIR", str(tmp_path / "override"))
    assert Store().dir == str(tmp_path / "override")


def test_no_named_netns_uses_base_rundir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_netns(monkeypatch, tmp_path, None)  # our namespace is none of the named ones
    assert store_mod.netns_name() is None
    assert Store().dir == store_mod.BASE_RUNDIR
    monkeypatch.setattr(store_mod, "NETNS_DIR", tmp_path / "missing")
    assert store_mod.netns_name() is None


def test_read_status_needs_a_live_carpd(tmp_path: Path) -> None:
    st = Store(tmp_path)
    assert st.read_status() is None
    st.write_status({"pid": os.getpid(), "counters": {"ipackets": 3}})
    assert st.read_status() == {"pid": os.getpid(), "counters": {"ipackets": 3}}
    dead = multiprocessing.get_context("fork").Process(target=int)
    dead.start()
    dead.join()
    st.write_status({"pid": dead.pid, "counters": {}})
    assert st.read_status() is None
    st.status_path.write_bytes(b"torn")
    assert st.read_status() is None


def test_wait_applied_without_carpd_returns_false_at_once(tmp_path: Path) -> None:
    assert Store(tmp_path).wait_applied(3) is False


def test_wait_applied_handshake(tmp_path: Path) -> None:
    st = Store(tmp_path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(st.socket_path))
    server.listen(1)
    seen: list[bytes] = []

    def carpd() -> None:
        conn, _ = server.accept()
        with conn:
            seen.append(conn.recv(64))
            conn.sendall(b"applied 7\n")

    t = threading.Thread(target=carpd)
    t.start()
    assert st.wait_applied(7, timeout=5) is True
    t.join()
    server.close()
    assert seen == [b"sync 7\n"]


def test_in_place_group_change_is_committed(tmp_path: Path) -> None:
    """A nested dict mutated in place must still count as a change."""
    store = Store(tmp_path)
    with store.transaction() as st:
        st.groups["carp"] = {"carpdemote": 0}
    with store.transaction() as st:
        st.groups["carp"]["carpdemote"] += 50
        st.ifmap["em0"] = "eth0"
    loaded = store.load()
    assert loaded.groups == {"carp": {"carpdemote": 50}}
    assert loaded.ifmap == {"em0": "eth0"}
    assert loaded.generation == 2


def test_status_writes_skip_fsync_but_configuration_commits_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """carpd publishes status from its event loop: an fsync there would delay adverts."""
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    store = Store(tmp_path)
    store.write_status({"pid": os.getpid(), "vhosts": {}})
    assert synced == []
    assert store.read_status() == {"pid": os.getpid(), "vhosts": {}}
    with store.transaction() as st:
        st.sysctl["net.inet.carp.preempt"] = 1
    assert len(synced) == 2  # the file and its directory


def test_a_batch_commits_once_and_each_transaction_in_it_is_all_or_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boot replay's thousand lines: one write of the store, not a thousand."""
    written: list[str] = []
    real_write = store_mod.atomic_write

    def counting(path: str, data: bytes, **kw: object) -> None:
        written.append(os.path.basename(path))
        real_write(path, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(store_mod, "atomic_write", counting)
    store = Store(tmp_path)
    with store.batch():
        for i in range(5):
            with store.transaction() as st:
                st.sysctl[f"net.inet.carp.x{i}"] = i
        with pytest.raises(RuntimeError), store.transaction() as st:
            st.sysctl["net.inet.carp.bad"] = 1
            raise RuntimeError("refused")
        inside = store.load()
        assert (inside.generation, len(inside.sysctl)) == (5, 5)
        assert written == []
    assert written == ["store.json"]
    state = store.load()
    assert state.generation == 5 and "net.inet.carp.bad" not in state.sysctl
    assert state.sysctl["net.inet.carp.x4"] == 4


def test_the_same_bytes_are_not_decoded_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command reads the store to parse and again under the lock: one decode."""
    store = Store(tmp_path)
    with store.transaction() as st:
        st.interfaces["carp0"] = CarpInterface(name="carp0", passphrase="secret")
    decoded: list[str] = []
    real_decode = store_mod._decode
    monkeypatch.setattr(store_mod, "_decode",
                        lambda raw, path: (decoded.append(os.path.basename(path)),
                                           real_decode(raw, path))[1])
    store.load()
    with store.transaction() as st:
        assert st.interfaces["carp0"].passphrase == "secret"
        st.interfaces["carp0"].advbase = 3
    assert decoded.count("store.json") == 1 and len(decoded) == 2  # and its keys file
    assert store.load().interfaces["carp0"].advbase == 3  # new bytes: decoded again
    assert decoded.count("store.json") == 2
    assert store.load().interfaces["carp0"].passphrase == "secret"  # not lost in sharing


def test_the_decode_cache_keeps_one_keys_file(tmp_path: Path) -> None:
    """Each commit that changes a passphrase names a new keys file: carpd, which reads
    every generation, must not keep them all (it grew by 80 kB a write)."""
    store = Store(tmp_path)
    for i in range(5):
        with store.transaction() as st:
            st.interfaces["carp0"] = CarpInterface(name="carp0", passphrase=f"key{i}")
        store.load()
    assert len(store._cache) == 2  # store.json and the keys file it names
