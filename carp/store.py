"""The store: this host's "kernel memory" (sysctl values, carp interfaces, groups).

Front ends write it, carpd reads it and publishes runtime status beside it.

* One store per host: `/run/carp`, or `/run/carp/netns/<name>` inside a named network
  namespace (found the way `ip netns identify` does); `$CARP_RUNDIR` overrides.
* Commits hold an exclusive flock, write a temporary file, fsync it and rename it over
  the old one, so readers see the old or the new state and never a torn file.
* The file carries a SHA-256 of its payload; a torn or edited file is reported as
  `StoreCorrupt`, never silently replaced by defaults.
"""

from __future__ import annotations

import fcntl
import os

from carp import cjson
from carp.personality import DEFAULT, from_environment, policy
from carp.record import field, record

# Import cost matters: `sysctl net.inet.carp.preempt` reads this store and must start
# fast, so typing, dataclasses, hashlib, pathlib, socket, contextlib, json (see cjson)
# and the interface model (carp.config) are imported only where used; paths are
# strings (os.path).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType
    from typing import Any

    from carp.cmodules import socket as _socket
    from carp.config import CarpInterface
    from carp.personality import Policy


BASE_RUNDIR = "/run/carp"
NETNS_DIR = "/run/netns"
STORE_FILE = "store.json"
STATUS_FILE = "status.json"
LOCK_FILE = "store.lock"
SOCKET_FILE = "carpd.sock"
FORMAT = 1


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


def default_rundir() -> str:
    override = os.environ.get("CARP_RUNDIR")
    if override:
        return _clean(override)
    name = netns_name()
    return os.path.join(BASE_RUNDIR, "netns", name) if name else BASE_RUNDIR


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
    interfaces: dict[str, CarpInterface] = field(default_factory=dict)
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
            "interfaces": {k: v.to_dict() for k, v in sorted(self.interfaces.items())},
            # copies: the transaction compares a snapshot of this against later mutations
            "groups": {k: dict(v) for k, v in sorted(self.groups.items())},
            "ifmap": dict(sorted(self.ifmap.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        interfaces = data.get("interfaces", {})
        if interfaces:  # the interface model is only imported when there is one
            from carp.config import CarpInterface

            interfaces = {k: CarpInterface.from_dict(v) for k, v in interfaces.items()}
        return cls(
            generation=int(data["generation"]),
            personality=data["personality"],
            sysctl={k: int(v) for k, v in data.get("sysctl", {}).items()},
            interfaces=dict(interfaces),
            groups={k: dict(v) for k, v in data.get("groups", {}).items()},
            ifmap=dict(data.get("ifmap", {})),
        )


def policy_of(doc: dict[str, Any] | None) -> Policy:
    """The policy of a committed document (Store.load_doc); the environment's personality
    for a store not made yet."""
    return policy(str(doc["personality"]) if doc is not None else from_environment())


def _digest(payload: bytes) -> str:
    from carp.cmodules import sha256

    return sha256(payload).hexdigest()


def _encode(doc: dict[str, Any]) -> bytes:
    payload = cjson.dumps(doc, sort_keys=True, separators=(",", ":"))
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


def atomic_write(path: str | os.PathLike[str], data: bytes, durable: bool = True) -> None:
    """Write, rename: readers see the old or the new file, never a torn one.

    durable (configuration) also fsyncs file and directory so a crash at any instant
    leaves the old or the new state on disk; carpd's status is rebuilt on every start
    and skips that, because an fsync on its event loop would delay advertisements."""
    directory, name = os.path.split(os.fspath(path))
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
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


class Store:
    def __init__(self, rundir: str | os.PathLike[str] | None = None) -> None:
        self.dir = _clean(os.fspath(rundir)) if rundir is not None else default_rundir()
        self.file = self._in(STORE_FILE)
        self.status_file = self._in(STATUS_FILE)
        self.socket_file = self._in(SOCKET_FILE)
        self.lock_file = self._in(LOCK_FILE)

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

    # -- configuration -------------------------------------------------------------

    def load(self) -> State:
        """The committed state; a fresh one (personality from the environment) if none."""
        doc = self.load_doc()
        if doc is None:
            return State(personality=from_environment())
        return State.from_dict(doc)

    def load_doc(self) -> dict[str, Any] | None:
        """The committed document, verified but not turned into objects (None if none yet).

        The sysctl read path uses it: building the interface model costs imports."""
        try:
            raw = _read(self.file)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.file}: {exc.strerror}") from exc
        return _decode(raw, self.file)

    def transaction(self) -> Transaction:
        """`with store.transaction() as state:` lock, load, let the caller mutate, commit
        as generation+1 if anything changed.  An exception inside the block leaves the
        store untouched."""
        return Transaction(self)

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
        if not isinstance(pid, int) or not _alive(pid):
            return None
        return status

    def write_status(self, status: dict[str, Any]) -> None:
        os.makedirs(self.dir, exist_ok=True)
        atomic_write(self.status_file, _encode(status), durable=False)

    # -- carpd handshake ------------------------------------------------------------

    def wait_applied(self, generation: int, timeout: float = 2.0) -> bool:
        """Tell carpd a new generation exists and wait until it says it applied it.

        Returns False at once when no carpd listens (the change is simply stored)."""
        words = (self.ask(f"sync {generation}", timeout) or "").split()
        return (
            len(words) == 2 and words[0] == "applied" and words[1].isdigit()
            and int(words[1]) >= generation
        )

    def live_counters(self, timeout: float = 1.0) -> dict[str, int] | None:
        """carpd's counters as they are now (`counters NAME=N ...`); None when no carpd
        answers (or one that predates the request), so callers fall back to status."""
        words = (self.ask("counters", timeout) or "").split()
        if not words or words[0] != "counters":
            return None
        counters: dict[str, int] = {}
        for word in words[1:]:
            name, _, value = word.partition("=")
            if not value.isdigit():
                return None
            counters[name] = int(value)
        return counters

    def ask(self, request: str, timeout: float) -> str | None:
        """One request line on carpd's control socket and its reply line; None at once
        when no carpd listens, or when it does not answer within `timeout`."""
        if not os.path.exists(self.socket_file):
            return None
        from carp.cmodules import socket as _socket

        try:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                return _exchange(sock, self.socket_file, request, timeout)
            finally:
                sock.close()
        except (OSError, ValueError):  # ValueError: a reply that is not UTF-8
            return None


class Transaction:
    """The context manager of Store.transaction() (a class: contextlib costs ~5 ms at
    start-up)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> State:
        os.makedirs(self.store.dir, exist_ok=True)
        self.lock = os.open(self.store.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX)
            self.state = self.store.load()
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
        try:
            state, path = self.state, self.store.file
            if exc_type is None and (state.to_dict() != self.before or not os.path.exists(path)):
                state.generation += 1
                atomic_write(path, _encode(state.to_dict()))
        finally:
            os.close(self.lock)


def _exchange(sock: _socket.socket, path: str, request: str, timeout: float) -> str | None:
    """Send one request line; the reply line once it is complete, None if cut short."""
    import time

    sock.settimeout(timeout)
    sock.connect(path)
    sock.sendall(f"{request}\n".encode())
    deadline = time.monotonic() + timeout
    buf = b""
    while not buf.endswith(b"\n"):
        sock.settimeout(max(0.0, deadline - time.monotonic()))
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return buf.decode()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
