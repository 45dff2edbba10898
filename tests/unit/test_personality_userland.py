"""The personality policies answer every question the front ends ask them."""

from __future__ import annotations

import pytest

from carp import mib
from carp.ifconfig.render_carp import CarpLines
from carp.ifconfig.render_phys import PhysicalLines
from carp.personality import PERSONALITIES, policy
from carp.personality.base import Personality
from sysctl.dialect import NUMBER_PARSERS

IFCONFIG_NUMBERS = ("strtonum", "atoi", "table")  # the parsers carp.ifconfig knows


@pytest.mark.parametrize("name", PERSONALITIES)
def test_every_declared_rule_has_a_value(name: str) -> None:
    pol = policy(name)
    missing = [a for a in Personality.__annotations__ if not hasattr(pol, a)]
    assert not missing, f"{name} does not say {missing}"


@pytest.mark.parametrize("name", PERSONALITIES)
def test_interface_lines_name_real_kinds(name: str) -> None:
    pol = policy(name)
    for kinds, lines in ((pol.carp_interface_lines, CarpLines),
                         (pol.physical_interface_lines, PhysicalLines)):
        unknown = [k for k in kinds if k.startswith("_") or not callable(getattr(lines, k, None))]
        assert not unknown, f"{name}: {lines.__name__} has no {unknown}"


@pytest.mark.parametrize("name", PERSONALITIES)
def test_number_parsers_are_known(name: str) -> None:
    pol = policy(name)
    assert pol.ifconfig_numbers in IFCONFIG_NUMBERS
    assert pol.sysctl_numbers in NUMBER_PARSERS


@pytest.mark.parametrize("name", PERSONALITIES)
def test_sysctl_nodes_build(name: str) -> None:
    nodes = mib.mib(policy(name))
    assert len({n.name for n in nodes}) == len(nodes)
    assert all(n.name.startswith(("net.inet.", "net.inet6.")) for n in nodes)
    assert set(mib.defaults(policy(name))) < {n.name for n in nodes}  # ints, not the stats
