/**
 * The command line: options, their help text, and parsing into a CliConfig.
 *
 * @module
 */

import { CPU_MODES, type CpuMode } from "../arch/x86_64/modes.ts";
import { DEFAULT_LOAD_ADDRESS, DEFAULT_MEM_SIZE, MIN_MEM_SIZE } from "../arch/x86_64/layout.ts";
import { ConfigError } from "../vmm/config_error.ts";
import { parseAddress, parseSize } from "../vmm/sizes.ts";
import { BOOT_PROTOCOLS, type BootProtocol, DEFAULT_LINUX_MEM_SIZE } from "../api/linux_options.ts";
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
    "3 KVM unavailable, 124 timeout, 128+N stopped by signal N, 70 internal error (a bug).",
    "Linux: 0 after reboot or poweroff. Environment: MICROVMM_KVM_DEVICE overrides /dev/kvm.",
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

/** An option's name. */
type OptionName = keyof typeof OPTIONS;

/** The options given: a string for value-taking options, true for flags. */
type OptionValues = {
  -readonly [Name in OptionName]?: (typeof OPTIONS)[Name]["type"] extends "string" ? string
    : boolean;
};

/**
 * Joins each value-taking option with the argument after it (`--mem -5` → `--mem=-5`), as getopt
 * does, so a value starting with "-" is taken as the value and the value's own check then says
 * what is wrong with it.
 */
function joinOptionValues(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") return [...joined, ...args.slice(i)];
    const name = arg.slice(2);
    const takesValue = arg.startsWith("--") && Object.hasOwn(OPTIONS, name) &&
      OPTIONS[name as OptionName].type === "string";
    if (takesValue && i + 1 < args.length) {
      joined.push(`${arg}=${args[++i]}`);
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** The option whose short form is `letter`, if any. */
function shortOption(letter: string): OptionName | undefined {
  return (Object.keys(OPTIONS) as OptionName[]).find((name) => {
    const option = OPTIONS[name];
    return "short" in option && option.short === letter;
  });
}

/**
 * Splits `args` (after {@link joinOptionValues}) into options and positionals, with the rules and
 * messages of node:util's strict `parseArgs` (which this replaces: loading Deno's Node layer
 * costs several milliseconds of start-up): `--name=value`, `--name` for flags, `-h` and groups
 * like `-hV`, "--" ending the options, and "-" alone a positional.
 */
function tokenize(args: string[]): { values: OptionValues; positionals: string[] } {
  const values: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  const queue = [...args];
  /** Checks one option against OPTIONS and records it; `raw` is how it was written. */
  const store = (name: string, raw: string, value: string | undefined) => {
    if (!Object.hasOwn(OPTIONS, name)) throw new ConfigError(`Unknown option '${raw}'`);
    const option = OPTIONS[name as OptionName];
    const flag = `${"short" in option ? `-${option.short}, ` : ""}--${name}`;
    if (option.type === "string" && value === undefined) {
      throw new ConfigError(`Option '${flag} <value>' argument missing`);
    }
    if (option.type === "boolean" && value !== undefined) {
      throw new ConfigError(`Option '${flag}' does not take an argument`);
    }
    values[name] = value ?? true;
  };
  while (queue.length > 0) {
    const arg = queue.shift()!;
    if (arg === "--") {
      positionals.push(...queue);
      break;
    }
    if (arg.length < 2 || arg[0] !== "-") {
      positionals.push(arg);
    } else if (arg[1] !== "-") {
      if (arg.length === 2) {
        store(shortOption(arg[1]) ?? arg[1], arg, undefined);
      } else {
        // A group of short flags: "-hV" is "-h -V" (no short option takes a value).
        queue.unshift(...arg.slice(1).split("").map((letter) => `-${letter}`));
      }
    } else if (arg.includes("=", 3)) {
      const name = arg.slice(2, arg.indexOf("="));
      store(name, `--${name}`, arg.slice(arg.indexOf("=") + 1));
    } else {
      // joinOptionValues gave a value-taking option its value, unless it was the last argument.
      store(arg.slice(2), arg, undefined);
    }
  }
  return { values: values as OptionValues, positionals };
}

function parse(commandLine: string[]): CliConfig {
  let parsed;
  try {
    parsed = tokenize(joinOptionValues(commandLine));
  } catch (error) {
    // One line: an argument may hold a newline.
    throw new ConfigError((error as Error).message.split("\n")[0]);
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
  values: OptionValues,
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
