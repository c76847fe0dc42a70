/**
 * Writer of Xen's hvm_start_info for the PVH boot of a Linux vmlinux: the start info, its
 * module list (the initrd) and its memory map, laid out one after the other.
 *
 * @module
 */

import { checkGuestRange, viewOf } from "./_mem.ts";
import type { E820Entry } from "./e820.ts";

// xen/include/public/arch-x86/hvm/start_info.h. Layout written at `address`:
//   +0   struct hvm_start_info            56 bytes
//   +56  struct hvm_modlist_entry[n]      32 bytes each (n = 1 with an initrd, else 0)
//   +..  struct hvm_memmap_table_entry[m] 24 bytes each
// All three are 8-byte aligned since 56, 32 and 24 are multiples of 8.

/** XEN_HVM_START_MAGIC_VALUE: "xEn3" with the 0x80 bit of the "E" set. */
export const XEN_HVM_START_MAGIC = 0x336ec578;
/** Structure version written: 1 (adds memmap_paddr and memmap_entries). */
export const HVM_START_INFO_VERSION = 1;
/** sizeof(struct hvm_start_info) for version 1. */
export const HVM_START_INFO_SIZE = 56;
/** sizeof(struct hvm_modlist_entry). */
export const HVM_MODLIST_ENTRY_SIZE = 32;
/** sizeof(struct hvm_memmap_table_entry). */
export const HVM_MEMMAP_ENTRY_SIZE = 24;

/** hvm_start_info field offsets. */
export const START_INFO = {
  /** u32 magic. */
  MAGIC: 0,
  /** u32 version. */
  VERSION: 4,
  /** u32 flags (SIF_xxx). */
  FLAGS: 8,
  /** u32 nr_modules. */
  NR_MODULES: 12,
  /** u64 modlist_paddr. */
  MODLIST_PADDR: 16,
  /** u64 cmdline_paddr. */
  CMDLINE_PADDR: 24,
  /** u64 rsdp_paddr. */
  RSDP_PADDR: 32,
  /** u64 memmap_paddr (version 1+). */
  MEMMAP_PADDR: 40,
  /** u32 memmap_entries (version 1+). */
  MEMMAP_ENTRIES: 48,
  /** u32 reserved (version 1+). */
  RESERVED: 52,
} as const;

/** hvm_modlist_entry field offsets: u64 paddr, size, cmdline_paddr, reserved. */
export const MODLIST_ENTRY = { PADDR: 0, SIZE: 8, CMDLINE_PADDR: 16, RESERVED: 24 } as const;
/** hvm_memmap_table_entry field offsets: u64 addr, u64 size, u32 type, u32 reserved. */
export const MEMMAP_ENTRY = { ADDR: 0, SIZE: 8, TYPE: 16, RESERVED: 20 } as const;

/** What {@link writePvhStartInfo} describes. */
export interface PvhOptions {
  /** Guest-physical address of the NUL-terminated command line (0 for none). */
  cmdlineAddress: number;
  /** The initrd, passed as the first (only) module. */
  initrd?: { address: number; size: number };
  /** The memory map; its e820 types are the XEN_HVM_MEMMAP_TYPE_* values (1 RAM, 2 reserved…). */
  memmap: E820Entry[];
  /** Guest-physical address of the ACPI RSDP; 0 (the default) when there are no ACPI tables. */
  rsdp?: number;
}

/** Bytes {@link writePvhStartInfo} writes for `modules` modules and `entries` memmap entries. */
export function pvhStartInfoSize(modules: number, entries: number): number {
  return HVM_START_INFO_SIZE + modules * HVM_MODLIST_ENTRY_SIZE + entries * HVM_MEMMAP_ENTRY_SIZE;
}

/**
 * Writes hvm_start_info (version 1, flags 0) at `address` in `memory` (guest RAM, index =
 * guest-physical address), the module list right after it and the memory map after that.
 * Linux's PVH entry reads the memory map from here (it would ask Xen otherwise), so it must not
 * be empty. Returns the first address past the memory map.
 */
export function writePvhStartInfo(
  memory: Uint8Array,
  address: number,
  options: PvhOptions,
): number {
  if (options.memmap.length === 0) throw new Error("PVH memory map is empty");
  const modules = options.initrd ? 1 : 0;
  const size = pvhStartInfoSize(modules, options.memmap.length);
  checkGuestRange(memory, address, size, "hvm_start_info");
  const page = memory.subarray(address, address + size);
  page.fill(0);
  const view = viewOf(page);
  const modlist = HVM_START_INFO_SIZE;
  const memmap = modlist + modules * HVM_MODLIST_ENTRY_SIZE;
  const u64 = (at: number, v: number) => view.setBigUint64(at, BigInt(v), true);

  view.setUint32(START_INFO.MAGIC, XEN_HVM_START_MAGIC, true);
  view.setUint32(START_INFO.VERSION, HVM_START_INFO_VERSION, true);
  view.setUint32(START_INFO.NR_MODULES, modules, true);
  u64(START_INFO.MODLIST_PADDR, modules ? address + modlist : 0);
  u64(START_INFO.CMDLINE_PADDR, options.cmdlineAddress);
  u64(START_INFO.RSDP_PADDR, options.rsdp ?? 0);
  u64(START_INFO.MEMMAP_PADDR, address + memmap);
  view.setUint32(START_INFO.MEMMAP_ENTRIES, options.memmap.length, true);

  if (options.initrd) {
    u64(modlist + MODLIST_ENTRY.PADDR, options.initrd.address);
    u64(modlist + MODLIST_ENTRY.SIZE, options.initrd.size);
  }
  options.memmap.forEach((e, i) => {
    const at = memmap + i * HVM_MEMMAP_ENTRY_SIZE;
    u64(at + MEMMAP_ENTRY.ADDR, e.address);
    u64(at + MEMMAP_ENTRY.SIZE, e.size);
    view.setUint32(at + MEMMAP_ENTRY.TYPE, e.type, true);
  });
  return address + size;
}
