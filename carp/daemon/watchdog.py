"""A dead carpd holds no address: the watchdog that outlives it.

carpd forks this tiny process at start, before it imports asyncio or pyroute2.  It holds
the read end of a pipe whose only write end is carpd's.  When carpd dies for any reason
(kill -9, OOM, a crash) the kernel closes the write end, the read returns EOF, and the
watchdog kills the process group of every hook still running, then deletes every macvlan
tagged with IFLA_IFALIAS "carpd" (or named "carpd~N": not tagged yet) -- which takes the
virtual addresses with it -- and exits.  Should the watchdog die too, the addresses end
with their leases (carp.lease).
On a clean shutdown carpd writes "bye" first and the watchdog exits without touching
anything (carpd has ended its hooks itself: carp/daemon/hooks.py).

The pipe carries one line per message, each shorter than PIPE_BUF so that it is written
whole: "hook <pgid> <what>" when a hook starts, "done <pgid>" when it has ended, "bye".

The netlink code here is a few struct calls on a plain socket (no pyroute2) so that the
same function also serves carpd's start-up clean-up of a predecessor's leftovers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Callable

from carp.daemon.rtnl import (
    ERROR,
    IFADDRMSG,
    IFINFOMSG,
    NLM_F_ACK,
    NLM_F_DUMP,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    NLMSGHDR,
    RTM_DELADDR,
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    attributes,
    messages,
)

TAG = "carpd"
TMP_PREFIX = "carpd~"  # a macvlan carpd created and has not tagged yet (carp.daemon.netlink)
BYE = b"bye\n"
HOOK, DONE = "hook", "done"
MAX_LINE = 512  # well under PIPE_BUF (4096): a write of a line is atomic

IFLA_IFNAME, IFLA_IFALIAS = 3, 20
RT_SCOPE_LINK = 253


def _request(
    sock: socket.socket, msg_type: int, flags: int, seq: int, index: int = 0, body: bytes = b""
) -> None:
    body = body or IFINFOMSG.pack(0, 0, index, 0, 0)
    sock.send(NLMSGHDR.pack(NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body)


def _dump(sock: socket.socket, want: int) -> list[bytes]:
    """Bodies (after nlmsghdr) of every `want` message of a dump already requested."""
    bodies: list[bytes] = []
    while True:
        data = sock.recv(1 << 16)
        for kind, _seq, start, end in messages(data):
            if kind in (NLMSG_DONE, NLMSG_ERROR):
                return bodies
            if kind == want:
                bodies.append(data[start:end])


def _acked(sock: socket.socket) -> bool:
    reply = sock.recv(4096)
    size = NLMSGHDR.size + ERROR.size
    return len(reply) >= size and ERROR.unpack_from(reply, NLMSGHDR.size)[0] == 0


def _attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    return {kind: bytes(value) for kind, value in attributes(data, offset, end)}


def _cstr(raw: bytes | None) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace") if raw else ""


def tagged_links(sock: socket.socket, tag: str = TAG) -> list[tuple[int, str]]:
    """(ifindex, name) of every link whose ifalias is `tag`, or that carpd created and had
    not tagged yet (its name starts with TMP_PREFIX)."""
    _request(sock, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1)
    found: list[tuple[int, str]] = []
    for body in _dump(sock, RTM_NEWLINK):
        _fam, _type, index, _fl, _ch = IFINFOMSG.unpack_from(body)
        attrs = _attrs(body, IFINFOMSG.size, len(body))
        name = _cstr(attrs.get(IFLA_IFNAME))
        if _cstr(attrs.get(IFLA_IFALIAS)) == tag or name.startswith(TMP_PREFIX):
            found.append((index, name))
    return found


def delete_tagged(tag: str = TAG) -> list[str]:
    """Delete every link tagged `tag`; returns their names.  Never raises.

    IPv4 addresses go first: removing one takes microseconds, removing a link ~15 ms (an
    RCU grace period), so with many carp interfaces no IPv4 address outlives carpd by more
    than a few milliseconds even though the links take longer.  IPv6 addresses go with
    their link, not before: removing one from a link that is up makes the kernel leave its
    solicited-node group with an MLD report, sourced from the macvlan's virtual MAC and,
    carpd's egress program being gone with carpd, unrewritten -- a learning switch would
    learn the MAC at this dead host's port, which `balancing ip-stealth` promises never
    happens.  A link that is deleted is closed first and sends nothing; the links with
    IPv6 virtual addresses go first, as those addresses last until their link is gone."""
    deleted: list[str] = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
            sock.settimeout(2.0)
            links = tagged_links(sock, tag)
            indexes = {index for index, _name in links}
            _request(sock, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 2, body=bytes(8))
            dumped = [(IFADDRMSG.unpack_from(b), b) for b in _dump(sock, RTM_NEWADDR)]
            addrs = [b for (family, _pl, _fl, _sc, index), b in dumped
                     if index in indexes and family == socket.AF_INET]
            # links holding virtual IPv6 addresses (not only their link-local) go first
            v6 = {index for (family, _pl, _fl, scope, index), _b in dumped
                  if family == socket.AF_INET6 and scope != RT_SCOPE_LINK}
            links.sort(key=lambda link: link[0] not in v6)
            for seq, body in enumerate(addrs, start=3):
                # the dumped message sent back as a delete, as `ip addr flush` does
                _request(sock, RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq, body=body)
                _acked(sock)
            for seq, (index, name) in enumerate(links, start=len(addrs) + 3):
                _request(sock, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, index)
                if _acked(sock):
                    deleted.append(name)
    except OSError:
        pass
    return deleted


class Link:
    """carpd's end of the pipe: which hook process groups the watchdog must kill if carpd
    dies (the hooks.GroupWatch that carpd's HookRunner tells)."""

    def __init__(self, write_fd: int) -> None:
        self.write_fd = write_fd
        # carpd's loop must never wait on a stuck (e.g. SIGSTOPped) watchdog: a full pipe
        # loses a message instead (64 KiB is some two thousand hooks behind)
        os.set_blocking(write_fd, False)

    def started(self, pgid: int, what: str) -> None:
        self._send(f"{HOOK} {pgid} {what}")

    def ended(self, pgid: int) -> None:
        self._send(f"{DONE} {pgid}")

    def _send(self, line: str) -> None:
        data = line.replace("\n", " ").encode(errors="replace")[: MAX_LINE - 1] + b"\n"
        try:
            os.write(self.write_fd, data)
        except OSError:  # no watchdog (gone, or never started): nothing to tell
            pass


def note(groups: dict[int, str], line: bytes) -> None:
    """Apply one "hook"/"done" line to the running groups (pgid -> what); others ignored."""
    verb, _, rest = line.decode(errors="replace").partition(" ")
    pgid, _, what = rest.partition(" ")
    if not pgid.isdigit() or int(pgid) <= 1:  # never 0 (our own group) or 1 (init's)
        return
    if verb == HOOK:
        groups[int(pgid)] = what
    elif verb == DONE:
        groups.pop(int(pgid), None)


def kill_groups(groups: dict[int, str]) -> list[str]:
    """SIGKILL every hook group still running; a log line for each one that was."""
    killed: list[str] = []
    for pgid, what in groups.items():
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:  # ended by itself in the meantime
            continue
        killed.append(f"{what}: killed (process group {pgid}), carpd died")
    return killed


def kill_again(groups: dict[int, str]) -> None:
    """SIGKILL the groups once more: a child a hook was forking as the first signal came
    can miss it and live on (seen under load, see HookRunner._kill).  A group number
    cannot have been reused meanwhile while any member of the group is alive, and with
    none alive the kill finds nobody."""
    for pgid in groups:
        with contextlib.suppress(OSError):
            os.killpg(pgid, signal.SIGKILL)


def _quiet(_text: str) -> None:
    pass


def _watch(read_fd: int, log: Callable[[str], None] = _quiet) -> None:
    """The child's whole life: block on the pipe, clean up on EOF, exit."""
    # systemd sends SIGTERM to the whole cgroup; we must stay until carpd says bye or dies.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write("carpd-watchdog")
    except OSError:
        pass
    groups: dict[int, str] = {}  # hook process groups running now: pgid -> what
    buf = b""
    while True:
        try:
            chunk = os.read(read_fd, 4096)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        *lines, buf = (buf + chunk).split(b"\n")
        for line in lines:
            if line + b"\n" == BYE:
                os._exit(0)
            note(groups, line)
    # hooks first: one syscall each, and none may act on what the clean-up removes;
    # logging last, as it may block or fail and the addresses must go first
    killed = kill_groups(groups)
    delete_tagged()
    if killed:
        kill_again(groups)
    for text in killed:
        try:
            log(text)
        except Exception:  # e.g. carpd's stderr was a pipe that died with it
            break
    os._exit(0)


def start(log: Callable[[str], None] = _quiet) -> tuple[int, int]:
    """Fork the watchdog.  Returns (its pid, the write end of the pipe carpd keeps).

    `log` is carpd's (syslog or stderr), inherited through the fork."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(write_fd)
            _watch(read_fd, log)
        finally:
            os._exit(0)
    os.close(read_fd)
    return pid, write_fd


def stop(pid: int, write_fd: int, timeout: float = 2.0) -> None:
    """Normal shutdown: tell the watchdog to leave things alone, and reap it."""
    import time  # only carpd's side needs it

    try:
        os.write(write_fd, BYE)
    except OSError:
        pass
    try:
        os.close(write_fd)
    except OSError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.01)
