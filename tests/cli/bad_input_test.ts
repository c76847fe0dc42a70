/**
 * The microvmm command refuses bad guest files, bad options and an unusable KVM with exactly one
 * stderr line, nothing on stdout, no stack trace, and status 2 (bad input) or 3 (KVM).
 *
 * @module
 */

import {
  assertOneLineError,
  assertRun,
  type CliCase,
  type CliOptions,
  GUESTS,
  runCases,
  TempDir,
} from "./_run.ts";

const HELP = "(see microvmm --help)";

/** A case whose run must fail with the single stderr line `microvmm: <line>` and `status`. */
function refused(
  name: string,
  args: string[],
  line: string | RegExp,
  status = 2,
  options?: CliOptions,
): CliCase {
  const expected = typeof line === "string" ? `microvmm: ${line}` : line;
  return { name, args, options, check: (run) => assertOneLineError(run, expected, status) };
}

/** `text` with regular-expression characters escaped. */
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

Deno.test("microvmm refuses a guest file it cannot use, with one line and status 2", async (t) => {
  using tmp = new TempDir();
  const missing = `${tmp.path}/missing.bin`;
  const empty = tmp.file("empty.bin", []);
  const big = tmp.file("big.bin", new Uint8Array(70 * 1024));
  const tight = tmp.file("tight.bin", new Uint8Array(0xf001).fill(0xf4));
  const unreadable = tmp.file("unreadable.bin", Deno.readFileSync(`${GUESTS}/hello.bin`));
  Deno.chmodSync(unreadable, 0o000);
  const loop = `${tmp.path}/loop.bin`;
  Deno.symlinkSync(loop, loop);
  const hello = "guests/hello.bin";
  const cases: CliCase[] = [
    refused("a missing file", [missing], `Cannot read guest file '${missing}': no such file`),
    refused("an empty file", [empty], `Cannot load guest file '${empty}': it is empty`),
    refused("a directory", [tmp.path], `Cannot read guest file '${tmp.path}': it is a directory`),
    refused(
      "a path through a regular file (fails even for root)",
      [`${hello}/x`],
      `Cannot read guest file '${hello}/x': not a directory`,
    ),
    refused(
      "a symbolic link loop (fails even for root)",
      [loop],
      `Cannot read guest file '${loop}': too many levels of symbolic links`,
    ),
    refused(
      "a file larger than RAM",
      ["--mem", "64K", big],
      `Cannot load guest file '${big}': 71680 bytes do not fit in 65536 bytes of RAM`,
    ),
    refused(
      "a file that fits in RAM but not above the load address",
      ["--mem", "64K", tight],
      "Cannot load guest: 61441 bytes at 0x1000 do not fit in 65536 bytes of RAM",
    ),
    refused(
      "an endless device like /dev/zero is read only up to the RAM size",
      ["--mem", "64K", "/dev/zero"],
      "Cannot load guest file '/dev/zero': it holds more than the 65536 bytes of RAM",
      2,
      { killAfter: 15 },
    ),
    refused("/dev/null is empty", ["/dev/null"], "Cannot load guest file '/dev/null': it is empty"),
  ];
  if (Deno.uid() === 0) {
    // Tests run as root here, and root reads a mode-000 file anyway (CAP_DAC_OVERRIDE): the
    // guest runs. The two cases above are the unreadable files that fail for root too.
    cases.push({
      name: "a mode-000 file, as root: root may read it, so the guest runs",
      args: [unreadable],
      check: (run) => assertRun(run, "Hello\n"),
    });
  } else {
    cases.push(refused(
      "a mode-000 file",
      [unreadable],
      `Cannot read guest file '${unreadable}': permission denied`,
    ));
  }
  await runCases(t, cases);
});

Deno.test("microvmm refuses a bad --mem, --load, --entry or --timeout, with one line and status 2", async (t) => {
  const hello = "guests/hello.bin";
  const notSize = (value: string) =>
    refused(
      `--mem ${value || '""'}`,
      ["--mem", value, hello],
      `--mem: "${value}" is not a size (use e.g. 2M, 64M, 1G) ${HELP}`,
    );
  const notAddress = (option: string, value: string) =>
    refused(
      `--${option} ${value || '""'}`,
      [`--${option}`, value, hello],
      `--${option}: "${value}" is not an address (use e.g. 0x1000 or 4096) ${HELP}`,
    );
  const notSeconds = (value: string) =>
    refused(
      `--timeout ${value}`,
      ["--timeout", value, hello],
      `--timeout: "${value}" is not a positive number of seconds ${HELP}`,
    );
  await runCases(t, [
    notSize("1x"),
    notSize("-5"),
    notSize("1.5M"),
    notSize(""),
    notSize("--trace"),
    refused("--mem 0", ["--mem", "0", hello], `--mem: "0" is too small (at least 64K) ${HELP}`),
    refused("--mem 3K", ["--mem", "3K", hello], `--mem: "3K" is too small (at least 64K) ${HELP}`),
    refused(
      "--mem 65537, not a whole number of pages",
      ["--mem", "65537", hello],
      `--mem: "65537" is not a multiple of 4K ${HELP}`,
    ),
    refused(
      "--mem 99999999999G, beyond any number of bytes",
      ["--mem", "99999999999G", hello],
      `--mem: "99999999999G" is too large ${HELP}`,
    ),
    refused(
      "--mem 20000G, more than KVM maps in one memory slot",
      ["--mem", "20000G", hello],
      /^microvmm: --mem: this host cannot map 21474836480000 bytes of guest RAM \(\S.*\)$/,
    ),
    notAddress("load", "xyz"),
    notAddress("load", "-1"),
    notAddress("load", "0x"),
    notAddress("entry", "xyz"),
    notAddress("entry", "-1"),
    notAddress("entry", "0x"),
    refused(
      "--load 0x1000000000000000, above 2^52",
      ["--load", "0x1000000000000000", hello],
      `--load: "0x1000000000000000" is too large ${HELP}`,
    ),
    notSeconds("0"),
    notSeconds("abc"),
    notSeconds("-1"),
    notSeconds("1e3"),
  ]);
});

Deno.test("microvmm refuses a guest placement the CPU mode cannot run, with one line and status 2", async (t) => {
  await runCases(t, [
    refused(
      "an image overlapping the VMM area (protected mode, --mem 64K)",
      ["--mem", "64K", "--mode", "protected", "guests/hello_protected.bin"],
      "Cannot load guest: 0x1000-0x105c overlaps the VMM area 0x0-0xffff (GDT, page tables, stack); use a smaller image, a lower --load or more --mem",
    ),
    refused(
      "an image loaded into the VMM area (long mode, --load 0x1f0000 of 2M)",
      ["--mode", "long", "--load", "0x1f0000", "guests/hello_long.bin"],
      "Cannot load guest: 0x1f0000-0x1f006b overlaps the VMM area 0x1f0000-0x1fffff (GDT, page tables, stack); use a smaller image, a lower --load or more --mem",
    ),
    refused(
      "a load address past the end of RAM",
      ["--load", "0x200000", "guests/hello.bin"],
      "Cannot load guest: 25 bytes at 0x200000 do not fit in 2097152 bytes of RAM",
    ),
    refused(
      "an entry point outside RAM",
      ["--mode", "protected", "--entry", "0x300000", "guests/hello_protected.bin"],
      "Cannot start guest: entry 0x300000 is outside RAM (2097152 bytes)",
    ),
    refused(
      "a real-mode --entry at 1 MiB",
      ["--entry", "0x100000", "guests/hello.bin"],
      "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode",
    ),
    refused(
      "a real-mode --load at 1 MiB (the entry defaults to it)",
      ["--load", "0x100000", "guests/hello.bin"],
      "Cannot start guest: entry 0x100000 is above 1 MiB, out of reach in real mode",
    ),
    refused(
      "long mode with more RAM than the VMM area's page tables map",
      ["--mode", "long", "--mem", "14G", "guests/hello_long.bin"],
      /^microvmm: Cannot map 15032385536 bytes of RAM in long mode: at most \d+ GiB$/,
    ),
  ]);
});

Deno.test("microvmm refuses a bad command line, with one line and status 2", async (t) => {
  await runCases(t, [
    refused(
      "an unknown --mode",
      ["--mode", "foo"],
      `--mode: unknown mode "foo" (use real, protected, paged, long) ${HELP}`,
    ),
    refused("an unknown long option", ["--bogus"], `Unknown option '--bogus' ${HELP}`),
    refused("an unknown short option", ["-x"], `Unknown option '-x' ${HELP}`),
    refused(
      "an option missing its value",
      ["--mode"],
      `Option '--mode <value>' argument missing ${HELP}`,
    ),
    refused(
      "a value given to a flag",
      ["--trace=yes"],
      `Option '--trace' does not take an argument ${HELP}`,
    ),
    refused(
      "two guest files",
      ["a.bin", "b.bin"],
      `expected at most one guest file, got 2: a.bin b.bin ${HELP}`,
    ),
    refused(
      "bad usage is reported even when KVM is missing",
      ["--bogus"],
      `Unknown option '--bogus' ${HELP}`,
      2,
      { env: { MICROVMM_KVM_DEVICE: "/nonexistent" } },
    ),
    refused(
      "a missing guest file is reported even when KVM is missing",
      ["missing.bin"],
      "Cannot read guest file 'missing.bin': no such file",
      2,
      { env: { MICROVMM_KVM_DEVICE: "/nonexistent" } },
    ),
  ]);
});

Deno.test("microvmm exits 3 with one line when KVM is not usable", async (t) => {
  using tmp = new TempDir();
  const kvm = (device: string): CliOptions => ({ env: { MICROVMM_KVM_DEVICE: device } });
  await runCases(t, [
    refused(
      "MICROVMM_KVM_DEVICE names a missing device",
      [],
      "Cannot open /nonexistent: no such device (is KVM enabled and loaded?)",
      3,
      kvm("/nonexistent"),
    ),
    refused(
      "MICROVMM_KVM_DEVICE=/dev/null: a device that is not KVM",
      ["guests/hello.bin"],
      "Cannot use /dev/null: it is not a KVM device (KVM_GET_API_VERSION failed: ENOTTY)",
      3,
      kvm("/dev/null"),
    ),
    refused(
      "MICROVMM_KVM_DEVICE names a directory",
      [],
      new RegExp(`^microvmm: KVM is not usable: open ${escape(tmp.path)} failed: EISDIR \\(.*\\)$`),
      3,
      kvm(tmp.path),
    ),
  ]);
});
