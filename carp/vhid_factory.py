"""From a carp interface (carp.config) to the state machine of each of its vhids (pure).

CarpHost reconciles the store with its vhids through these: what a vhid is made of
(`make_vhost`: a CARP carp.vhost.VirtualHost, or a VRRPv3 carp.vrrp.VrrpHost for a
`carpver 3` interface where the personality speaks it), what restarts it when it changes
(`identity`), and what merely takes effect (`retime`).

§N refers to the protocol notes in docs/protocol.md.
"""

from __future__ import annotations

import random

from carp.balance import advert_source, share
from carp.config import CARP_GROUP_V4, CARP_GROUP_V6, CarpInterface, macvlan_mac
from carp.mac import PARENT_MAC
from carp.vhost import Env, Params, VirtualHost
from carp.vrrp import VrrpHost
from carp.wire import hmac_key, mac_bytes, virtual_mac

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.personality.base import Personality


def identity(ci: CarpInterface, vhid: int) -> tuple[object, ...]:
    """Everything whose change restarts a vhid (advbase/advskew/up only take effect)."""
    addrs = tuple(sorted((a.address, a.prefixlen) for a in ci.addresses_for(vhid)))
    return (
        ci.style, ci.parent, vhid, addrs, ci.passphrase, ci.lladdr, ci.effective_balancing,
        ci.peer, ci.peer6, ci.vhid, len(ci.nodes), ci.version,
    )


def speaks(pol: Personality, ci: CarpInterface) -> bool:
    """This kernel runs vhids of the interface's protocol version (3: VRRPv3)."""
    return ci.version == 2 or (ci.version == 3 and pol.speaks_vrrp)


def make_vhost(
    env: Env, ci: CarpInterface, vhid: int, advskew: int, rng: random.Random | None
) -> VirtualHost:
    """A new vhid `vhid` of `ci`, in INIT (carp_clone_create, then SIOCSVH)."""
    pol = env.policy
    addrs = ci.addresses_for(vhid)
    leader = vhid == ci.vhid
    balancing = ci.effective_balancing
    default_mac = virtual_mac(vhid)
    mac = ci.lladdr or virtual_mac(vhid, multicast=leader and balancing == "ip")
    hmac_mac = None
    if pol.hashes_lladdr and leader and ci.lladdr and ci.lladdr.lower() != default_mac:
        hmac_mac = mac_bytes(ci.lladdr)  # §2.2 step 2 (realmac case ignored)
    src_mac = "" if pol.vmac_source else macvlan_mac(ci)
    if (sh := share(ci)) is not None:  # carp_start: balancing modes choose themselves
        src_mac = advert_source(sh.mode, leader, vhid, macvlan_mac(ci)) or PARENT_MAC
    vrrp = speaks(pol, ci) and ci.version == 3
    params = Params(
        ifname=ci.key, logname=ci.name, carpdev=ci.parent or "", vhid=vhid,
        v4=tuple(a.address for a in addrs if a.family == 4),
        v6=tuple(a.address for a in addrs if a.family == 6),
        key=hmac_key(ci.passphrase), mac=mac, hmac_mac=hmac_mac, leader=leader,
        nodes=len(ci.nodes), balancing=balancing,
        dst4=CARP_GROUP_V4 if vrrp else ci.peer,  # VRRPv3 ignores the peer (§1.7)
        dst6=CARP_GROUP_V6 if vrrp else ci.peer6,
        src_mac=src_mac,
    )
    if vrrp:
        return VrrpHost(env, params, ci.vrrp_prio, ci.vrrp_interval, rng=rng)
    return VirtualHost(env, params, ci.advbase, advskew, rng=rng)


def retime(v: VirtualHost, ci: CarpInterface, advskew: int) -> None:
    """What takes effect without a restart: advbase and advskew (VRRPv3: priority and
    interval too)."""
    v.advbase, v.advskew = ci.advbase, advskew
    if isinstance(v, VrrpHost):
        v.prio, v.interval_cs = ci.vrrp_prio, ci.vrrp_interval
