"""ifconfig's failures, with the texts and usage of the personality's ifconfig.

BSD ifconfig reports through err(3)/errx(3): `ifconfig: <message>` on stderr, exit 1.
A few messages are printed without the prefix (OpenBSD's `carp9: no such interface`),
and a usage error prints the personality's usage text.  Everything that can go wrong
in a command is an `IfconfigError`; the CLI turns it into stderr text and an exit code.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; only type checkers need it
if TYPE_CHECKING:
    from carp.ifconfig.operations import Command
    from carp.personality import Policy

EPERM = "Operation not permitted"

PROG = "ifconfig"


class IfconfigError(Exception):
    """A BSD-style failure: `text` goes to stderr verbatim, `code` is the exit status."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def fail(message: str) -> IfconfigError:
    """errx(1, message): `ifconfig: message`."""
    return IfconfigError(f"{PROG}: {message}\n")


def line(text: str) -> IfconfigError:
    """A whole stderr line of the personality's (its own prefix, if any, included)."""
    return IfconfigError(f"{text}\n")


def usage(pol: Policy) -> IfconfigError:
    return IfconfigError(pol.ifconfig_usage)


def syntax(pol: Policy, message: str) -> IfconfigError:
    """A value the command line parser rejects (NetBSD's table parser only knows usage)."""
    return usage(pol) if pol.refusals_print_usage else fail(message)


def ioctl(pol: Policy, name: str, request: str, reason: str) -> IfconfigError:
    """err(1) after a failed ioctl: `ifconfig: [carp0: ]SIOCSVH: Invalid argument`."""
    prefix = f"{name}: " if pol.names_interface_in_errors and name else ""
    return fail(f"{prefix}{request}: {reason}")


def einval(pol: Policy, name: str, request: str = "SIOCSVH") -> IfconfigError:
    """The kernel refused a request."""
    return ioctl(pol, name, request, "Invalid argument")


def no_such_interface(pol: Policy, name: str) -> IfconfigError:
    return line(pol.no_such_interface.format(name=name))


def requires_argument(pol: Policy, keyword: str) -> IfconfigError:
    return syntax(pol, f"'{keyword}' requires argument")


def bad_value(pol: Policy, word: str) -> IfconfigError:
    return syntax(pol, f"{word}: bad value")


def not_permitted(pol: Policy, cmd: Command, creates: bool) -> IfconfigError:
    """A user other than root: the first request of the command fails with EPERM, as the
    BSD kernels check privilege on every request that changes an interface.

    ifconfig first creates a missing cloned interface (`creates`), then walks the
    keywords in order, each with its own request (up/down SIOCSIFFLAGS, the carp keywords
    SIOCSVH, ...), and adds or deletes the address last."""
    from carp.ifconfig import operations as o

    if creates and not any(isinstance(op, o.Destroy) for op in cmd.ops):
        return ioctl(pol, cmd.ifname, pol.create_ioctl, EPERM)
    address = "SIOCAIFADDR"
    for op in cmd.ops:
        if isinstance(op, o.Create):
            return ioctl(pol, cmd.ifname, pol.create_ioctl, EPERM)
        if isinstance(op, o.Destroy):
            return ioctl(pol, cmd.ifname, "SIOCIFDESTROY", EPERM)
        if isinstance(op, o.Up | o.Down):
            return fail(f"SIOCSIFFLAGS: {EPERM}")
        if isinstance(op, o.AddGroup):
            return fail(f"SIOCAIFGROUP: {EPERM}")
        if isinstance(op, o.DelGroup):
            return fail(f"SIOCDIFGROUP: {EPERM}")
        if isinstance(op, o.SetLladdr):
            return fail(f"SIOCSIFLLADDR: {EPERM}")
        if isinstance(op, o.SetMtu):
            return fail(f"{pol.link_requests['mtu']}: {EPERM}")
        if isinstance(op, o.Unalias | o.RemoveFamily):
            address = "SIOCDIFADDR"
        elif not isinstance(op, o.AddressWord | o.Netmask | o.Prefixlen | o.Broadcast | o.Alias):
            return ioctl(pol, cmd.ifname, "SIOCSVH", EPERM)  # a carp keyword
    return fail(f"{address}: {EPERM}")
