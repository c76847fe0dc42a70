/**
 * Placement of the initrd in guest RAM: page-aligned, as high as the kernel allows, above the
 * kernel.
 *
 * @module
 */

import { alignDown, alignUp, hex } from "./_mem.ts";
import { MMIO_GAP_END } from "./e820.ts";

/** Alignment of the initrd: a 4 KiB page (the kernel frees it page by page after unpacking). */
export const INITRD_ALIGN = 4096;

/** What {@link placeInitrd} needs. */
export interface InitrdPlacement {
  /** Bytes of guest RAM from guest-physical 0 up to the MMIO gap (min(RAM, 3 GiB)). */
  memSize: number;
  /** Size of the initrd in bytes. */
  initrdSize: number;
  /** The kernel's initrd_addr_max: the highest address the initrd may occupy (inclusive). */
  initrdAddrMax: number;
  /** First address past the kernel (its loadEnd); the initrd starts at or above it. */
  kernelEnd: number;
}

/**
 * Returns the guest-physical address for the initrd: page-aligned, ending at or below
 * min(initrdAddrMax + 1, memSize, 4 GiB), as high as possible (like GRUB and QEMU, keeping low
 * memory free for the kernel's own use), and not below `kernelEnd`.
 */
export function placeInitrd(p: InitrdPlacement): number {
  const { memSize, initrdSize, initrdAddrMax, kernelEnd } = p;
  for (const [name, v] of Object.entries(p)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`initrd ${name} ${v} is invalid`);
  }
  const top = Math.min(initrdAddrMax + 1, memSize, MMIO_GAP_END);
  const address = alignDown(top - initrdSize, INITRD_ALIGN);
  if (address < alignUp(kernelEnd, INITRD_ALIGN)) {
    throw new Error(
      `initrd (${initrdSize} bytes) does not fit in RAM above the kernel ` +
        `(between ${hex(kernelEnd)} and ${hex(top)})`,
    );
  }
  return address;
}
