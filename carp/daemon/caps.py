"""Which capabilities carpd holds (the CapEff mask of /proc/self/status), and the names
of those it lacks.

carpd refuses to start without CAP_NET_ADMIN and CAP_NET_RAW (carp/daemon/main.py).
Load balancing also needs CAP_BPF, or CAP_SYS_ADMIN which implies it (the kernel's
bpf_capable()), to create its maps and load its programs; only a balanced interface
needs them, so their absence is named when balancing is configured
(carp/daemon/lbfilter.py), not at start."""

from __future__ import annotations

CAP_SYS_ADMIN = 21
CAP_NET_ADMIN = 12
CAP_NET_RAW = 13
CAP_BPF = 39
REQUIRED_CAPS = {CAP_NET_ADMIN: "CAP_NET_ADMIN", CAP_NET_RAW: "CAP_NET_RAW"}


def effective_caps(status_text: str) -> int:
    """The CapEff bit mask from the text of /proc/<pid>/status (0 if absent)."""
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split(":", 1)[1].strip(), 16)
    return 0


def own_caps() -> int:
    """This process's effective capabilities (0 when /proc cannot tell)."""
    try:
        with open("/proc/self/status") as fh:
            return effective_caps(fh.read())
    except OSError:
        return 0


def missing_caps(caps: int) -> list[str]:
    """The names of the capabilities carpd cannot start without that `caps` lacks."""
    return [name for bit, name in sorted(REQUIRED_CAPS.items()) if not caps >> bit & 1]


def bpf_capable(caps: int) -> bool:
    """Whether `caps` may load eBPF programs: CAP_BPF or CAP_SYS_ADMIN."""
    return bool(caps >> CAP_BPF & 1 or caps >> CAP_SYS_ADMIN & 1)
