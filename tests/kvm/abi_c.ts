/**
 * Turns the ABI tables of `lib/kvm/abi.ts`, `lib/kvm/ffi.ts` and `lib/vmm/kicker.ts` into a C
 * program that prints what gcc and the system headers say each entry is, and compares the two.
 *
 * @module
 */

/** One number to check: a table entry and the C expression that must equal it. */
export interface AbiCheck {
  /** The table it belongs to (one test step each), e.g. `KVM_SREGS` or `IOCTLS`. */
  table: string;
  /** The name in reports, e.g. `KVM_SREGS.efer` or `KVM_EXIT_IO`. */
  name: string;
  /** The value in the table. */
  expected: number;
  /** An integer C expression, e.g. `offsetof(struct kvm_sregs, efer)` or `KVM_RUN`. */
  expr: string;
  /** When `expr` is a macro: its name, so an undefined one is reported instead of not compiling. */
  macro?: string;
  /** Where the C value comes from, for reports: `<linux/kvm.h>`. */
  header: string;
}

/** The headers the generated program includes. */
export const C_HEADERS = [
  "linux/kvm.h",
  "stddef.h",
  "fcntl.h",
  "sys/mman.h",
  "signal.h",
  "time.h",
  "errno.h",
] as const;

const KVM_H = "<linux/kvm.h>";

/**
 * The members of `struct kvm_run`'s exit union that `KVM_RUN` keys name by prefix:
 * `io_port` is `io.port`, `emulation_failure_insn_bytes` is `emulation_failure.insn_bytes`.
 * A key without one of these prefixes is a direct member (`exit_reason`, `immediate_exit`).
 */
export const KVM_RUN_UNION_MEMBERS = [
  "hw",
  "fail_entry",
  "ex",
  "io",
  "mmio",
  "internal",
  "emulation_failure",
  "system_event",
] as const;

/** Maps a `KVM_RUN` table key to its member path in `struct kvm_run`. */
export function kvmRunMember(key: string): string {
  // Longest prefix first, so that a member named like another's prefix cannot shadow it.
  const prefixes = [...KVM_RUN_UNION_MEMBERS].sort((a, b) => b.length - a.length);
  for (const prefix of prefixes) {
    if (key.startsWith(`${prefix}_`)) return `${prefix}.${key.slice(prefix.length + 1)}`;
  }
  return key;
}

/** `SIGEVENT` keys (lib/vmm/kicker.ts) to `struct sigevent` members (glibc spelling). */
export const SIGEVENT_MEMBERS: Record<string, string> = {
  signo: "sigev_signo",
  notify: "sigev_notify",
  tid: "_sigev_un._tid",
};

/** `ITIMERSPEC` keys (lib/vmm/kicker.ts) to `struct itimerspec` members. */
export const ITIMERSPEC_MEMBERS: Record<string, string> = {
  intervalSec: "it_interval.tv_sec",
  intervalNsec: "it_interval.tv_nsec",
  valueSec: "it_value.tv_sec",
  valueNsec: "it_value.tv_nsec",
};

/** Checks that each `name` of `entries` is a macro of that value. */
export function macroChecks(
  table: string,
  header: string,
  entries: Record<string, number>,
): AbiCheck[] {
  return Object.entries(entries).map(([name, expected]) => ({
    table,
    name,
    expected,
    expr: name,
    macro: name,
    header,
  }));
}

/**
 * Checks a struct offset table: its `size` key against `sizeof`, every other key against the
 * `offsetof` of the member `member(key)` returns (undefined: the key has no known member).
 */
export function structChecks(
  table: string,
  header: string,
  cStruct: string,
  fields: Record<string, number>,
  member: (key: string) => string | undefined,
): AbiCheck[] {
  return Object.entries(fields).map(([key, expected]) => {
    const name = `${table}.${key}`;
    if (key === "size") return { table, name, expected, expr: `sizeof(${cStruct})`, header };
    const path = member(key);
    if (path === undefined) {
      throw new Error(`${name}: no C member of ${cStruct} is known for it; add it to the mapping`);
    }
    return { table, name, expected, expr: `offsetof(${cStruct}, ${path})`, header };
  });
}

function isNumberTable(value: unknown): value is Record<string, number> {
  return typeof value === "object" && value !== null &&
    Object.values(value).every((entry) => typeof entry === "number");
}

/**
 * Checks for every export of `lib/kvm/abi.ts`, found by shape so a new entry or table is
 * checked without touching this file: a number is a macro of the same name (table
 * `constants`); a table whose keys all start with `KVM_` is a table of macros; any other table
 * is the layout of the struct named like it in lower case (`KVM_SREGS` is `struct kvm_sregs`),
 * `size` being its `sizeof` and every other key a member (`KVM_RUN` keys via
 * {@link kvmRunMember}).
 *
 * @throws Error for an export of another shape, so it cannot go unchecked
 */
export function kvmAbiChecks(abi: Record<string, unknown>): AbiCheck[] {
  const checks: AbiCheck[] = [];
  for (const [name, value] of Object.entries(abi)) {
    if (typeof value === "number") {
      checks.push(...macroChecks("constants", KVM_H, { [name]: value }));
    } else if (isNumberTable(value) && Object.keys(value).every((key) => key.startsWith("KVM_"))) {
      checks.push(...macroChecks(name, KVM_H, value));
    } else if (isNumberTable(value)) {
      const member = name === "KVM_RUN" ? kvmRunMember : (key: string) => key;
      checks.push(...structChecks(name, KVM_H, `struct ${name.toLowerCase()}`, value, member));
    } else {
      throw new Error(`abi.ts export ${name} is neither a number nor a table of numbers`);
    }
  }
  return checks;
}

/** The header a libc constant of lib/kvm/ffi.ts comes from, by its prefix. */
function libcHeader(name: string): string {
  if (name.startsWith("O_")) return "<fcntl.h>";
  if (name.startsWith("PROT_") || name.startsWith("MAP_")) return "<sys/mman.h>";
  if (/^E[A-Z0-9]+$/.test(name)) return "<errno.h>";
  return "<libc headers>";
}

/**
 * Checks for `lib/kvm/ffi.ts`: every exported number is a libc macro of the same name
 * (`O_CLOEXEC`, `MAP_NORESERVE`, `EINTR`), and every `ERRNO_NAMES` entry names its errno.
 */
export function libcChecks(ffi: Record<string, unknown>): AbiCheck[] {
  const checks: AbiCheck[] = [];
  for (const [name, value] of Object.entries(ffi)) {
    if (typeof value !== "number") continue;
    checks.push(...macroChecks("ffi.ts constants", libcHeader(name), { [name]: value }));
  }
  const errnoNames = ffi.ERRNO_NAMES as Record<string, string> | undefined;
  if (!errnoNames) throw new Error("lib/kvm/ffi.ts does not export ERRNO_NAMES");
  for (const [code, name] of Object.entries(errnoNames)) {
    checks.push(...macroChecks("ffi.ts ERRNO_NAMES", "<errno.h>", { [name]: Number(code) }));
  }
  return checks;
}

/** The parts of `lib/vmm/kicker.ts` that are libc ABI. */
export interface KickerAbi {
  KICK_SIGNAL: string;
  SIGUSR2: number;
  CLOCK_MONOTONIC: number;
  SIGEV_THREAD_ID: number;
  SIGEVENT: Record<string, number>;
  ITIMERSPEC: Record<string, number>;
}

/**
 * Checks for `lib/vmm/kicker.ts`: the signal, clock and notify numbers, that `KICK_SIGNAL`
 * names the signal `SIGUSR2` is the number of, and the `struct sigevent`/`struct itimerspec`
 * layouts.
 */
export function kickerChecks(kicker: KickerAbi): AbiCheck[] {
  return [
    ...macroChecks("kicker.ts constants", "<signal.h>", {
      SIGUSR2: kicker.SIGUSR2,
      SIGEV_THREAD_ID: kicker.SIGEV_THREAD_ID,
    }),
    ...macroChecks("kicker.ts constants", "<time.h>", {
      CLOCK_MONOTONIC: kicker.CLOCK_MONOTONIC,
    }),
    {
      table: "kicker.ts constants",
      name: `KICK_SIGNAL (${kicker.KICK_SIGNAL})`,
      expected: kicker.SIGUSR2,
      expr: kicker.KICK_SIGNAL,
      macro: kicker.KICK_SIGNAL,
      header: "<signal.h>",
    },
    ...structChecks(
      "SIGEVENT",
      "<signal.h>",
      "struct sigevent",
      kicker.SIGEVENT,
      (key) => SIGEVENT_MEMBERS[key],
    ),
    ...structChecks(
      "ITIMERSPEC",
      "<time.h>",
      "struct itimerspec",
      kicker.ITIMERSPEC,
      (key) => ITIMERSPEC_MEMBERS[key],
    ),
  ];
}

/**
 * The C program: prints `<index> <value>` for every check, in order, or `<index> undefined`
 * for a macro the headers do not define. Each line carries the check's name in a comment, so a
 * compile error (an unknown member) shows which entry it is.
 */
export function generateProgram(checks: readonly AbiCheck[]): string {
  const lines = [
    "/* Generated by tests/kvm/abi_c.ts from the ABI tables; do not edit. */",
    "#define _GNU_SOURCE",
    ...C_HEADERS.map((header) => `#include <${header}>`),
    "#include <stdio.h>",
    "",
    "__attribute__((unused)) static void value(int index, long long v) {",
    '  printf("%d %lld\\n", index, v);',
    "}",
    "__attribute__((unused)) static void undefined(int index) {",
    '  printf("%d undefined\\n", index);',
    "}",
    "",
    "int main(void) {",
  ];
  checks.forEach((check, index) => {
    const comment = `/* ${check.name.replaceAll("*/", "* /")} */`;
    const line = `  value(${index}, (long long)(${check.expr})); ${comment}`;
    if (check.macro === undefined) {
      lines.push(line);
    } else {
      lines.push(
        `#ifdef ${check.macro}`,
        line,
        "#else",
        `  undefined(${index}); ${comment}`,
        "#endif",
      );
    }
  });
  lines.push("  return 0;", "}", "");
  return lines.join("\n");
}

/** What the C program printed for one check: its value, or that the macro is undefined. */
export type CValue = bigint | "undefined";

/** Parses the output of {@link generateProgram}`(checks)` into each check's C value. */
export function parseOutput(
  checks: readonly AbiCheck[],
  output: string,
): Map<AbiCheck, CValue> {
  const values = new Map<AbiCheck, CValue>();
  for (const line of output.split("\n")) {
    if (line === "") continue;
    const match = /^(\d+) (-?\d+|undefined)$/.exec(line);
    const check = match ? checks[Number(match[1])] : undefined;
    if (!match || !check) {
      throw new Error(`unexpected line from the ABI program: ${JSON.stringify(line)}`);
    }
    values.set(check, match[2] === "undefined" ? "undefined" : BigInt(match[2]));
  }
  return values;
}

/**
 * Generates, compiles and runs the program for `checks` and returns each check's C value.
 *
 * @throws ToolchainMissingError when gcc or a header is missing, saying what to install
 */
export async function evaluate(checks: readonly AbiCheck[]): Promise<Map<AbiCheck, CValue>> {
  return parseOutput(checks, await compileAndRun(generateProgram(checks)));
}

/**
 * Describes every check whose C value differs from its table's, e.g.
 * `KVM_SREGS.efer: table 264, <linux/kvm.h> 272`; empty when all agree.
 */
export function mismatches(
  checks: readonly AbiCheck[],
  values: Map<AbiCheck, CValue>,
): string[] {
  // ioctl numbers and flag masks read better in hex; offsets and small constants in decimal.
  const format = (n: number | bigint) => n >= 0x10000 ? `0x${n.toString(16)}` : `${n}`;
  const out: string[] = [];
  for (const check of checks) {
    const actual = values.get(check);
    if (actual === undefined) {
      out.push(`${check.name}: table ${format(check.expected)}, the C program printed nothing`);
    } else if (actual === "undefined") {
      out.push(
        `${check.name}: table ${format(check.expected)}, ${check.header} does not define it`,
      );
    } else if (actual !== BigInt(check.expected)) {
      out.push(`${check.name}: table ${format(check.expected)}, ${check.header} ${format(actual)}`);
    }
  }
  return out;
}

/** The Debian package that provides a missing header. */
function packageFor(header: string): string {
  if (header.startsWith("linux/") || header.startsWith("asm")) return "linux-libc-dev";
  if (header === "stddef.h") return "gcc";
  return "libc6-dev";
}

/** gcc is not installed, or a header it needs is missing: the ABI cannot be checked. */
export class ToolchainMissingError extends Error {
  /** Builds the error with its one-line diagnosis. */
  constructor(message: string) {
    super(message);
    this.name = "ToolchainMissingError";
  }
}

/**
 * Compiles `source` with gcc (or the compiler at `gcc`) in a temporary directory, runs it, and
 * returns its output.
 *
 * @throws ToolchainMissingError when gcc or a header is missing, saying what to install
 * @throws Error with gcc's diagnostics for any other compile error
 */
export async function compileAndRun(source: string, gcc = "gcc"): Promise<string> {
  const decoder = new TextDecoder();
  const dir = await Deno.makeTempDir({ prefix: "microvmm-abi-" });
  try {
    await Deno.writeTextFile(`${dir}/abi.c`, source);
    let compiled: Deno.CommandOutput;
    try {
      compiled = await new Deno.Command(gcc, {
        args: ["-std=gnu11", "-Wall", "-o", `${dir}/abi`, `${dir}/abi.c`],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new ToolchainMissingError(
          "gcc not found: install gcc and linux-libc-dev to check the KVM ABI",
        );
      }
      throw error;
    }
    const diagnostics = decoder.decode(compiled.stderr);
    if (!compiled.success) {
      const missing = /fatal error: ([^:\s]+): No such file or directory/.exec(diagnostics);
      if (missing) {
        throw new ToolchainMissingError(
          `<${missing[1]}> not found: install gcc and ${
            packageFor(missing[1])
          } to check the KVM ABI`,
        );
      }
      throw new Error(`gcc could not compile the ABI program:\n${diagnostics}`);
    }
    const ran = await new Deno.Command(`${dir}/abi`, { stdout: "piped", stderr: "piped" })
      .output();
    if (!ran.success) {
      throw new Error(`the ABI program exited with ${ran.code}:\n${decoder.decode(ran.stderr)}`);
    }
    return decoder.decode(ran.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
