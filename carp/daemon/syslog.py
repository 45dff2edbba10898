"""Where carpd's lines go: the core's kernel messages and carpd's own.

The core (carp/host.py) already filters kernel messages by net.inet.carp.log as each
personality does and picks their priority; this module only delivers them.
Where /dev/log exists (syslogd, journald) lines go there under "carpd"; otherwise, and
with -d, they go to stderr.
"""

from __future__ import annotations

import os
import sys
import syslog as _syslog

from carp.actions import LOG_DEBUG

_NAMES = {2: "crit", 3: "err", 4: "warning", 5: "notice", 6: "info", 7: "debug"}


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
                  file=sys.stderr, flush=True)

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
