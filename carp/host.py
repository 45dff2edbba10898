"""The carp part of one host's kernel, pure: every virtual host, the sysctls, demotion.

CONTRACT (implemented by the protocol-core work; carpd and tests/sim drive only this):

    host = CarpHost(personality="openbsd", name="hostA")
    acts = host.configure(state.sysctl, interfaces, groups, now)   # from the store
    acts = host.packet(carpdev, family, src, dst, ttl, payload, now)  # one received IP payload
    acts = host.link(carpdev, up, now)                              # parent link state
    acts = host.timeout(now)                                        # run every due timer
    host.next_deadline() -> float | None                            # absolute, same clock as now
    acts = host.shutdown(now)                                       # bow-out + INIT everywhere
    host.status() -> dict                                           # see below

* `now` is a float in seconds on any monotonic clock; the core never reads a clock.
* `configure` is idempotent and applies only the difference: a vhid whose parameters did
  not change keeps its state (no flap on reload); changed vhid/addresses/key go INIT and
  restart; changed advbase/advskew just take effect.  Interfaces whose carpdev is down
  (as last reported by `link`) stay INIT.  `state_request` with a new seq is applied once.
* `packet` follows the personality's validation order (carp-protocol.md section 7), returns
  Count actions for every counter (ipackets, badttl, badsum, badvhid, badauth, ...), Log
  actions for the diagnostics of section 8, and the state logic of section 4.4.
* Demotion per personality (section 5): OpenBSD group carpdemote (store groups + kernel +1
  on carpdev down), FreeBSD net.inet.carp.demotion (+ifdown factor), legacy/NetBSD
  suppress_preempt (advskew 240 on every vhid while >0).  Any rise sends ads at once.
* status() -> {"vhosts": {iface_key: {str(vhid): {"state", "since", "reason"}}},
               "counters": {stat: n}, "demotion": int, "groups": {name: demote},
               "suppress_preempt": int}
"""
