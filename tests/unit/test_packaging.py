"""What the wheel carries, from setup.cfg's package selection: the core, carpd and the
front ends, never the namespace lab and its demo (they run from a checkout)."""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def _installed() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    find = cfg["options.packages.find"]

    def names(key: str) -> list[str]:
        return [w.strip() for w in find.get(key, "").split(",") if w.strip()]

    return find_packages(str(ROOT), include=names("include"), exclude=names("exclude"))


def test_the_wheel_leaves_the_lab_out() -> None:
    packages = _installed()
    assert {"carp", "carp.daemon", "carp.ifconfig", "carp.personality", "sysctl"} <= set(packages)
    assert [p for p in packages if p == "carp.lab" or p.startswith("carp.lab.")] == []
    assert [p for p in packages if p.split(".")[0] not in ("carp", "sysctl")] == []
