/**
 * ExitPort: isa-debug-exit style — a write stops the VM with the written value as its status.
 *
 * @module
 */

import { type BusDevice, dataToNumber } from "./device.ts";

/**
 * Writing value v (any size) calls `onExit(v & 0xff)`, the process exit status the CLI returns.
 * Unlike QEMU's isa-debug-exit (status `(v << 1) | 1`) the value is used as is. Reads return 0.
 *
 * @example
 * ```ts
 * import { ExitPort } from "./exit_port.ts";
 * let status = -1;
 * new ExitPort((s) => status = s).write(0, new Uint8Array([42]));
 * console.log(status); // 42
 * ```
 */
export class ExitPort implements BusDevice {
  readonly #onExit: (status: number) => void;

  /** Calls `onExit` with the status a guest writes. */
  constructor(onExit: (status: number) => void) {
    this.#onExit = onExit;
  }

  /** Reads as zero. */
  read(_offset: number, data: Uint8Array): void {
    data.fill(0);
  }

  /** Stops the VM with the low 8 bits of the written value. */
  write(_offset: number, data: Uint8Array): void {
    this.#onExit(dataToNumber(data) & 0xff);
  }
}
