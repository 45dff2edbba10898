"""Shared helpers for the ifconfig tests: a fake carp.sysif and an in-process runner."""

from __future__ import annotations

import io
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from carp.ifconfig import cli
from carp.ifconfig.link_plan import LinkPlan, LinkRefused
from carp.store import State, Store

# The hosts of the man pages: em0 on 192.168.1.0/24, em1 on 192.168.2.0/24.
LINKS: dict[str, list[str]] = {
    "em0": ["192.168.1.2/24"],
    "em1": ["192.168.2.2/24"],
    "eth0": ["10.1.1.2/24"],
}


@dataclass
class FakeSysIf:
    """carp.sysif's API over a fixed table; BSD names map to themselves."""

    links: dict[str, list[str]] = field(default_factory=lambda: dict(LINKS))
    ifmap: dict[str, str] = field(default_factory=dict)

    def resolve(self, bsd_name: str, state: State) -> str:
        return {**self.ifmap, **state.ifmap}.get(bsd_name, bsd_name)

    def exists(self, linux_name: str) -> bool:
        return linux_name in self.links

    def highest_ifindex(self) -> int:
        return len(self.links)

    def inet_addresses(self, linux_name: str) -> list[tuple[str, int]]:
        nets = [ipaddress.ip_interface(n) for n in self.links.get(linux_name, [])]
        return [(str(n.ip), n.network.prefixlen) for n in nets]

    def carpdev_for(self, address: str, prefixlen: int, state: State) -> str | None:
        addr = ipaddress.ip_address(address)
        for name, nets in sorted(self.links.items()):
            for net in nets:
                if addr in ipaddress.ip_interface(net).network:
                    return name
        return None


@dataclass
class FakeNetlink:
    """carp.daemon.links's API: records each change made (or refuses with `refuse`)."""

    made: list[tuple[str, LinkPlan]] = field(default_factory=list)
    refuse: LinkRefused | None = None

    def change(self, linux_name: str, plan: LinkPlan) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.made.append((linux_name, plan))


@dataclass
class Result:
    code: int
    out: str
    err: str


class Host:
    """One simulated BSD host: a store directory, a personality and the fake links."""

    def __init__(self, rundir: Path, personality: str) -> None:
        self.store = Store(rundir)
        self.sysif = FakeSysIf()
        self.netlink = FakeNetlink()
        with self.store.transaction() as st:
            st.personality = personality

    def __call__(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = cli.run(list(argv), stdout=out, stderr=err, store=self.store, sysif=self.sysif,
                       netlink=self.netlink)
        return Result(code, out.getvalue(), err.getvalue())

    def line(self, command: str) -> Result:
        """A man-page line: `ifconfig a b c` (the program name is dropped)."""
        words = command.split()
        assert words[0] == "ifconfig", command
        return self(*words[1:])

    @property
    def state(self) -> State:
        return self.store.load()

    def raw(self) -> bytes:
        return self.store.path.read_bytes() if self.store.path.exists() else b""
