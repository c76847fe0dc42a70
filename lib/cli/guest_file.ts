/**
 * Reading the guest image named on the command line, with one-line errors for bad files.
 *
 * @module
 */

import { ConfigError } from "../vmm/config_error.ts";

/** Reads the guest image at `path`; throws a ConfigError for missing, empty or unreadable files. */
export function readGuestFile(path: string, maxSize: number): Uint8Array {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read guest file '${path}': ${reason(error)}`);
  }
  if (info.isDirectory) {
    throw new ConfigError(`Cannot read guest file '${path}': it is a directory`);
  }
  if (info.isFile && info.size === 0) {
    throw new ConfigError(`Cannot load guest file '${path}': it is empty`);
  }
  if (info.isFile && info.size > maxSize) {
    throw new ConfigError(
      `Cannot load guest file '${path}': ${info.size} bytes do not fit in ${maxSize} bytes of RAM`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    throw new ConfigError(`Cannot read guest file '${path}': ${reason(error)}`);
  }
  if (bytes.length === 0) throw new ConfigError(`Cannot load guest file '${path}': it is empty`);
  return bytes;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return (error as Error).message;
}
