/**
 * The `microvmm` command: parse the command line, build the VM, run it, report, exit status.
 *
 * @module
 */

import hello from "../../guests/hello.bin" with { type: "bytes" };
import { Vm } from "../api/vm.ts";
import { KvmError, KvmUnsupportedError } from "../kvm/error.ts";
import { DEFAULT_KVM_PATH } from "../kvm/kvm.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { EXIT_STATUS } from "../vmm/exit_status.ts";
import { isCrash } from "../vmm/stop_reason.ts";
import { parseCommandLine, usage, UsageError } from "./args.ts";
import { readGuestFile } from "./guest_file.ts";
import { stdinSource } from "./stdin_source.ts";

/** The version `--version` prints. */
export const VERSION = "0.1.0";

/** Exit status for a bug in microvmm itself (EX_SOFTWARE). */
export const INTERNAL_ERROR_STATUS = 70;

const encoder = new TextEncoder();

/** The errno of an ioctl on a file that is not the device it expects (e.g. /dev/null). */
const ENOTTY = 25;

function printError(line: string): void {
  Deno.stderr.writeSync(encoder.encode(`microvmm: ${line}\n`));
}

/** True for the calls that fail when guest RAM is too large for the host (mmap, memslot). */
function isGuestRamCall(call: string): boolean {
  return /^mmap of \d+ bytes of guest memory$/.test(call) || call === "KVM_SET_USER_MEMORY_REGION";
}

function kvmAdvice(error: KvmError, path: string): string {
  if (error.errno === 2) return `Cannot open ${path}: no such device (is KVM enabled and loaded?)`;
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

/** Runs the command line `args` and returns the process exit status. Prints; never throws. */
export function runCli(args: string[]): number {
  const kvmPath = Deno.env.get("MICROVMM_KVM_DEVICE") || DEFAULT_KVM_PATH;
  try {
    const config = parseCommandLine(args);
    if (config.help) {
      console.log(usage());
      return EXIT_STATUS.OK;
    }
    if (config.version) {
      console.log(`microvmm ${VERSION} (${buildKind()}, deno ${Deno.version.deno})`);
      return EXIT_STATUS.OK;
    }
    const image = config.guestPath === undefined
      ? hello
      : readGuestFile(config.guestPath, config.memSize);
    let vm: Vm;
    try {
      vm = new Vm({ memory: config.memSize, mode: config.mode, kvmPath, input: stdinSource() });
    } catch (error) {
      if (error instanceof KvmError && error.call.startsWith("open ")) {
        printError(kvmAdvice(error, kvmPath));
        return EXIT_STATUS.KVM_UNAVAILABLE;
      }
      if (error instanceof KvmError && isGuestRamCall(error.call)) {
        printError(
          `--mem: this host cannot map ${config.memSize} bytes of guest RAM (${error.message})`,
        );
        return EXIT_STATUS.USAGE;
      }
      if (error instanceof KvmError && error.errno === ENOTTY) {
        printError(`Cannot use ${kvmPath}: it is not a KVM device (${error.call} failed: ENOTTY)`);
        return EXIT_STATUS.KVM_UNAVAILABLE;
      }
      if (error instanceof KvmError) {
        printError(`KVM is not usable: ${error.message}`);
        return EXIT_STATUS.KVM_UNAVAILABLE;
      }
      throw error;
    }
    using _vm = vm;
    vm.entry = config.entry;
    vm.load(image, config.load);
    const result = vm.run({ timeout: config.timeout });
    if (isCrash(result.stop)) {
      Deno.stderr.writeSync(encoder.encode(vm.crashReport(result.stop) + "\n"));
    } else if (result.stop.kind === "timeout") {
      printError(`guest timed out after ${config.timeout} s`);
    }
    if (config.trace) {
      Deno.stderr.writeSync(encoder.encode(`microvmm trace: ${result.exits.format()}\n`));
    }
    return result.status;
  } catch (error) {
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
