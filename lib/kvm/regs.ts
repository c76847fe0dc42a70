/**
 * Codecs between `kvm_regs`/`kvm_sregs` bytes and plain objects, following the offset tables.
 *
 * @module
 */

import { KVM_DTABLE, KVM_REGS, KVM_SEGMENT, KVM_SREGS } from "./abi.ts";

/** General purpose registers (`struct kvm_regs`), 64-bit each. */
export interface Regs {
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rsp: bigint;
  rbp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
}

/** The names of {@link Regs}, in `kvm_regs` order. */
export const REG_NAMES = [
  "rax",
  "rbx",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "rsp",
  "rbp",
  "r8",
  "r9",
  "r10",
  "r11",
  "r12",
  "r13",
  "r14",
  "r15",
  "rip",
  "rflags",
] as const satisfies readonly (keyof Regs)[];

/** A segment register with its hidden descriptor cache (`struct kvm_segment`). */
export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl: number;
  unusable: number;
}

/** GDTR or IDTR (`struct kvm_dtable`). */
export interface DescriptorTable {
  base: bigint;
  limit: number;
}

/** Special registers (`struct kvm_sregs`). */
export interface Sregs {
  cs: Segment;
  ds: Segment;
  es: Segment;
  fs: Segment;
  gs: Segment;
  ss: Segment;
  tr: Segment;
  ldt: Segment;
  gdt: DescriptorTable;
  idt: DescriptorTable;
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  cr8: bigint;
  efer: bigint;
  apicBase: bigint;
  /** The raw `interrupt_bitmap` (4 u64), kept as bytes. */
  interruptBitmap: Uint8Array;
}

const SEGMENT_NAMES = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt"] as const;
const SEGMENT_BYTE_FIELDS = [
  "type",
  "present",
  "dpl",
  "db",
  "s",
  "l",
  "g",
  "avl",
  "unusable",
] as const;

/** Decodes `kvm_regs` bytes. */
export function decodeRegs(bytes: Uint8Array): Regs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, KVM_REGS.size);
  const regs = {} as Regs;
  for (const name of REG_NAMES) regs[name] = view.getBigUint64(KVM_REGS[name], true);
  return regs;
}

/** Encodes {@link Regs} as `kvm_regs` bytes. */
export function encodeRegs(regs: Regs): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(KVM_REGS.size);
  const view = new DataView(bytes.buffer);
  for (const name of REG_NAMES) {
    const value: unknown = regs[name];
    if (typeof value !== "bigint") {
      const shown = typeof value === "number" ? `the number ${value}` : String(value);
      throw new TypeError(`Cannot set registers: ${name} is ${shown}, not a bigint`);
    }
    view.setBigUint64(KVM_REGS[name], BigInt.asUintN(64, value), true);
  }
  return bytes;
}

function decodeSegment(view: DataView, at: number): Segment {
  const segment = {
    base: view.getBigUint64(at + KVM_SEGMENT.base, true),
    limit: view.getUint32(at + KVM_SEGMENT.limit, true),
    selector: view.getUint16(at + KVM_SEGMENT.selector, true),
  } as Segment;
  for (const field of SEGMENT_BYTE_FIELDS) segment[field] = view.getUint8(at + KVM_SEGMENT[field]);
  return segment;
}

function encodeSegment(view: DataView, at: number, segment: Segment): void {
  view.setBigUint64(at + KVM_SEGMENT.base, BigInt.asUintN(64, segment.base), true);
  view.setUint32(at + KVM_SEGMENT.limit, segment.limit >>> 0, true);
  view.setUint16(at + KVM_SEGMENT.selector, segment.selector, true);
  for (const field of SEGMENT_BYTE_FIELDS) view.setUint8(at + KVM_SEGMENT[field], segment[field]);
}

function decodeDtable(view: DataView, at: number): DescriptorTable {
  return {
    base: view.getBigUint64(at + KVM_DTABLE.base, true),
    limit: view.getUint16(at + KVM_DTABLE.limit, true),
  };
}

function encodeDtable(view: DataView, at: number, table: DescriptorTable): void {
  view.setBigUint64(at + KVM_DTABLE.base, BigInt.asUintN(64, table.base), true);
  view.setUint16(at + KVM_DTABLE.limit, table.limit, true);
}

const BITMAP_SIZE = KVM_SREGS.size - KVM_SREGS.interrupt_bitmap;

/** Decodes `kvm_sregs` bytes. */
export function decodeSregs(bytes: Uint8Array): Sregs {
  const view = new DataView(bytes.buffer, bytes.byteOffset, KVM_SREGS.size);
  const sregs = {
    gdt: decodeDtable(view, KVM_SREGS.gdt),
    idt: decodeDtable(view, KVM_SREGS.idt),
    cr0: view.getBigUint64(KVM_SREGS.cr0, true),
    cr2: view.getBigUint64(KVM_SREGS.cr2, true),
    cr3: view.getBigUint64(KVM_SREGS.cr3, true),
    cr4: view.getBigUint64(KVM_SREGS.cr4, true),
    cr8: view.getBigUint64(KVM_SREGS.cr8, true),
    efer: view.getBigUint64(KVM_SREGS.efer, true),
    apicBase: view.getBigUint64(KVM_SREGS.apic_base, true),
    interruptBitmap: bytes.slice(
      KVM_SREGS.interrupt_bitmap,
      KVM_SREGS.interrupt_bitmap + BITMAP_SIZE,
    ),
  } as Sregs;
  for (const name of SEGMENT_NAMES) sregs[name] = decodeSegment(view, KVM_SREGS[name]);
  return sregs;
}

/** Encodes {@link Sregs} as `kvm_sregs` bytes. */
export function encodeSregs(sregs: Sregs): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(KVM_SREGS.size);
  const view = new DataView(bytes.buffer);
  for (const name of SEGMENT_NAMES) encodeSegment(view, KVM_SREGS[name], sregs[name]);
  encodeDtable(view, KVM_SREGS.gdt, sregs.gdt);
  encodeDtable(view, KVM_SREGS.idt, sregs.idt);
  view.setBigUint64(KVM_SREGS.cr0, sregs.cr0, true);
  view.setBigUint64(KVM_SREGS.cr2, sregs.cr2, true);
  view.setBigUint64(KVM_SREGS.cr3, sregs.cr3, true);
  view.setBigUint64(KVM_SREGS.cr4, sregs.cr4, true);
  view.setBigUint64(KVM_SREGS.cr8, sregs.cr8, true);
  view.setBigUint64(KVM_SREGS.efer, sregs.efer, true);
  view.setBigUint64(KVM_SREGS.apic_base, sregs.apicBase, true);
  bytes.set(sregs.interruptBitmap.subarray(0, BITMAP_SIZE), KVM_SREGS.interrupt_bitmap);
  return bytes;
}
