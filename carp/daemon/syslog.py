"""Kernel log lines (Log actions) to syslog, filtered by net.inet.carp.log per personality.

* OpenBSD: the sysctl is a priority threshold: emit iff log >= priority.
* FreeBSD: log >= 1 emits state changes and demotion, >= 2 also packet/error diagnostics.
* NetBSD: any non-zero value emits everything, always at LOG_INFO.

Where /dev/log exists (syslogd, journald) lines go there under "carpd"; otherwise, and
with -d, they go to stderr.
"""

from __future__ import annotations

import os
import sys
import syslog as _syslog

from carp.actions import LOG_DEBUG, LOG_INFO, Log

DEFAULT_LOG = {"openbsd": 2, "freebsd": 1, "netbsd": 0}  # reference section 9
_FREEBSD_LEVEL1 = ("state", "demote")
_NAMES = {2: "crit", 3: "err", 4: "warning", 5: "notice", 6: "info", 7: "debug"}


def log_level(personality: str, sysctl: dict[str, int]) -> int:
    """The effective net.inet.carp.log: the admin's value, else the personality default."""
    value = sysctl.get("net.inet.carp.log")
    if value is not None:
        return value
    try:
        from sysctl.tree import DEFAULTS

        return DEFAULTS[personality]["net.inet.carp.log"]
    except (ImportError, KeyError):
        return DEFAULT_LOG.get(personality, 0)


def filter_priority(personality: str, level: int, entry: Log) -> int | None:
    """The syslog priority to emit `entry` at, or None when the sysctl suppresses it."""
    if personality == "freebsd":
        if level >= 2 or (level >= 1 and entry.kind in _FREEBSD_LEVEL1):
            return entry.priority
        return None
    if personality == "netbsd":
        return LOG_INFO if level != 0 else None
    return entry.priority if level >= entry.priority else None


class Logger:
    """Where carpd's lines go: syslog when available, stderr otherwise or in debug mode."""

    def __init__(self, debug: bool = False, use_syslog: bool | None = None) -> None:
        self.debug_enabled = debug
        self.use_syslog = os.path.exists("/dev/log") if use_syslog is None else use_syslog
        self.to_stderr = debug or not self.use_syslog
        if self.use_syslog:
            _syslog.openlog("carpd", _syslog.LOG_PID | _syslog.LOG_NDELAY, _syslog.LOG_DAEMON)

    def emit(self, priority: int, text: str) -> None:
        if self.use_syslog:
            _syslog.syslog(priority, text)
        if self.to_stderr and (priority < LOG_DEBUG or self.debug_enabled):
            print(f"carpd[{os.getpid()}] {_NAMES.get(priority, priority)}: {text}",
                  file=sys.stderr, flush=True)  # fmt: skip

    def kernel(self, personality: str, level: int, entry: Log) -> None:
        """A BSD kernel message from the core, if the personality's filter lets it through."""
        priority = filter_priority(personality, level, entry)
        if priority is not None:
            self.emit(priority, entry.text)

    # carpd's own operational messages (not BSD kernel texts)
    def error(self, text: str) -> None:
        self.emit(_syslog.LOG_ERR, text)

    def warning(self, text: str) -> None:
        self.emit(_syslog.LOG_WARNING, text)

    def info(self, text: str) -> None:
        self.emit(_syslog.LOG_INFO, text)

    def debug(self, text: str) -> None:
        if self.debug_enabled:
            self.emit(LOG_DEBUG, text)
