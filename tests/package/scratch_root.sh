#!/bin/sh
# Usage: unshare --mount --net --pid --fork --propagation private \
#          sh scratch_root.sh DEB INSIDE ARGS...
# A scratch root: an overlayfs over / whose upper directory is a tmpfs, with its own
# /proc, /sys, /run and /tmp, in which INSIDE runs chrooted: `INSIDE /tmp/DEB ARGS...`. Nothing
# reaches the real root filesystem; when this script (PID 1 of its namespace) ends, the
# kernel ends every process left, and the mounts and the network namespace go with it.
set -eu
deb=$1
inside=$2
shift 2
mount -t tmpfs -o mode=755 scratch /mnt
mkdir /mnt/upper /mnt/work /mnt/root
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
r=/mnt/root
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"  # this network namespace's interfaces
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=755 run "$r/run"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
cp "$deb" "$inside" "$r/tmp/"
exec chroot "$r" /bin/sh /tmp/"${inside##*/}" /tmp/"${deb##*/}" "$@"
