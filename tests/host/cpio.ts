/**
 * A newc ("070701") cpio archive writer, the format the Linux kernel unpacks as an initramfs.
 * @module
 */

import { gzipSync } from "node:zlib";

/** File type bits of a cpio entry's mode (the same as `st_mode`). */
export const S_IFDIR = 0o040000;
/** Regular file type bits. */
export const S_IFREG = 0o100000;
/** Symbolic link type bits. */
export const S_IFLNK = 0o120000;
/** Character device type bits. */
export const S_IFCHR = 0o020000;

const MAGIC = "070701";
const TRAILER = "TRAILER!!!";
const encoder = new TextEncoder();

/** One archive member: a path (relative, no leading slash), a full mode and its content. */
export interface CpioEntry {
  /** Path inside the archive, e.g. `bin/busybox` (a leading `/` or `./` is stripped). */
  name: string;
  /** Full mode: type bits (`S_IFREG`, ...) or'ed with the permission bits. */
  mode: number;
  /** File content, or the target of a symbolic link; empty for directories and devices. */
  data?: Uint8Array;
  /** Device major and minor numbers, for character devices. */
  rdev?: [number, number];
  /** Modification time in seconds; 0 keeps archives reproducible. */
  mtime?: number;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`cpio: header field ${n} does not fit in 32 bits`);
  }
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** Normalises an archive path: strips a leading `/` or `./`, rejects empty and `..` parts. */
export function normalizeName(name: string): string {
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.length === 0 || parts.includes("..")) {
    throw new Error(`cpio: bad archive path "${name}"`);
  }
  return parts.join("/");
}

/**
 * Builds an archive in memory, entry by entry; `finish()` appends the trailer and returns the
 * bytes. Parent directories are not added implicitly: add them first with `dir()`.
 */
export class CpioWriter {
  #chunks: Uint8Array[] = [];
  #size = 0;
  #ino = 1;
  #names = new Set<string>();

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#size += bytes.length;
  }

  #header(e: CpioEntry, name: string, fileSize: number): void {
    const nameBytes = encoder.encode(name + "\0");
    const [rmaj, rmin] = e.rdev ?? [0, 0];
    const isDir = (e.mode & 0o170000) === S_IFDIR;
    const fields = [
      this.#ino++,
      e.mode,
      0, // uid
      0, // gid
      isDir ? 2 : 1, // nlink
      e.mtime ?? 0,
      fileSize,
      0, // devmajor
      0, // devminor
      rmaj,
      rmin,
      nameBytes.length,
      0, // check
    ];
    const head = encoder.encode(MAGIC + fields.map(hex8).join(""));
    this.#push(head);
    this.#push(nameBytes);
    this.#push(new Uint8Array(pad4(head.length + nameBytes.length)));
  }

  /** Adds one entry exactly as given; throws on a duplicate path. */
  add(e: CpioEntry): this {
    const name = e.name === TRAILER ? TRAILER : normalizeName(e.name);
    if (this.#names.has(name)) throw new Error(`cpio: duplicate archive path "${name}"`);
    this.#names.add(name);
    const data = e.data ?? new Uint8Array(0);
    this.#header(e, name, data.length);
    if (data.length > 0) {
      this.#push(data);
      this.#push(new Uint8Array(pad4(data.length)));
    }
    return this;
  }

  /** Whether a path was already added. */
  has(name: string): boolean {
    return this.#names.has(normalizeName(name));
  }

  /** Adds a directory (mode 0755 unless given), skipping it if already present. */
  dir(name: string, perm = 0o755): this {
    if (this.has(name)) return this;
    return this.add({ name, mode: S_IFDIR | perm });
  }

  /** Adds a directory and all its missing parents, like `mkdir -p`. */
  dirs(name: string): this {
    const parts = normalizeName(name).split("/");
    for (let i = 1; i <= parts.length; i++) this.dir(parts.slice(0, i).join("/"));
    return this;
  }

  /** Adds a regular file (mode 0644 unless given), creating missing parent directories. */
  file(name: string, data: Uint8Array | string, perm = 0o644): this {
    this.#parents(name);
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    return this.add({ name, mode: S_IFREG | perm, data: bytes });
  }

  /** Adds a symbolic link `name` pointing to `target`, creating missing parent directories. */
  symlink(name: string, target: string): this {
    this.#parents(name);
    return this.add({ name, mode: S_IFLNK | 0o777, data: encoder.encode(target) });
  }

  /** Adds a character device node (e.g. `dev/console`, 5, 1). */
  chardev(name: string, major: number, minor: number, perm = 0o600): this {
    this.#parents(name);
    return this.add({ name, mode: S_IFCHR | perm, rdev: [major, minor] });
  }

  #parents(name: string): void {
    const parts = normalizeName(name).split("/");
    if (parts.length > 1) this.dirs(parts.slice(0, -1).join("/"));
  }

  /** Appends the trailer entry and returns the whole archive; the writer is then spent. */
  finish(): Uint8Array {
    this.add({ name: TRAILER, mode: 0 });
    const out = new Uint8Array(this.#size);
    let at = 0;
    for (const c of this.#chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.#chunks = [];
    return out;
  }
}

/** Gzips an archive (level 1 by default: the guest's inflate speed matters more than size). */
export function gzip(bytes: Uint8Array, level = 1): Uint8Array {
  const out = gzipSync(bytes, { level });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
