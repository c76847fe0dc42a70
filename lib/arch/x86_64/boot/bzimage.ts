/**
 * Loader of a Linux bzImage (`vmlinuz`) for the 64-bit boot protocol: reads the setup header,
 * copies the protected-mode kernel into guest RAM and returns its `startup_64` address.
 *
 * @module
 */

import { hex, sizeText, u64, viewOf } from "./_mem.ts";

// Setup header fields (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"). The
// offsets are the same in the bzImage file and in boot_params (the zero page), which holds the
// header at 0x1f1 too.

/** setup_sects (u8, ALL): size of the setup code in 512-byte sectors; 0 means 4. */
export const HDR_SETUP_SECTS = 0x1f1;
/** vid_mode (u16, ALL): video mode control; 0xffff is "normal". */
export const HDR_VID_MODE = 0x1fa;
/** boot_flag (u16, ALL): 0xaa55. */
export const HDR_BOOT_FLAG = 0x1fe;
/** jump (u16, 2.00+): a short jump `eb XX`; the header ends at 0x202 + XX. */
export const HDR_JUMP = 0x200;
/** header (u32, 2.00+): the magic "HdrS". */
export const HDR_HEADER = 0x202;
/** version (u16, 2.00+): boot protocol version, major << 8 | minor. */
export const HDR_VERSION = 0x206;
/** type_of_loader (u8, 2.00+, write). */
export const HDR_TYPE_OF_LOADER = 0x210;
/** loadflags (u8, 2.00+, modify). */
export const HDR_LOADFLAGS = 0x211;
/** ramdisk_image (u32, 2.00+, write): initrd address, low 32 bits. */
export const HDR_RAMDISK_IMAGE = 0x218;
/** ramdisk_size (u32, 2.00+, write): initrd size, low 32 bits. */
export const HDR_RAMDISK_SIZE = 0x21c;
/** heap_end_ptr (u16, 2.01+, write): end of the setup stack/heap, minus 0x200. */
export const HDR_HEAP_END_PTR = 0x224;
/** cmd_line_ptr (u32, 2.02+, write): command line address, low 32 bits. */
export const HDR_CMD_LINE_PTR = 0x228;
/** initrd_addr_max (u32, 2.03+): highest address the initrd may occupy. */
export const HDR_INITRD_ADDR_MAX = 0x22c;
/** kernel_alignment (u32, 2.05+): physical alignment a relocatable kernel needs. */
export const HDR_KERNEL_ALIGNMENT = 0x230;
/** relocatable_kernel (u8, 2.05+): nonzero if the kernel may be loaded anywhere aligned. */
export const HDR_RELOCATABLE_KERNEL = 0x234;
/** xloadflags (u16, 2.12+). */
export const HDR_XLOADFLAGS = 0x236;
/** cmdline_size (u32, 2.06+): the longest command line, without its NUL. */
export const HDR_CMDLINE_SIZE = 0x238;
/** pref_address (u64, 2.10+): preferred load address (LOAD_PHYSICAL_ADDR). */
export const HDR_PREF_ADDRESS = 0x258;
/** init_size (u32, 2.10+): linear memory the kernel needs from its run address. */
export const HDR_INIT_SIZE = 0x260;

/** The boot_flag value. */
export const BOOT_FLAG = 0xaa55;
/** "HdrS" read as a little-endian u32. */
export const HDRS_MAGIC = 0x53726448;
/** Oldest protocol accepted: 2.06 (cmdline_size, and everything before it). */
export const MIN_PROTOCOL = 0x0206;
/** Protocol that added xloadflags, and with it XLF_KERNEL_64 (2.12). */
export const XLOADFLAGS_PROTOCOL = 0x020c;
/** The boot_params field after the setup header (edd_mbr_sig_buffer): the header's limit. */
export const HDR_LIMIT = 0x290;

/** loadflags bit 0 LOADED_HIGH: the protected-mode code loads at 0x100000 (a bzImage). */
export const LOADED_HIGH = 0x01;
/** loadflags bit 7 CAN_USE_HEAP: heap_end_ptr is valid. */
export const CAN_USE_HEAP = 0x80;
/** xloadflags bit 0 XLF_KERNEL_64: the kernel has the 64-bit entry at load address + 0x200. */
export const XLF_KERNEL_64 = 0x01;

/** Offset of startup_64 from the start of the protected-mode kernel (64-bit boot protocol). */
export const STARTUP_64_OFFSET = 0x200;
/** setup_sects value to use when the field is 0 (boot.rst: "if this field is 0, use 4"). */
export const DEFAULT_SETUP_SECTS = 4;
/** Traditional load address of a LOADED_HIGH kernel (boot.rst "Loading the rest"). */
export const HIGH_LOAD_ADDRESS = 0x100000;

/** The setup-header facts a loader needs, read from a bzImage. */
export interface SetupHeader {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  version: number;
  /** Setup sectors (0 already replaced by 4). */
  setupSects: number;
  /** Offset of the protected-mode kernel in the file: (setup_sects + 1) * 512. */
  kernelOffset: number;
  /** loadflags. */
  loadflags: number;
  /** xloadflags (0 before protocol 2.12). */
  xloadflags: number;
  /** kernel_alignment. */
  kernelAlignment: number;
  /** relocatable_kernel != 0. */
  relocatable: boolean;
  /** pref_address (0 before protocol 2.10). */
  prefAddress: number;
  /** init_size (0 before protocol 2.10). */
  initSize: number;
  /** cmdline_size: the longest command line the kernel accepts, without its NUL. */
  cmdlineSize: number;
  /** initrd_addr_max: highest address the initrd may occupy (inclusive). */
  initrdAddrMax: number;
  /** Setup header bytes 0x1f1 up to its end (0x202 + byte at 0x201), for the zero page. */
  bytes: Uint8Array;
}

/** A bzImage loaded into guest RAM. */
export interface BzImageKernel {
  /** Which loader produced it. */
  kind: "bzimage";
  /** Guest-physical address of startup_64: loadAddress + 0x200. */
  entry64: number;
  /** Where the protected-mode kernel was copied. */
  loadAddress: number;
  /** loadAddress + max(protected-mode kernel size, init_size): RAM the kernel will use. */
  loadEnd: number;
  /** Setup header bytes to copy to boot_params at 0x1f1. */
  setupHeader: Uint8Array;
  /** initrd_addr_max of the header. */
  initrdAddrMax: number;
  /** cmdline_size of the header. */
  cmdlineSize: number;
  /** The parsed header. */
  header: SetupHeader;
}

/** Whether `bytes` has the setup header magic "HdrS" at 0x202. */
export function isBzImage(bytes: Uint8Array): boolean {
  return bytes.length >= HDR_HEADER + 4 && viewOf(bytes).getUint32(HDR_HEADER, true) === HDRS_MAGIC;
}

/** `2.15` for 0x020f. */
export function protocolText(version: number): string {
  return `${version >> 8}.${(version & 0xff).toString().padStart(2, "0")}`;
}

/**
 * Reads and checks the setup header of a bzImage: "HdrS", boot_flag, protocol ≥ 2.06,
 * LOADED_HIGH, and (protocol ≥ 2.12) XLF_KERNEL_64, since microvmm enters at startup_64.
 */
export function parseSetupHeader(bytes: Uint8Array): SetupHeader {
  if (!isBzImage(bytes)) throw new Error('not a bzImage (no "HdrS" at 0x202)');
  if (bytes.length < HDR_VERSION + 2) {
    throw new Error(`truncated bzImage: the file is ${bytes.length} bytes, it ends in its header`);
  }
  const view = viewOf(bytes);
  const version = view.getUint16(HDR_VERSION, true);
  if (version < MIN_PROTOCOL) {
    throw new Error(`boot protocol ${protocolText(version)} is too old (need 2.06)`);
  }
  const end = Math.min(HDR_JUMP + 2 + bytes[HDR_JUMP + 1], HDR_LIMIT);
  if (end < HDR_CMDLINE_SIZE + 4) {
    throw new Error(
      `bzImage setup header ends at ${hex(end)} (0x202 + byte at 0x201), before cmdline_size`,
    );
  }
  if (bytes.length < end) {
    throw new Error(
      `truncated bzImage: the file is ${bytes.length} bytes, shorter than its header`,
    );
  }
  const bootFlag = view.getUint16(HDR_BOOT_FLAG, true);
  if (bootFlag !== BOOT_FLAG) throw new Error(`bzImage boot_flag is ${hex(bootFlag)}, not 0xaa55`);
  const setupSects = bytes[HDR_SETUP_SECTS] || DEFAULT_SETUP_SECTS;
  const kernelOffset = (setupSects + 1) * 512;
  if (kernelOffset >= bytes.length) {
    throw new Error(
      `truncated bzImage: the kernel starts at ${hex(kernelOffset)} (setup_sects ${setupSects}), ` +
        `the file is ${bytes.length} bytes`,
    );
  }
  const loadflags = bytes[HDR_LOADFLAGS];
  if ((loadflags & LOADED_HIGH) === 0) {
    throw new Error(`bzImage loadflags ${hex(loadflags)} lack LOADED_HIGH: not a bzImage kernel`);
  }
  if (version < XLOADFLAGS_PROTOCOL) {
    throw new Error(
      `boot protocol ${protocolText(version)} has no xloadflags, so no known 64-bit entry ` +
        `(need 2.12 for XLF_KERNEL_64)`,
    );
  }
  if (end < HDR_INIT_SIZE + 4) {
    throw new Error(
      `bzImage setup header ends at ${hex(end)} (0x202 + byte at 0x201), before init_size ` +
        `(0x260), which protocol ${protocolText(version)} has`,
    );
  }
  const xloadflags = view.getUint16(HDR_XLOADFLAGS, true);
  if ((xloadflags & XLF_KERNEL_64) === 0) {
    throw new Error(
      `bzImage has no 64-bit entry (xloadflags ${hex(xloadflags)} lack XLF_KERNEL_64)`,
    );
  }
  return {
    version,
    setupSects,
    kernelOffset,
    loadflags,
    xloadflags,
    kernelAlignment: view.getUint32(HDR_KERNEL_ALIGNMENT, true),
    relocatable: bytes[HDR_RELOCATABLE_KERNEL] !== 0,
    // pref_address and init_size are 2.10+; the header was checked to reach them.
    prefAddress: u64(view, HDR_PREF_ADDRESS, "bzImage pref_address"),
    initSize: view.getUint32(HDR_INIT_SIZE, true),
    cmdlineSize: view.getUint32(HDR_CMDLINE_SIZE, true),
    initrdAddrMax: view.getUint32(HDR_INITRD_ADDR_MAX, true),
    bytes: bytes.slice(HDR_SETUP_SECTS, end),
  };
}

/**
 * Where the protected-mode kernel goes: pref_address when it is at or above 1 MiB, else the
 * traditional 0x100000. pref_address is the kernel's LOAD_PHYSICAL_ADDR, where the
 * decompressor works from anyway: startup_64 of a relocatable kernel runs at its load address
 * rounded up to kernel_alignment but never below LOAD_PHYSICAL_ADDR, and a non-relocatable one
 * always at LOAD_PHYSICAL_ADDR. Loading it there needs no move, so there is no lower fallback
 * when RAM is too small: the kernel would need RAM up to pref_address + init_size regardless.
 */
export function chooseLoadAddress(header: SetupHeader): number {
  return header.prefAddress >= HIGH_LOAD_ADDRESS ? header.prefAddress : HIGH_LOAD_ADDRESS;
}

/**
 * Loads a bzImage into `memory` (guest RAM, index = guest-physical address): checks its setup
 * header, copies the protected-mode kernel to {@link chooseLoadAddress} and returns the
 * 64-bit entry (load address + 0x200), the RAM the kernel will use and the header to pass on.
 */
export function loadBzImage(memory: Uint8Array, bytes: Uint8Array): BzImageKernel {
  const header = parseSetupHeader(bytes);
  const loadAddress = chooseLoadAddress(header);
  const kernel = bytes.subarray(header.kernelOffset);
  const loadEnd = loadAddress + Math.max(kernel.length, header.initSize);
  if (loadEnd > memory.length) {
    throw new Error(
      `kernel does not fit in guest RAM: it needs [${hex(loadAddress)}, ${hex(loadEnd)}) ` +
        `(${kernel.length} bytes, init_size ${hex(header.initSize)}), guest RAM is ${
          sizeText(memory.length)
        }`,
    );
  }
  memory.set(kernel, loadAddress);
  return {
    kind: "bzimage",
    entry64: loadAddress + STARTUP_64_OFFSET,
    loadAddress,
    loadEnd,
    setupHeader: header.bytes,
    initrdAddrMax: header.initrdAddrMax,
    cmdlineSize: header.cmdlineSize,
    header,
  };
}
