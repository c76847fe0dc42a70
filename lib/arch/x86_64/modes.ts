/**
 * CPU mode setup for flat guests: real, protected, paged (32-bit) and long (64-bit) mode, written
 * as the GDT/page tables in guest memory plus the register values to load.
 *
 * @module
 */

import type { Regs, Sregs } from "../../kvm/regs.ts";
import { ConfigError } from "../../vmm/config_error.ts";
import { flatSegment, writeGdt } from "./gdt.ts";
import { VMM_AREA_SIZE } from "./layout.ts";
import { pageTables64Size, writePageDirectory32, writePageTables64 } from "./paging.ts";

/** The CPU modes a flat guest can start in. */
export const CPU_MODES = ["real", "protected", "paged", "long"] as const;
/** One of {@link CPU_MODES}. */
export type CpuMode = typeof CPU_MODES[number];

/** CR0 bits (SDM Vol. 3A §2.5). */
export const CR0_PE = 1n << 0n;
/** CR0.ET: extension type, hard-wired to 1 on modern CPUs. */
export const CR0_ET = 1n << 4n;
/** CR0.NE: native FPU error reporting. */
export const CR0_NE = 1n << 5n;
/** CR0.PG: paging. */
export const CR0_PG = 1n << 31n;
/** CR4.PSE: 4 MiB pages in 32-bit paging. */
export const CR4_PSE = 1n << 4n;
/** CR4.PAE: physical address extension (required by long mode). */
export const CR4_PAE = 1n << 5n;
/** EFER.LME: long mode enable (SDM Vol. 3A §2.2.1). */
export const EFER_LME = 1n << 8n;
/** EFER.LMA: long mode active. */
export const EFER_LMA = 1n << 10n;
/** RFLAGS bit 1 is reserved and always set. */
export const RFLAGS_RESERVED = 2n;

const FOUR_GIB = 2 ** 32;
const ONE_MIB = 0x10_0000;

/** Where the VMM's GDT, page tables and initial stack live for a VM with `memSize` of RAM. */
export function vmmArea(memSize: number): { base: number; size: number } {
  return { base: Math.min(memSize, FOUR_GIB) - VMM_AREA_SIZE, size: VMM_AREA_SIZE };
}

/**
 * Checks a flat guest of `length` bytes at `load` entered at `entry` can run in `mode` with
 * `memSize` of RAM; throws a ConfigError saying what is wrong.
 */
export function checkFlatGuest(
  mode: CpuMode,
  memSize: number,
  load: number,
  length: number,
  entry: number,
): void {
  const hex = (n: number) => `0x${n.toString(16)}`;
  if (load + length > memSize) {
    throw new ConfigError(
      `Cannot load guest: ${length} bytes at ${hex(load)} do not fit in ${memSize} bytes of RAM`,
    );
  }
  if (entry >= memSize) {
    throw new ConfigError(
      `Cannot start guest: entry ${hex(entry)} is outside RAM (${memSize} bytes)`,
    );
  }
  if (mode === "real") {
    if (entry >= ONE_MIB) {
      throw new ConfigError(
        `Cannot start guest: entry ${hex(entry)} is above 1 MiB, out of reach in real mode`,
      );
    }
    realModeSegment(entry, { address: load, length });
    return;
  }
  const area = vmmArea(memSize);
  if (load < area.base + area.size && area.base < load + length) {
    throw new ConfigError(
      `Cannot load guest: ${hex(load)}-${hex(load + length - 1)} overlaps the VMM area ${
        hex(area.base)
      }-${
        hex(area.base + area.size - 1)
      } (GDT, page tables, stack); use a smaller image, a lower --load or more --mem`,
    );
  }
  // The GDT takes the area's first page; the PML4, the PDPT and one directory per GiB the rest.
  if (mode === "long" && pageTables64Size(Math.max(memSize, FOUR_GIB)) + 4096 > area.size) {
    const maxGib = area.size / 4096 - 3;
    throw new ConfigError(
      `Cannot map ${memSize} bytes of RAM in long mode: at most ${maxGib} GiB`,
    );
  }
  if (mode !== "long" && entry >= FOUR_GIB) {
    throw new ConfigError(`Cannot start guest: entry ${hex(entry)} is above 4 GiB in 32-bit mode`);
  }
}

/**
 * The real-mode code segment base for a guest entered at `entry`: the 64 KiB-aligned segment
 * holding the entry when the image holding the entry lies inside it too (so the classic hello
 * world gets CS 0, IP 0x1000), else the paragraph where that image starts. Throws when that
 * image does not fit in one 64 KiB segment.
 */
export function realModeSegment(
  entry: number,
  image?: { address: number; length: number },
): number {
  const aligned = entry & 0xf_0000;
  // Only the image holding the entry is code that must be reachable (others may be data).
  if (!image || entry < image.address || entry >= image.address + image.length) return aligned;
  const end = image.address + image.length;
  if (image.address >= aligned && end <= aligned + 0x1_0000) return aligned;
  const base = image.address & ~0xf;
  if (end - base > 0x1_0000) {
    throw new ConfigError(
      `Cannot start guest in real mode: the image 0x${image.address.toString(16)}-0x${
        (end - 1).toString(16)
      } and entry 0x${entry.toString(16)} do not fit in one 64 KiB segment`,
    );
  }
  return base;
}

/**
 * Puts the CPU in `mode` to start at `entry`: writes the GDT and page tables into the VMM area of
 * `memory` and updates `sregs`/`regs` in place. Real mode matches the classic KVM hello world:
 * CS base 0 selector 0, IP = entry, RFLAGS 2 (see {@link realModeSegment} for other places).
 */
export function setupMode(
  mode: CpuMode,
  memory: DataView,
  memSize: number,
  entry: number,
  sregs: Sregs,
  regs: Regs,
  image?: { address: number; length: number },
): void {
  regs.rflags = RFLAGS_RESERVED;
  if (mode === "real") {
    const segmentBase = realModeSegment(entry, image);
    sregs.cs.selector = segmentBase >> 4;
    sregs.cs.base = BigInt(segmentBase);
    regs.rip = BigInt(entry - segmentBase);
    return;
  }
  const area = vmmArea(memSize);
  const code = flatSegment(mode === "long" ? "code64" : "code32");
  const data = flatSegment("data");
  const gdtLimit = writeGdt(memory, area.base, code, data);
  sregs.gdt = { base: BigInt(area.base), limit: gdtLimit };
  sregs.idt = { base: 0n, limit: 0 };
  sregs.cs = code;
  sregs.ds =
    sregs.es =
    sregs.fs =
    sregs.gs =
    sregs.ss =
      data;
  sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
  const tables = area.base + 4096;
  if (mode === "paged") {
    sregs.cr3 = BigInt(writePageDirectory32(memory, tables));
    sregs.cr4 = CR4_PSE;
    sregs.cr0 |= CR0_PG;
  } else if (mode === "long") {
    sregs.cr3 = BigInt(writePageTables64(memory, tables, Math.max(memSize, FOUR_GIB)));
    sregs.cr4 = CR4_PAE;
    sregs.efer = EFER_LME | EFER_LMA;
    sregs.cr0 |= CR0_PG;
  }
  regs.rip = BigInt(entry);
  regs.rsp = BigInt(area.base);
}
