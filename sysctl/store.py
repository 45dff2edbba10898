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

import contextlib
import fcntl
import json
import os
from pathlib import Path

# Import cost matters: `sysctl net.inet.carp.preempt` reads this store and must start
# fast, so typing, dataclasses, hashlib, socket and the interface model (carp.config,
# which pulls in the codec) are imported only where used.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from carp.config import CarpInterface

DEFAULT_PERSONALITY = "openbsd"  # == carp.personality.DEFAULT, without importing typing

BASE_RUNDIR = Path("/run/carp")
NETNS_DIR = Path("/run/netns")
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
        entries = list(NETNS_DIR.iterdir())
    except OSError:
        return None
    for entry in entries:
        try:
            st = entry.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
            return entry.name
    return None


def default_rundir() -> Path:
    override = os.environ.get("CARP_RUNDIR")
    if override:
        return Path(override)
    name = netns_name()
    return BASE_RUNDIR / "netns" / name if name else BASE_RUNDIR


class State:
    """Everything the store holds.  Mutate it inside `Store.transaction()`.

    A plain class rather than a dataclass: importing dataclasses costs ~10 ms."""

    __slots__ = ("generation", "personality", "sysctl", "interfaces", "groups", "ifmap")

    def __init__(
        self,
        generation: int = 0,
        personality: str = DEFAULT_PERSONALITY,
        sysctl: dict[str, int] | None = None,
        interfaces: dict[str, CarpInterface] | None = None,
        groups: dict[str, dict[str, int]] | None = None,
        ifmap: dict[str, str] | None = None,
    ) -> None:
        self.generation = generation
        self.personality = personality
        self.sysctl: dict[str, int] = {} if sysctl is None else sysctl  # admin-written only
        self.interfaces: dict[str, CarpInterface] = {} if interfaces is None else interfaces
        self.groups: dict[str, dict[str, int]] = {} if groups is None else groups  # carpdemote
        self.ifmap: dict[str, str] = {} if ifmap is None else ifmap  # BSD name -> Linux name

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, State):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"State({inner})"

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


def _digest(payload: bytes) -> str:
    try:  # the builtin module: hashlib would load OpenSSL (~3 ms) for the same digest
        from _sha256 import sha256
    except ImportError:  # pragma: no cover - interpreters without the builtin
        from hashlib import sha256
    return sha256(payload).hexdigest()


def _encode(doc: dict[str, Any]) -> bytes:
    payload = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return json.dumps({"sha256": _digest(payload.encode()), "payload": payload}).encode() + b"\n"


def _decode(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        outer = json.loads(raw)
        payload: str = outer["payload"]
        if _digest(payload.encode()) != outer["sha256"]:
            raise ValueError("checksum mismatch")
        doc = json.loads(payload)
        if not isinstance(doc, dict):
            raise ValueError("not an object")
        return doc
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreCorrupt(f"{path}: corrupt store ({exc}); move it aside to start afresh") from exc


def atomic_write(path: Path, data: bytes, durable: bool = True) -> None:
    """Write, rename: readers see the old or the new file, never a torn one.

    durable (configuration) also fsyncs file and directory so a crash at any instant
    leaves the old or the new state on disk; carpd's status is rebuilt on every start
    and skips that, because an fsync on its event loop would delay advertisements."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Store:
    def __init__(self, rundir: Path | str | None = None) -> None:
        self.rundir = Path(rundir) if rundir is not None else default_rundir()
        self.path = self.rundir / STORE_FILE
        self.status_path = self.rundir / STATUS_FILE
        self.socket_path = self.rundir / SOCKET_FILE

    # -- configuration -------------------------------------------------------------

    def load(self) -> State:
        """The committed state; a fresh one (personality from the environment) if none."""
        doc = self.load_doc()
        if doc is None:
            from carp import personality as personalities

            return State(personality=personalities.from_environment())
        return State.from_dict(doc)

    def load_doc(self) -> dict[str, Any] | None:
        """The committed document, verified but not turned into objects (None if none yet).

        The sysctl read path uses it: building the interface model costs imports."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.path}: {exc.strerror}") from exc
        return _decode(raw, self.path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[State]:
        """Lock, load, let the caller mutate, commit as generation+1 if anything changed.

        An exception inside the block leaves the store untouched."""
        self.rundir.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.rundir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.load()
            before = state.to_dict()
            yield state
            if state.to_dict() != before or not self.path.exists():
                state.generation += 1
                atomic_write(self.path, _encode(state.to_dict()))
        finally:
            os.close(lock)

    # -- runtime status (written by carpd only) ---------------------------------------

    def read_status(self) -> dict[str, Any] | None:
        """carpd's last published status, or None when no carpd runs for this store."""
        try:
            raw = self.status_path.read_bytes()
        except OSError:
            return None
        try:
            status = _decode(raw, self.status_path)
        except StoreCorrupt:
            return None
        pid = status.get("pid")
        if not isinstance(pid, int) or not _alive(pid):
            return None
        return status

    def write_status(self, status: dict[str, Any]) -> None:
        self.rundir.mkdir(parents=True, exist_ok=True)
        atomic_write(self.status_path, _encode(status), durable=False)

    # -- carpd handshake ------------------------------------------------------------

    def wait_applied(self, generation: int, timeout: float = 2.0) -> bool:
        """Tell carpd a new generation exists and wait until it says it applied it.

        Returns False at once when no carpd listens (the change is simply stored)."""
        if not self.socket_path.exists():
            return False
        import socket
        import time

        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(str(self.socket_path))
                sock.sendall(f"sync {generation}\n".encode())
                deadline = time.monotonic() + timeout
                buf = b""
                while not buf.endswith(b"\n"):
                    sock.settimeout(max(0.0, deadline - time.monotonic()))
                    chunk = sock.recv(256)
                    if not chunk:
                        return False
                    buf += chunk
                words = buf.split()
                return len(words) == 2 and words[0] == b"applied" and int(words[1]) >= generation
        except (OSError, ValueError):
            return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
