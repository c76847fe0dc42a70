/**
 * Debian package plumbing for the nested test host: installs missing host tools with apt-get and
 * unpacks packages into the git-ignored cache with `apt-get download` + `dpkg-deb -x`.
 * @module
 */

/** Output of a finished command. */
export interface Ran {
  /** Whether it exited 0. */
  ok: boolean;
  /** Exit code. */
  code: number;
  /** Standard output as text. */
  stdout: string;
  /** Standard error as text. */
  stderr: string;
}

/** Runs a command to completion, capturing its output; never throws for a non-zero exit. */
export async function run(cmd: string, args: string[], cwd?: string): Promise<Ran> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    const dec = new TextDecoder();
    return {
      ok: out.success,
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { ok: false, code: 127, stdout: "", stderr: `${cmd}: command not found` };
    }
    throw e;
  }
}

/** Runs a command and returns its stdout; throws one clear line on failure. */
export async function runOk(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (!r.ok) {
    const why = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-1)[0];
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${r.code}): ${why}`);
  }
  return r.stdout;
}

/** Absolute path of a command on PATH, or undefined. */
export async function which(cmd: string): Promise<string | undefined> {
  const r = await run("sh", ["-c", `command -v "$0"`, cmd]);
  const path = r.stdout.trim();
  return r.ok && path.startsWith("/") ? path : undefined;
}

let updated = false;

/** Runs `apt-get update` once per process. */
async function aptUpdateOnce(log: (msg: string) => void): Promise<void> {
  if (updated) return;
  log("apt-get update");
  await runOk("apt-get", ["update", "-qq"]);
  updated = true;
}

/** Runs an apt-get action; if it fails, runs `apt-get update` once and tries again. */
async function aptRetry(args: string[], log: (msg: string) => void, cwd?: string): Promise<void> {
  const first = await run("apt-get", args, cwd);
  if (first.ok) return;
  await aptUpdateOnce(log);
  await runOk("apt-get", args, cwd);
}

/**
 * Makes sure each file exists (a command or a header), installing the named Debian packages with
 * `apt-get install -y` for those that are missing.
 */
export async function ensureHostFiles(
  needs: { path: string; pkg: string }[],
  log: (msg: string) => void,
): Promise<void> {
  const missing: string[] = [];
  for (const { path, pkg } of needs) {
    const found = path.startsWith("/") ? await exists(path) : (await which(path)) !== undefined;
    if (!found && !missing.includes(pkg)) missing.push(pkg);
  }
  if (missing.length === 0) return;
  log(`apt-get install -y ${missing.join(" ")}`);
  await aptRetry(["install", "-y", "--no-install-recommends", ...missing], log);
}

/** Whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Downloads `pkg`'s .deb into `dir` with `apt-get download` and returns its path. */
export async function aptDownload(
  pkg: string,
  dir: string,
  log: (msg: string) => void,
): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  log(`apt-get download ${pkg}`);
  await aptRetry(["download", "-q", pkg], log, dir);
  const name = pkg.replace(/[:=].*$/, "");
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.startsWith(`${name}_`) && e.name.endsWith(".deb")) {
      return `${dir}/${e.name}`;
    }
  }
  throw new Error(`apt-get download ${pkg}: no ${name}_*.deb in ${dir}`);
}

/** A control field of a .deb (`dpkg-deb -f`), e.g. `Version` or `Depends`. */
export async function debField(deb: string, field: string): Promise<string> {
  return (await runOk("dpkg-deb", ["-f", deb, field])).trim();
}

/** Unpacks a .deb's files into `dir` (`dpkg-deb -x`, no install). */
export async function debExtract(deb: string, dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await runOk("dpkg-deb", ["-x", deb, dir]);
}

/**
 * Name of the versioned kernel image package that the `linux-image-amd64` metapackage depends
 * on, e.g. `linux-image-6.1.0-56-amd64`, from its Depends field.
 */
export function kernelPackageOf(depends: string): string {
  const m = depends.match(/linux-image-[0-9][^\s,(|]*/);
  if (!m) throw new Error(`debian: no versioned linux-image package in Depends "${depends}"`);
  return m[0];
}
