#!/bin/sh
# Usage: unshare --mount --net --pid --fork --kill-child --propagation private \
#          sh scratch_root.sh DEB INSIDE CHECKOUT
# A scratch root: an overlayfs over / whose upper directory is a tmpfs, with its own
# /proc, /sys, /run and /tmp and CHECKOUT read-only at /checkout, in which INSIDE runs
# chrooted: `INSIDE /tmp/DEB /checkout`. Nothing reaches the real root filesystem; when
# this script (PID 1 of its namespace) ends, the kernel ends every process left, and the
# mounts and the network namespace go with it.
set -eu
deb=${1##*/}
inside=${2##*/}
exec 3<"$1" 4<"$2"
cd "$3"  # opened before /mnt is mounted over: CHECKOUT, DEB or INSIDE may be below it
mount -t tmpfs -o mode=755 scratch /mnt
mkdir /mnt/upper /mnt/work /mnt/root
mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/upper,workdir=/mnt/work /mnt/root
r=/mnt/root
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"  # this network namespace's interfaces
mount --rbind /dev "$r/dev"
mount -t tmpfs -o mode=755 run "$r/run"
mount -t tmpfs -o mode=1777 tmp "$r/tmp"
cat <&3 > "$r/tmp/$deb"
cat <&4 > "$r/tmp/$inside"
exec 3<&- 4<&-
mkdir "$r/checkout"
mount --bind . "$r/checkout"
mount -o remount,bind,ro "$r/checkout"
cd /
exec chroot "$r" /bin/sh "/tmp/$inside" "/tmp/$deb" /checkout
