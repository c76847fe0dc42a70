/**
 * Reading the guest image named on the command line, with one-line errors for bad files.
 *
 * @module
 */

import { ConfigError } from "../vmm/config_error.ts";

/** Reads the guest image at `path`; throws a ConfigError for missing, empty or unreadable files. */
export function readGuestFile(path: string, maxSize: number): Uint8Array {
  return readImageFile(path, "guest file", maxSize);
}

/**
 * Reads an image (`what`: "guest file", "kernel", "initrd") of at most `maxSize` bytes; throws a
 * ConfigError naming it for missing, empty, oversized or unreadable files.
 */
export function readImageFile(path: string, what: string, maxSize: number): Uint8Array {
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
  let bytes: Uint8Array;
  try {
    bytes = info.isFile ? Deno.readFileSync(path) : readAtMost(path, maxSize + 1);
  } catch (error) {
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

/** Reads up to `limit` bytes from `path` (a device or FIFO, maybe endless like /dev/zero). */
function readAtMost(path: string, limit: number): Uint8Array {
  using file = Deno.openSync(path);
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = new Uint8Array(Math.min(limit - total, 64 * 1024));
    const count = file.readSync(chunk);
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
