"""carpd(8): command line, privilege check, start-up order.

    carpd [-d] [-H dir] [-R dir] [--metrics addr:port]
                                 run in the foreground (systemd Type=notify)
    carpd -n [-R dir]            print what the boot configuration would do, and exit
    carpd --personality NAME     set the store's personality (openbsd|freebsd|netbsd), exit
    carpd status [--json]        every vhid on one screen (carp/status_cmd.py)

Start-up order matters: the boot configuration is replayed into the store, leftovers of a
previous carpd are removed, and the watchdog is forked -- all before asyncio and pyroute2
are imported, so the watchdog stays small.
"""

from __future__ import annotations

import argparse
import fcntl
import importlib
import io
import os
import sys
import time
from pathlib import Path

from carp.daemon import caps
from carp.daemon.syslog import Logger

TYPE_CHECKING = False
if TYPE_CHECKING:
    from carp.store import Store

PID_FILE = "carpd.pid"
LOCK_WAIT = 3.0  # a dying predecessor's watchdog may still hold the lock for a moment


def build_parser() -> argparse.ArgumentParser:
    """carpd's options (also read by the test that carpd.8 documents each of them)."""
    p = argparse.ArgumentParser(
        prog="carpd", description="userland CARP daemon",
        epilog="carpd status [--json]: every vhid of this host on one screen (carpd.8, STATUS)",
    )
    p.add_argument("-d", action="store_true", dest="debug", help="debug logging to stderr")
    p.add_argument("-n", action="store_true", dest="check",
                   help="check the boot configuration, print what it would do, exit")
    p.add_argument("-H", metavar="DIR", dest="hooks", help="state-change hooks directory")
    p.add_argument("-R", "--root", metavar="DIR", dest="root",
                   help="read the boot files under DIR (DIR/etc/...) instead of /")
    p.add_argument("--rtprio", metavar="PRIO", type=_rtprio,
                   help="run the protocol at SCHED_FIFO priority PRIO (1-99)")
    p.add_argument("--mlock", action="store_true",
                   help="lock carpd's memory (mlockall): never paged out")
    p.add_argument("--trace", metavar="FILE",
                   help="append timing events of advertisements to FILE (benchmarks)")
    p.add_argument(
        "--metrics", metavar="ADDR:PORT",
        help="serve Prometheus metrics on ADDR:PORT (PORT alone: 127.0.0.1; off by default)",
    )
    p.add_argument(
        "--personality", metavar="NAME",
        help="set the store's personality (openbsd|freebsd|netbsd) and exit",
    )
    return p


def _rtprio(text: str) -> int:
    from carp.daemon.tuning import RTPRIO_RANGE

    try:
        prio = int(text)
    except ValueError:
        prio = 0
    if prio not in RTPRIO_RANGE:
        raise argparse.ArgumentTypeError(f"{text}: not a priority from 1 to 99")
    return prio


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def check_privileges() -> str | None:
    """One line naming what is missing, or None (CAP_BPF, which only load balancing
    needs, is named when an interface is balanced: carp/daemon/lbfilter.py)."""
    missing = caps.missing_caps(caps.own_caps())
    if not missing:
        return None
    who = "not running as root; " if os.geteuid() != 0 else ""
    noun = "capability" if len(missing) == 1 else "capabilities"
    return f"carpd: {who}missing {noun} {' and '.join(missing)}"


def _bootconf():  # type: ignore[no-untyped-def]
    """carp.bootconf (hostname.if / rc.conf replay), loaded only by the start and by -n."""
    return importlib.import_module("carp.bootconf")


def set_personality(name: str) -> int:
    """`carpd --personality NAME`: the one documented way to switch after creation."""
    from carp.personality_switch import UnknownPersonality
    from carp.personality_switch import set_personality as store_personality
    from carp.store import Store, StoreError

    try:
        store_personality(Store(), name)  # also tells a running carpd
    except UnknownPersonality as exc:
        print(f"carpd: {exc}", file=sys.stderr)
        return 1
    except (StoreError, OSError) as exc:
        print(f"carpd: {exc}", file=sys.stderr)
        return 1
    print(f"personality: {name.strip().lower()}")
    return 0


def boot_root(arg: str | None) -> tuple[Path, str | None]:
    """The root the boot files are read under, and a one-line error if it is unusable.

    bootconf reads a missing file as empty, so a mistyped root (or the copied etc itself
    given instead of the directory above it) would silently plan nothing."""
    if arg is None:
        return Path("/"), None
    root = Path(arg)
    if not root.is_dir():
        return root, f"carpd: -R {arg}: no such directory"
    if not (root / "etc").is_dir():
        return root, (f"carpd: -R {arg}: no etc directory in it "
                      "(give the directory that holds etc/)")
    return root, None


def check_boot(root: Path = Path("/")) -> int:
    boot = _bootconf()
    try:
        for step in boot.plan(root):
            print(step)
    except Exception as exc:
        print(f"carpd: boot configuration: {exc}", file=sys.stderr)
        return 1
    return 0


def replay_boot(store_path: Path, log: Logger, root: Path = Path("/")) -> None:
    """Replay hostname.if / rc.conf (under `root`) into a store that does not exist yet.

    The store is kernel memory (cleared at reboot): its absence means this is the first
    carpd since boot.  A restarted carpd keeps what the admin configured at run time."""
    boot = _bootconf()
    if store_path.exists():
        if root != Path("/"):  # -R was asked for: say why it had no effect
            log.info(f"boot configuration under {root} not replayed: {store_path} exists")
        return
    out, err = io.StringIO(), io.StringIO()
    try:
        boot.replay(boot.plan(root), stdout=out, stderr=err)
    except Exception as exc:  # a broken boot file must not keep carp down
        log.error(f"boot configuration: {exc}")
    for line in out.getvalue().splitlines():
        log.info(f"boot: {line}")
    for line in err.getvalue().splitlines():
        log.error(f"boot: {line}")


def set_aside_stale(store: Store, log: Logger) -> None:
    """A store left by an earlier incarnation of this host (another boot, a namespace
    deleted and made again under the same name) is moved aside, never deleted: this is a
    new host, and its boot configuration is replayed."""
    from carp.store import SET_ASIDE, StoreError

    try:
        moved = store.set_aside_stale()
    except (StoreError, OSError) as exc:
        log.error(f"cannot check the store: {exc}")  # the start reports it too
        return
    if moved is not None:
        where, why = moved
        log.warning(f"{store.file}: {why}: {SET_ASIDE} {where}")


def lock_pidfile(rundir: Path) -> int | None:
    """One carpd per store: an flock'ed pid file (inherited by the watchdog on purpose,
    so a successor waits until a dead carpd's watchdog has cleaned up)."""
    rundir.mkdir(parents=True, exist_ok=True)
    # 0600: any user who could open it could flock it and keep carpd from starting
    fd = os.open(rundir / PID_FILE, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    if os.fstat(fd).st_mode & 0o077:
        os.fchmod(fd, 0o600)  # made by an older version
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                return None
            time.sleep(0.05)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["status"]:  # a command, not an option: it is carpd's own state
        from carp.status_cmd import main as status_main

        return status_main(argv[1:])
    args = parse_args(argv)
    if args.personality is not None:
        return set_personality(args.personality)
    root, bad_root = boot_root(args.root)
    if bad_root:  # before anything starts: a daemon must not come up without its config
        print(bad_root, file=sys.stderr)
        return 1
    if args.check:
        return check_boot(root)
    if args.metrics is not None:
        from carp.daemon.metrics import parse_listen

        try:
            parse_listen(args.metrics)
        except ValueError as exc:
            print(f"carpd: --metrics {exc}", file=sys.stderr)
            return 1
    problem = check_privileges()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    from carp.daemon import tuning, watchdog
    from carp.daemon.trace import Trace
    from carp.store import Store

    try:
        trace = Trace(args.trace) if args.trace else None
    except OSError as exc:
        print(f"carpd: --trace {args.trace}: {exc.strerror}", file=sys.stderr)
        return 1
    # before the watchdog is forked: a child inherits neither (SCHED_RESET_ON_FORK)
    problem = tuning.apply(args.rtprio, args.mlock)
    if problem:
        print(problem, file=sys.stderr)
        return 1

    log = Logger(debug=args.debug)
    store = Store()
    lock = lock_pidfile(store.rundir)
    if lock is None:
        print(f"carpd: already running for {store.rundir}", file=sys.stderr)
        return 1
    set_aside_stale(store, log)
    replay_boot(store.path, log, root)
    leftovers = watchdog.delete_tagged()
    if leftovers:
        log.info(f"removed interfaces left by a previous carpd: {', '.join(leftovers)}")
    hooks_dir = Path(args.hooks or os.environ.get("CARP_HOOKS_DIR") or "/etc/carp/hooks.d")
    wd_pid, wd_fd = watchdog.start(log.warning)  # it logs the hooks it kills

    import asyncio  # after the fork: the watchdog never pays for these

    from carp.daemon.loop import Daemon

    clean = False
    try:
        daemon = Daemon(store, hooks_dir, log, watchdog.Link(wd_fd), metrics_listen=args.metrics,
                        trace=trace)
        code = asyncio.run(daemon.run())
        clean = True
        return code
    finally:
        if clean:  # interfaces already removed: tell the watchdog to leave quietly
            watchdog.stop(wd_pid, wd_fd)
        else:  # crashed: EOF makes the watchdog remove what we leave behind
            os.close(wd_fd)
        os.close(lock)  # the pid file stays: its flock, not its existence, is the lock


if __name__ == "__main__":
    sys.exit(main())
