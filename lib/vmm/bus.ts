/**
 * Bus: maps address ranges (I/O ports or guest-physical MMIO) to devices.
 *
 * @module
 */

import type { BusDevice } from "../devices/device.ts";

/** One device on a bus. */
export interface BusEntry {
  /** First address of the range. */
  readonly base: number;
  /** Length of the range in bytes (ports). */
  readonly length: number;
  /** A short name for messages and traces ("COM1", "debugcon"). */
  readonly name: string;
  /** The device. */
  readonly device: BusDevice;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * A sorted set of non-overlapping ranges. Unclaimed accesses are the caller's business:
 * {@link Bus.read} and {@link Bus.write} return false for them.
 *
 * @example Claiming a port range
 * ```ts
 * import { Bus } from "./bus.ts";
 * const bus = new Bus("port");
 * bus.insert(0x3f8, 8, "COM1", { read: (_o, d) => d.fill(0), write: () => {} });
 * console.log(bus.write(0x3f8, new Uint8Array([65]))); // true
 * console.log(bus.write(0x2f8, new Uint8Array([65]))); // false
 * ```
 */
export class Bus {
  /** "port" or "MMIO": names the address space in errors. */
  readonly kind: string;
  readonly #entries: BusEntry[] = [];

  /** Creates an empty bus for the named address space. */
  constructor(kind: string) {
    this.kind = kind;
  }

  /** The entries, sorted by base. */
  get entries(): readonly BusEntry[] {
    return this.#entries;
  }

  /** Inserts `device` at `[base, base + length)`; throws if that overlaps another device. */
  insert(base: number, length: number, name: string, device: BusDevice): void {
    if (!Number.isSafeInteger(base) || base < 0 || !Number.isSafeInteger(length) || length <= 0) {
      throw new RangeError(
        `Cannot insert ${name} on the ${this.kind} bus: bad range ${base}+${length}`,
      );
    }
    for (const entry of this.#entries) {
      if (base < entry.base + entry.length && entry.base < base + length) {
        throw new Error(
          `Cannot insert ${name} at ${this.kind} ${hex(base)}-${
            hex(base + length - 1)
          }: it overlaps ${entry.name} at ${hex(entry.base)}-${hex(entry.base + entry.length - 1)}`,
        );
      }
    }
    this.#entries.push({ base, length, name, device });
    this.#entries.sort((a, b) => a.base - b.base);
  }

  /** Removes the device inserted at exactly `base`; returns whether one was there. */
  remove(base: number): boolean {
    const index = this.#entries.findIndex((entry) => entry.base === base);
    if (index < 0) return false;
    this.#entries.splice(index, 1);
    return true;
  }

  /** The entry whose range contains `address`, if any. */
  find(address: number): BusEntry | undefined {
    const entries = this.#entries;
    let low = 0;
    let high = entries.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const entry = entries[middle];
      if (address < entry.base) high = middle - 1;
      else if (address >= entry.base + entry.length) low = middle + 1;
      else return entry;
    }
    return undefined;
  }

  /** Reads from the device at `address` into `data`; false when nobody claims it. */
  read(address: number, data: Uint8Array): boolean {
    const entry = this.find(address);
    if (!entry) return false;
    entry.device.read(address - entry.base, data);
    return true;
  }

  /** Writes `data` to the device at `address`; false when nobody claims it. */
  write(address: number, data: Uint8Array): boolean {
    const entry = this.find(address);
    if (!entry) return false;
    entry.device.write(address - entry.base, data);
    return true;
  }
}
