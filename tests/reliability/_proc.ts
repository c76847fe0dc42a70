/**
 * Helpers for the reliability tests: a microvmm subprocess that the test drives while it runs
 * (signals, a slow reader, memory samples from /proc), and patched copies of guests.
 *
 * @module
 */

import { libc } from "../../lib/kvm/ffi.ts";
import { GUESTS, MAIN, ROOT } from "../cli/_run.ts";

export { GUESTS, MAIN, ROOT };

/** A running `deno run main.ts ...` with stdout and stderr piped and stdin /dev/null. */
export function spawnMicrovmm(args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  const base = Deno.env.toObject();
  delete base.MICROVMM_KVM_DEVICE;
  delete base.MICROVMM_LAUNCHER;
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--allow-read", "--allow-env", MAIN, ...args],
    cwd: ROOT,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** One field of /proc/<pid>/status (e.g. "VmRSS", "SigCgt"), or undefined once it is gone. */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return new RegExp(`^${field}:\\s*(.*)$`, "m").exec(status)?.[1];
  } catch {
    return undefined;
  }
}

/** The resident set size of `pid` in KiB, or undefined once the process is gone. */
export function rssKiB(pid: number): number | undefined {
  const value = procStatus(pid, "VmRSS");
  return value === undefined ? undefined : parseInt(value);
}

/** Whether `pid` has handlers installed for all of `signals` (numbers), per SigCgt. */
export function catches(pid: number, signals: number[]): boolean {
  const mask = procStatus(pid, "SigCgt");
  if (mask === undefined) return false;
  const caught = BigInt(`0x${mask}`);
  return signals.every((signal) => (caught >> BigInt(signal - 1)) & 1n);
}

/** Whether `pid` holds a vCPU fd (the VM exists and is about to run or running). */
export function hasVcpu(pid: number): boolean {
  try {
    for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
      try {
        if (Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).includes("kvm-vcpu")) return true;
      } catch {
        // The fd was closed while we looked.
      }
    }
  } catch {
    // The process is gone.
  }
  return false;
}

/** Polls `condition` every 10 ms; throws `what` after `seconds`. */
export async function waitFor(condition: () => boolean, what: string, seconds = 20): Promise<void> {
  const end = performance.now() + seconds * 1000;
  while (!condition()) {
    if (performance.now() > end) {
      throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Reads a whole stream into one byte array. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A copy of `guests/<name>.bin` with the little-endian dword at `offset` set to `value`. */
export function patchedGuest(
  name: string,
  offset: number,
  expected: number,
  value: number,
): Uint8Array {
  const image = Deno.readFileSync(`${GUESTS}/${name}.bin`);
  const view = new DataView(image.buffer);
  const found = view.getUint32(offset, true);
  if (found !== expected) {
    throw new Error(`${name}.bin: dword at ${offset} is ${found}, expected ${expected}`);
  }
  view.setUint32(offset, value, true);
  return image;
}

/** Whether `pid` is blocked in write(2) on fd 1 (/proc/<pid>/syscall: "1 0x1 ..."). */
export function blockedWriting(pid: number): boolean {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/syscall`).startsWith("1 0x1 ");
  } catch {
    return false;
  }
}

const F_SETPIPE_SZ = 1031;

/**
 * Sets the capacity of the pipe on `pid`'s fd `fd` (e.g. a child's stdout) to `bytes` (at least
 * a page) through this process's end of the same pipe, found in /proc/self/fd; returns the new
 * capacity. Call it while the pipe holds fewer bytes than that (the kernel refuses with EBUSY).
 */
export function setPipeCapacity(pid: number, fd: number, bytes: number): number {
  const pipe = Deno.readLinkSync(`/proc/${pid}/fd/${fd}`);
  if (!pipe.startsWith("pipe:")) throw new Error(`fd ${fd} of ${pid} is ${pipe}, not a pipe`);
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    let target;
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${entry.name}`);
    } catch {
      continue; // the fd that listed the directory, closed by now
    }
    if (target !== pipe) continue;
    const capacity = libc().fcntl(Number(entry.name), F_SETPIPE_SZ, BigInt(bytes));
    if (capacity < 0) throw new Error(`F_SETPIPE_SZ on ${pipe} failed`);
    return capacity;
  }
  throw new Error(`this process holds no end of ${pipe}`);
}

/** The flood guest's output for `chunks` chunks (see guests/flood.S). */
export function floodBytes(chunks: number): Uint8Array {
  const pattern = floodChunk(0);
  const out = new Uint8Array(chunks * 4096);
  const view = new DataView(out.buffer);
  for (let k = 0; k < chunks; k++) {
    out.set(pattern, k * 4096);
    view.setUint32(k * 4096, k, true);
  }
  return out;
}

/** Chunk `k` of the flood guest's output: k as 4 LE bytes, then (37 i + (i >> 8)) & 0xff. */
export function floodChunk(k: number): Uint8Array {
  const chunk = new Uint8Array(4096).map((_, i) => (37 * i + (i >> 8)) & 0xff);
  new DataView(chunk.buffer).setUint32(0, k, true);
  return chunk;
}

/** A temporary file holding `bytes`, removed on dispose. */
export class TempFile implements Disposable {
  /** Its path. */
  readonly path: string;

  /** Writes `bytes` to a new temporary file. */
  constructor(bytes: Uint8Array) {
    this.path = Deno.makeTempFileSync({ prefix: "microvmm_rel_", suffix: ".bin" });
    Deno.writeFileSync(this.path, bytes);
  }

  /** Removes the file. */
  [Symbol.dispose](): void {
    Deno.removeSync(this.path);
  }
}
