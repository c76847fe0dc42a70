/**
 * Shared helpers for the CLI tests: run `microvmm` as a subprocess the way users do, and write
 * throwaway guests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/** The repository root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The committed guests. */
export const GUESTS = `${ROOT}guests`;
/** The command line's entry point. */
export const MAIN = `${ROOT}main.ts`;

/** What one microvmm run produced. */
export interface CliRun {
  /** Exit status. */
  code: number;
  /** Raw stdout bytes. */
  stdoutBytes: Uint8Array;
  /** Stdout as text. */
  stdout: string;
  /** Stderr as text. */
  stderr: string;
  /** Seconds from start to exit. */
  seconds: number;
}

/** How to run microvmm. */
export interface CliOptions {
  /** Bytes fed to stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string | Uint8Array;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  cwd?: string;
  /** Kill microvmm (SIGKILL) if it is still running after this many seconds; default 60. */
  killAfter?: number;
}

const decoder = new TextDecoder();

/** The environment without microvmm's own variables, so the caller's shell cannot leak in. */
function baseEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.MICROVMM_KVM_DEVICE;
  delete env.MICROVMM_LAUNCHER;
  return env;
}

/** At most this many microvmm processes run at once (each is a Deno plus a VM). */
const MAX_RUNNING = Math.max(2, Math.min(6, navigator.hardwareConcurrency * 2));
let running = 0;
const waiting: (() => void)[] = [];

/** Runs `deno run --allow-ffi --allow-read --allow-env main.ts ...args`, as users do. */
export async function microvmm(args: string[], options: CliOptions = {}): Promise<CliRun> {
  while (running >= MAX_RUNNING) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await spawnMicrovmm(args, options);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

async function spawnMicrovmm(args: string[], options: CliOptions): Promise<CliRun> {
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-env", MAIN, ...args],
    cwd: options.cwd ?? ROOT,
    env: { ...baseEnv(), ...options.env },
    clearEnv: true,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const input = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const writer = child.stdin.getWriter();
    try {
      await writer.write(input);
      await writer.close();
    } catch (error) {
      // microvmm may exit (e.g. on a usage error) before reading its stdin.
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
    }
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, (options.killAfter ?? 60) * 1000);
  const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
  const note = killed ? `[the test killed microvmm after ${options.killAfter ?? 60} s]\n` : "";
  return {
    code,
    stdoutBytes: stdout,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr) + note,
    seconds: (performance.now() - start) / 1000,
  };
}

/** One CLI run and what it must show. */
export interface CliCase {
  /** The step's name: the behaviour, in words. */
  name: string;
  /** microvmm's arguments. */
  args: string[];
  /** Stdin, environment, working directory. */
  options?: CliOptions;
  /** Assertions on the run. */
  check(run: CliRun): void;
}

/**
 * Starts every case's run at once (up to the process limit), then checks each in its own step,
 * in order; every process has ended when this returns.
 */
export async function runCases(t: Deno.TestContext, cases: CliCase[]): Promise<void> {
  const runs = cases.map((c) => microvmm(c.args, c.options));
  try {
    for (const [i, c] of cases.entries()) await t.step(c.name, async () => c.check(await runs[i]));
  } finally {
    await Promise.allSettled(runs);
  }
}

/** Asserts a clean run: exactly `stdout`, an empty stderr, and `code`. */
export function assertRun(run: CliRun, stdout: string, code = 0): void {
  assert.equal(run.stdout, stdout, `stdout; stderr was:\n${run.stderr}`);
  assert.equal(run.stderr, "");
  assert.equal(run.code, code);
}

/**
 * Asserts a refused run: nothing on stdout, exactly one stderr line (equal to `line`, or
 * matching it), no stack trace, and `code`.
 */
export function assertOneLineError(run: CliRun, line: string | RegExp, code: number): void {
  assert.equal(run.stdout, "", "nothing on stdout");
  assert.doesNotMatch(run.stderr, /^ {4}at /m, "no stack trace");
  assert.ok(run.stderr.endsWith("\n"), `stderr ends with a newline: ${JSON.stringify(run.stderr)}`);
  const lines = run.stderr.slice(0, -1).split("\n");
  assert.equal(lines.length, 1, `exactly one line on stderr, got:\n${run.stderr}`);
  if (typeof line === "string") assert.equal(lines[0], line);
  else assert.match(lines[0], line);
  assert.equal(run.code, code, `exit status for: ${lines[0]}`);
}

/** True on a kvm-pvm host (nested PVM), which cannot run 32-bit paging; false on a real KVM. */
export function isPvmHost(): boolean {
  try {
    Deno.statSync("/sys/module/kvm_pvm");
    return true;
  } catch {
    return false;
  }
}

/**
 * True where a triple fault leaves only the vCPU's reset registers: a real KVM on AMD (SVM), which
 * reinitialises the VMCB on the shutdown intercept. kvm-pvm and Intel's KVM keep the faulting state.
 */
export function shutdownResetsVcpu(): boolean {
  if (isPvmHost()) return false;
  try {
    return /^vendor_id\s*:\s*AuthenticAMD$/m.test(Deno.readTextFileSync("/proc/cpuinfo"));
  } catch {
    return false;
  }
}

/** The crash report's last line when the triple fault left only the vCPU's reset registers. */
export const RESET_NOTE = "  (KVM reset the vCPU on the triple fault, as it does on AMD: these " +
  "are its reset registers, not where it faulted)";

/** Asserts report lines 1.. are x86's reset state, with the note saying why, at `noteLine`. */
export function assertResetRegisters(lines: string[], noteLine: number): void {
  assert.match(lines[1], /^ {2}RIP=0x000000000000fff0 RSP=0x0000000000000000 RFLAGS=0x00000002$/);
  assert.match(lines[4], /^ {2}EFER=0x00000000 CS: sel=0xf000 base=0x00000000ffff0000 /);
  assert.equal(lines[noteLine], RESET_NOTE);
  assert.equal(lines.length, noteLine + 1, "the note is the last line");
}

/**
 * The `--trace` report without the run loop's own kicks: the CLI runs the guest in 20 ms slices,
 * and a slice that ends while the guest runs is a real KVM_EXIT_INTR. A small guest finishes within
 * one slice on a fast KVM, but not under an emulated CPU (the nested test host), so the kicks are
 * taken out of the count (and must be few) before the report is compared.
 */
export function withoutSliceKicks(stderr: string): string {
  const kicks = Number(/\n {2}KVM_EXIT_INTR: (\d+)\n/.exec(stderr)?.[1] ?? 0);
  assert.ok(kicks <= 100, `${kicks} slice kicks for a guest of a few exits`);
  return stderr.replace(/\n {2}KVM_EXIT_INTR: \d+(?=\n)/, "")
    .replace(/exits: (\d+)/, (_, n) => `exits: ${Number(n) - kicks}`);
}

/** Encodes ASCII `text` as guest code printing it: MOV AL,imm8 (b0) + OUT 0xf1,AL (e6 f1). */
export function printCode(text: string): number[] {
  return [...new TextEncoder().encode(text)].flatMap((byte) => [0xb0, byte, 0xe6, 0xf1]);
}

/** A temporary directory removed on dispose. */
export class TempDir implements Disposable {
  /** Its path. */
  readonly path: string = Deno.makeTempDirSync({ prefix: "microvmm_cli_" });

  /** Writes `bytes` to `name` in the directory and returns the file's path. */
  file(name: string, bytes: number[] | Uint8Array): string {
    const path = `${this.path}/${name}`;
    Deno.writeFileSync(path, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
    return path;
  }

  /** Removes the directory and everything in it. */
  [Symbol.dispose](): void {
    Deno.removeSync(this.path, { recursive: true });
  }
}
