#!/bin/sh
# Installs carp for Linux under $DESTDIR$PREFIX for a host whose root is /: no file
# written names $DESTDIR, so a staged tree (make deb) moves to its real root as it is.
#
#   $PREFIX/lib/carp-for-linux/python/      carp, sysctl and their dependencies
#   $PREFIX/sbin/carpd                      the daemon
#   $PREFIX/lib/carp-for-linux/bsd/sbin/    the BSD ifconfig, sysctl, netstat: never on
#                                           PATH unless the admin puts them there, so
#                                           procps' and net-tools' commands stay as they are
#   $PREFIX/lib/carp-for-linux/bsd/share/man/man8/   their man pages (man-db finds them
#                                           through PATH: ../share/man of a PATH entry)
#   $PREFIX/share/man/man4/carp.4, man8/carpd.8, $UNITDIR/carpd.service, /etc/carp/hooks.d
#   and, when the checkout has examples/, the examples, disabled (carpd(8) HOOKS)
#
# Environment: DESTDIR, PREFIX (/usr/local), PIP_PYTHON (runs pip; must be the same
# Python version as RUNTIME_PYTHON, as netifaces is a C extension), RUNTIME_PYTHON
# (/usr/bin/python3, the launchers' interpreter), UNITDIR (/etc/systemd/system),
# WHEELS (build/wheels: kept, so a later build works without the package index),
# BYTECOMPILE (1; make deb leaves that to its postinst).
set -eu
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
PIP_PYTHON=${PIP_PYTHON:-python3}
RUNTIME_PYTHON=${RUNTIME_PYTHON:-/usr/bin/python3}
UNITDIR=${UNITDIR:-/etc/systemd/system}
WHEELS=${WHEELS:-build/wheels}
BYTECOMPILE=${BYTECOMPILE:-1}

libdir=$PREFIX/lib/carp-for-linux
pydir=$libdir/python
bsddir=$libdir/bsd
pip="$PIP_PYTHON -m pip --disable-pip-version-check -q"

# netifaces is built for PIP_PYTHON's version: the launchers' interpreter must match it.
minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }
if [ "$(minor "$PIP_PYTHON")" != "$(minor "$RUNTIME_PYTHON")" ]; then
  echo "install.sh: $PIP_PYTHON is Python $(minor "$PIP_PYTHON"), $RUNTIME_PYTHON" \
    "$(minor "$RUNTIME_PYTHON"): the C extension would not load" >&2
  exit 1
fi

# pip wheel --no-build-isolation needs bdist_wheel: the wheel package (the dev extra) or a
# setuptools of 70.1 or later
if ! "$PIP_PYTHON" -c 'import wheel' 2>/dev/null &&
   ! "$PIP_PYTHON" -c 'import setuptools.command.bdist_wheel' 2>/dev/null; then
  echo "install.sh: $PIP_PYTHON cannot build wheels: pip install wheel (make does)" >&2
  exit 1
fi

# 1. Ours, built afresh; the dependencies' wheels that an earlier build left in $WHEELS
# when they satisfy setup.cfg (so a build repeats itself, offline too), else the index's.
mkdir -p "$WHEELS"
$pip wheel --no-build-isolation --no-deps --no-index --wheel-dir "$WHEELS" . >&2
install_from_wheels() {
  rm -rf "$DESTDIR$pydir"
  $pip install --no-index --find-links "$WHEELS" --no-compile --target "$DESTDIR$pydir" \
    carp-for-linux
}
if ! install_from_wheels 2>/dev/null; then
  $pip wheel --no-build-isolation --wheel-dir "$WHEELS" . >&2
  install_from_wheels
fi
rm -rf "$DESTDIR${pydir:?}/bin"  # pip's console scripts name the build's interpreter
if [ "$BYTECOMPILE" = 1 ]; then
  # -s: the .pyc files name the installed path, not the staging one
  "$RUNTIME_PYTHON" -m compileall -q -s "$DESTDIR" -p / "$DESTDIR$pydir" >/dev/null
fi

# 2. Launchers: -I keeps PYTHONPATH and the user's site-packages out of a root daemon.
launcher() {  # NAME MODULE DIR
  install -d "$DESTDIR$3"
  cat > "$DESTDIR$3/$1" <<EOF
#!$RUNTIME_PYTHON -I
# $1 of carp for Linux: its modules and their dependencies are in $pydir
import sys
sys.path.insert(0, "$pydir")
from $2 import main
sys.exit(main())
EOF
  chmod 755 "$DESTDIR$3/$1"
}
launcher carpd carp.daemon.main "$PREFIX/sbin"
launcher ifconfig carp.ifconfig.cli "$bsddir/sbin"
launcher sysctl sysctl.cli "$bsddir/sbin"
launcher netstat carp.netstat "$bsddir/sbin"

# 3. Man pages, the systemd unit, the hooks directory.
install -d "$DESTDIR$PREFIX/share/man/man4" "$DESTDIR$PREFIX/share/man/man8" \
  "$DESTDIR$bsddir/share/man/man8" "$DESTDIR$UNITDIR" "$DESTDIR/etc/carp/hooks.d"
install -m 644 man/carp.4 "$DESTDIR$PREFIX/share/man/man4/"
install -m 644 man/carpd.8 "$DESTDIR$PREFIX/share/man/man8/"
install -m 644 man/ifconfig.8 man/sysctl.8 man/netstat.8 "$DESTDIR$bsddir/share/man/man8/"
sed "s|@SBINDIR@|$PREFIX/sbin|" systemd/carpd.service > "$DESTDIR$UNITDIR/carpd.service"
chmod 644 "$DESTDIR$UNITDIR/carpd.service"

# 4. The examples, disabled: carpd never runs a NAME.example, and the health check's
# timer is not enabled (nor its service able to run without the script). Its PATH puts
# the BSD front ends first: the script speaks BSD.
if [ -d examples ]; then
  install -m 644 examples/hooks.d/*.example "$DESTDIR/etc/carp/hooks.d/"
  install -m 644 examples/carp-healthcheck.example "$DESTDIR/etc/carp/"
  sed "s|@SBINDIR@|$bsddir/sbin|" examples/systemd/carp-healthcheck.service \
    > "$DESTDIR$UNITDIR/carp-healthcheck.service"
  install -m 644 examples/systemd/carp-healthcheck.timer "$DESTDIR$UNITDIR/"
  chmod 644 "$DESTDIR$UNITDIR/carp-healthcheck.service"
fi
