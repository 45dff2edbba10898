"""ifconfig's error texts and usage messages, one per BSD personality.

BSD ifconfig reports through err(3)/errx(3): `ifconfig: <message>` on stderr, exit 1.
A few messages are printed without the prefix (OpenBSD's `carp9: no such interface`),
and a usage error prints the personality's usage text.  Everything that can go wrong
in a command is an `IfconfigError`; the CLI turns it into stderr text and an exit code.
"""

from __future__ import annotations

PROG = "ifconfig"

USAGE: dict[str, str] = {
    "openbsd": (
        "usage: ifconfig [-AaC] [-M lladdr] [interface] [address_family]\n"
        "\t\t[address [dest_address]] [parameters]\n"
    ),
    "freebsd": (
        "usage: ifconfig [-f type:format] [-L] [-C] [-g groupname] interface address_family\n"
        "                [address [dest_address]] [parameters]\n"
        "       ifconfig interface create\n"
        "       ifconfig -a [-L] [-C] [-g groupname] [-d] [-m] [-u] [-v] [address_family]\n"
        "       ifconfig -l [-d] [-u] [address_family]\n"
        "       ifconfig [-L] [-C] [-g groupname] [-d] [-m] [-u] [-v]\n"
    ),
    # NetBSD assembles its usage from every registered module; we carry the generic
    # lines plus carp's own fragment (the only module we implement).
    "netbsd": (
        "usage: ifconfig [-h] [-m] [-v] [-z] [-L] interface\n"
        "\t[ af [ address [ dest_addr ] ] [ netmask mask ] [ prefixlen n ]\n"
        "\t\t[ alias | -alias ] ]\n"
        "\t[ up ] [ down ] [ metric n ] [ mtu n ]\n"
        "\t[ advbase n ] [ advskew n ] [ carpdev iface ] [ pass passphrase ] "
        "[ state state ] [ vhid n ]\n"
        "\t[ arp | -arp ]\n"
        "\t[ preference n ]\n"
        "\t[ link0 | -link0 ] [ link1 | -link1 ] [ link2 | -link2 ]\n"
        "       ifconfig -a [-b] [-d] [-h] [-m] [-u] [-v] [-z] [ af ]\n"
        "       ifconfig -l [-b] [-d] [-s] [-u]\n"
        "       ifconfig -C\n"
        "       ifconfig -w n\n"
        "       ifconfig interface create\n"
        "       ifconfig interface destroy\n"
    ),
}


class IfconfigError(Exception):
    """A BSD-style failure: `text` goes to stderr verbatim, `code` is the exit status."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def fail(message: str) -> IfconfigError:
    """errx(1, message): `ifconfig: message`."""
    return IfconfigError(f"{PROG}: {message}\n")


def bare(message: str) -> IfconfigError:
    """A message printed without the program prefix (OpenBSD's `no such interface`)."""
    return IfconfigError(f"{message}\n")


def usage(personality: str) -> IfconfigError:
    return IfconfigError(USAGE.get(personality, USAGE["openbsd"]))


def syntax(personality: str, message: str) -> IfconfigError:
    """A value the command line parser rejects: NetBSD's table parser only knows usage."""
    return usage(personality) if personality == "netbsd" else fail(message)


def no_such_interface(personality: str, name: str) -> IfconfigError:
    if personality == "freebsd":
        return fail(f"interface {name} does not exist")
    if personality == "netbsd":
        return fail(f"SIOCGIFFLAGS {name}: Device not configured")
    return bare(f"{name}: no such interface")


def einval(personality: str, name: str, ioctl: str = "SIOCSVH") -> IfconfigError:
    """The kernel refused a request: OpenBSD names the interface, the others do not."""
    if personality == "openbsd":
        return fail(f"{name}: {ioctl}: Invalid argument")
    return fail(f"{ioctl}: Invalid argument")


def requires_argument(personality: str, keyword: str) -> IfconfigError:
    return syntax(personality, f"'{keyword}' requires argument")


def bad_value(personality: str, word: str) -> IfconfigError:
    return syntax(personality, f"{word}: bad value")
