/**
 * Shared helpers of the boot writers: little-endian access to guest RAM and range checks.
 *
 * @module
 */

/** 2^32, to split 64-bit addresses into the low and high 32-bit halves boot structures use. */
export const TWO_32 = 2 ** 32;

/** `n` as `0x…` hex, for error messages. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** A byte count in the largest whole binary unit (`256 MiB`), else in bytes. */
export function sizeText(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  }
  return `${n} bytes`;
}

/** A DataView over exactly the bytes of `bytes`. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads a little-endian u64 as a number; throws if it is above 2^53 (no guest RAM is that big). */
export function u64(view: DataView, offset: number, what: string): number {
  const v = view.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${what} ${v} is too large`);
  return Number(v);
}

/** Writes `value` (a non-negative safe integer) as a little-endian u64. */
export function setU64(view: DataView, offset: number, value: number): void {
  view.setBigUint64(offset, BigInt(value), true);
}

/** Rounds `n` up to a multiple of `align` (a power of two or any positive integer). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Rounds `n` down to a multiple of `align`. */
export function alignDown(n: number, align: number): number {
  return Math.floor(n / align) * align;
}

/**
 * Throws unless `[address, address + size)` lies inside `memory` (guest RAM, index = guest
 * physical address). `what` names the structure for the message.
 */
export function checkGuestRange(
  memory: Uint8Array,
  address: number,
  size: number,
  what: string,
): void {
  if (
    !Number.isSafeInteger(address) || !Number.isSafeInteger(size) || address < 0 || size < 0 ||
    address + size > memory.length
  ) {
    throw new RangeError(
      `${what} [${hex(address)}, ${hex(address + size)}) lies outside guest RAM (${
        sizeText(memory.length)
      })`,
    );
  }
}
