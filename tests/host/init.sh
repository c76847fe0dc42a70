#!/bin/busybox sh
# /init of the nested test host (tests/host/nested.ts). Mounts the basics, loads the KVM modules,
# mounts the host's root read-only over virtio-9p under a tmpfs overlay, chroots into it, runs
# /nested/cmd in the project directory and prints one result line, then powers off.
# Files in /nested/ are written per run by tests/host/initramfs.ts.

export PATH=/bin
N=/nested
NONCE=$(cat $N/nonce)

result() { # result STATUS [REASON]: the one line tests/host/result.ts parses, then power off.
  echo "NESTED-RESULT nonce=$NONCE status=$1${2:+ reason=$2}"
  sync
  poweroff -f
  reboot -f
}
fail() { echo "nested-init: $*"; result 125 "$(echo "$1" | tr ' ' '_')"; }
stage() { echo "NESTED-STAGE $1 uptime=$(cut -d' ' -f1 /proc/uptime)"; }

mount -t proc proc /proc || fail "mount proc"
mount -t sysfs sys /sys || fail "mount sysfs"
mount -t devtmpfs dev /dev || fail "mount devtmpfs"
mount -t tmpfs -o mode=1777 tmp /tmp || fail "mount tmpfs"
stage init

for m in $(cat $N/modules); do
  insmod "/lib/modules/$m" || fail "insmod $m"
done
stage modules
[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd"
grep -qw svm /proc/cpuinfo || fail "no svm flag in /proc/cpuinfo"

# The host's root, read-only, with a tmpfs on top so that the project tree and DENO_DIR are writable
# (and /tmp: it is not replaced, in case the project lives there).
mkdir -p /host /rw /root
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=524288 hostroot /host ||
  fail "mount 9p hostroot"
mount -t tmpfs -o mode=0755 rw /rw || fail "mount tmpfs rw"
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /root ||
  fail "mount overlay"
mount -t proc proc /root/proc || fail "mount proc in root"
mount -t sysfs sys /root/sys || fail "mount sysfs in root"
mount -t devtmpfs dev /root/dev || fail "mount devtmpfs in root"
mkdir -p /root/dev/pts /root/dev/shm
mount -t devpts devpts /root/dev/pts
mount -t tmpfs -o mode=1777 shm /root/dev/shm
mount -t tmpfs -o mode=0755 run /root/run || fail "mount run in root"
mkdir -p /root/run/nested && cp $N/cmd $N/env /root/run/nested/ || fail "copy command"
stage mounted

# The command runs with a clean environment from /nested/env (sourced) in the project directory,
# stdin from /dev/null (the console is a terminal: a permission prompt would wait for ever).
env -i /bin/busybox chroot /root /bin/sh -c \
  '. /run/nested/env && cd "$NESTED_CWD" && exec /bin/sh /run/nested/cmd </dev/null'
status=$?
stage done
result $status
