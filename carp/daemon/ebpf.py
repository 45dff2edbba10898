"""bpf(2) from Python: maps, program loading, tcx links, test runs (ctypes, no libbpf).

Only what carpd's traffic filters use.  Every object is a file descriptor owned by one
Python object; closing it (or carpd dying, which closes every descriptor) releases the
object in the kernel -- for a tcx link that detaches the program from its interface,
which is what makes a crashed carpd leave no filter behind (carp/daemon/lbfilter.py).

Layouts are those of `union bpf_attr` in include/uapi/linux/bpf.h; a buffer larger
than the part a command reads is zero-filled, which the kernel requires.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import struct

# bpf_cmd
MAP_CREATE, MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM = 0, 1, 2, 3
PROG_LOAD, PROG_QUERY, LINK_CREATE = 5, 16, 28
# bpf_map_type
MAP_HASH, MAP_ARRAY, MAP_LRU_HASH = 1, 2, 9
F_MMAPABLE = 1 << 10
# bpf_prog_type / bpf_attach_type
PROG_SCHED_CLS = 3
TCX_INGRESS, TCX_EGRESS = 46, 47  # Linux 6.6
# helpers (enum bpf_func_id)
FN_MAP_LOOKUP_ELEM = 1
FN_SKB_STORE_BYTES = 9
FN_L4_CSUM_REPLACE = 11
FN_SKB_LOAD_BYTES = 26
# tcx / direct-action verdicts
TC_NEXT, TC_PASS, TC_DROP = -1, 0, 2

_NR_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "riscv64": 280, "ppc64le": 361}
ATTR_SIZE = 160
LOG_SIZE = 1 << 20
LICENSE = b"Dual BSD/GPL\0"  # GPL-compatible, so every helper is allowed; carpd is ISC

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class BPFError(OSError):
    """A bpf(2) command failed; `log` holds the verifier's output for PROG_LOAD."""

    def __init__(self, err: int, what: str, log: str = "") -> None:
        super().__init__(err, f"bpf {what}: {os.strerror(err)}" + (f"\n{log}" if log else ""))
        self.log = log


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char], what: str) -> int:
    nr = _NR_BPF.get(platform.machine())
    if nr is None:
        raise BPFError(errno.ENOSYS, f"{what}: no bpf(2) number for {platform.machine()}")
    ret = _libc.syscall(nr, cmd, attr, ATTR_SIZE)
    if ret < 0:
        raise BPFError(ctypes.get_errno(), what)
    return int(ret)


def _attr(head: bytes) -> ctypes.Array[ctypes.c_char]:
    return ctypes.create_string_buffer(head.ljust(ATTR_SIZE, b"\0"), ATTR_SIZE)


def _addr(buf: ctypes.Array[ctypes.c_char] | None) -> int:
    return ctypes.addressof(buf) if buf is not None else 0


class Fd:
    """A kernel object held by a file descriptor; closed once."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    fd = -1  # also what an object whose creation failed has

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass


class Map(Fd):
    def __init__(self, map_type: int, key_size: int, value_size: int, max_entries: int,
                 name: str = "", flags: int = 0) -> None:
        head = struct.pack("=7I16s", map_type, key_size, value_size, max_entries, flags, 0, 0,
                           name.encode()[:15])
        super().__init__(_bpf(MAP_CREATE, _attr(head), f"map create {name}"))
        self.key_size = key_size
        self.value_size = value_size
        self.max_entries = max_entries

    def _elem(self, cmd: int, key: bytes, value: ctypes.Array[ctypes.c_char] | None,
              flags: int, what: str) -> None:
        if len(key) != self.key_size:
            raise ValueError(f"key of {len(key)} bytes, map has {self.key_size}")
        k = ctypes.create_string_buffer(key, len(key))
        head = struct.pack("=IIQQQ", self.fd, 0, _addr(k), _addr(value), flags)
        _bpf(cmd, _attr(head), what)

    def update(self, key: bytes, value: bytes, flags: int = 0) -> None:
        if len(value) != self.value_size:
            raise ValueError(f"value of {len(value)} bytes, map has {self.value_size}")
        self._elem(MAP_UPDATE_ELEM, key, ctypes.create_string_buffer(value, len(value)), flags,
                   "map update")

    def lookup(self, key: bytes) -> bytes | None:
        out = ctypes.create_string_buffer(self.value_size)
        try:
            self._elem(MAP_LOOKUP_ELEM, key, out, 0, "map lookup")
        except BPFError as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        return out.raw

    def delete(self, key: bytes) -> bool:
        try:
            self._elem(MAP_DELETE_ELEM, key, None, 0, "map delete")
        except BPFError as exc:
            if exc.errno == errno.ENOENT:
                return False
            raise
        return True


class MappedArray(Map):
    """An array map also mapped into our memory: a store of an aligned 8-byte value is
    one machine store, so a program reading the element never sees half of an update
    (the bpf(2) update path copies with memcpy, which promises no such thing)."""

    def __init__(self, value_size: int, max_entries: int, name: str = "") -> None:
        if value_size != 8:
            raise ValueError("MappedArray holds 8-byte words")
        super().__init__(MAP_ARRAY, 4, 8, max_entries, name, F_MMAPABLE)
        size = (8 * max_entries + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
        self._mm = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        self.words = memoryview(self._mm).cast("Q")

    def __getitem__(self, index: int) -> int:
        return int(self.words[index])

    def __setitem__(self, index: int, value: int) -> None:
        self.words[index] = value  # one aligned 8-byte store

    def close(self) -> None:
        if self.fd >= 0 and hasattr(self, "words"):
            self.words.release()
            self._mm.close()
        super().close()


class Program(Fd):
    def __init__(self, insns: bytes, name: str = "", prog_type: int = PROG_SCHED_CLS) -> None:
        if len(insns) % 8:
            raise ValueError("instructions are 8 bytes each")
        code = ctypes.create_string_buffer(insns, len(insns))
        lic = ctypes.create_string_buffer(LICENSE, len(LICENSE))

        def load(log: ctypes.Array[ctypes.c_char] | None) -> int:
            head = struct.pack("=IIQQIIQII16s", prog_type, len(insns) // 8, _addr(code),
                               _addr(lic), 1 if log else 0, LOG_SIZE if log else 0,
                               _addr(log), 0, 0, name.encode()[:15])
            return _bpf(PROG_LOAD, _attr(head), f"load {name}")

        try:
            fd = load(None)  # quiet: the verifier's log costs time, wanted only to explain
        except BPFError:
            log = ctypes.create_string_buffer(LOG_SIZE)
            try:
                fd = load(log)
            except BPFError as exc:
                text = log.value.decode(errors="replace").strip()
                raise BPFError(exc.errno or errno.EINVAL, f"load {name}", text) from None
        super().__init__(fd)


class TcxLink(Fd):
    """A program attached to an interface's tcx ingress or egress hook (Linux 6.6).  The
    attachment lives exactly as long as this descriptor: close() -- or the death of the
    process -- detaches it, and nothing else can be detached by mistake."""

    def __init__(self, prog: Program, ifindex: int, attach_type: int) -> None:
        head = struct.pack("=IIII", prog.fd, ifindex, attach_type, 0)
        super().__init__(_bpf(LINK_CREATE, _attr(head), f"tcx attach to ifindex {ifindex}"))
        self.ifindex = ifindex
        self.attach_type = attach_type


def tcx_program_count(ifindex: int, attach_type: int) -> int:
    """How many programs are attached to an interface's tcx hook (for tests and checks)."""
    head = struct.pack("=IIII", ifindex, attach_type, 0, 0)
    attr = _attr(head)
    _bpf(PROG_QUERY, attr, "tcx query")
    return int(struct.unpack_from("=I", attr.raw, 24)[0])
