"""The store: this host's "kernel memory" (sysctl values, carp interfaces, groups).

Front ends write it, carpd reads it and publishes runtime status beside it.

* One store per host: `/run/carp`, or `/run/carp/netns/<name>` inside a named network
  namespace (found the way `ip netns identify` does); `$CARP_RUNDIR` overrides.
* Commits hold an exclusive flock, write a temporary file, fsync it and rename it over
  the old one, so readers see the old or the new state and never a torn file.
* The file carries a SHA-256 of its payload; a torn or edited file is reported as
  `StoreCorrupt`, never silently replaced by defaults.
* The passphrases are not in it.  store.json is the public view (mode 0644: any user may
  run `ifconfig` and `netstat`, as on BSD); the keys are in `store.keys.<id>` (mode 0600,
  root only), written before the store.json that names it, so the rename of store.json
  stays the one commit point and a crash leaves the old or the new pair.
* A store belongs to one host incarnation: the boot, and for the store of a named
  network namespace that namespace itself (its cookie: inode numbers are reused when a
  namespace is made again).  A store of an earlier incarnation is stale: readers treat it
  as absent, and the first writer (carpd at start, or a front end's commit) moves it
  aside into `stale-<time>/` beside it and logs where it went.
"""

from __future__ import annotations

import fcntl
import os

from carp import cjson, control_client
from carp.personality import DEFAULT, from_environment, policy
from carp.record import field, record

# Import cost matters: `sysctl net.inet.carp.preempt` reads this store and must start
# fast, so typing, dataclasses, hashlib, pathlib, socket, contextlib, json (see cjson)
# and the interface model (carp.config) are imported only where used; paths are
# strings (os.path).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, MutableMapping
    from pathlib import Path
    from types import TracebackType
    from typing import Any

    from carp.config import CarpInterface
    from carp.personality import Policy


BASE_RUNDIR = "/run/carp"
NETNS_DIR = "/run/netns"
STORE_FILE = "store.json"
STATUS_FILE = "status.json"
LOCK_FILE = "store.lock"
SOCKET_FILE = "carpd.sock"
KEYS_PREFIX = "store.keys."
STALE_PREFIX = "stale-"
SET_ASIDE = "an earlier host's store, set aside in"  # what the log says, and where
FORMAT = 1
BOOT_ID = "/proc/sys/kernel/random/boot_id"
SO_NETNS_COOKIE = 71  # Linux 5.14+; not in every Python's socket module


class StoreError(Exception):
    """The store cannot be used; the message is meant for the admin."""


class StoreCorrupt(StoreError):
    pass


def netns_name() -> str | None:
    """The name of the named network namespace this process runs in, if any."""
    try:
        mine = os.stat("/proc/self/ns/net")
        entries = os.listdir(NETNS_DIR)
    except OSError:
        return None
    for entry in entries:
        try:
            st = os.stat(os.path.join(NETNS_DIR, entry))
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            return entry
    return None


def _resolve() -> tuple[str, bool]:
    """This process's store directory, and whether it is its named namespace's own
    (then the store is tied to that namespace's identity: see Store.identity)."""
    override = os.environ.get("CARP_RUNDIR")
    if override:
        return _clean(override), False
    name = netns_name()
    return (os.path.join(BASE_RUNDIR, "netns", name), True) if name else (BASE_RUNDIR, False)


def boot_id() -> str | None:
    try:
        with open(BOOT_ID) as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def netns_id() -> str | None:
    """The identity of this process's network namespace as the kernel gives it: its
    cookie (unique for the boot; Linux 5.14+), else its nsfs device and inode (which a
    namespace made later may get again)."""
    from carp.cmodules import socket as _socket

    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
        try:
            cookie = sock.getsockopt(_socket.SOL_SOCKET, SO_NETNS_COOKIE, 8)
        finally:
            sock.close()
        return f"cookie:{int.from_bytes(cookie, 'little')}"
    except OSError:
        pass
    try:
        st = os.stat("/proc/self/ns/net")
    except OSError:
        return None
    return f"inode:{st.st_dev}:{st.st_ino}"


def makedirs(path: str) -> None:
    """mkdir -p with mode 0755 at every level: a root umask of 0 must not leave a
    directory of the store writable by everyone."""
    if not path or os.path.isdir(path):
        return
    parent = os.path.dirname(path.rstrip("/"))
    if parent and parent != path:
        makedirs(parent)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        return
    os.chmod(path, 0o755)


def _clean(path: str) -> str:
    """path as pathlib spells it (no `.` parts, repeated or trailing slashes): the
    store's paths appear in messages, which read as they did with pathlib."""
    root = "//" if path[:2] == "//" and path[2:3] != "/" else "/" if path[:1] == "/" else ""
    return root + "/".join(part for part in path.split("/") if part not in ("", ".")) or "."


@record
class State:
    """Everything the store holds.  Mutate it inside `Store.transaction()`."""

    generation: int = 0
    personality: str = DEFAULT
    sysctl: dict[str, int] = field(default_factory=dict)  # admin-written only
    # an InterfaceTable when read from the store (objects made only of what is read)
    interfaces: MutableMapping[str, CarpInterface] = field(default_factory=dict)
    groups: dict[str, dict[str, int]] = field(default_factory=dict)  # carpdemote
    ifmap: dict[str, str] = field(default_factory=dict)  # BSD name -> Linux name

    @property
    def policy(self) -> Policy:
        """The rules of this store's personality."""
        return policy(self.personality)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "generation": self.generation,
            "personality": self.personality,
            "sysctl": dict(sorted(self.sysctl.items())),
            "interfaces": _plain_interfaces(self.interfaces),
            # copies: the transaction compares a snapshot of this against later mutations
            "groups": {k: dict(v) for k, v in sorted(self.groups.items())},
            "ifmap": dict(sorted(self.ifmap.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        interfaces: MutableMapping[str, CarpInterface] = {}
        if data.get("interfaces"):  # the interface model is only imported when there is one
            from carp.interface_table import InterfaceTable

            interfaces = InterfaceTable(data["interfaces"])
        return cls(
            generation=int(data["generation"]),
            personality=data["personality"],
            sysctl={k: int(v) for k, v in data.get("sysctl", {}).items()},
            interfaces=interfaces,
            groups={k: dict(v) for k, v in data.get("groups", {}).items()},
            ifmap=dict(data.get("ifmap", {})),
        )


def _plain_interfaces(interfaces: MutableMapping[str, CarpInterface]) -> dict[str, Any]:
    """The store's layout of the interfaces: an InterfaceTable's documents as they are
    (no conversion of what was not read), or each object's dict."""
    to_plain = getattr(interfaces, "to_plain", None)
    if to_plain is not None:
        return to_plain()
    return {k: v.to_dict() for k, v in sorted(interfaces.items())}


def policy_of(doc: dict[str, Any] | None) -> Policy:
    """The policy of a committed document (Store.load_doc); the environment's personality
    for a store not made yet."""
    return policy(str(doc["personality"]) if doc is not None else from_environment())


def _digest(payload: bytes) -> str:
    from carp.cmodules import sha256

    return sha256(payload).hexdigest()


def _encode(doc: dict[str, Any], sort_keys: bool = True) -> bytes:
    return _seal(cjson.dumps(doc, sort_keys=sort_keys, separators=(",", ":")))


def _seal(payload: str) -> bytes:
    """A document's JSON text as it is stored: with the digest that proves it whole."""
    return cjson.dumps({"sha256": _digest(payload.encode()), "payload": payload}).encode() + b"\n"


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _decode(raw: bytes, path: str) -> dict[str, Any]:
    try:
        outer = cjson.loads(raw)
        payload: str = outer["payload"]
        if _digest(payload.encode()) != outer["sha256"]:
            raise ValueError("checksum mismatch")
        doc = cjson.loads(payload)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
        return doc
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreCorrupt(f"{path}: corrupt store ({exc}); move it aside to start afresh") from exc


def atomic_write(
    path: str | os.PathLike[str], data: bytes, durable: bool = True, mode: int = 0o644
) -> None:
    """Write, rename: readers see the old or the new file, never a torn one.

    durable (configuration) also fsyncs file and directory so a crash at any instant
    leaves the old or the new state on disk; carpd's status is rebuilt on every start
    and skips that, because an fsync on its event loop would delay advertisements.
    The file has `mode` from its first byte (0600 for the keys)."""
    directory, name = os.path.split(os.fspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)  # a leftover temp file of a dead process keeps its mode
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if not durable:
        return
    dfd = os.open(directory or ".", os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _split_keys(doc: dict[str, Any]) -> dict[str, str]:
    """Take the passphrases out of a document: {interface key: passphrase}.  The
    interfaces' dicts are replaced, not changed (an InterfaceTable shares them)."""
    keys = {}
    interfaces = doc.get("interfaces", {})
    for name, iface in interfaces.items():
        if "passphrase" not in iface:
            continue
        interfaces[name] = rest = dict(iface)
        phrase = rest.pop("passphrase")
        if phrase:
            keys[name] = phrase
    return keys


def _new_keys_id() -> str:
    return os.urandom(16).hex()


class Store:
    def __init__(self, rundir: str | os.PathLike[str] | None = None) -> None:
        if rundir is None:
            self.dir, self.owned = _resolve()
        else:  # named by the caller (tests, the lab): only the boot is checked
            self.dir, self.owned = _clean(os.fspath(rundir)), False
        self.file = self._in(STORE_FILE)
        self.status_file = self._in(STATUS_FILE)
        self.socket_file = self._in(SOCKET_FILE)
        self.lock_file = self._in(LOCK_FILE)
        self._identity: dict[str, str | None] | None = None
        self._held: dict[str, Any] | None = None  # the document of an open batch
        self._cache: dict[str, tuple[bytes, dict[str, Any]]] = {}  # path -> bytes, decoded

    def _in(self, name: str) -> str:
        return name if self.dir == "." else os.path.join(self.dir, name)  # as pathlib does

    # The same paths as pathlib objects, for carpd; the front ends use the strings.
    @property
    def rundir(self) -> Path:
        from pathlib import Path

        return Path(self.dir)

    @property
    def path(self) -> Path:
        return self.rundir / STORE_FILE

    @property
    def status_path(self) -> Path:
        return self.rundir / STATUS_FILE

    @property
    def socket_path(self) -> Path:
        return self.rundir / SOCKET_FILE

    def keys_file(self, keys_id: str) -> str:
        return self._in(KEYS_PREFIX + keys_id)

    # -- whose store it is ----------------------------------------------------------

    def identity(self) -> dict[str, str | None]:
        """The host incarnation this process belongs to: the boot, and the network
        namespace when this is that namespace's own store (else None: not checked)."""
        if self._identity is None:
            self._identity = {"boot": boot_id(), "netns": netns_id() if self.owned else None}
        return self._identity

    def stale(self, doc: dict[str, Any]) -> str | None:
        """Why a committed document (store or status) belongs to another host incarnation,
        or None.  A document without a stamp (older carp) is taken as current."""
        host = doc.get("host")
        if not isinstance(host, dict):
            return None
        mine = self.identity()
        for what, label in (("boot", "boot"), ("netns", "network namespace")):
            theirs = host.get(what)
            if theirs and mine[what] and theirs != mine[what]:
                return f"written in another {label} ({theirs}; this is {mine[what]})"
        return None

    def _stamp(self, before: dict[str, Any] | None) -> dict[str, str | None]:
        """The stamp a commit writes: this incarnation; a store named by its directory
        keeps the namespace it was stamped with (a writer from outside does not own it)."""
        mine = dict(self.identity())
        if mine["netns"] is None and before is not None:
            old = before.get("host")
            if isinstance(old, dict) and isinstance(old.get("netns"), str):
                mine["netns"] = old["netns"]
        return mine

    # -- configuration -------------------------------------------------------------

    def load(self, private: bool = False) -> State:
        """The committed state; a fresh one (personality from the environment) if none.
        As root the passphrases are in it; for other users they are empty.

        private (carpd): the keys must be readable, and a stale store is an error rather
        than absent (carpd sets it aside at start, and must not apply a stranger's)."""
        if self._held is not None:
            return State.from_dict(self._held)
        found = self._load(keys=True, strict=private)
        if found is None:
            return State(personality=from_environment())
        if found.stale is not None:
            raise StoreError(f"{self.file}: {found.stale}")
        return State.from_dict(found.doc)

    def load_doc(self, keys: bool = False) -> dict[str, Any] | None:
        """The committed document, verified but not turned into objects (None if none yet,
        or if it is stale).  keys: with the passphrases, when this user may read them
        (for other users, and without keys, interfaces carry no `passphrase`).

        The sysctl read path uses it: building the interface model costs imports."""
        found = self._load(keys=keys, strict=False)
        if found is None:
            return None
        found.doc.pop("host", None)
        return found.doc

    def _load(self, keys: bool, strict: bool) -> Loaded | None:
        """The committed document, or None if there is none.

        A stale one is None too, unless strict (writers, who set it aside); strict also
        wants the keys readable: a writer that could not read them would commit the
        interfaces without their passphrases."""
        keys_id = None
        for _attempt in range(8):
            doc = self._read_store()
            if doc is None:
                return None
            reason = self.stale(doc)
            if reason is not None:
                return Loaded(doc, doc.get("keys"), reason) if strict else None
            keys_id = doc.pop("keys", None)
            if not keys or not keys_id:
                return Loaded(doc, keys_id)
            try:
                phrases = self._read_keys(str(keys_id))
            except FileNotFoundError:
                continue  # a commit replaced both since we read store.json: read again
            except PermissionError as exc:
                if strict:
                    raise StoreError(f"{self.keys_file(str(keys_id))}: {exc.strerror}") from exc
                return Loaded(doc, keys_id)  # not root: the public view
            # new dicts: the decoded ones are shared with the next read (_decoded)
            interfaces = doc["interfaces"] = dict(doc.get("interfaces", {}))
            for name, phrase in phrases.items():
                iface = interfaces.get(name)
                if iface is not None:
                    interfaces[name] = {**iface, "passphrase": phrase}
            return Loaded(doc, keys_id)
        raise StoreCorrupt(f"{self.keys_file(str(keys_id))}: missing; move the store aside "
                           "to start afresh")

    def _read_store(self) -> dict[str, Any] | None:
        """The committed document (its top level a copy the caller may change)."""
        try:
            return dict(self._decoded(self.file))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.file}: {exc.strerror}") from exc

    def _decoded(self, path: str) -> dict[str, Any]:
        """The document in `path`, decoded and verified; bytes equal to the last read of
        that path are not decoded again.  A command reads the store twice (to parse, then
        under the lock), and at 1,000 interfaces a decode is ~8 ms.  The result is
        shared with later reads: callers copy what they change."""
        raw = _read(path)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == raw:
            return cached[1]
        doc = _decode(raw, path)
        if path != self.file:  # a keys file: each commit that changes a key names a new one
            self._cache = {k: v for k, v in self._cache.items() if k == self.file}
        self._cache[path] = (raw, doc)
        return doc

    def _read_keys(self, keys_id: str) -> dict[str, str]:
        path = self.keys_file(keys_id)
        doc = self._decoded(path)
        phrases = doc.get("keys")
        if doc.get("id") != keys_id or not isinstance(phrases, dict):
            raise StoreCorrupt(f"{path}: not the keys of {self.file}")
        return {str(k): str(v) for k, v in phrases.items()}

    def transaction(self) -> Transaction:
        """`with store.transaction() as state:` lock, load, let the caller mutate, commit
        as generation+1 if anything changed.  An exception inside the block leaves the
        store untouched."""
        return Transaction(self)

    def batch(self) -> Batch:
        """`with store.batch():` the transactions inside change the state in memory under
        the store's lock, each still all-or-nothing, and the batch commits once at the
        end.  The boot replay's thousand lines: a commit each rewrote the whole store a
        thousand times.  Other processes wait for the end; `load` inside reads the batch."""
        return Batch(self)

    def set_aside_stale(self) -> tuple[str, str] | None:
        """Move a stale store (and its keys) into `stale-<time>/` beside it, under the
        store's lock: (where it went, why it was stale), or None if it was not stale."""
        if not os.path.exists(self.file):
            return None
        lock = _lock(self)
        try:
            found = self._load(keys=False, strict=True)
            if found is None or found.stale is None:
                return None
            return self._move_aside(found), found.stale
        finally:
            os.close(lock)

    def _move_aside(self, found: Loaded) -> str:
        """Under the lock: the stale store.json and the keys file it names go into a new
        directory beside them; nothing is deleted (the keys keep mode 0600)."""
        import time

        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        for n in range(1000):
            target = self._in(f"{STALE_PREFIX}{stamp}" + (f".{n}" if n else ""))
            try:
                os.mkdir(target, 0o700)
                break
            except FileExistsError:
                continue
        else:
            raise StoreError(f"{self.dir}: cannot set the stale store aside")
        if found.keys_id:
            name = KEYS_PREFIX + str(found.keys_id)
            try:
                os.rename(self._in(name), os.path.join(target, name))
            except FileNotFoundError:
                pass
        os.rename(self.file, os.path.join(target, STORE_FILE))
        return target

    def _collect_keys(self, keep: str | None) -> None:
        """Under the lock, after a commit: the keys files no store.json names any more."""
        try:
            names = os.listdir(self.dir)
        except OSError:
            return
        for name in names:
            if name.startswith(KEYS_PREFIX) and name != (KEYS_PREFIX + keep if keep else None):
                try:
                    os.unlink(self._in(name))
                except OSError:
                    pass

    # -- runtime status (written by carpd only) ---------------------------------------

    def read_status(self) -> dict[str, Any] | None:
        """carpd's last published status, or None when no carpd runs for this store."""
        try:
            raw = _read(self.status_file)
        except OSError:
            return None
        try:
            status = _decode(raw, self.status_file)
        except StoreCorrupt:
            return None
        pid = status.get("pid")
        if not isinstance(pid, int) or not _alive(pid) or self.stale(status) is not None:
            return None
        status.pop("host", None)
        return status

    def write_status(
        self, status: dict[str, Any], encoded: Mapping[str, str] | None = None
    ) -> None:
        """`encoded`: more members of the document, each already as JSON text (carpd
        re-encodes only the vhids that changed since its last write)."""
        makedirs(self.dir)
        doc = {**status, "host": self._stamp(None)}
        # unsorted: a third faster at 1,000 vhids (it is written on every generation)
        payload = cjson.dumps(doc, separators=(",", ":"))
        if encoded:
            members = ",".join(f"{cjson.dumps(key)}:{text}" for key, text in encoded.items())
            payload = "{" + members + "," + payload[1:]  # doc has "host": never "{}"
        atomic_write(self.status_file, _seal(payload), durable=False)

    # -- carpd handshake ------------------------------------------------------------

    def wait_applied(self, generation: int, timeout: float = 2.0) -> bool:
        """Tell carpd a new generation exists and wait until it says it applied it.

        Returns False at once when no carpd listens (the change is simply stored)."""
        words = (control_client.ask(self.socket_file, f"sync {generation}", timeout)
                 or "").split()
        return (
            len(words) == 2 and words[0] == "applied" and words[1].isdigit()
            and int(words[1]) >= generation
        )


@record
class Loaded:
    """A committed document as a writer needs it (Store._load)."""

    doc: dict[str, Any]
    keys_id: str | None = None  # the keys file it names
    stale: str | None = None  # why it belongs to another host incarnation


def _lock(store: Store) -> int:
    """The store's lock file, open and flock'ed (the caller closes it)."""
    makedirs(store.dir)
    # 0600: a user who could open the lock file could flock it and stall every writer
    fd = os.open(store.lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)  # made by an older version
    except BaseException:
        os.close(fd)
        raise
    return fd


class Transaction:
    """The context manager of Store.transaction() (a class: contextlib costs ~5 ms at
    start-up)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> State:
        store = self.store
        if store._held is not None:  # in a batch: its lock, its state
            self.lock = -1
            self.before = store._held
            self.state = State.from_dict(store._held)
            return self.state
        self.lock = _lock(store)
        try:
            found = store._load(keys=True, strict=True)
            if found is not None and found.stale is not None:
                # a new host: the old one's configuration is kept, out of the way
                where = store._move_aside(found)
                _notice(f"{store.file}: {found.stale}: {SET_ASIDE} {where}")
                found = None
            self.keys_id = found.keys_id if found is not None else None
            # a store of an older version holds its keys in clear: the next commit moves them
            self.rewrite = found is None or (self.keys_id is None and any(
                "passphrase" in iface for iface in found.doc.get("interfaces", {}).values()
            ))
            self.prior = found.doc if found is not None else None
            self.state = (
                State.from_dict(found.doc) if found is not None
                else State(personality=from_environment())
            )
            self.before = self.state.to_dict()
        except BaseException:
            os.close(self.lock)
            raise
        return self.state

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.lock < 0:
            self._keep(exc_type is None)
            return
        try:
            if exc_type is None:
                doc = self.state.to_dict()
                if doc != self.before or self.rewrite:
                    if doc["generation"] == self.before["generation"]:  # (a batch's moved)
                        self.state.generation += 1
                        doc["generation"] = self.state.generation
                    self._commit(doc)
        finally:
            os.close(self.lock)

    def _keep(self, ok: bool) -> None:
        """In a batch: the new state becomes the batch's, to be committed with it."""
        if ok:
            doc = self.state.to_dict()
            if doc != self.before:
                self.state.generation += 1
                doc["generation"] = self.state.generation
                self.store._held = doc

    def _commit(self, doc: dict[str, Any]) -> None:
        """The keys file first (a new one only when the keys changed), then store.json
        naming it -- the commit point -- then the keys files nothing names any more."""
        store = self.store
        keys = _split_keys(doc)
        before = _split_keys(self.before)
        keys_id = self.keys_id if keys and keys == before and not self.rewrite else None
        if keys and keys_id is None:
            keys_id = _new_keys_id()
            payload = {"format": FORMAT, "id": keys_id, "keys": dict(sorted(keys.items()))}
            atomic_write(store.keys_file(keys_id), _encode(payload), mode=0o600)
        if keys_id is not None:
            doc["keys"] = keys_id
        doc["host"] = store._stamp(self.prior)
        atomic_write(store.file, _encode(doc))
        store._collect_keys(keys_id)


class Batch:
    """The context manager of Store.batch(): one transaction around many."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.outer = Transaction(store)

    def __enter__(self) -> None:
        self.store._held = self.outer.__enter__().to_dict()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        held, self.store._held = self.store._held, None
        if held is not None:
            self.outer.state = State.from_dict(held)
        self.outer.__exit__(exc_type, exc, tb)


def _notice(text: str) -> None:
    """A line for the system log from a front end (carpd logs its own): to syslog as
    "carpd" where there is one, else to the standard error."""
    import sys

    if os.path.exists("/dev/log"):
        import syslog

        syslog.openlog("carpd", syslog.LOG_PID, syslog.LOG_DAEMON)
        syslog.syslog(syslog.LOG_NOTICE, text)
        syslog.closelog()
    else:
        sys.stderr.write(f"carpd: {text}\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
