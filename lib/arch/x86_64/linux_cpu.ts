/**
 * The CPU state at a Linux kernel's entry: the 64-bit boot protocol (Documentation/arch/x86/
 * boot.rst, "64-bit Boot Protocol") or the PVH entry (xen/include/public/arch-x86/hvm/start_info.h).
 *
 * @module
 */

import type { Regs, Sregs } from "../../kvm/regs.ts";
import { flatSegment, writeGdtTable } from "./gdt.ts";
import { LINUX_LAYOUT } from "./layout.ts";
import {
  CR0_ET,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR4_PAE,
  EFER_LMA,
  EFER_LME,
  RFLAGS_RESERVED,
} from "./modes.ts";
import { writePageTables64 } from "./paging.ts";

/** Selector of the boot code segment Linux expects (`__BOOT_CS`). */
export const BOOT_CS = 0x10;
/** Selector of the boot data segment (`__BOOT_DS`). */
export const BOOT_DS = 0x18;

const FOUR_GIB = 2 ** 32;

function loadFlatSegments(sregs: Sregs, kind: "code32" | "code64"): void {
  const code = flatSegment(kind, BOOT_CS);
  const data = flatSegment("data", BOOT_DS);
  sregs.cs = code;
  sregs.ds =
    sregs.es =
    sregs.fs =
    sregs.gs =
    sregs.ss =
      data;
}

/**
 * Long mode at `entry` (startup_64) with RSI = the zero page: boot GDT, identity map of the low
 * 4 GiB, interrupts off. Writes the GDT and page tables into `memory`.
 */
export function setupLinux64(memory: DataView, entry: number, sregs: Sregs, regs: Regs): void {
  loadFlatSegments(sregs, "code64");
  const limit = writeGdtTable(memory, LINUX_LAYOUT.GDT, [sregs.cs, sregs.ds]);
  sregs.gdt = { base: BigInt(LINUX_LAYOUT.GDT), limit };
  sregs.idt = { base: 0n, limit: 0 };
  sregs.cr3 = BigInt(writePageTables64(memory, LINUX_LAYOUT.PAGE_TABLES, FOUR_GIB));
  sregs.cr4 = CR4_PAE;
  sregs.efer = EFER_LME | EFER_LMA;
  sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
  clearRegs(regs);
  regs.rip = BigInt(entry);
  regs.rsi = BigInt(LINUX_LAYOUT.ZERO_PAGE);
  regs.rsp = regs.rbp = BigInt(LINUX_LAYOUT.BOOT_STACK);
}

/**
 * 32-bit protected mode without paging at the PVH entry, EBX = the hvm_start_info address.
 */
export function setupPvh(memory: DataView, entry: number, sregs: Sregs, regs: Regs): void {
  loadFlatSegments(sregs, "code32");
  const limit = writeGdtTable(memory, LINUX_LAYOUT.GDT, [sregs.cs, sregs.ds]);
  sregs.gdt = { base: BigInt(LINUX_LAYOUT.GDT), limit };
  sregs.idt = { base: 0n, limit: 0 };
  sregs.cr0 = CR0_PE | CR0_ET | CR0_NE;
  sregs.cr3 = 0n;
  sregs.cr4 = 0n;
  sregs.efer = 0n;
  clearRegs(regs);
  regs.rip = BigInt(entry);
  regs.rbx = BigInt(LINUX_LAYOUT.PVH_START_INFO);
  regs.rsp = regs.rbp = BigInt(LINUX_LAYOUT.BOOT_STACK);
}

function clearRegs(regs: Regs): void {
  for (const name of Object.keys(regs) as (keyof Regs)[]) regs[name] = 0n;
  regs.rflags = RFLAGS_RESERVED;
}
