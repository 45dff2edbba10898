"""Codec throughput on one core: adverts built+signed and decoded+verified per second."""

from __future__ import annotations

import time
from collections.abc import Callable

from carp.wire import Advert, Signer, decode, encode, hmac_key, int_to_counter, make_advert

Figure = tuple[str, float, str, str]

_ROUNDS = 3  # best of N: the figure is the machine's capacity, not scheduler noise
_SECONDS = 0.4  # per round


def _rate(step: Callable[[int], object]) -> float:
    """Calls per second of `step(i)`, best of a few timed rounds."""
    best = 0.0
    for _ in range(_ROUNDS):
        n, start = 0, time.perf_counter()
        deadline = start + _SECONDS
        while True:
            for i in range(n, n + 1000):
                step(i)
            n += 1000
            now = time.perf_counter()
            if now >= deadline:
                break
        best = max(best, n / (now - start))
    return best


def _signer(v6_linklocal: bool = False) -> Signer:
    v6 = ["2001:db8::1"] + (["fe80::200:5eff:fe00:101"] if v6_linklocal else [])
    return Signer(hmac_key("mekmitasdigoat"), 1, ["192.168.1.1", "192.168.1.2"], v6)


def run() -> list[Figure]:
    signer = _signer()
    counters = [int_to_counter(i) for i in range(1000)]

    def encode_step(i: int) -> object:
        return make_advert(signer, 1, 1, 100, counters[i % 1000])

    packets = [encode_step(i) for i in range(1000)]

    def verify_step(i: int) -> object:
        adv = decode(packets[i % 1000])
        assert isinstance(adv, Advert) and signer.verify(adv)
        return adv

    # Worst case for OpenBSD flavour: a forged digest tries both contexts.
    ll_signer = _signer(v6_linklocal=True)
    forged = [encode(Advert(1, 100, 1, int_to_counter(i), bytes(20))) for i in range(1000)]

    def reject_step(i: int) -> object:
        adv = decode(forged[i % 1000])
        assert isinstance(adv, Advert) and not ll_signer.verify(adv)
        return adv

    return [
        ("adverts encoded+signed per second (make_advert)", _rate(encode_step), "ads/s",
         ">= 50000"),
        ("adverts decoded+verified per second (decode+verify)", _rate(verify_step), "ads/s",
         ">= 50000"),
        ("forged adverts rejected per second (2 contexts)", _rate(reject_step), "ads/s",
         ">= 50000"),
    ]
