/**
 * The command line: options, their help text, and parsing into a CliConfig.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CPU_MODES, type CpuMode } from "../arch/x86_64/modes.ts";
import { DEFAULT_LOAD_ADDRESS, DEFAULT_MEM_SIZE, MIN_MEM_SIZE } from "../arch/x86_64/layout.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { parseAddress, parseSize } from "../vmm/sizes.ts";
import { BOOT_PROTOCOLS, type BootProtocol, DEFAULT_LINUX_MEM_SIZE } from "../api/linux_vm.ts";
import { parseCpuidMask } from "../arch/x86_64/cpuid.ts";

/** A command-line mistake (unknown option, bad value): reported with a pointer to --help. */
export class UsageError extends ConfigError {
  /** Builds the error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** What the command line asked for. */
export interface CliConfig {
  /** The guest image path, or undefined for the embedded hello guest. */
  guestPath?: string;
  mode: CpuMode;
  memSize: number;
  load: number;
  entry: number;
  /** Seconds, or undefined for no limit. */
  timeout?: number;
  trace: boolean;
  help: boolean;
  version: boolean;
  /** Set when --kernel is given: boot Linux instead of a flat guest. */
  linux?: LinuxConfig;
}

/** The Linux boot part of the command line. */
export interface LinuxConfig {
  kernelPath: string;
  initrdPath?: string;
  cmdline?: string;
  boot: BootProtocol;
  cpuidMask?: string;
}

/** The options, each with its value name and help line: the usage text is built from this. */
export const OPTIONS = {
  mode: { type: "string", value: "MODE", help: `CPU mode: ${CPU_MODES.join(", ")} (default real)` },
  mem: {
    type: "string",
    value: "SIZE",
    help: "guest RAM, e.g. 2M, 64M, 1G (default 2M; Linux 256M)",
  },
  load: { type: "string", value: "ADDR", help: "guest-physical load address (default 0x1000)" },
  entry: { type: "string", value: "ADDR", help: "entry point (default: the load address)" },
  kernel: { type: "string", value: "FILE", help: "boot Linux: an ELF vmlinux or a bzImage" },
  initrd: { type: "string", value: "FILE", help: "initrd/initramfs for --kernel" },
  cmdline: {
    type: "string",
    value: "TEXT",
    help: "kernel command line (default: console=ttyS0 reboot=k panic=1 ...)",
  },
  boot: {
    type: "string",
    value: "PROTO",
    help: "Linux entry: auto (PVH if the vmlinux has it), pvh, linux64",
  },
  "cpuid-mask": {
    type: "string",
    value: "LIST",
    help: "CPUID features to hide from Linux, e.g. xsave,avx,cx16",
  },
  timeout: { type: "string", value: "SECONDS", help: "stop the guest after SECONDS (exit 124)" },
  trace: { type: "boolean", help: "print exit counts by reason and port on stderr at the end" },
  help: { type: "boolean", short: "h", help: "show this help and exit" },
  version: { type: "boolean", short: "V", help: "show the version and exit" },
} as const;

/** The usage text shown by --help. */
export function usage(): string {
  const lines = [
    "Usage: microvmm [options] [guest.bin]",
    "       microvmm --kernel vmlinux|bzImage [--initrd FILE] [--cmdline TEXT] [options]",
    "",
    "Runs a flat x86 guest binary under KVM (with no guest.bin, the built-in hello guest),",
    "or boots Linux with the terminal as its serial console (Ctrl-A x quits).",
    "",
    "Options:",
  ];
  for (const [name, option] of Object.entries(OPTIONS)) {
    const short = "short" in option ? `-${option.short}, ` : "    ";
    const flag = `${short}--${name}${"value" in option ? ` ${option.value}` : ""}`;
    lines.push(`  ${flag.padEnd(22)} ${option.help}`);
  }
  lines.push(
    "",
    "Guest ports: 0xf1 and 0xe9 print bytes, 0xf4 exits with the value written, COM1 at 0x3f8.",
    "Exit status: the guest's (port 0xf4), 0 on HLT, 1 guest crash, 2 bad usage or input,",
    "3 KVM unavailable, 124 timeout, 128+N killed by signal N. Linux: 0 after reboot or",
    "poweroff. Environment: MICROVMM_KVM_DEVICE overrides /dev/kvm.",
  );
  return lines.join("\n");
}

/** Parses `args`; throws a UsageError with a one-line message on bad usage. */
export function parseCommandLine(args: string[]): CliConfig {
  try {
    return parse(args);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Joins each value-taking option with the argument after it (`--mem -5` → `--mem=-5`), as getopt
 * does: parseArgs alone refuses values starting with "-" as "ambiguous", and the value's own
 * check then says what is wrong with it.
 */
function joinOptionValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return [...joined, ...args.slice(i)];
    const name = arg.slice(2);
    const takesValue = arg.startsWith("--") && Object.hasOwn(OPTIONS, name) &&
      OPTIONS[name as keyof typeof OPTIONS].type === "string";
    if (takesValue && i + 1 < args.length) {
      joined.push(`${arg}=${args[++i]}`);
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function parse(commandLine: string[]): CliConfig {
  const args = joinOptionValues(commandLine);
  let parsed;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new ConfigError((error as Error).message.split("\n")[0].replace(/\. To specify.*$/, ""));
  }
  const { values, positionals } = parsed;
  const linux = parseLinux(values, positionals);
  if (positionals.length > 1) {
    throw new ConfigError(
      `expected at most one guest file, got ${positionals.length}: ${positionals.join(" ")}`,
    );
  }
  const mode = values.mode ?? "real";
  if (!(CPU_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(`--mode: unknown mode "${mode}" (use ${CPU_MODES.join(", ")})`);
  }
  const defaultMem = linux ? DEFAULT_LINUX_MEM_SIZE : DEFAULT_MEM_SIZE;
  const memSize = values.mem === undefined ? defaultMem : parseSize(values.mem, "--mem");
  if (memSize < MIN_MEM_SIZE) {
    throw new ConfigError(`--mem: "${values.mem}" is too small (at least 64K)`);
  }
  if (memSize % 4096 !== 0) throw new ConfigError(`--mem: "${values.mem}" is not a multiple of 4K`);
  const load = values.load === undefined
    ? DEFAULT_LOAD_ADDRESS
    : parseAddress(values.load, "--load");
  const entry = values.entry === undefined ? load : parseAddress(values.entry, "--entry");
  let timeout: number | undefined;
  if (values.timeout !== undefined) {
    timeout = Number(values.timeout);
    if (!/^\d+(\.\d+)?$/.test(values.timeout.trim()) || !(timeout > 0)) {
      throw new ConfigError(`--timeout: "${values.timeout}" is not a positive number of seconds`);
    }
  }
  return {
    guestPath: positionals[0],
    mode: mode as CpuMode,
    memSize,
    load,
    entry,
    timeout,
    trace: values.trace ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
    linux,
  };
}

const FLAT_ONLY = ["mode", "load", "entry"] as const;
const LINUX_ONLY = ["initrd", "cmdline", "boot", "cpuid-mask"] as const;

/** The Linux part of the command line, or undefined without --kernel; checks conflicts. */
function parseLinux(
  values: Partial<Record<keyof typeof OPTIONS, string | boolean>>,
  positionals: string[],
): LinuxConfig | undefined {
  if (values.kernel === undefined) {
    const stray = LINUX_ONLY.find((name) => values[name] !== undefined);
    if (stray) throw new ConfigError(`--${stray} needs --kernel`);
    return undefined;
  }
  const conflict = FLAT_ONLY.find((name) => values[name] !== undefined);
  if (conflict) {
    throw new ConfigError(`--${conflict} is for flat guests and cannot be combined with --kernel`);
  }
  if (positionals.length > 0) {
    throw new ConfigError(
      `--kernel boots Linux: a guest file (${positionals[0]}) cannot be given too`,
    );
  }
  const boot = (values.boot ?? "auto") as string;
  if (!(BOOT_PROTOCOLS as readonly string[]).includes(boot)) {
    throw new ConfigError(
      `--boot: unknown boot protocol "${boot}" (use ${BOOT_PROTOCOLS.join(", ")})`,
    );
  }
  if (values["cpuid-mask"] !== undefined) parseCpuidMask(values["cpuid-mask"] as string);
  return {
    kernelPath: values.kernel as string,
    initrdPath: values.initrd as string | undefined,
    cmdline: values.cmdline as string | undefined,
    boot: boot as BootProtocol,
    cpuidMask: values["cpuid-mask"] as string | undefined,
  };
}
