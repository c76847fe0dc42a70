/**
 * Builds the nested test host's initramfs: a cached base archive (busybox, kernel modules,
 * /init) plus a small per-run archive (the command, its environment and the result nonce),
 * concatenated into one file as the kernel allows.
 * @module
 */

import { CpioWriter, gzip } from "./cpio.ts";
import { runOk } from "./debian.ts";
import type { BusyboxParts, KernelParts } from "./parts.ts";

/** Bump to invalidate cached base archives when the layout below changes. */
const BASE_FORMAT = 1;

/** Quotes a string for POSIX sh: `'...'` with embedded quotes escaped. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=+,@%-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/**
 * The shell script for a command line: a single argument is taken as a shell script (so pipes
 * work: `run -- 'grep svm /proc/cpuinfo | head -1'`), several are quoted and joined.
 */
export function commandScript(args: string[]): string {
  if (args.length === 0) throw new Error("nested: no command given");
  return (args.length === 1 ? args[0] : args.map(shellQuote).join(" ")) + "\n";
}

/** A sh script that exports each variable; throws on a name that is not a shell identifier. */
export function envScript(env: Record<string, string>): string {
  return Object.entries(env).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`nested: bad variable name "${k}"`);
    return `export ${k}=${shellQuote(v)}\n`;
  }).join("");
}

async function sha256(parts: (string | Uint8Array)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p + "\0") : p);
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

/** The base archive's content, given its parts (kept separate from caching for testing). */
export async function baseArchive(
  kernel: KernelParts,
  busybox: BusyboxParts,
  init: Uint8Array,
): Promise<Uint8Array> {
  const w = new CpioWriter();
  for (const d of ["bin", "dev", "proc", "sys", "tmp", "run", "lib/modules", "nested"]) w.dirs(d);
  w.chardev("dev/console", 5, 1);
  w.chardev("dev/null", 1, 3, 0o666);
  w.file("bin/busybox", await Deno.readFile(busybox.path), 0o755);
  const applets = (await runOk(busybox.path, ["--list"])).split("\n").map((s) => s.trim());
  for (const a of applets) {
    if (a !== "" && a !== "busybox" && /^[\w.[-]+$/.test(a)) w.symlink(`bin/${a}`, "busybox");
  }
  for (const m of kernel.modules) {
    w.file(`lib/modules/${m}.ko`, await Deno.readFile(`${kernel.moduleDir}/${m}.ko`));
  }
  w.file("nested/modules", kernel.modules.map((m) => `${m}.ko\n`).join(""));
  w.file("init", init, 0o755);
  return gzip(w.finish());
}

/**
 * Returns the path of the cached base archive `cache/base-<hash>.cpio.gz`, building it when the
 * kernel, busybox or /init changed (and removing older ones).
 */
export async function cachedBase(
  cache: string,
  kernel: KernelParts,
  busybox: BusyboxParts,
  initPath: string,
): Promise<{ path: string; cached: boolean }> {
  const init = await Deno.readFile(initPath);
  const hash = await sha256([
    `format ${BASE_FORMAT}`,
    kernel.release,
    kernel.version,
    kernel.modules.join(","),
    busybox.version,
    init,
  ]);
  const name = `base-${hash}.cpio.gz`;
  const path = `${cache}/${name}`;
  try {
    await Deno.stat(path);
    return { path, cached: true };
  } catch {
    // Not cached yet: build below.
  }
  const bytes = await baseArchive(kernel, busybox, init);
  await Deno.writeFile(`${path}.tmp`, bytes);
  await Deno.rename(`${path}.tmp`, path);
  for await (const e of Deno.readDir(cache)) {
    if (e.name.startsWith("base-") && e.name !== name) await Deno.remove(`${cache}/${e.name}`);
  }
  return { path, cached: false };
}

/** What one run executes inside the host. */
export interface RunSpec {
  /** The shell script to run (see `commandScript`). */
  script: string;
  /** Environment for the command (replaces the init's environment). */
  env: Record<string, string>;
  /** Random token the result line must carry, so command output can't fake it. */
  nonce: string;
}

/** The per-run archive: `/nested/cmd`, `/nested/env` and `/nested/nonce`. */
export function runArchive(spec: RunSpec): Uint8Array {
  if (!/^[A-Za-z0-9]+$/.test(spec.nonce)) throw new Error("nested: the nonce must be alphanumeric");
  const w = new CpioWriter();
  w.file("nested/cmd", spec.script);
  w.file("nested/env", envScript(spec.env));
  w.file("nested/nonce", spec.nonce + "\n");
  return gzip(w.finish());
}

/** Writes the initrd QEMU loads: the base archive followed by the per-run one. */
export async function writeInitrd(out: string, basePath: string, spec: RunSpec): Promise<void> {
  const base = await Deno.readFile(basePath);
  const layer = runArchive(spec);
  // The kernel unpacks concatenated archives in order; pad the first to 4 bytes to be safe.
  const pad = (4 - (base.length % 4)) % 4;
  const all = new Uint8Array(base.length + pad + layer.length);
  all.set(base, 0);
  all.set(layer, base.length + pad);
  await Deno.writeFile(out, all);
}
