/**
 * The `microvmm` command: parse the command line, build the VM, run it, report, exit status.
 *
 * @module
 */

import hello from "../../guests/hello.bin" with { type: "bytes" };
import { Vm } from "../api/vm.ts";
import { KvmError, KvmUnsupportedError } from "../kvm/error.ts";
import { DEFAULT_KVM_PATH } from "../kvm/kvm.ts";
import { ENOENT } from "../kvm/ffi.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { EXIT_STATUS } from "../vmm/exit_status.ts";
import { isCrash, type StopReason } from "../vmm/stop_reason.ts";
import { type CliConfig, parseCommandLine, usage, UsageError } from "./args.ts";
import type { RunResult } from "../api/vm.ts";
import type * as LinuxCli from "./linux_cli.ts";
import { STOP_SIGNALS, type StopSignal, watchStopSignals } from "./signals.ts";
import { readGuestFile, ReadStopped } from "./guest_file.ts";
import { stdinSource } from "./stdin_source.ts";

/** The version `--version` prints. */
export const VERSION = "0.1.0";

/**
 * The Linux boot path (a third of the modules), imported only for `--kernel`. The specifier is
 * computed on purpose: `deno run` loads and prepares every literal `import("...")` target at
 * start-up (measured: no faster than a static import), so a flat guest would pay for it anyway.
 * `deno compile` therefore needs `--include lib/cli/linux_cli.ts` (scripts/build.sh passes it).
 */
const LINUX_CLI = new URL("./linux_cli.ts", import.meta.url).href;

/** Exit status for a bug in microvmm itself (EX_SOFTWARE). */
export const INTERNAL_ERROR_STATUS = 70;

const encoder = new TextEncoder();

/** The errno of an ioctl on a file that is not the device it expects (e.g. /dev/null). */
const ENOTTY = 25;

function printError(line: string): void {
  // One line, always: a newline inside (say, from an option's value) is shown as \n.
  Deno.stderr.writeSync(encoder.encode(`microvmm: ${line.replaceAll("\n", "\\n")}\n`));
}

/** True for the calls that fail when guest RAM is too large for the host (mmap, memslot). */
function isGuestRamCall(call: string): boolean {
  return /^mmap of \d+ bytes of guest memory$/.test(call) || call === "KVM_SET_USER_MEMORY_REGION";
}

function kvmAdvice(error: KvmError, path: string): string {
  if (error.errno === ENOENT) {
    return `Cannot open ${path}: no such device (is KVM enabled and loaded?)`;
  }
  if (error.errno === 13) {
    return `Cannot open ${path}: permission denied (join the kvm group or run as root)`;
  }
  return `KVM is not usable: ${error.message}`;
}

/** How this microvmm runs: "standalone binary" (deno compile), "launcher" or "deno run". */
export function buildKind(): string {
  if (Deno.env.get("MICROVMM_LAUNCHER") === "1") return "launcher";
  return import.meta.url.includes("/deno-compile-") ? "standalone binary" : "deno run";
}

/** Maps a KvmError from creating a VM to its message and exit status, or undefined. */
function kvmFailure(
  error: unknown,
  kvmPath: string,
  memSize: number,
): [string, number] | undefined {
  if (!(error instanceof KvmError)) return undefined;
  if (error.call.startsWith("open ")) {
    return [kvmAdvice(error, kvmPath), EXIT_STATUS.KVM_UNAVAILABLE];
  }
  if (isGuestRamCall(error.call)) {
    return [
      `--mem: this host cannot map ${memSize} bytes of guest RAM (${error.message})`,
      EXIT_STATUS.USAGE,
    ];
  }
  if (error.errno === ENOTTY) {
    return [
      `Cannot use ${kvmPath}: it is not a KVM device (${error.call} failed: ENOTTY)`,
      EXIT_STATUS.KVM_UNAVAILABLE,
    ];
  }
  return [`KVM is not usable: ${error.message}`, EXIT_STATUS.KVM_UNAVAILABLE];
}

/** Prints how a run ended (crash report, timeout, trace) and returns its exit status. */
function report(
  result: RunResult,
  config: CliConfig,
  crashReport: (stop: StopReason) => string,
  signal: StopSignal | undefined,
): number {
  if (signal !== undefined) {
    printError(`stopped by ${signal}`);
  } else if (isCrash(result.stop)) {
    Deno.stderr.writeSync(encoder.encode(crashReport(result.stop) + "\n"));
  } else if (result.stop.kind === "timeout") {
    printError(`guest timed out after ${config.timeout} s`);
  }
  printTrace(result, config);
  return signal !== undefined ? 128 + STOP_SIGNALS[signal] : result.status;
}

/** With --trace, the exit counts of `result` on stderr. */
function printTrace(result: RunResult, config: CliConfig): void {
  if (config.trace) {
    Deno.stderr.writeSync(encoder.encode(`microvmm trace: ${result.exits.format()}\n`));
  }
}

/**
 * Watches the stop signals from before the VM is built (a signal while a big kernel loads still
 * stops cleanly): each aborts `stopping`, which the run takes as its AbortSignal; a second Ctrl-C
 * exits at once with 130.
 */
function watchForStop(stopping: AbortController) {
  return watchStopSignals(() => stopping.abort(), () => {
    printError("second SIGINT: quitting at once");
    Deno.exit(128 + STOP_SIGNALS.SIGINT);
  });
}

/** Runs the command line `args` and returns the process exit status. Prints; never throws. */
export async function runCli(args: string[]): Promise<number> {
  const kvmPath = Deno.env.get("MICROVMM_KVM_DEVICE") || DEFAULT_KVM_PATH;
  let memSize = 0;
  let stoppedBy = (): StopSignal | undefined => undefined;
  try {
    const config = parseCommandLine(args);
    memSize = config.memSize;
    if (config.help) {
      console.log(usage());
      return EXIT_STATUS.OK;
    }
    if (config.version) {
      console.log(`microvmm ${VERSION} (${buildKind()}, deno ${Deno.version.deno})`);
      return EXIT_STATUS.OK;
    }
    const stopping = new AbortController();
    using signals = watchForStop(stopping);
    stoppedBy = () => signals.received;
    if (config.linux) {
      const { runLinux }: typeof LinuxCli = await import(LINUX_CLI);
      const run = await runLinux(config, config.linux, kvmPath, stopping.signal);
      using _vm = run.vm;
      if (run.quit) {
        printError("quit (Ctrl-A x)");
        printTrace(run.result, config);
        return EXIT_STATUS.OK;
      }
      return report(run.result, config, (stop) => run.vm.crashReport(stop), signals.received);
    }
    const image = config.guestPath === undefined
      ? hello
      : await readGuestFile(config.guestPath, config.memSize, stopping.signal);
    using vm = new Vm({ memory: config.memSize, mode: config.mode, kvmPath, input: stdinSource() });
    vm.entry = config.entry;
    vm.load(image, config.load);
    const result = await vm.runAsync({ timeout: config.timeout, signal: stopping.signal });
    return report(result, config, (stop) => vm.crashReport(stop), signals.received);
  } catch (error) {
    const signal = stoppedBy();
    if (error instanceof ReadStopped && signal !== undefined) {
      // A stop signal while a FIFO or device was still being read (no writer yet, say).
      printError(`stopped by ${signal}`);
      return 128 + STOP_SIGNALS[signal];
    }
    const failure = kvmFailure(error, kvmPath, memSize);
    if (failure) {
      printError(failure[0]);
      return failure[1];
    }
    if (error instanceof ConfigError) {
      printError(
        error instanceof UsageError ? `${error.message} (see microvmm --help)` : error.message,
      );
      return EXIT_STATUS.USAGE;
    }
    if (error instanceof KvmUnsupportedError) {
      printError(error.message);
      return EXIT_STATUS.KVM_UNAVAILABLE;
    }
    printError(`internal error: ${(error as Error)?.message ?? error}`);
    return INTERNAL_ERROR_STATUS;
  }
}
