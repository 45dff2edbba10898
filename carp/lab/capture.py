"""A running capture on the lab's switch: every CARP advertisement, ARP and ICMP reply that
enters a bridge, tagged with the port it came in on (so with the host that sent it)."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carp.lab import netns

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class Capture:
    def __init__(
        self, ns: str, path: Path, skip: list[str], ports: list[str] | None = None,
        every: bool = False,
    ) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.records: list[Record] = []
        argv = netns.exec_argv(
            ns,
            netns.python_argv(
                "carp.lab.probe", "capture", "--out", str(path), "--skip", ",".join(skip),
                "--ports", ",".join(ports or []),
                *(["--every"] if every else []),
            ),
        )
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            argv, env=netns.child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_ready()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if any(r.get("kind") == "ready" for r in self.records):
                return
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"capture exited early: {err}")
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("capture did not start")

    def poll(self) -> list[Record]:
        """Read what the capture wrote since the last call; returns the new records."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # an incomplete last line waits for the next poll
        new = [json.loads(line) for line in lines if line.strip()]
        self.records.extend(new)
        return new

    def stop(self) -> None:
        """Stop by PID: SIGTERM (the probe flushes and exits), SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        netns.stop(proc, timeout=2)
        if proc.stderr:
            proc.stderr.close()
        self.poll()

    # -- queries -------------------------------------------------------------------------

    def select(
        self,
        kind: str | None = None,
        since: float | None = None,
        until: float | None = None,
        **fields: Any,
    ) -> list[Record]:
        """Records of `kind` within [since, until] whose fields equal the given values."""
        self.poll()
        out = []
        for r in self.records:
            if kind is not None and r.get("kind") != kind:
                continue
            if since is not None and r["t"] < since:
                continue
            if until is not None and r["t"] > until:
                continue
            if all(r.get(k) == v for k, v in fields.items()):
                out.append(r)
        return out

    def adverts(self, **kw: Any) -> list[Record]:
        return self.select("carp", **kw)

    def garps(self, **kw: Any) -> list[Record]:
        return self.select("arp", garp=True, **kw)

    def arp_replies(self, ip: str, **kw: Any) -> list[Record]:
        return self.select("arp", op=2, sender_ip=ip, **kw)

    def wait_for(
        self, pred: Predicate, timeout: float, since: float | None = None
    ) -> Record | None:
        """The first record (at or after `since`) satisfying pred, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        seen = 0  # each record is looked at once, however long the capture grows
        while True:
            self.poll()
            for r in self.records[seen:]:
                if (since is None or r["t"] >= since) and r.get("kind") != "ready" and pred(r):
                    return r
            seen = len(self.records)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)
