/**
 * Builds the small initramfs the Linux boot tests give their guest: busybox-static and an /init
 * that prints a marker, echoes one line read from the console, and powers off.
 *
 * @module
 */

import { CpioWriter, gzip, S_IFDIR } from "../host/cpio.ts";

/** The line /init prints once userspace runs. */
export const INIT_MARKER = "MICROVMM-INIT-OK";

/** The /init script: marker, then one line from the console echoed back, then poweroff. */
export const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo ${INIT_MARKER}
echo "kernel $(/bin/busybox uname -r)"
read -r line
echo "echo: $line"
/bin/busybox poweroff -f
`;

/** Returns a gzip'd newc cpio with `busybox` (a static binary) and the init script. */
export function buildTestInitramfs(busybox: Uint8Array, init: string = INIT_SCRIPT): Uint8Array {
  const cpio = new CpioWriter();
  for (const dir of ["bin", "dev", "proc", "sys", "tmp"]) {
    cpio.dir(dir, dir === "tmp" ? 0o1777 : 0o755);
  }
  cpio.chardev("dev/console", 5, 1);
  cpio.file("bin/busybox", busybox, 0o755);
  cpio.symlink("bin/sh", "busybox");
  cpio.file("init", init, 0o755);
  void S_IFDIR;
  return gzip(cpio.finish(), 6);
}
