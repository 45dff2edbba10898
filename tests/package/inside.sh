#!/bin/sh
# Usage: inside.sh DEB CHECKOUT. Run by scratch_root.sh in the scratch root, in a
# network namespace of its own (eth0 is one end of a veth pair): install DEB, use it,
# purge it. Each fact is printed under a "== name" line for test_deb.py to check;
# CHECKOUT's carp.daemon.ebpf counts the eBPF programs on eth0's tcx ingress hook.
set -u
deb=$1
checkout=$2
BSD=/usr/lib/carp-for-linux/bsd/sbin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
section() { echo "== $1"; }
# carpd, its watchdog, its metrics process (python3 -m carp.daemon.metrics_server)
carpd_pids() { grep -lsE 'carp(d|[.]daemon)' /proc/[0-9]*/cmdline | cut -d/ -f3 | sort -n; }
metrics() {
  python3 -c "import time, urllib.request
for _ in range(100):
    try:
        print(urllib.request.urlopen('http://127.0.0.1:9798/metrics', timeout=5).read().decode())
        break
    except OSError:
        time.sleep(0.1)"
}
carp_files() {
  find / -xdev \( -path /tmp -o -path /checkout \) -prune -o -name '*carp*' -print | sort
}
tcx_ingress() {
  python3 -c "import sys; sys.path.insert(0, sys.argv[1])
from carp.daemon.ebpf import TCX_INGRESS, tcx_program_count
print(tcx_program_count(int(sys.argv[2]), TCX_INGRESS))" \
    "$checkout" "$(cat "/sys/class/net/$1/ifindex")"
}
facts() {  # what must be gone after the purge
  section "$1 processes"; carpd_pids
  section "$1 macvlans"; ip -o link show type macvlan | cut -d: -f2
  section "$1 filters"; tcx_ingress eth0
  section "$1 rundir"; ls /run/carp 2>&1
}

ip link set lo up
ip link add eth0 type veth peer name eth1
ip link set eth1 up
ip link set eth0 up
ip addr add 192.0.2.2/24 dev eth0
before=$(carp_files)
# a boot file carpd replays at start (the carp(4) example's form)
echo "inet 192.0.2.10 255.255.255.0 192.0.2.255 vhid 1 carpdev eth0 pass secret" \
  > /etc/hostname.carp0
echo "net.inet.carp.preempt=1" >> /etc/sysctl.conf

section install; dpkg -i "$deb" 2>&1; echo "status $?"
section "carpd -n"; carpd -n 2>&1; echo "status $?"
section "ifconfig -a"; "$BSD/ifconfig" -a 2>&1; echo "status $?"
# the package owning sysctl (/sbin or, usr-merged, /usr/sbin), and a Linux name via the BSD one
section "linux sysctl"
dpkg -S /sbin/sysctl /usr/sbin/sysctl 2>/dev/null | cut -d: -f1 | sort -u
PATH=$BSD:$PATH sysctl -n kernel.ostype 2>&1
section "man carp"; man -w 4 carp 2>&1
section "man ifconfig"; PATH=$BSD:$PATH man -w ifconfig 2>&1

carpd --metrics 127.0.0.1:9798 >/tmp/carpd.log 2>&1 &
for _ in $(seq 300); do [ -S /run/carp/carpd.sock ] && break; sleep 0.1; done
"$BSD/ifconfig" carp1 create
"$BSD/ifconfig" carp1 carpdev eth0 carpnodes 5:0,6:100 balancing ip 192.0.2.20/24
for _ in $(seq 300); do
  "$BSD/ifconfig" carp0 | grep -q MASTER && "$BSD/ifconfig" carp1 | grep -q MASTER && break
  sleep 0.1
done
# an upgrade (here to the same version) leaves a carpd started by hand running
section reinstall; dpkg -i "$deb" 2>&1; echo "status $?"
section "sysctl preempt"; "$BSD/sysctl" net.inet.carp.preempt 2>&1
section carp0; "$BSD/ifconfig" carp0 2>&1
section carp1; "$BSD/ifconfig" carp1 2>&1
section "carpd status"; carpd status 2>&1
section metrics; metrics | grep '^carp_vhid_state'
facts running

section purge; dpkg --purge carp-for-linux 2>&1; echo "status $?"
facts purged
section "files left"; carp_files | grep -vxF "$before" | grep -vx /etc/hostname.carp0
section "carpd log"; cat /tmp/carpd.log
