/**
 * Reading the guest image named on the command line, with one-line errors for bad files.
 *
 * @module
 */

import type { ImageSource } from "../arch/x86_64/boot/image_source.ts";
import { ConfigError } from "../vmm/config_error.ts";

/**
 * Reads the guest image at `path`; throws a ConfigError for missing, empty or unreadable files.
 * A FIFO or device is read asynchronously, so `stop` (the CLI's stop signals) can end a read
 * that waits for a writer: it then throws {@link ReadStopped}.
 */
export async function readGuestFile(
  path: string,
  maxSize: number,
  stop?: AbortSignal,
): Promise<Uint8Array> {
  return await readImageFile(path, "guest file", maxSize, stop);
}

/** A read of a FIFO or device given up because `stop` fired (a stop signal while it waited). */
export class ReadStopped extends Error {
  /** For the image named `what`. */
  constructor(what: string) {
    super(`reading the ${what} was stopped`);
    this.name = "ReadStopped";
  }
}

/**
 * Reads an image (`what`: "guest file", "kernel", "initrd") of at most `maxSize` bytes; throws a
 * ConfigError naming it for missing, empty, oversized or unreadable files, and ReadStopped when
 * `stop` fires while a FIFO or device is read.
 */
export async function readImageFile(
  path: string,
  what: string,
  maxSize: number,
  stop?: AbortSignal,
): Promise<Uint8Array> {
  const info = statImage(path, what, maxSize);
  let bytes: Uint8Array;
  try {
    bytes = info.isFile
      ? Deno.readFileSync(path)
      : await readAtMost(path, maxSize + 1, stoppable(what, stop));
  } catch (error) {
    if (error instanceof ReadStopped) throw error;
    throw new ConfigError(`Cannot read ${what} '${path}': ${reason(error)}`);
  }
  if (bytes.length === 0) throw new ConfigError(`Cannot load ${what} '${path}': it is empty`);
  if (bytes.length > maxSize) {
    throw new ConfigError(
      `Cannot load ${what} '${path}': it holds more than the ${maxSize} bytes of RAM`,
    );
  }
  return bytes;
}

/**
 * Opens an image like {@link readImageFile}, but a regular file stays open and is read at
 * offsets ({@link ImageFile}), so a loader copies only what it needs straight into guest RAM;
 * anything else (a FIFO, a device) is read into memory as before. With `loaderChecksSize`, a
 * regular file of any size is opened (a vmlinux's debug sections may make it larger than RAM;
 * the loader checks what it loads) and `maxSize` bounds only what is read from anything else.
 */
export async function openImageFile(
  path: string,
  what: string,
  maxSize: number,
  options: { loaderChecksSize?: boolean; stop?: AbortSignal } = {},
): Promise<ImageFile | Uint8Array> {
  const info = statImage(path, what, options.loaderChecksSize ? Infinity : maxSize);
  if (!info.isFile) return await readImageFile(path, what, maxSize, options.stop);
  try {
    return new ImageFile(Deno.openSync(path), info.size, path, what);
  } catch (error) {
    throw new ConfigError(`Cannot read ${what} '${path}': ${reason(error)}`);
  }
}

/** An open regular file read at offsets (an {@link ImageSource}); closed by dispose. */
export class ImageFile implements ImageSource {
  /** The file's size when it was opened. */
  readonly length: number;
  readonly #file: Deno.FsFile;
  readonly #path: string;
  readonly #what: string;

  /** Wraps `file` of `length` bytes; `path` and `what` name it in errors. */
  constructor(file: Deno.FsFile, length: number, path: string, what: string) {
    this.#file = file;
    this.length = length;
    this.#path = path;
    this.#what = what;
  }

  /** Fills `target` from `offset`; a ConfigError when the file fails or ends early. */
  readInto(offset: number, target: Uint8Array): void {
    let done = 0;
    try {
      this.#file.seekSync(offset, Deno.SeekMode.Start);
      while (done < target.length) {
        const count = this.#file.readSync(target.subarray(done));
        if (count === null) break;
        done += count;
      }
    } catch (error) {
      throw new ConfigError(`Cannot read ${this.#what} '${this.#path}': ${reason(error)}`);
    }
    if (done < target.length) {
      throw new ConfigError(
        `Cannot read ${this.#what} '${this.#path}': it ends at ${offset + done} bytes, ` +
          `short of the ${this.length} it had when opened (did it change while loading?)`,
      );
    }
  }

  /** Closes the file; safe to call twice. */
  [Symbol.dispose](): void {
    try {
      this.#file.close();
    } catch {
      // Already closed.
    }
  }
}

/** Stats an image: a ConfigError for missing, directory, empty or oversized regular files. */
function statImage(path: string, what: string, maxSize: number): Deno.FileInfo {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read ${what} '${path}': ${reason(error)}`);
  }
  if (info.isDirectory) {
    throw new ConfigError(`Cannot read ${what} '${path}': it is a directory`);
  }
  if (info.isFile && info.size === 0) {
    throw new ConfigError(`Cannot load ${what} '${path}': it is empty`);
  }
  if (info.isFile && info.size > maxSize) {
    throw new ConfigError(
      `Cannot load ${what} '${path}': ${info.size} bytes do not fit in ${maxSize} bytes of RAM`,
    );
  }
  return info;
}

/**
 * Reads up to `limit` bytes from `path` (a device or FIFO, maybe endless like /dev/zero, maybe
 * waiting for a writer), each wait passed through `wait` (which may give up).
 */
async function readAtMost(
  path: string,
  limit: number,
  wait: <T>(promise: Promise<T>) => Promise<T>,
): Promise<Uint8Array> {
  using file = await wait(Deno.open(path));
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = new Uint8Array(Math.min(limit - total, 64 * 1024));
    const count = await wait(file.read(chunk));
    if (count === null) break;
    chunks.push(chunk.subarray(0, count));
    total += count;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** Waits for a promise unless `stop` fires first (then rejects with ReadStopped). */
function stoppable(what: string, stop: AbortSignal | undefined) {
  return <T>(promise: Promise<T>): Promise<T> => {
    if (!stop) return promise;
    return new Promise<T>((resolve, reject) => {
      const onStop = () => reject(new ReadStopped(what));
      if (stop.aborted) return onStop();
      stop.addEventListener("abort", onStop, { once: true });
      promise.then(resolve, reject).finally(() => stop.removeEventListener("abort", onStop));
    });
  };
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  if (error instanceof Deno.errors.NotCapable) {
    return "Deno's permissions refuse it (paths under /proc and /dev/fd need --allow-all)";
  }
  // "Not a directory (os error 20): stat 'x'" -> "not a directory": the path is already said.
  const message = (error as Error).message.replace(/ \(os error \d+\).*$/s, "");
  return message.charAt(0).toLowerCase() + message.slice(1);
}
