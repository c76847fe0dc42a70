/**
 * `microvmm --kernel ...`: boot Linux with the terminal as its serial console.
 *
 * @module
 */

import { LINUX_SLICE_MS, LINUX_WOKEN_SLICE_MS, LinuxVm } from "../api/linux_vm.ts";
import type { RunResult } from "../api/vm.ts";
import type { CliConfig, LinuxConfig } from "./args.ts";
import { enterRawMode, EscapedInput, EscapeFilter } from "./console_input.ts";
import { ImageFile, openImageFile } from "./guest_file.ts";
import { wakeOnInput } from "./input_wake.ts";
import { stdinSource } from "./stdin_source.ts";

/** The most read of a kernel that is not a regular file (a pipe, a device): 1 GiB. */
const MAX_KERNEL_FILE = 2 ** 30;

/** What a Linux run ended with, for the caller to report. */
export interface LinuxRun {
  vm: LinuxVm;
  result: RunResult;
  /** The user typed Ctrl-A x. */
  quit: boolean;
}

/**
 * Boots the kernel of `linux` and runs it until it stops or `stop` aborts (the caller's signal
 * handling). The terminal is in raw mode (if it is one) only while the guest runs. The caller
 * disposes the returned VM (on failure it is disposed here).
 */
export async function runLinux(
  config: CliConfig,
  linux: LinuxConfig,
  kvmPath: string,
  stop: AbortSignal,
): Promise<LinuxRun> {
  // Regular files are read at offsets, straight into guest RAM, and closed once the VM is built.
  // An ELF vmlinux holds sections that are never loaded: the loader, not the file size, checks RAM.
  const kernel = await openImageFile(linux.kernelPath, "kernel", MAX_KERNEL_FILE, {
    loaderChecksSize: true,
    stop,
  });
  using _kernelFile = kernel instanceof ImageFile ? kernel : undefined;
  const initrd = linux.initrdPath === undefined
    ? undefined
    : await openImageFile(linux.initrdPath, "initrd", config.memSize, { stop });
  using _initrdFile = initrd instanceof ImageFile ? initrd : undefined;
  let quit = false;
  // Escapes are seen as soon as they are typed, whether or not the guest takes input.
  const input = new EscapedInput(
    stdinSource(),
    new EscapeFilter(() => {
      quit = true;
      guest.abort();
    }),
  );
  const guest: LinuxVm = new LinuxVm({
    kernel,
    initrd,
    cmdline: linux.cmdline,
    memory: config.memSize,
    boot: linux.boot,
    cpuidMask: linux.cpuidMask,
    kvmPath,
    input: input.next,
    eagerOutput: Deno.stdout.isTerminal(),
  });
  _kernelFile?.[Symbol.dispose]();
  _initrdFile?.[Symbol.dispose]();
  const restore = enterRawMode();
  // Typed input signals the vCPU thread, so the slices can be long without making input wait.
  using wake = wakeOnInput();
  try {
    const result = await guest.run({
      timeout: config.timeout,
      signal: stop,
      sliceMs: wake.active ? LINUX_WOKEN_SLICE_MS : LINUX_SLICE_MS,
      tick: () => input.pump(),
    });
    return { vm: guest, result, quit };
  } catch (error) {
    guest[Symbol.dispose]();
    throw error;
  } finally {
    restore();
  }
}
