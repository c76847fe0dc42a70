/**
 * Writer of Linux's boot_params ("zero page") for the 64-bit boot protocol: setup header,
 * command line and initrd pointers, and the e820 memory map.
 *
 * @module
 */

import { checkGuestRange, TWO_32, viewOf } from "./_mem.ts";
import {
  BOOT_FLAG,
  CAN_USE_HEAP,
  HDR_BOOT_FLAG,
  HDR_CMD_LINE_PTR,
  HDR_CMDLINE_SIZE,
  HDR_HEADER,
  HDR_HEAP_END_PTR,
  HDR_INITRD_ADDR_MAX,
  HDR_KERNEL_ALIGNMENT,
  HDR_LIMIT,
  HDR_LOADFLAGS,
  HDR_RAMDISK_IMAGE,
  HDR_RAMDISK_SIZE,
  HDR_SETUP_SECTS,
  HDR_TYPE_OF_LOADER,
  HDR_VERSION,
  HDR_VID_MODE,
  HDRS_MAGIC,
  LOADED_HIGH,
} from "./bzimage.ts";
import type { E820Entry } from "./e820.ts";
import { VMLINUX_CMDLINE_SIZE, VMLINUX_INITRD_ADDR_MAX } from "./kernel.ts";

// boot_params fields outside the setup header (Documentation/arch/x86/zero-page.rst).

/** Size of boot_params: one 4 KiB page. */
export const BOOT_PARAMS_SIZE = 0x1000;
/** ext_ramdisk_image (u32): initrd address, high 32 bits. */
export const BP_EXT_RAMDISK_IMAGE = 0x0c0;
/** ext_ramdisk_size (u32): initrd size, high 32 bits. */
export const BP_EXT_RAMDISK_SIZE = 0x0c4;
/** ext_cmd_line_ptr (u32): command line address, high 32 bits. */
export const BP_EXT_CMD_LINE_PTR = 0x0c8;
/** e820_entries (u8): number of entries in e820_table. */
export const BP_E820_ENTRIES = 0x1e8;
/** sentinel (u8): nonzero tells the kernel the loader copied garbage over 0x1f0+; we leave 0. */
export const BP_SENTINEL = 0x1ef;
/** e820_table: struct e820_entry[E820_MAX_ENTRIES_ZEROPAGE]. */
export const BP_E820_TABLE = 0x2d0;
/** Size of a packed struct e820_entry: u64 addr, u64 size, u32 type. */
export const E820_ENTRY_SIZE = 20;
/** E820_MAX_ENTRIES_ZEROPAGE: room in e820_table. */
export const E820_MAX_ENTRIES = 128;

/** type_of_loader 0xff: "undefined" boot loader (boot.rst, no assigned ID). */
export const LOADER_TYPE_UNDEFINED = 0xff;
/** vid_mode 0xffff: NORMAL_VGA, "normal" video mode. */
export const VID_MODE_NORMAL = 0xffff;
/**
 * heap_end_ptr written: 0xfe00, the whole 64 KiB real-mode segment minus 0x200. Only the 16-bit
 * setup code uses the heap; the 64-bit entry never reads it.
 */
export const HEAP_END_PTR = 0xfe00;
/** Protocol version claimed by the minimal header built for a vmlinux: 2.15. */
export const VMLINUX_PROTOCOL = 0x020f;
/** kernel_alignment claimed by the minimal header built for a vmlinux: 16 MiB. */
export const VMLINUX_KERNEL_ALIGNMENT = 0x100_0000;

/** What {@link writeBootParams} puts in boot_params. */
export interface BootParamsOptions {
  /** A bzImage's setup header (bytes from 0x1f1); omit for a vmlinux to get a minimal one. */
  setupHeader?: Uint8Array;
  /** Guest-physical address of the NUL-terminated command line. */
  cmdlineAddress: number;
  /** cmdline_size for the minimal vmlinux header (default 2047); a bzImage's header keeps its own. */
  cmdlineSize?: number;
  /** Guest-physical address of the initrd, if any. */
  initrdAddress?: number;
  /** Initrd size in bytes. */
  initrdSize?: number;
  /** The memory map; entries past the 128th are dropped. */
  e820: E820Entry[];
}

function setSplit(view: DataView, low: number, high: number, value: number): void {
  view.setUint32(low, value % TWO_32, true);
  view.setUint32(high, Math.floor(value / TWO_32), true);
}

/**
 * Writes boot_params at `address` in `memory` (guest RAM, index = guest-physical address):
 * zeroes the page, puts the setup header at 0x1f1 (a bzImage's, or a minimal one for a vmlinux:
 * boot_flag, "HdrS", version 2.15, kernel_alignment, cmdline_size, initrd_addr_max), then sets
 * type_of_loader 0xff, loadflags |= LOADED_HIGH | CAN_USE_HEAP with heap_end_ptr, vid_mode
 * 0xffff, cmd_line_ptr, ramdisk_image/size (each with its ext_ high half) and the e820 table.
 * Returns the number of e820 entries written (at most 128).
 */
export function writeBootParams(
  memory: Uint8Array,
  address: number,
  options: BootParamsOptions,
): number {
  checkGuestRange(memory, address, BOOT_PARAMS_SIZE, "boot_params");
  const page = memory.subarray(address, address + BOOT_PARAMS_SIZE);
  const view = viewOf(page);
  page.fill(0);

  const header = options.setupHeader;
  if (header) {
    if (header.length > HDR_LIMIT - HDR_SETUP_SECTS) {
      throw new Error(
        `setup header is ${header.length} bytes, boot_params has room for ${
          HDR_LIMIT - HDR_SETUP_SECTS
        }`,
      );
    }
    page.set(header, HDR_SETUP_SECTS);
  } else {
    view.setUint16(HDR_BOOT_FLAG, BOOT_FLAG, true);
    view.setUint32(HDR_HEADER, HDRS_MAGIC, true);
    view.setUint16(HDR_VERSION, VMLINUX_PROTOCOL, true);
    view.setUint32(HDR_KERNEL_ALIGNMENT, VMLINUX_KERNEL_ALIGNMENT, true);
    view.setUint32(HDR_CMDLINE_SIZE, options.cmdlineSize ?? VMLINUX_CMDLINE_SIZE, true);
    view.setUint32(HDR_INITRD_ADDR_MAX, VMLINUX_INITRD_ADDR_MAX, true);
  }

  page[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
  page[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
  view.setUint16(HDR_HEAP_END_PTR, HEAP_END_PTR, true);
  view.setUint16(HDR_VID_MODE, VID_MODE_NORMAL, true);
  setSplit(view, HDR_CMD_LINE_PTR, BP_EXT_CMD_LINE_PTR, options.cmdlineAddress);
  if (options.initrdAddress !== undefined && options.initrdSize) {
    setSplit(view, HDR_RAMDISK_IMAGE, BP_EXT_RAMDISK_IMAGE, options.initrdAddress);
    setSplit(view, HDR_RAMDISK_SIZE, BP_EXT_RAMDISK_SIZE, options.initrdSize);
  }

  const entries = options.e820.slice(0, E820_MAX_ENTRIES);
  page[BP_E820_ENTRIES] = entries.length;
  entries.forEach((e, i) => {
    const at = BP_E820_TABLE + i * E820_ENTRY_SIZE;
    view.setBigUint64(at, BigInt(e.address), true);
    view.setBigUint64(at + 8, BigInt(e.size), true);
    view.setUint32(at + 16, e.type, true);
  });
  return entries.length;
}
