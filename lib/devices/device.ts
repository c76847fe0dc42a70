/**
 * The interface every emulated device implements: reads and writes at an offset inside the
 * address range the bus gave it. Devices know nothing about KVM or where they sit.
 *
 * @module
 */

/**
 * A device on the port-I/O or MMIO bus.
 *
 * `offset` is relative to the start of the range the device was inserted at; `data` holds
 * exactly the bytes of one access (1, 2, 4 or 8 of them, little-endian). The bus reuses `data`
 * between accesses, so a device must not keep a reference to it.
 */
export interface BusDevice {
  /** Fill `data` with the value read at `offset`. */
  read(offset: number, data: Uint8Array): void;
  /** Take the value in `data` written at `offset`. */
  write(offset: number, data: Uint8Array): void;
}

/**
 * Reads `data` (1, 2, 4 or 8 little-endian bytes) as an unsigned number: exact up to 2^53, an
 * 8-byte value above that rounded to the nearest double.
 */
export function dataToNumber(data: Uint8Array): number {
  let value = 0;
  for (let i = data.length - 1; i >= 0; i--) value = value * 256 + data[i];
  return value;
}

/** Writes `value` into `data` as little-endian bytes, truncating to `data.length` bytes. */
export function numberToData(value: number, data: Uint8Array): void {
  let v = value;
  for (let i = 0; i < data.length; i++) {
    data[i] = v & 0xff;
    v = Math.floor(v / 256);
  }
}

/** Writes `value` into `data` as little-endian bytes, truncating to `data.length` bytes. */
export function bigintToData(value: bigint, data: Uint8Array): void {
  let v = BigInt.asUintN(64, value);
  for (let i = 0; i < data.length; i++) {
    data[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
