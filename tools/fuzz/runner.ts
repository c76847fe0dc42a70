/**
 * The fuzz runner: runs one image in-process (the Vm API) or through the `microvmm` command and
 * judges the outcome — a named end reason and a documented status, within its timeout.
 *
 * @module
 */

import { isCrash, KvmUnsupportedError, type StopReason, Vm } from "../../mod.ts";
import { statusOf } from "../../lib/vmm/exit_status.ts";
import { type FuzzImage, LOAD_ADDRESS } from "./generator.ts";

/** Every `stop.kind` a run may end with (see lib/vmm/stop_reason.ts), except "aborted". */
export const END_REASONS: readonly string[] = [
  "hlt",
  "exit-device",
  "reset",
  "shutdown",
  "internal-error",
  "fail-entry",
  "system-event",
  "timeout",
  "unhandled-exit",
] satisfies readonly Exclude<StopReason["kind"], "aborted">[];

/** A CLI run with status 0 and a silent stderr: HLT, or 0 written to the exit port. */
export const HALT_OR_EXIT_0 = "hlt|exit-0";

/** The repository root, with a trailing slash. */
export const ROOT = new URL("../../", import.meta.url).pathname;

/** How far past its timeout (seconds) a run may end before it counts as a hang. */
export interface Margins {
  /** A run through the Vm API (the VM's creation is not timed). */
  inProcess: number;
  /** A run through the CLI, on top of the time the CLI takes for a guest that halts at once. */
  cli: number;
}

/** The default margins, for a machine with a hardware KVM. */
export const MARGIN: Readonly<Margins> = { inProcess: 0.25, cli: 1.5 };

/** How one image ended. */
export interface Outcome {
  /** The image. */
  image: FuzzImage;
  /** The end reason: a `stop.kind`, "unsupported" (paged on kvm-pvm), or "failure". */
  end: string;
  /** The exit status (the CLI's, or `statusOf(stop)` in-process). */
  status?: number;
  /** Wall time of the run in seconds (the whole process for the CLI). */
  seconds: number;
  /** What went wrong, for failures: "exception: ...", "hang: ...", ... */
  failure?: string;
  /** The failure's category: exception, signal, internal-error, bad-status, unnamed-end, hang. */
  category?: string;
}

/** True on a kvm-pvm (nested PVM) host, where 32-bit paging is refused. */
export function isPvmHost(): boolean {
  try {
    Deno.statSync("/sys/module/kvm_pvm");
    return true;
  } catch {
    return false;
  }
}

/** The `--mem` argument for `bytes` of RAM. */
export function memArg(bytes: number): string {
  return bytes % 0x10_0000 === 0 ? `${bytes / 0x10_0000}M` : `${bytes / 1024}K`;
}

/** The microvmm arguments that run `image` from `path`. */
export function cliArgs(image: FuzzImage, timeout: number, path: string): string[] {
  return ["--mode", image.mode, "--mem", memArg(image.memSize), "--timeout", `${timeout}`, path];
}

/** The shell command, run from the repository root, that replays `image` saved at `path`. */
export function replayCommand(image: FuzzImage, timeout: number, path: string): string {
  const args = cliArgs(image, timeout, path).join(" ");
  return `deno run --allow-ffi --allow-read --allow-env main.ts ${args} </dev/null`;
}

function fail(image: FuzzImage, seconds: number, category: string, failure: string): Outcome {
  return { image, end: "failure", seconds, category, failure };
}

/** Checks a finished run: a named end, a documented status, not too late. */
function judge(
  image: FuzzImage,
  end: string,
  status: number,
  seconds: number,
  timeout: number,
  margin: number,
): Outcome {
  if (!END_REASONS.includes(end) && end !== "unsupported" && end !== HALT_OR_EXIT_0) {
    return fail(image, seconds, "unnamed-end", `ended with unknown reason "${end}"`);
  }
  if (
    !Number.isInteger(status) || status < 0 || status > 255 ||
    status === 70 && end !== "exit-device"
  ) {
    return fail(image, seconds, "bad-status", `status ${status} for end "${end}"`);
  }
  if (seconds > timeout + margin) {
    const late = ((seconds - timeout) * 1000).toFixed(0);
    return fail(image, seconds, "hang", `ran ${late} ms past its ${timeout} s timeout`);
  }
  return { image, end, status, seconds };
}

/** The status a stop reason must map to, per README "Exit codes". */
function expectedStatus(stop: StopReason): number | undefined {
  if (stop.kind === "timeout") return 124;
  if (stop.kind === "hlt") return 0;
  if (isCrash(stop)) return 1;
  return stop.kind === "exit-device" ? stop.status : undefined;
}

/** Runs `image` in this process with the Vm API; never throws. */
export function runInProcess(
  image: FuzzImage,
  timeout: number,
  pvm: boolean,
  margin = MARGIN.inProcess,
): Outcome {
  const start = performance.now();
  const elapsed = () => (performance.now() - start) / 1000;
  let vm: Vm | undefined;
  try {
    vm = new Vm({ mode: image.mode, memory: image.memSize, output: () => {}, input: () => null });
    vm.load(image.bytes, LOAD_ADDRESS);
    const runStart = performance.now();
    const result = vm.run({ timeout });
    const seconds = (performance.now() - runStart) / 1000;
    const stop = result.stop;
    if (isCrash(stop)) vm.crashReport(stop); // what the CLI prints: must not throw either
    vm[Symbol.dispose](); // inside the try: a failing dispose is a failure too
    if (result.status !== statusOf(stop) || result.status !== expectedStatus(stop)) {
      return fail(image, seconds, "bad-status", `status ${result.status} for ${stop.kind}`);
    }
    return judge(image, stop.kind, result.status, seconds, timeout, margin);
  } catch (error) {
    if (error instanceof KvmUnsupportedError && image.mode === "paged" && pvm) {
      return { image, end: "unsupported", status: 3, seconds: elapsed() };
    }
    const text = error instanceof Error ? error.stack ?? error.message : String(error);
    return fail(image, elapsed(), "exception", `exception escaped: ${text}`);
  } finally {
    try {
      vm?.[Symbol.dispose]();
    } catch {
      // Only after an earlier error, which the outcome already reports.
    }
  }
}

/** The first stderr line of a crash report names the stop; this maps it back to `stop.kind`. */
const CRASH_LINES: [RegExp, string][] = [
  [/^microvmm: guest triple-faulted/, "shutdown"],
  [/^microvmm: KVM internal error/, "internal-error"],
  [/^microvmm: KVM could not enter/, "fail-entry"],
  [/^microvmm: guest system event/, "system-event"],
  [/^microvmm: unhandled exit/, "unhandled-exit"],
];

/** Names how a CLI run ended from its status and stderr, or returns why that is a failure. */
export function classifyCli(
  code: number,
  stderr: string,
  mode: string,
  pvm: boolean,
): { end: string } | { category: string; failure: string } {
  if (/internal error:|^\s+at /m.test(stderr)) {
    return { category: "internal-error", failure: `status ${code}, stderr:\n${stderr}` };
  }
  if (stderr === "") return { end: code === 0 ? HALT_OR_EXIT_0 : "exit-device" };
  const first = stderr.split("\n")[0];
  if (code === 124 && /^microvmm: guest timed out after [\d.]+ s$/.test(first)) {
    return { end: "timeout" };
  }
  if (code === 1) {
    for (const [line, kind] of CRASH_LINES) if (line.test(first)) return { end: kind };
  }
  if (
    code === 3 && mode === "paged" && pvm && /^microvmm: Cannot start guest in paged/.test(first)
  ) {
    return { end: "unsupported" };
  }
  return { category: "bad-status", failure: `status ${code} with stderr:\n${stderr}` };
}

/**
 * Runs `image` through `deno run ... main.ts` with stdin closed, from a file in `dir`; never
 * throws. A process still alive `killAfter` seconds past the timeout is killed: a hang.
 */
export async function runThroughCli(
  image: FuzzImage,
  timeout: number,
  dir: string,
  pvm: boolean,
  margin = MARGIN.cli,
  killAfter = 30,
): Promise<Outcome> {
  const path = `${dir}/${image.seed}-${image.index}-${image.mode}.bin`;
  Deno.writeFileSync(path, image.bytes);
  const start = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      `${ROOT}main.ts`,
      ...cliArgs(image, timeout, path),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, (timeout + killAfter) * 1000);
  try {
    const { code, signal, stderr } = await child.output();
    const seconds = (performance.now() - start) / 1000;
    if (killed) return fail(image, seconds, "hang", `still running after ${timeout + killAfter} s`);
    if (signal !== null) return fail(image, seconds, "signal", `microvmm died of ${signal}`);
    const verdict = classifyCli(code, new TextDecoder().decode(stderr), image.mode, pvm);
    if ("failure" in verdict) return fail(image, seconds, verdict.category, verdict.failure);
    return judge(image, verdict.end, code, seconds, timeout, margin);
  } catch (error) {
    return fail(image, (performance.now() - start) / 1000, "exception", String(error));
  } finally {
    clearTimeout(timer);
    Deno.removeSync(path);
  }
}
