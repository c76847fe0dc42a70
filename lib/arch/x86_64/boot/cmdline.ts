/**
 * Writer of the kernel command line into guest RAM: NUL-terminated, within the kernel's
 * cmdline_size.
 *
 * @module
 */

import { checkGuestRange } from "./_mem.ts";

/**
 * Writes `text` (UTF-8) and a terminating NUL at `address` in `memory` (guest RAM, index =
 * guest-physical address) and returns the bytes written, NUL included. `maxSize` is the
 * kernel's cmdline_size (boot.rst: "the maximum size of the command line without the
 * terminating zero"); a longer line, or one with a NUL inside, is an error.
 */
export function writeCmdline(
  memory: Uint8Array,
  address: number,
  text: string,
  maxSize: number,
): number {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > maxSize) {
    throw new Error(
      `kernel command line is ${bytes.length} bytes, the kernel accepts at most ${maxSize}`,
    );
  }
  if (bytes.includes(0)) throw new Error("kernel command line contains a NUL character");
  checkGuestRange(memory, address, bytes.length + 1, "kernel command line");
  memory.set(bytes, address);
  memory[address + bytes.length] = 0;
  return bytes.length + 1;
}
