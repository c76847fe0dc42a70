/**
 * Flat segment descriptors: the same definition feeds the in-memory GDT entry (SDM Vol. 3A
 * §3.4.5, "Segment Descriptors") and the `kvm_segment` KVM loads into the hidden register part.
 *
 * @module
 */

import type { Segment } from "../../kvm/regs.ts";

/** Segment type: code, execute/read, accessed (SDM Vol. 3A Table 3-1). */
export const TYPE_CODE_EXEC_READ_ACCESSED = 0xb;
/** Segment type: data, read/write, accessed. */
export const TYPE_DATA_READ_WRITE_ACCESSED = 0x3;

/** GDT selector of the flat code segment. */
export const CODE_SELECTOR = 0x08;
/** GDT selector of the flat data segment. */
export const DATA_SELECTOR = 0x10;

/** A flat 4 GiB segment: 32-bit code, 64-bit code or data, with the given (or usual) selector. */
export function flatSegment(kind: "code32" | "code64" | "data", selector?: number): Segment {
  const code = kind !== "data";
  return {
    base: 0n,
    limit: 0xffff_ffff,
    selector: selector ?? (code ? CODE_SELECTOR : DATA_SELECTOR),
    type: code ? TYPE_CODE_EXEC_READ_ACCESSED : TYPE_DATA_READ_WRITE_ACCESSED,
    present: 1,
    dpl: 0,
    db: kind === "code64" ? 0 : 1,
    s: 1,
    l: kind === "code64" ? 1 : 0,
    g: 1,
    avl: 0,
    unusable: 0,
  };
}

/** Encodes `segment` as an 8-byte GDT descriptor (limit in 4 KiB units when `g` is set). */
export function gdtEntry(segment: Segment): bigint {
  const base = BigInt.asUintN(32, segment.base);
  const limit = BigInt(segment.g ? segment.limit >>> 12 : segment.limit) & 0xfffffn;
  const access = BigInt(
    segment.type | (segment.s << 4) | (segment.dpl << 5) | (segment.present << 7),
  );
  const flags = BigInt(segment.avl | (segment.l << 1) | (segment.db << 2) | (segment.g << 3));
  return (limit & 0xffffn) |
    ((base & 0xffffffn) << 16n) |
    (access << 40n) |
    ((limit >> 16n) << 48n) |
    (flags << 52n) |
    ((base >> 24n) << 56n);
}

/**
 * Writes a GDT at `address` holding each segment at the slot its selector names (slot 0 and
 * unnamed slots stay null); returns the GDT limit.
 */
export function writeGdtTable(memory: DataView, address: number, segments: Segment[]): number {
  const slots = Math.max(...segments.map((segment) => segment.selector >> 3)) + 1;
  for (let i = 0; i < slots; i++) memory.setBigUint64(address + 8 * i, 0n, true);
  for (const segment of segments) {
    memory.setBigUint64(address + 8 * (segment.selector >> 3), gdtEntry(segment), true);
  }
  return slots * 8 - 1;
}

/** Writes a GDT of null, `code` (0x08) and `data` (0x10) at `address`; returns its limit. */
export function writeGdt(memory: DataView, address: number, code: Segment, data: Segment): number {
  return writeGdtTable(memory, address, [code, data]);
}
