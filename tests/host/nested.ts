/**
 * The nested full-KVM test host: boots Debian's kernel in QEMU (TCG with AMD SVM) with real
 * kvm_amd, shares this machine's root read-only, and runs the test suite or a command inside.
 *
 * Usage: `deno run --allow-all tests/host/nested.ts <test|check|run -- CMD...|build> [options]`
 * Options: `--timeout=SECONDS`, `--mem=MIB`, `--cpus=N`, `--verbose` (kernel messages),
 * `--quiet` (no live console), `--refresh` (re-fetch the Debian packages).
 * @module
 */

import { boot } from "./boot.ts";
import { ensureHostFiles, which } from "./debian.ts";
import { cachedBase, commandScript, writeInitrd } from "./initramfs.ts";
import { busyboxParts, kernelParts } from "./parts.ts";
import { EXIT_HOST_FAILURE, verdict } from "./result.ts";

/** Parsed command line. */
export interface Cli {
  /** What to do. */
  action: "test" | "check" | "run" | "build";
  /** The command for `run`. */
  command: string[];
  /** Overall timeout in seconds. */
  timeoutSeconds: number;
  /** Guest memory, MiB. */
  memMiB: number;
  /** Guest vCPUs. */
  cpus: number;
  /** Show kernel messages. */
  verbose: boolean;
  /** Don't stream the console. */
  quiet: boolean;
  /** Re-fetch the Debian packages. */
  refresh: boolean;
}

const USAGE = "usage: nested.ts <test|check|run -- CMD...|build> [--timeout=S] [--mem=MIB] " +
  "[--cpus=N] [--verbose] [--quiet] [--refresh]";

/** Parses the command line; throws one line (with the usage) on a mistake. */
export function parseCli(args: string[]): Cli {
  const dash = args.indexOf("--");
  const opts = dash < 0 ? args : args.slice(0, dash);
  const command = dash < 0 ? [] : args.slice(dash + 1);
  // `deno task nested -- CMD` passes its own `--` through after the task's one: drop it.
  if (command[0] === "--") command.shift();
  const [action, ...rest] = opts;
  if (action !== "test" && action !== "check" && action !== "run" && action !== "build") {
    throw new Error(USAGE);
  }
  const cli: Cli = {
    action,
    command,
    timeoutSeconds: action === "test" ? 1800 : 600,
    memMiB: 2048,
    // One vCPU: with two, QEMU's multi-threaded TCG plus its emulated SVM freezes the whole host
    // after some tens of VMs created and destroyed by one process (measured: ~60 with -smp 2,
    // 300 of 300 with -smp 1). Tests run one at a time, so a second vCPU gains little anyway.
    cpus: 1,
    verbose: false,
    quiet: false,
    refresh: false,
  };
  const num = (v: string, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`nested: --${name} wants a positive integer`);
    }
    return n;
  };
  for (const o of rest) {
    const [k, v] = o.split("=", 2);
    if (k === "--timeout" && v) cli.timeoutSeconds = num(v, "timeout");
    else if (k === "--mem" && v) cli.memMiB = num(v, "mem");
    else if (k === "--cpus" && v) cli.cpus = num(v, "cpus");
    else if (o === "--verbose") cli.verbose = true;
    else if (o === "--quiet") cli.quiet = true;
    else if (o === "--refresh") cli.refresh = true;
    else throw new Error(`nested: unknown option "${o}"; ${USAGE}`);
  }
  if (action === "run" && command.length === 0) {
    throw new Error(`nested: run needs -- CMD; ${USAGE}`);
  }
  if (action !== "run" && command.length > 0) throw new Error(`nested: only run takes -- CMD`);
  return cli;
}

const ROOT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const CACHE = `${ROOT}/.cache/nested`;
const log = (msg: string): void => console.error(`nested: ${msg}`);
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** The inside command for an action. */
function scriptFor(cli: Cli): string {
  const probe = "deno run --allow-all tests/host/kvm_probe.ts";
  // The suite only means something on real SVM KVM: prove it first.
  if (cli.action === "test") return `${probe} && deno task test\n`;
  if (cli.action === "check") return `${probe}\n`;
  return commandScript(cli.command);
}

/** Host tools the host (and, through the shared root, the suite inside) needs. */
function hostNeeds(cli: Cli): { path: string; pkg: string }[] {
  const boot = [
    { path: "qemu-system-x86_64", pkg: "qemu-system-x86" },
    { path: "xz", pkg: "xz-utils" },
    { path: "dpkg-deb", pkg: "dpkg" },
  ];
  if (cli.action !== "test") return boot;
  return [
    ...boot,
    { path: "gcc", pkg: "gcc" },
    { path: "as", pkg: "binutils" },
    { path: "make", pkg: "make" },
    { path: "/usr/include/linux/kvm.h", pkg: "linux-libc-dev" },
  ];
}

/** The environment the command gets inside (the host's root is the same filesystem). */
function insideEnv(): Record<string, string> {
  const deno = Deno.execPath();
  const host = Deno.env.toObject();
  const home = host.HOME ?? "/root";
  const denoDir = host.DENO_DIR ?? `${host.XDG_CACHE_HOME ?? `${home}/.cache`}/deno`;
  const env: Record<string, string> = {
    PATH: `${deno.slice(0, deno.lastIndexOf("/"))}:/usr/local/sbin:/usr/local/bin:/usr/sbin:` +
      "/usr/bin:/sbin:/bin",
    HOME: home,
    LANG: "C.UTF-8",
    DENO_DIR: denoDir.startsWith("/") ? denoDir : `${Deno.cwd()}/${denoDir}`,
    NESTED_CWD: ROOT,
    NESTED_HOST: "1",
  };
  for (const k of ["CI", "NO_COLOR", "TERM"]) if (host[k] !== undefined) env[k] = host[k];
  // Inside, stdout is the serial console, a terminal: keep colours only if ours is one too.
  if (!Deno.stdout.isTerminal()) env.NO_COLOR = "1";
  return env;
}

/** Type-checks the suite on this machine so the check cache (shared via DENO_DIR) is warm. */
async function warmCheckCache(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "test", "--no-run"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-1)[0];
    log(`warning: type-check on this machine failed (the run inside will show why): ${text}`);
  }
}

/** Writes all of `bytes` to a stream synchronously (console output keeps its order). */
function writeAll(out: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) at += out.writeSync(bytes.subarray(at));
}

/** Removes per-run initrds that a killed run left behind (older than an hour). */
async function removeStaleInitrds(): Promise<void> {
  for await (const e of Deno.readDir(CACHE)) {
    if (!/^initrd-\w+\.img$/.test(e.name)) continue;
    const st = await Deno.stat(`${CACHE}/${e.name}`).catch(() => undefined);
    if (st?.mtime && Date.now() - st.mtime.getTime() > 3600_000) {
      await Deno.remove(`${CACHE}/${e.name}`).catch(() => {});
    }
  }
}

/** Runs an action; returns the exit status. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCli(args);
  const t0 = performance.now();
  await Deno.mkdir(CACHE, { recursive: true });
  await removeStaleInitrds();
  await ensureHostFiles(hostNeeds(cli), log);
  const kernel = await kernelParts(CACHE, log, cli.refresh);
  const busybox = await busyboxParts(CACHE, log, cli.refresh);
  const base = await cachedBase(CACHE, kernel, busybox, `${ROOT}/tests/host/init.sh`);
  const tParts = performance.now();
  const state = (cached: boolean) => cached ? "cached" : "built";
  log(
    `parts ${secs(tParts - t0)}: kernel ${kernel.release} (${kernel.version}, ` +
      `${state(kernel.cached)}), busybox ${busybox.version} (${state(busybox.cached)}), ` +
      `initramfs base (${state(base.cached)})`,
  );
  if (cli.action === "build") return 0;

  if (cli.action === "test") {
    await warmCheckCache();
    log(`type-check on this machine ${secs(performance.now() - tParts)}`);
  }
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16))
    .join("");
  const initrd = `${CACHE}/initrd-${nonce}.img`;
  await writeInitrd(initrd, base.path, { script: scriptFor(cli), env: insideEnv(), nonce });
  const qemu = await which("qemu-system-x86_64");
  if (!qemu) throw new Error("nested: qemu-system-x86_64 not found after installing it");

  try {
    const tBoot = performance.now();
    let midLine = false;
    const end = await boot({
      qemu,
      kernel: kernel.vmlinux,
      initrd,
      shareRoot: "/",
      memMiB: cli.memMiB,
      cpus: cli.cpus,
      timeoutSeconds: cli.timeoutSeconds,
      verbose: cli.verbose,
      echoConsole: cli.quiet ? undefined : (bytes) => {
        writeAll(Deno.stdout, bytes);
        if (bytes.length > 0) midLine = bytes[bytes.length - 1] !== 0x0a;
      },
      echo: cli.quiet ? undefined : (line) => console.error(line),
    }, nonce);
    const v = verdict(end);
    const stages = end.watch.stages;
    const mounted = stages.get("mounted");
    const done = stages.get("done");
    const parts = [`prepare ${secs(tBoot - t0)}`];
    if (mounted !== undefined) parts.push(`boot ${secs(mounted - tBoot)}`);
    if (mounted !== undefined && done !== undefined) parts.push(`command ${secs(done - mounted)}`);
    parts.push(`total ${secs(performance.now() - t0)}`);
    if (midLine) writeAll(Deno.stdout, new TextEncoder().encode("\n"));
    if (!v.ok && cli.quiet) {
      log("last console lines:");
      for (const l of end.watch.tail()) console.error(`  | ${l}`);
    }
    log(`${v.ok ? "PASS" : "FAIL"}: ${v.message} (${parts.join(", ")})`);
    return v.code;
  } finally {
    await Deno.remove(initrd).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    log(e instanceof Error ? e.message.replace(/^nested: /, "") : String(e));
    Deno.exit(EXIT_HOST_FAILURE);
  }
}
