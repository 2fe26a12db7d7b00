#!/bin/busybox sh
# /init of the lab's dom0 initramfs: bring up a minimal Xen 4.17 dom0
# (modules, xenfs, xenstored, xen-init-dom0, xenconsoled), mount the host's
# 9p share, unpack the project overlay from it, run the scenario agent (Deno)
# until it asks to stop, power off.
#
# Kernel command line parameters read here:
#   xenmig_root=PATH   where the overlay puts the project's sources (the
#                      host's path, so the DENO_DIR warmed there stays valid)
#   lab_noagent        stop at a shell-less idle loop instead of the agent
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LD_LIBRARY_PATH=/usr/lib/xen-4.17/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu
export HOME=/root TMPDIR=/tmp

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp /root /mnt/lab
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
ln -sfn /run /var/run
exec </dev/console >/dev/console 2>&1

up() { cut -d' ' -f1 /proc/uptime; }
mark() { echo "@@LAB $* uptime=$(up)"; }
param() { sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
mark init-start

while read -r m; do
    [ -n "$m" ] && { insmod "/lib/modules/$m" || echo "insmod $m failed"; }
done < /lib/modules/load-order

mkdir -p /proc/xen /run/xen /run/xenstored /var/lib/xen /var/lib/xenstored /var/log/xen/console
mount -t xenfs xenfs /proc/xen || echo "mount xenfs failed"
xenstored --pid-file /run/xenstored.pid || echo "xenstored failed rc=$?"
i=0
while [ ! -S /run/xenstored/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
xen-init-dom0 || echo "xen-init-dom0 failed rc=$?"
xenconsoled --log=guest --log-dir=/var/log/xen/console --timestamp=guest \
    --pid-file=/run/xenconsoled.pid || echo "xenconsoled failed rc=$?"
ip link set lo up
mark dom0-ready

mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 lab /mnt/lab || echo "9p lab share failed"
# The project's sources (at the host's path) and a warmed DENO_DIR, as one
# cpio: Deno reading hundreds of files over 9p is what is slow.
ROOT=$(param xenmig_root)
dd if=/mnt/lab/overlay.cpio bs=1M 2>/dev/null | (cd / && cpio -idm 2>/dev/null) ||
    echo "unpacking the overlay failed"
chmod 1777 /tmp
export XENMIG_ROOT="$ROOT" DENO_DIR=/tmp/deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
cat > /usr/local/bin/xenmig <<EOF
#!/bin/sh
exec deno run -A --no-lock --cached-only "$ROOT/cli/main.ts" "\$@"
EOF
chmod 755 /usr/local/bin/xenmig
mark overlay-ready

if ! grep -q lab_noagent /proc/cmdline; then
    # The agent exits 0 when the host asks it to stop; anything else is a
    # crash (under TCG deno has been seen to die now and then): restart it.
    for attempt in 1 2 3; do
        mark "agent-start attempt=$attempt"
        deno run -A --no-lock --cached-only "$ROOT/tests/xen/dom0/agent.ts" /mnt/lab
        rc=$?
        mark "agent-exit rc=$rc"
        [ $rc = 0 ] && break
        dmesg | tail -n 5
    done
else
    while :; do sleep 3600; done
fi

sync
umount /mnt/lab 2>/dev/null
mark done
echo "@@DONE"
reboot -f
