/**
 * GuestMemory: guest RAM as one anonymous mapping, with bounds-checked access.
 *
 * @module
 */

import { check } from "../kvm/_fd.ts";
import {
  detachMapping,
  errno,
  libc,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from "../kvm/ffi.ts";
import { KvmError } from "../kvm/error.ts";

const PAGE_SIZE = 4096;
const MAP_FAILED = 0xffff_ffff_ffff_ffffn;
/**
 * RAM of 2 MiB or more starts on a 2 MiB host boundary, as QEMU aligns its RAM: KVM maps guest
 * memory with 2 MiB pages (EPT/NPT, over a transparent huge page) only where the host address and
 * the guest-physical address agree modulo 2 MiB. A plain mmap is only page aligned.
 */
export const HUGE_PAGE_SIZE = 2 * 1024 * 1024;

/** Maps `size` bytes of zeroed RAM, on a 2 MiB boundary when `size` is at least 2 MiB. */
function mapRam(size: number): Deno.PointerValue {
  const slack = size >= HUGE_PAGE_SIZE ? HUGE_PAGE_SIZE : 0;
  const pointer = libc().mmap(
    null,
    BigInt(size + slack),
    PROT_READ | PROT_WRITE,
    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
    -1,
    0n,
  );
  if (Deno.UnsafePointer.value(pointer) === MAP_FAILED) {
    throw new KvmError(`mmap of ${size} bytes of guest memory`, errno());
  }
  if (slack === 0) return pointer;
  // Keep the aligned `size` bytes; give back the slack before and after them.
  const start = BigInt(Deno.UnsafePointer.value(pointer));
  const huge = BigInt(HUGE_PAGE_SIZE);
  const aligned = (start + huge - 1n) & ~(huge - 1n);
  const head = aligned - start;
  const tail = huge - head;
  if (head > 0n) check("munmap of guest memory slack", libc().munmap(pointer, head));
  if (tail > 0n) {
    const end = Deno.UnsafePointer.create(aligned + BigInt(size));
    check("munmap of guest memory slack", libc().munmap(end, tail));
  }
  const ram = Deno.UnsafePointer.create(aligned);
  // Ask for huge pages: where the host's THP setting is "madvise" (this machine, Ubuntu's
  // default) an unadvised mapping gets 4 KiB pages only, and where it is "always" a fault may
  // still fall back to 4 KiB pages (defrag "madvise" compacts only for advised ranges); then
  // every 4 KiB the guest first touches costs its own nested page fault. Advice only: a host
  // without THP says EINVAL, and the RAM works the same.
  libc().madvise(ram, BigInt(size), MADV_HUGEPAGE);
  return ram;
}

/**
 * Guest RAM: `size` bytes mapped at guest-physical 0.
 *
 * @example Writing and reading back guest memory
 * ```ts
 * import { GuestMemory } from "./memory.ts";
 * using memory = new GuestMemory(64 * 1024);
 * memory.write(0x1000, new Uint8Array([0xf4]));
 * console.log(memory.read(0x1000, 1)); // Uint8Array(1) [ 244 ]
 * ```
 */
export class GuestMemory {
  /** Size in bytes (a multiple of 4 KiB). */
  readonly size: number;
  #pointer: Deno.PointerValue;
  #bytes: Uint8Array | undefined;
  #view: DataView | undefined;

  /** Maps `size` bytes of zeroed memory; `size` must be a positive multiple of 4 KiB. */
  constructor(size: number) {
    if (!Number.isSafeInteger(size) || size <= 0 || size % PAGE_SIZE !== 0) {
      throw new RangeError(
        `Cannot map guest memory: size ${size} is not a positive multiple of 4 KiB`,
      );
    }
    this.size = size;
    const pointer = mapRam(size);
    this.#pointer = pointer;
    const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer!, size);
    this.#bytes = new Uint8Array(buffer);
    this.#view = new DataView(buffer);
  }

  /** The host address of guest-physical 0 (for KVM_SET_USER_MEMORY_REGION). */
  get hostAddress(): bigint {
    this.bytes;
    return Deno.UnsafePointer.value(this.#pointer);
  }

  /** All of guest RAM as bytes (zero-copy); throws after dispose. */
  get bytes(): Uint8Array {
    if (!this.#bytes) throw new Error("Cannot use guest memory: it was disposed");
    return this.#bytes;
  }

  /** All of guest RAM as a DataView (zero-copy); throws after dispose. */
  get view(): DataView {
    if (!this.#view) throw new Error("Cannot use guest memory: it was disposed");
    return this.#view;
  }

  /** Throws a RangeError unless `[address, address + length)` lies inside guest RAM. */
  checkRange(address: number, length: number): void {
    if (
      !Number.isSafeInteger(address) || !Number.isSafeInteger(length) || address < 0 ||
      length < 0 || address + length > this.size
    ) {
      const where = Number.isInteger(address) && address >= 0
        ? `0x${address.toString(16)}`
        : String(address);
      throw new RangeError(
        `Guest memory access out of range: ${where}+${length} (RAM is 0x0-0x${
          this.size.toString(16)
        })`,
      );
    }
  }

  /** Copies `data` into guest RAM at `address`. */
  write(address: number, data: Uint8Array): void {
    this.checkRange(address, data.length);
    this.bytes.set(data, address);
  }

  /** Returns a copy of `length` bytes of guest RAM at `address`. */
  read(address: number, length: number): Uint8Array {
    this.checkRange(address, length);
    return this.bytes.slice(address, address + length);
  }

  /**
   * Unmaps guest RAM; safe to call twice. Views obtained earlier (`bytes`, `view` and arrays
   * over them) are detached first: they then have length 0 instead of reaching unmapped memory.
   */
  [Symbol.dispose](): void {
    if (!this.#pointer) return;
    detachMapping(this.#bytes!.buffer as ArrayBuffer);
    this.#bytes = undefined;
    this.#view = undefined;
    check("munmap of guest memory", libc().munmap(this.#pointer, BigInt(this.size)));
    this.#pointer = null;
  }
}

/** Rounds `size` up to a multiple of 4 KiB. */
export function pageAlign(size: number): number {
  return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
}
