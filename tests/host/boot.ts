/**
 * Boots the nested test host in QEMU (TCG, AMD SVM exposed, `-M microvm`), streams its serial
 * console live, enforces an overall timeout and collects what the console said.
 * @module
 */

import { ConsoleWatch, LineSplitter, type RunEnd } from "./result.ts";

/** What to boot and how. */
export interface BootOptions {
  /** The qemu-system-x86_64 binary. */
  qemu: string;
  /** The ELF vmlinux (PVH entry) to boot. */
  kernel: string;
  /** The initrd (concatenated cpio archives). */
  initrd: string;
  /** Host directory shared read-only as the 9p tag `hostroot` (the host's `/`). */
  shareRoot: string;
  /** Guest memory in MiB. */
  memMiB: number;
  /** Virtual CPUs. */
  cpus: number;
  /** Overall timeout, seconds. */
  timeoutSeconds: number;
  /** Drop `quiet` from the kernel command line. */
  verbose: boolean;
  /** Copy the console's bytes here as they arrive, partial lines too (undefined: don't). */
  echoConsole?: (bytes: Uint8Array) => void;
  /** Copy QEMU's own messages (stderr) here, a line at a time (undefined: don't). */
  echo?: (line: string) => void;
}

/**
 * The kernel command line: serial console, reboot (so QEMU exits, with -no-reboot) on panic, and
 * a fixed TSC frequency (without it the kernel sometimes hangs calibrating the TSC under TCG).
 */
export function kernelCmdline(verbose: boolean): string {
  return [
    "console=ttyS0",
    "panic=-1",
    "reboot=t",
    "tsc_early_khz=2300000",
    "tsc=reliable",
    ...(verbose ? [] : ["quiet"]),
  ].join(" ");
}

/** QEMU's arguments for a boot. */
export function qemuArgs(o: BootOptions): string[] {
  return [
    ...["-accel", "tcg", "-cpu", "EPYC-Rome,+svm", "-smp", String(o.cpus), "-m", String(o.memMiB)],
    ...["-M", "microvm,x-option-roms=off,rtc=on", "-nographic", "-no-reboot"],
    ...["-kernel", o.kernel, "-initrd", o.initrd, "-append", kernelCmdline(o.verbose)],
    "-fsdev",
    `local,id=hostroot,path=${o.shareRoot},security_model=none,readonly=on,multidevs=remap`,
    ...["-device", "virtio-9p-device,fsdev=hostroot,mount_tag=hostroot"],
  ];
}

/** QEMU's warnings about CPU features TCG lacks: expected, summarised in one line. */
function isTcgFeatureWarning(line: string): boolean {
  return line.includes("TCG doesn't support requested feature");
}

/** Boots, waits for QEMU to exit or the timeout, and returns what happened. */
export async function boot(o: BootOptions, nonce: string): Promise<RunEnd & { startedAt: number }> {
  const watch = new ConsoleWatch(nonce);
  const startedAt = performance.now();
  const child = new Deno.Command(o.qemu, {
    args: qemuArgs(o),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, o.timeoutSeconds * 1000);

  let tcgWarnings = 0;
  const pump = async (stream: ReadableStream<Uint8Array>, isErr: boolean): Promise<void> => {
    const split = new LineSplitter();
    const handle = (line: string): void => {
      if (isErr && isTcgFeatureWarning(line)) {
        tcgWarnings++;
        return;
      }
      watch.line(line);
      if (isErr) o.echo?.(`qemu: ${line}`);
    };
    for await (const chunk of stream) {
      // The console goes out as it comes, so a test that hangs shows its name ("name ...").
      if (!isErr) o.echoConsole?.(chunk);
      split.push(chunk).forEach(handle);
    }
    split.flush().forEach(handle);
  };

  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, false),
    pump(child.stderr, true),
  ]);
  clearTimeout(timer);
  if (tcgWarnings > 0) {
    o.echo?.(`qemu: (${tcgWarnings} warnings about EPYC-Rome features TCG lacks, not shown)`);
  }
  return {
    watch,
    timedOut,
    qemuCode: status.signal === null ? status.code : undefined,
    timeoutSeconds: o.timeoutSeconds,
    startedAt,
  };
}
