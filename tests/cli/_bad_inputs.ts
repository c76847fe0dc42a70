/**
 * Every bad input of the microvmm command with the one stderr line and status it must give: run
 * by tests/cli/bad_input_test.ts, rendered into tests/reliability/BAD_INPUT.md.
 *
 * @module
 */

/** Stands for a fresh fixture directory in arguments, environment values and lines. */
export const DIR = "<dir>";
/** A sysfs attribute of mode 0444: sysfs refuses to open it for writing, even for root. */
export const READ_ONLY_SYSFS = "/sys/devices/system/cpu/online";

/** One bad input and what microvmm must answer. */
export interface BadInput {
  /** The group it belongs to (one test and one table section each). */
  group: string;
  /** What is wrong, in words. */
  name: string;
  /** microvmm's arguments; {@link DIR} is replaced by the fixture directory. */
  args: string[];
  /** Extra environment variables ({@link DIR} replaced in values). */
  env?: Record<string, string>;
  /** The one stderr line after "microvmm: " ({@link DIR} replaced). */
  line: string;
  /** The exit status. */
  status: number;
  /** Run as root the guest runs instead and prints this (root reads mode-000 files). */
  rootRuns?: string;
  /** Holds only on a kvm-pvm host (a real KVM runs the guest). */
  pvmOnly?: boolean;
  /** Kill microvmm after this many seconds (default 60). */
  killAfter?: number;
}

/** Creates the files the rows name under `dir` (DIR). */
export function createBadInputFiles(dir: string, hello: Uint8Array): void {
  Deno.writeFileSync(`${dir}/empty.bin`, new Uint8Array(0));
  Deno.writeFileSync(`${dir}/big.bin`, new Uint8Array(70 * 1024));
  Deno.writeFileSync(`${dir}/tight.bin`, new Uint8Array(0xf001).fill(0xf4));
  Deno.writeFileSync(`${dir}/unreadable.bin`, hello);
  Deno.chmodSync(`${dir}/unreadable.bin`, 0o000);
  Deno.symlinkSync(`${dir}/loop.bin`, `${dir}/loop.bin`);
}

const HELP = "(see microvmm --help)";
const HELLO = "guests/hello.bin";
type Row = Omit<BadInput, "group" | "status">;
/** A row: `name`, microvmm `args`, the stderr `line`, and any other fields. */
const row = (name: string, args: string[], line: string, more: Partial<Row> = {}): Row => ({
  name,
  args,
  line,
  ...more,
});
/** The rows of `group`, all with `status`. */
const group = (name: string, status: number, list: Row[]) =>
  list.map((r): BadInput => ({ group: name, status, ...r }));
const notSize = (v: string) =>
  row(
    `--mem ${v || '""'}`,
    ["--mem", v, HELLO],
    `--mem: "${v}" is not a size (use e.g. 2M, 64M, 1G) ${HELP}`,
  );
const notAddress = (option: string, v: string) =>
  row(
    `--${option} ${v}`,
    [`--${option}`, v, HELLO],
    `--${option}: "${v}" is not an address (use e.g. 0x1000 or 4096) ${HELP}`,
  );
const notSeconds = (v: string) =>
  row(
    `--timeout ${v}`,
    ["--timeout", v, HELLO],
    `--timeout: "${v}" is not a positive number of seconds ${HELP}`,
  );
const overlap = (range: string, area: string) =>
  `Cannot load guest: ${range} overlaps the VMM area ${area} (GDT, page tables, stack); use a ` +
  "smaller image, a lower --load or more --mem";
const REAL_MODE_1M = "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode";
const NO_KVM = { env: { MICROVMM_KVM_DEVICE: "/nonexistent" } };
const kvm = (device: string) => ({ env: { MICROVMM_KVM_DEVICE: device } });

/** The rows, in table order. */
export const BAD_INPUTS: BadInput[] = [
  ...group("guest files", 2, [
    row(
      "a missing file",
      [`${DIR}/missing.bin`],
      `Cannot read guest file '${DIR}/missing.bin': no such file`,
    ),
    row(
      "an empty file",
      [`${DIR}/empty.bin`],
      `Cannot load guest file '${DIR}/empty.bin': it is empty`,
    ),
    row("a directory", [DIR], `Cannot read guest file '${DIR}': it is a directory`),
    row(
      "a path through a regular file (fails even for root)",
      [`${HELLO}/x`],
      `Cannot read guest file '${HELLO}/x': not a directory`,
    ),
    row(
      "a symbolic link loop (fails even for root)",
      [`${DIR}/loop.bin`],
      `Cannot read guest file '${DIR}/loop.bin': too many levels of symbolic links`,
    ),
    row(
      "a mode-000 file (as root: the guest runs, root reads any file)",
      [`${DIR}/unreadable.bin`],
      `Cannot read guest file '${DIR}/unreadable.bin': permission denied`,
      { rootRuns: "Hello\n" },
    ),
    row(
      "a file larger than RAM",
      ["--mem", "64K", `${DIR}/big.bin`],
      `Cannot load guest file '${DIR}/big.bin': 71680 bytes do not fit in 65536 bytes of RAM`,
    ),
    row(
      "a file that fits in RAM but not above the load address",
      ["--mem", "64K", `${DIR}/tight.bin`],
      "Cannot load guest: 61441 bytes at 0x1000 do not fit in 65536 bytes of RAM",
    ),
    row(
      "an endless device like /dev/zero (read only up to the RAM size)",
      ["--mem", "64K", "/dev/zero"],
      "Cannot load guest file '/dev/zero': it holds more than the 65536 bytes of RAM",
      { killAfter: 15 },
    ),
    row(
      "/dev/null, which is empty",
      ["/dev/null"],
      "Cannot load guest file '/dev/null': it is empty",
    ),
  ]),
  ...group("option values", 2, [
    ...["1x", "-5", "1.5M", "", "--trace"].map(notSize),
    row("--mem 0", ["--mem", "0", HELLO], `--mem: "0" is too small (at least 64K) ${HELP}`),
    row("--mem 3K", ["--mem", "3K", HELLO], `--mem: "3K" is too small (at least 64K) ${HELP}`),
    row(
      "--mem 65537, not a whole number of pages",
      ["--mem", "65537", HELLO],
      `--mem: "65537" is not a multiple of 4K ${HELP}`,
    ),
    row(
      "--mem 99999999999G, beyond any number of bytes",
      ["--mem", "99999999999G", HELLO],
      `--mem: "99999999999G" is too large ${HELP}`,
    ),
    row(
      "--mem 4000000G, more than the host's address space (mmap fails)",
      ["--mem", "4000000G", HELLO],
      "--mem: this host cannot map 4294967296000000 bytes of guest RAM (mmap of " +
        "4294967296000000 bytes of guest memory failed: ENOMEM (Cannot allocate memory))",
    ),
    row(
      "--mem 20000G, more than KVM maps in one memory slot",
      ["--mem", "20000G", HELLO],
      "--mem: this host cannot map 21474836480000 bytes of guest RAM " +
        "(KVM_SET_USER_MEMORY_REGION failed: EINVAL (Invalid argument))",
    ),
    ...["load", "entry"].flatMap((option) => ["xyz", "-1", "0x"].map((v) => notAddress(option, v))),
    row(
      "--load 0x1000000000000000, above 2^52",
      ["--load", "0x1000000000000000", HELLO],
      `--load: "0x1000000000000000" is too large ${HELP}`,
    ),
    ...["0", "abc", "-1", "1e3"].map(notSeconds),
  ]),
  ...group("guest placement", 2, [
    row(
      "an image overlapping the VMM area (protected mode, --mem 64K)",
      ["--mem", "64K", "--mode", "protected", "guests/hello_protected.bin"],
      overlap("0x1000-0x105c", "0x0-0xffff"),
    ),
    row(
      "an image loaded into the VMM area (long mode, --load 0x1f0000 of 2M)",
      ["--mode", "long", "--load", "0x1f0000", "guests/hello_long.bin"],
      overlap("0x1f0000-0x1f006b", "0x1f0000-0x1fffff"),
    ),
    row(
      "a load address past the end of RAM",
      ["--load", "0x200000", HELLO],
      "Cannot load guest: 25 bytes at 0x200000 do not fit in 2097152 bytes of RAM",
    ),
    row(
      "an entry point outside RAM",
      ["--mode", "protected", "--entry", "0x300000", "guests/hello_protected.bin"],
      "Cannot start guest: entry 0x300000 is outside RAM (2097152 bytes)",
    ),
    row("a real-mode --entry at 1 MiB", ["--entry", "0x100000", HELLO], REAL_MODE_1M),
    row(
      "a real-mode --load at 1 MiB (the entry defaults to it)",
      ["--load", "0x100000", HELLO],
      REAL_MODE_1M,
    ),
    row(
      "long mode with more RAM than the VMM area's page tables map",
      ["--mode", "long", "--mem", "14G", "guests/hello_long.bin"],
      "Cannot map 15032385536 bytes of RAM in long mode: at most 13 GiB",
    ),
  ]),
  ...group("command line", 2, [
    row(
      "an unknown --mode",
      ["--mode", "foo"],
      `--mode: unknown mode "foo" (use real, protected, paged, long) ${HELP}`,
    ),
    row("an unknown long option", ["--bogus"], `Unknown option '--bogus' ${HELP}`),
    row("an unknown short option", ["-x"], `Unknown option '-x' ${HELP}`),
    row(
      "an option missing its value",
      ["--mode"],
      `Option '--mode <value>' argument missing ${HELP}`,
    ),
    row(
      "a value given to a flag",
      ["--trace=yes"],
      `Option '--trace' does not take an argument ${HELP}`,
    ),
    row(
      "two guest files",
      ["a.bin", "b.bin"],
      `expected at most one guest file, got 2: a.bin b.bin ${HELP}`,
    ),
    row(
      "bad usage is reported even when KVM is missing",
      ["--bogus"],
      `Unknown option '--bogus' ${HELP}`,
      NO_KVM,
    ),
    row(
      "a missing guest file is reported even when KVM is missing",
      ["missing.bin"],
      "Cannot read guest file 'missing.bin': no such file",
      NO_KVM,
    ),
  ]),
  ...group("Linux options", 2, [
    row("--initrd without --kernel", ["--initrd", "x"], `--initrd needs --kernel ${HELP}`),
    row("--cmdline without --kernel", ["--cmdline", "x"], `--cmdline needs --kernel ${HELP}`),
    row(
      "--mode with --kernel",
      ["--kernel", "k", "--mode", "long"],
      `--mode is for flat guests and cannot be combined with --kernel ${HELP}`,
    ),
    row(
      "a guest file with --kernel",
      ["--kernel", "k", HELLO],
      `--kernel boots Linux: a guest file (${HELLO}) cannot be given too ${HELP}`,
    ),
    row(
      "an unknown --boot",
      ["--kernel", "k", "--boot", "bios"],
      `--boot: unknown boot protocol "bios" (use auto, pvh, linux64) ${HELP}`,
    ),
    row(
      "a missing kernel",
      ["--kernel", `${DIR}/missing`],
      `Cannot read kernel '${DIR}/missing': no such file`,
    ),
    row(
      "an empty kernel",
      ["--kernel", "/dev/null"],
      "Cannot load kernel '/dev/null': it is empty",
    ),
    row(
      "a kernel that is neither an ELF vmlinux nor a bzImage",
      ["--kernel", HELLO],
      "Cannot boot Linux: kernel: not an ELF vmlinux or a bzImage (no ELF magic, no HdrS)",
    ),
    row(
      "a missing initrd",
      ["--kernel", HELLO, "--initrd", `${DIR}/missing`],
      `Cannot read initrd '${DIR}/missing': no such file`,
    ),
    row(
      "too little RAM for Linux",
      ["--kernel", HELLO, "--mem", "1M"],
      "Cannot boot Linux in 1048576 bytes of RAM: give it at least 32M",
    ),
  ]),
  ...group("KVM devices", 3, [
    row(
      "MICROVMM_KVM_DEVICE names a missing device",
      [],
      "Cannot open /nonexistent: no such device (is KVM enabled and loaded?)",
      NO_KVM,
    ),
    row(
      "MICROVMM_KVM_DEVICE=/dev/null: a device that is not KVM",
      [HELLO],
      "Cannot use /dev/null: it is not a KVM device (KVM_GET_API_VERSION failed: ENOTTY)",
      kvm("/dev/null"),
    ),
    row(
      "MICROVMM_KVM_DEVICE names a directory",
      [],
      `KVM is not usable: open ${DIR} failed: EISDIR (Is a directory)`,
      kvm(DIR),
    ),
    row(
      "MICROVMM_KVM_DEVICE names a read-only sysfs file (refused even for root)",
      [],
      `Cannot open ${READ_ONLY_SYSFS}: permission denied (join the kvm group or run as root)`,
      kvm(READ_ONLY_SYSFS),
    ),
    row(
      "32-bit paging on kvm-pvm, which refuses it (a real KVM runs the guest)",
      ["--mode", "paged", "guests/hello_paged.bin"],
      "Cannot start guest in paged mode: this KVM dropped CR0.PG (kvm-pvm supports paging " +
        "only in long mode)",
      { pvmOnly: true },
    ),
  ]),
];

/** `row` with {@link DIR} replaced by `dir` everywhere. */
export function resolveBadInput(row: BadInput, dir: string): BadInput {
  const fill = (text: string) => text.replaceAll(DIR, dir);
  return {
    ...row,
    args: row.args.map(fill),
    env: row.env && Object.fromEntries(Object.entries(row.env).map(([k, v]) => [k, fill(v)])),
    line: fill(row.line),
  };
}
