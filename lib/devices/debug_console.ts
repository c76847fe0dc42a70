/**
 * DebugConsole: a write-only byte port (the seed's port 0xf1, QEMU/Bochs debugcon at 0xe9).
 *
 * @module
 */

import type { BusDevice } from "./device.ts";

/**
 * Every byte written goes to `output`; reads return `readback` (debugcon answers 0xe9 so guests
 * can detect it).
 *
 * @example
 * ```ts
 * import { DebugConsole } from "./debug_console.ts";
 * const seen: number[] = [];
 * const port = new DebugConsole((byte) => seen.push(byte), 0xe9);
 * port.write(0, new Uint8Array([72]));
 * console.log(seen); // [ 72 ]
 * ```
 */
export class DebugConsole implements BusDevice {
  readonly #output: (byte: number) => void;
  readonly #readback: number;

  /** Sends written bytes to `output`; reads return `readback` in every byte. */
  constructor(output: (byte: number) => void, readback = 0xff) {
    this.#output = output;
    this.#readback = readback;
  }

  /** Fills `data` with the readback value. */
  read(_offset: number, data: Uint8Array): void {
    data.fill(this.#readback);
  }

  /** Outputs the low byte of the access (like an 8-bit port, wider writes send their low byte). */
  write(_offset: number, data: Uint8Array): void {
    this.#output(data[0]);
  }
}
