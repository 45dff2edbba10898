"""A dead carpd holds no address: the watchdog that outlives it.

carpd forks this tiny process at start, before it imports asyncio or pyroute2.  It holds
the read end of a pipe whose only write end is carpd's.  When carpd dies for any reason
(kill -9, OOM, a crash) the kernel closes the write end, the read returns EOF, and the
watchdog deletes every macvlan tagged with IFLA_IFALIAS "carpd" -- which takes the
virtual addresses with it -- then exits.  On a clean shutdown carpd writes "bye" first
and the watchdog exits without touching anything.

The netlink code here is a few struct calls on a plain socket (no pyroute2) so that the
same function also serves carpd's start-up clean-up of a predecessor's leftovers.
"""

from __future__ import annotations

import os
import signal
import socket
import struct

TAG = "carpd"
BYE = b"bye\n"

# rtnetlink constants (linux/rtnetlink.h, linux/netlink.h, linux/if_link.h)
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
IFLA_IFNAME, IFLA_IFALIAS = 3, 20

_NLMSGHDR = struct.Struct("=IHHII")
_IFINFOMSG = struct.Struct("=BxHiII")
_IFADDRMSG = struct.Struct("=BBBBI")
_RTATTR = struct.Struct("=HH")


def _align(n: int) -> int:
    return (n + 3) & ~3


def _request(
    sock: socket.socket, msg_type: int, flags: int, seq: int, index: int = 0, body: bytes = b""
) -> None:
    body = body or _IFINFOMSG.pack(0, 0, index, 0, 0)
    sock.send(_NLMSGHDR.pack(_NLMSGHDR.size + len(body), msg_type, flags, seq, 0) + body)


def _dump(sock: socket.socket, want: int) -> list[bytes]:
    """Bodies (after nlmsghdr) of every `want` message of a dump already requested."""
    bodies: list[bytes] = []
    while True:
        data = sock.recv(1 << 16)
        offset = 0
        while offset + _NLMSGHDR.size <= len(data):
            length, msg_type, _flags, _seq, _pid = _NLMSGHDR.unpack_from(data, offset)
            if length < _NLMSGHDR.size or msg_type in (NLMSG_DONE, NLMSG_ERROR):
                return bodies
            if msg_type == want:
                bodies.append(data[offset + _NLMSGHDR.size : offset + length])
            offset += _align(length)


def _acked(sock: socket.socket) -> bool:
    reply = sock.recv(4096)
    return len(reply) >= 20 and struct.unpack_from("=i", reply, 16)[0] == 0


def _attrs(data: bytes, offset: int, end: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while offset + _RTATTR.size <= end:
        length, kind = _RTATTR.unpack_from(data, offset)
        if length < _RTATTR.size:
            break
        out[kind & 0x3FFF] = data[offset + _RTATTR.size : offset + length]
        offset += _align(length)
    return out


def _cstr(raw: bytes | None) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace") if raw else ""


def tagged_links(sock: socket.socket, tag: str = TAG) -> list[tuple[int, str]]:
    """(ifindex, name) of every link whose ifalias is `tag`."""
    _request(sock, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1)
    found: list[tuple[int, str]] = []
    for body in _dump(sock, RTM_NEWLINK):
        _fam, _type, index, _fl, _ch = _IFINFOMSG.unpack_from(body)
        attrs = _attrs(body, _IFINFOMSG.size, len(body))
        if _cstr(attrs.get(IFLA_IFALIAS)) == tag:
            found.append((index, _cstr(attrs.get(IFLA_IFNAME))))
    return found


def delete_tagged(tag: str = TAG) -> list[str]:
    """Delete every link tagged `tag`; returns their names.  Never raises.

    Addresses go first: removing one takes microseconds, removing a link ~15 ms (an RCU
    grace period), so with many carp interfaces no address outlives carpd by more than a
    few milliseconds even though the links take longer."""
    deleted: list[str] = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0) as sock:
            sock.settimeout(2.0)
            links = tagged_links(sock, tag)
            indexes = {index for index, _name in links}
            _request(sock, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 2, body=bytes(8))
            addrs = [b for b in _dump(sock, RTM_NEWADDR) if _IFADDRMSG.unpack_from(b)[4] in indexes]
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


def _watch(read_fd: int) -> None:
    """The child's whole life: block on the pipe, clean up on EOF, exit."""
    # systemd sends SIGTERM to the whole cgroup; we must stay until carpd says bye or dies.
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_IGN)
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write("carpd-watchdog")
    except OSError:
        pass
    buf = b""
    while True:
        try:
            chunk = os.read(read_fd, 64)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
        if BYE in buf:
            os._exit(0)
    delete_tagged()
    os._exit(0)


def start() -> tuple[int, int]:
    """Fork the watchdog.  Returns (its pid, the write end of the pipe carpd keeps)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(write_fd)
            _watch(read_fd)
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
